"""A moving average of the weights, which is what a run scores, keeps and saves (``--average``)."""

from __future__ import annotations

import copy

import torch

from ..model import BiLSTMCRF


class WeightAverage:
    """An exponential moving average of a model's parameters (Polyak averaging), held in a copy of the model.

    ``torch.optim.swa_utils.AveragedModel`` does the same at ten times the cost
    per step for a model of this size.
    """

    def __init__(self, model: BiLSTMCRF, decay: float):
        self.decay = decay
        self.steps = 0
        # The fixed vectors are never trained: the copy shares them instead of doubling their memory.
        self.module = copy.deepcopy(model, memo={id(model.fixed_word_vectors): model.fixed_word_vectors})

    def update_parameters(self, model: BiLSTMCRF) -> None:
        """Average in the weights after a step.

        The average is of the steps taken so far, each weighed by decay^age
        and the weights normalised to sum to 1 (as Adam corrects its moments):
        the untrained weights the run began with weigh nothing, which matters
        in the first 1 / (1 - decay) steps.
        """
        self.steps += 1
        weight = (1.0 - self.decay) / (1.0 - self.decay**self.steps)
        with torch.no_grad():
            for averaged, current in zip(self.module.parameters(), model.parameters()):
                averaged.lerp_(current, weight)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {**dict(self.module.named_parameters()), STEPS: torch.tensor(self.steps)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        # A checkpoint without the count: long enough ago that the correction is nil.
        self.steps = int(state[STEPS]) if STEPS in state else 1_000_000_000
        with torch.no_grad():
            for name, parameter in self.module.named_parameters():
                parameter.copy_(state[name])


STEPS = "steps"  # the count of steps averaged, beside the parameters' names in a checkpoint


def decay_for_epochs(epochs: float, steps_per_epoch: int) -> float:
    """The decay a step of a moving average that spans about ``epochs`` epochs of ``steps_per_epoch`` steps.

    An exponential moving average with decay d weighs the last 1 / (1 - d)
    steps most (their weights sum to 1 - 1/e of the whole).
    """
    return 1.0 - 1.0 / max(1.0, epochs * steps_per_epoch)


def weight_average(model: BiLSTMCRF, decay: float) -> WeightAverage | None:
    return WeightAverage(model, decay) if decay else None
