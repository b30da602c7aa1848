"""Training a tagger on a corpus: the runs that ``train.py`` (``tagger.train_cli``) starts.

One module a concern, imports flowing down this list:

- ``runs``: ``train`` (a new run: one network, an ensemble, or from a base), ``train_with_dev`` (then again on
  train and dev together) and ``resume``;
- ``members``: an ensemble's members, one after another or at once, saved as one model;
- ``loop``: the training loop of one network (steps, dev scores, best weights, metrics);
- ``distributed``: the processes of a data-parallel run (``torchrun``): shards, averaged gradients, a leader;
- ``checkpoints``: a run's state between epochs, so that a resumed run ends as the uninterrupted one;
- ``averaging``: a moving average of the weights (``--average``);
- ``teacher``: distillation from a trained model (``--teacher``);
- ``batches``: training examples and each epoch's batches;
- ``base``: fine-tuning a trained model's networks (``--base``);
- ``networks``: a new run's vocabularies, word vectors and network;
- ``config``: ``TrainingConfig`` and the optimizers;
- ``defaults``: the defaults that depend on the training corpus (``corpus_defaults``: what ``train.py`` chooses).
"""

from . import distributed
from .averaging import WeightAverage
from .base import from_base
from .batches import (
    LONGEST_DOCUMENT,
    Examples,
    epoch_batches,
    length_batches,
    whole_document_batches,
)
from .config import OPTIMIZERS, TrainingConfig, make_optimizer, sgd
from .defaults import corpus_defaults
from .loop import TrainingDiverged, dev_scores, training_steps
from .members import member_directories
from .networks import build_encoder, initial_word_vectors
from .runs import SELECTION, resume, train, train_with_dev, with_dev, with_dev_config

__all__ = [
    "LONGEST_DOCUMENT", "OPTIMIZERS", "SELECTION", "Examples", "TrainingConfig", "TrainingDiverged", "WeightAverage",
    "build_encoder", "corpus_defaults", "dev_scores", "distributed", "epoch_batches", "from_base", "initial_word_vectors", "length_batches",
    "make_optimizer", "member_directories", "resume", "sgd", "train", "train_with_dev", "training_steps",
    "whole_document_batches", "with_dev", "with_dev_config",
]
