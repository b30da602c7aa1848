"""A new run's vocabularies, word vectors and network."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from ..corpus import Sentence
from ..embeddings import Embeddings, words_beyond
from ..encoding import CASINGS, Encoder
from ..model import BiLSTMCRF, ModelConfig
from ..schemes import entity_types, scheme_labels
from ..vocab import Vocabulary
from .config import TrainingConfig

# Pairs are far sparser than words (Weibo NER's training text has 33,709 distinct pairs of characters,
# 69% of them seen once): a pair seen once reads as unknown, as a rare word would.
BIGRAM_MIN_COUNT = 2


def build_encoder(
    sentences: Sequence[Sentence], embeddings: Embeddings | None, config: TrainingConfig, bigrams: bool = False
) -> Encoder:
    """Vocabularies of words, characters and tags (and with ``bigrams``, of token pairs) from the training sentences.

    Words are the training words seen ``min_count`` times, plus every training
    word that has a vector, plus the first ``max_vectors`` words of the vector
    file (all of them if None), so those words are known even when the training
    data never shows them. Words of the training data come first: the model
    keeps the rest fixed. With ``freeze_vectors`` every word with a vector is
    fixed, so those go last, in the vector file's order. Token pairs are
    those seen ``BIGRAM_MIN_COUNT`` times.
    """
    lowercase = embeddings.lowercase if embeddings is not None else True
    key = (lambda token: token.lower()) if lowercase else (lambda token: token)

    def train_words() -> Iterator[str]:  # read again for each use: a corpus may be larger than memory
        return (key(token) for sentence in sentences for token in sentence.tokens)

    extra: list[str] = []
    counted: Iterable[str] = train_words()
    if embeddings is not None:
        has_vector = set(embeddings.words)
        with_vectors = [word for word in dict.fromkeys(train_words()) if word in has_vector]
        extra = with_vectors + embeddings.words[: config.max_vectors]
        if config.freeze_vectors:
            counted = (word for word in train_words() if word not in has_vector)
            extra = embeddings.words[: config.max_vectors] + with_vectors
    words = Vocabulary.build(counted, min_count=config.min_count, unknown=True, extra=extra)
    chars = Vocabulary.build((c for sentence in sentences for token in sentence.tokens for c in token), unknown=True)
    types = entity_types(label for sentence in sentences for label in sentence.labels)
    tags = Vocabulary(scheme_labels(types, config.tag_scheme))
    encoder = Encoder(words, chars, tags, lowercase)
    if bigrams:
        pairs = (pair for sentence in sentences for pair in encoder.bigram_keys(sentence.tokens))
        encoder.bigrams = Vocabulary.build(pairs, min_count=BIGRAM_MIN_COUNT, unknown=True)
    return encoder


def initial_word_vectors(encoder: Encoder, embeddings: Embeddings, generator: torch.Generator) -> torch.Tensor:
    """(num_words, dim) table: pretrained vectors where a word has one, small random ones elsewhere."""
    dim = embeddings.dim
    scale = math.sqrt(3.0 / dim)
    table = (torch.rand((len(encoder.words), dim), generator=generator) * 2 - 1) * scale
    row_of: dict[str, int] = {}
    for row, word in enumerate(embeddings.words):
        row_of.setdefault(word, row)  # a word listed twice keeps its first vector
    ids = [i for i, word in enumerate(encoder.words.names) if word in row_of]
    rows = [row_of[encoder.words.names[i]] for i in ids]
    table[ids] = torch.from_numpy(np.asarray(embeddings.vectors[rows], dtype=np.float32))
    table[0] = 0.0
    return table


def new_network(encoder: Encoder, train_sentences: Sequence[Sentence], embeddings: Embeddings | None,
                 config: TrainingConfig, sizes: dict) -> ModelConfig:
    """The sizes of a new network for ``encoder``'s vocabularies: ``sizes`` over ``ModelConfig``'s defaults."""
    sizes = dict(sizes)
    if embeddings is not None:
        sizes["word_dim"] = embeddings.dim
    trained = {encoder.word_key(token) for sentence in train_sentences for token in sentence.tokens}
    if config.freeze_vectors and embeddings is not None:
        trained -= set(embeddings.words)
    fixed_words = _fixed_tail(encoder.words.names, trained)
    return ModelConfig(
        num_words=len(encoder.words),
        num_chars=len(encoder.chars),
        num_casings=len(CASINGS),
        num_tags=len(encoder.tags),
        num_bigrams=len(encoder.bigrams) if encoder.bigrams is not None else 0,
        fixed_words=fixed_words,
        fixed_vectors=_vector_package(encoder.words.names, fixed_words, embeddings),
        **sizes,
    )


def initial_model(network: ModelConfig, encoder: Encoder, embeddings: Embeddings | None, seed: int) -> BiLSTMCRF:
    """A new network: weights drawn from ``seed``, word vectors from ``embeddings`` where they have one."""
    torch.manual_seed(seed)
    model = BiLSTMCRF(network)
    if embeddings is not None:
        generator = torch.Generator().manual_seed(seed)
        model.set_word_vectors(initial_word_vectors(encoder, embeddings, generator))
    return model


def _vector_package(names: Sequence[str], fixed_words: int, embeddings: Embeddings | None) -> str:
    """The vector package to read the fixed vectors from at load time, or "" to save them with the weights.

    Only when they are exactly the package's words beyond the trained
    vocabulary: then a model keeps all 400,000 GloVe words in a few MB.
    """
    if embeddings is None or embeddings.name is None or fixed_words == 0:
        return ""
    kept = len(names) - fixed_words
    beyond, _ = words_beyond(embeddings, set(names[:kept]))
    return embeddings.name if beyond == list(names[kept:]) else ""


def _fixed_tail(names: Sequence[str], trained: set[str]) -> int:
    """How many of the last names are not ``trained`` (ids 0 and 1 are never counted)."""
    count = 0
    for name in reversed(names[2:]):
        if name in trained:
            break
        count += 1
    return count
