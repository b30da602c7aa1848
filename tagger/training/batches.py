"""What an epoch reads: training examples and their batches (one length, or whole documents)."""

from __future__ import annotations

import collections
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..corpus import (
    Context,
    Sentence,
    document_contexts,
    document_ids,
    document_starts,
    read_lengths,
)
from ..errors import counted
from ..model import ModelConfig
from ..schemes import convert_tags
from ..sources import TableColumn, TableCorpus


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices of sequences of the given lengths, in batches of one length each, in random order.

    Sequences of one length need neither padding nor packing, and on CPU the
    LSTM runs packed sequences on a path about twice as slow. Shuffling first
    mixes sequences of a length differently every epoch.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    by_length: dict[int, list[int]] = {}
    for i in order:
        by_length.setdefault(lengths[i], []).append(i)
    batches = [group[k : k + batch_size] for _, group in sorted(by_length.items())
               for k in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def whole_document_batches(documents: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices of sentences in batches of whole documents, documents in random order.

    ``documents[i]`` is sentence i's document id. A batch takes documents until
    the next would take it past ``batch_size`` sentences; a longer document
    makes a batch of its own, up to ``LONGEST_DOCUMENT`` sentences: one longer
    still is cut into batches of ``batch_size`` consecutive sentences, and so
    is every document of a corpus of too few documents (``too_few_documents``).
    Document memory pools a word's states within a batch.
    """
    by_document: dict[int, list[int]] = {}
    for i, document in enumerate(documents):
        by_document.setdefault(document, []).append(i)
    shuffled = list(by_document.values())
    rng.shuffle(shuffled)
    cut_all = too_few_documents(documents, batch_size)
    batches: list[list[int]] = []
    current: list[int] = []
    for document in shuffled:
        if cut_all or len(document) > LONGEST_DOCUMENT:
            batches += [document[k : k + batch_size] for k in range(0, len(document), batch_size)]
            continue
        if current and len(current) + len(document) > batch_size:
            batches.append(current)
            current = []
        current.extend(document)
    if current:
        batches.append(current)
    return batches


# A corpus without -DOCSTART- lines (or with one at the top) is one document: read whole, it made
# one step an epoch, and a network with document memory learned nothing. CoNLL-2003's longest
# document has 197 sentences: every run on it, at any batch size, keeps its documents whole.
LONGEST_DOCUMENT = 256


# Whole documents make an epoch's batches only where they make at least 1 / DOCUMENT_STEPS_SHARE as many
# steps as batches of batch_size sentences would. 3,000 sentences of CoNLL-2002 Dutch as 15 documents of 200
# made 15 steps an epoch (against 188) and reached dev F1 70.87 in 40 epochs, still rising; in pieces of 16,
# 72.85 by epoch 22. Dutch's 67 documents of over 64 sentences (146 steps against 476) gain from whole
# documents, and so does all of Dutch (366 against 988): see docs/training.md.
DOCUMENT_STEPS_SHARE = 4


def too_few_documents(documents: Sequence[int], batch_size: int) -> bool:
    """Whether whole documents (``documents[i]``: sentence i's document id) would make too few steps an epoch
    (``DOCUMENT_STEPS_SHARE``), a document longer than ``LONGEST_DOCUMENT`` counted in its pieces."""
    sizes = collections.Counter(documents).values()
    steps = sum(1 if size <= LONGEST_DOCUMENT else -(-size // batch_size) for size in sizes)
    return steps * DOCUMENT_STEPS_SHARE < -(-len(documents) // batch_size)


def epoch_batches(lengths: Sequence[int], documents: Sequence[int] | None, batch_size: int,
                  rng: random.Random) -> list[list[int]]:
    """An epoch's batches: of whole documents given each sentence's document id, else of one length."""
    if documents is not None:
        return whole_document_batches(documents, batch_size, rng)
    return length_batches(lengths, batch_size, rng)


def log_cut_documents(documents: Sequence[int], batch_size: int, log) -> None:
    """Say so when documents are too long to be a batch each, or too few (``whole_document_batches``)."""
    sizes = collections.Counter(documents)
    if too_few_documents(documents, batch_size):
        log(f"document memory: the training corpus's {len(sizes):,} documents are too few to be a batch each "
            f"(under 1/{DOCUMENT_STEPS_SHARE} of the steps an epoch that batches of {batch_size} sentences make): "
            f"it trains on pieces of {batch_size} consecutive sentences")
        return
    long = [size for size in sizes.values() if size > LONGEST_DOCUMENT]
    if long:
        log(f"{counted(len(long), 'training document')} of more than {LONGEST_DOCUMENT} sentences "
            f"(the longest {max(long):,}; are -DOCSTART- lines missing between documents?): document memory "
            f"trains on them in pieces of {batch_size} consecutive sentences")


@dataclass
class Examples:
    """Training sentences as the steps read them: tokens, gold tags in the model's scheme, and what goes beside.

    ``contexts``: each sentence's document context, for a model that reads it;
    ``documents``: each sentence's document id, for a model with document memory
    (its batches then hold whole documents); ``teacher``: a teacher's
    distributions over each sentence's tags (``tag_distributions``), for distillation.
    """

    tokens: Sequence[list[str]]
    tags: Sequence[list[str]]
    contexts: list[Context] | None = None
    documents: list[int] | None = None
    teacher: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    _lengths: Sequence[int] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, sentences: Sequence[Sentence], model_config: ModelConfig, scheme: str) -> "Examples":
        """The sentences as a model with ``model_config`` trains on them, tags converted to ``scheme``.

        A ``TableCorpus`` stays in its Arrow file: its rows are read a batch at a time, as steps need them.
        """
        contexts = contexts_of(sentences, model_config.context)
        documents = document_ids(document_starts(sentences)) if model_config.document_memory else None
        if isinstance(sentences, TableCorpus):
            lengths = sentences.token_counts() if contexts is None else None
            return cls(sentences.column("tokens"), sentences.column("tags", lambda tags: convert_tags(tags, scheme)),
                       contexts, documents, _lengths=lengths)
        return cls([s.tokens for s in sentences], [convert_tags(s.labels, scheme) for s in sentences],
                   contexts, documents)

    def lengths(self) -> Sequence[int]:
        """Tokens the network reads for each sentence: its own, plus its context's."""
        if self._lengths is None:
            self._lengths = read_lengths(self.tokens, self.contexts)
        return self._lengths

    def take(self, indices: Sequence[int]) -> tuple[list[list[str]], list[list[str]]]:
        """The tokens and the tags of the sentences at ``indices`` (from a table, in one read of each column)."""
        return _take(self.tokens, indices), _take(self.tags, indices)

    def batches(self, batch_size: int, rng: random.Random) -> list[list[int]]:
        """An epoch's batches of sentence indices, in the order ``rng`` draws (see ``epoch_batches``)."""
        return epoch_batches(self.lengths(), self.documents, batch_size, rng)


def _take(sequence: Sequence[list[str]], indices: Sequence[int]) -> list[list[str]]:
    """The items at ``indices``: in one read where the sequence can (a ``TableColumn``), else one by one."""
    if isinstance(sequence, TableColumn):
        return sequence.take(indices)
    return [sequence[i] for i in indices]


def contexts_of(sentences: Sequence[Sentence], size: int) -> list[Context] | None:
    """Each sentence's document context of ``size`` tokens a side, or None when the model reads none."""
    if size == 0:
        return None
    return document_contexts([s.tokens for s in sentences], document_starts(sentences), size)
