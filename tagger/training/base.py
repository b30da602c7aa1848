"""Fine-tuning: a run that starts from a trained model's networks (``--base``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch
from torch import nn
from torchcrf import CRF

from ..corpus import Sentence
from ..encoding import Encoder
from ..model import BiLSTMCRF, members_of
from ..schemes import entity_types, scheme_labels
from ..storage import (
    load_model,
    resolve_model,
)
from ..vocab import Vocabulary
from .config import TrainingConfig


def from_base(config: TrainingConfig, train_sentences: Sequence[Sentence]
               ) -> tuple[list[BiLSTMCRF], Encoder, TrainingConfig]:
    """The trained networks of ``config.base`` (one, or each member of an ensemble), ready to train on
    ``train_sentences``; their encoder; and ``config`` in their scheme, with one member for each.

    Everything but the tags carries over: vocabularies (a word the base does not
    know reads as unknown, by its characters and casing), sizes, vectors and
    weights. The tags are the training data's entity types in the base's scheme;
    a tag the base has keeps its projection row and CRF scores, a new one starts
    as in a new network (drawn from ``config.seed``; member k's from ``seed + k``,
    as the members of a new ensemble are), and a tag the data lacks goes.
    """
    base, base_encoder, saved = load_model(resolve_model(config.base))
    scheme = saved["tag_scheme"]
    types = entity_types(label for sentence in train_sentences for label in sentence.labels)
    tags = Vocabulary(scheme_labels(types, scheme))
    kept = [(row, base_encoder.tags.id(name)) for row, name in enumerate(tags.names) if name in base_encoder.tags]
    new_rows, old_rows = (torch.tensor(rows) for rows in zip(*kept))  # never empty: both have O
    networks = members_of(base)
    for k, network in enumerate(networks):
        torch.manual_seed(config.seed + k)
        projection = nn.Linear(network.projection.in_features, len(tags))
        crf = CRF(len(tags), batch_first=True)
        with torch.no_grad():
            projection.weight[new_rows] = network.projection.weight[old_rows]
            projection.bias[new_rows] = network.projection.bias[old_rows]
            crf.start_transitions[new_rows] = network.crf.start_transitions[old_rows]
            crf.end_transitions[new_rows] = network.crf.end_transitions[old_rows]
            crf.transitions[new_rows[:, None], new_rows] = network.crf.transitions[old_rows[:, None], old_rows]
        network.projection, network.crf = projection, crf
        network.config = replace(network.config, num_tags=len(tags))
    encoder = replace(base_encoder, tags=tags)
    return networks, encoder, replace(config, tag_scheme=scheme, members=len(networks))
