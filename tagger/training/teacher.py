"""Distillation: a trained model's distribution over each training sentence's tag sequences (``--teacher``)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from ..corpus import Sentence, document_ids, document_starts
from ..encoding import Encoder
from ..errors import TaggerError
from ..inference import tag_distributions
from ..model import TagDistribution
from ..storage import (
    load_model,
    resolve_model,
)
from .batches import contexts_of


def teacher_distributions(name: str, encoder: Encoder, sentences: Sequence[Sentence], log) -> list:
    """The teacher model's distributions over the sentences' tag sequences (``tag_distributions``).

    The teacher reads the sentences as it was trained to (with their context or
    documents), and its probabilities are taken at its fitted temperature.
    """
    teacher, teacher_encoder, settings = load_model(resolve_model(name))
    check_teacher(name, teacher_encoder.tags.names, encoder)
    started = time.perf_counter()
    documents = document_ids(document_starts(sentences)) if teacher.config.document_memory else None
    distributions = tag_distributions(
        teacher, teacher_encoder, [s.tokens for s in sentences], contexts=contexts_of(sentences, teacher.config.context),
        documents=documents, temperature=float(settings.get("temperature", 1.0)))
    log(f"teacher {name}: its tag distributions of the {len(sentences)} training sentences "
        f"in {time.perf_counter() - started:.1f} s")
    return distributions


def check_teacher(name: str, tags: Sequence[str], encoder: Encoder) -> None:
    if list(tags) != list(encoder.tags.names):
        raise TaggerError(
            f"teacher {name}: its tags ({' '.join(tags)}) are not this run's ({' '.join(encoder.tags.names)}); "
            "a teacher must be trained on the same entity types and --tag-scheme"
        )


def teacher_batch(distributions: list, indices: list[int], length: int) -> TagDistribution:
    """A batch's teacher distributions, padded to ``length`` tokens: (B, length, K) and (B, K, K)."""
    num_tags = distributions[indices[0]][1].shape[0]
    tags = torch.zeros((len(indices), length, num_tags))
    for row, i in enumerate(indices):
        tags[row, : len(distributions[i][0])] = distributions[i][0]
    return TagDistribution(tags, torch.stack([distributions[i][1] for i in indices]))
