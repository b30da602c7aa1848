"""How a run trains: its options, and the optimizer they make."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TrainingConfig:
    """How to train; saved in ``config.json`` beside the network sizes."""

    epochs: int = 40
    batch_size: int = 16
    learning_rate: float | None = None  # None: the optimizer's own (LEARNING_RATES)
    lr_decay: float = 0.05  # learning rate at epoch e: learning_rate / (1 + lr_decay * (e - 1))
    momentum: float = 0.9
    clip: float = 5.0
    patience: int = 8
    seed: int = 1
    min_count: int = 2  # training words seen fewer times (and without a vector) read as unknown
    max_vectors: int | None = 100_000  # pretrained words kept beyond the training words (None: all)
    tag_scheme: str = "BIOES"
    freeze_vectors: bool = False  # keep every pretrained vector as it is; train only words without one
    average: float = 0.0  # decay of an exponential moving average of the weights, used for dev and saved (0: none)
    # The average's span in epochs instead: a new run sets ``average`` to 1 - 1 / (this x its steps an
    # epoch), so that it spans as much of the training on a corpus of any size (0: ``average`` as given).
    average_epochs: float = 2.0
    optimizer: str = "nadam"  # one of OPTIMIZERS
    # Networks trained (with seeds seed, seed + 1, ...) and tagged with as one: their mean scores.
    members: int = 1
    # A trained model (directory or shipped name) whose distribution over each training sentence's tag
    # sequences the network learns too, with this weight against the gold tags' (knowledge distillation:
    # ``BiLSTMCRF.loss``); e.g. an ensemble taught to one network, which tags several times faster.
    teacher: str | None = None
    teacher_weight: float = 0.5
    # A trained model (directory or shipped name; an ensemble too) to start from instead of new networks: see
    # ``from_base``.
    base: str | None = None
    # The share of the training corpus held out as dev when none was given (``corpus.hold_out``, drawn
    # with ``seed``), so that a resumed run holds out the same; 0: a dev corpus was given.
    dev_fraction: float = 0.0
    # Added to the score of every tag but O when the model tags (``inference.decoding_potentials``);
    # None: the one of ENTITY_BIASES with the best dev F1, chosen after training (``loop.choose_entity_bias``).
    entity_bias: float | None = None
    # The dev corpus is part of the training corpus (``train.py --with-dev``: ``runs.train_with_dev``): its
    # scores are still logged, but the last epoch is kept rather than the best, and patience stops nothing.
    trained_on_dev: bool = False

    def __post_init__(self):
        if self.learning_rate is None:
            self.learning_rate = LEARNING_RATES.get(self.optimizer, 0.01)


OPTIMIZERS = ("sgd", "nadam")
# Each optimizer's learning rate when none is given: NAdam's steps are scaled by its own statistics and
# want about a fifth of SGD's (Reimers & Gurevych 2017 train BiLSTM-CRFs with NAdam at 0.002).
LEARNING_RATES = {"sgd": 0.01, "nadam": 0.002}


def make_optimizer(parameters: Iterable[nn.Parameter], config: TrainingConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` at ``config.learning_rate``: SGD with ``config.momentum``, or NAdam.

    NAdam (Adam with Nesterov momentum) is the optimizer Reimers & Gurevych (2017)
    found best for BiLSTM-CRF taggers; it wants a smaller learning rate (about 0.002).
    """
    if config.optimizer == "sgd":
        return sgd(parameters, config.learning_rate, config.momentum)
    if config.optimizer == "nadam":
        # foreach: one operation over all the weights instead of one per tensor, which PyTorch
        # only picks by itself on GPUs: 1.8 against 4.2 ms a step here, 4-6% of a recipe epoch.
        return torch.optim.NAdam(parameters, lr=config.learning_rate, foreach=True)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")


def sgd(parameters: Iterable[nn.Parameter], learning_rate: float, momentum: float) -> torch.optim.SGD:
    """SGD with momentum, with torch's fused kernel where this torch has one (one pass over the weights)."""
    parameters = list(parameters)
    try:
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused CPU SGD before torch 2.4
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum)
