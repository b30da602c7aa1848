"""Turning token lists into model batches, and tag ids back into tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .corpus import Context
from .model import Batch
from .vocab import Vocabulary

# Casing classes of a token; id 0 is padding.
CASINGS = ("<pad>", "lower", "upper", "title", "numeric", "has_digit", "punctuation", "other")
MAX_WORD_CHARS = 50  # longer tokens keep their first characters for the char CNN


def casing(token: str) -> int:
    """Casing class id of ``token`` (an index into ``CASINGS``)."""
    if token.isdigit():
        return 4
    if any(c.isdigit() for c in token):
        return 5
    if token.islower():
        return 1
    if token.isupper():
        return 2
    if token[:1].isupper() and token[1:].islower():
        return 3
    if not any(c.isalnum() for c in token):
        return 6
    return 7


@dataclass
class Encoder:
    """The vocabularies of a model, and how tokens are looked up in them.

    ``lowercase`` lower-cases tokens before the word lookup (for lower-cased
    vectors such as GloVe 6B); case still reaches the model through the
    casing and character features. ``bigrams``, if given, holds pairs of
    adjacent tokens (``bigram_key``), each token's pairs with the token before
    it and the one after it looked up in it (for corpora whose tokens are
    characters, where a pair says more than a character alone).
    """

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary
    lowercase: bool = True
    bigrams: Vocabulary | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def word_key(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def batch(
        self, sentences: Sequence[Sequence[str]], contexts: Sequence[Context] | None = None,
        documents: Sequence[int] | None = None,
    ) -> Batch:
        """A padded batch of non-empty token lists, each read with its (before, after) context if given.

        ``documents`` (one id per sentence; sentences with one id are of one
        document) adds the batch's ``memory_groups``: a word's occurrences in a document.
        """
        lengths = [len(tokens) for tokens in sentences]
        if not lengths or min(lengths) == 0:
            raise ValueError("empty sentences cannot be encoded: drop them before batching")
        if contexts is None:
            words, casings, token_types, type_chars, mask, types = self._inputs(sentences)
            groups = None if documents is None else self._memory_groups(sentences, documents, mask)
            return Batch(words, casings, token_types, type_chars, mask, type_words=types, memory_groups=groups,
                         bigrams=self._bigram_ids(sentences, mask))
        mask = torch.from_numpy(_padding_mask(np.array(lengths)))
        groups = None if documents is None else self._memory_groups(sentences, documents, mask)
        sequences = [[*before, *tokens, *after] for tokens, (before, after) in zip(sentences, contexts)]
        words, casings, token_types, type_chars, input_mask, types = self._inputs(sequences)
        offsets = torch.tensor([len(before) for before, _ in contexts])
        return Batch(words, casings, token_types, type_chars, mask, offsets, input_mask, types, groups,
                     self._bigram_ids(sequences, input_mask))

    def bigram_keys(self, tokens: Sequence[str]) -> list[str]:
        """The ``len(tokens) + 1`` adjacent pairs of a token list, its two ends included: pair i is
        (token i - 1, token i), with "" before the first token and after the last."""
        keys = [self.word_key(token) for token in tokens]
        return [bigram_key(before, after) for before, after in zip(["", *keys], [*keys, ""])]

    def _bigram_ids(self, sequences: Sequence[Sequence[str]], mask: Tensor) -> Tensor | None:
        """(B, S, 2) ids of each token's pairs with the token before it and the one after it; 0 at padding."""
        if self.bigrams is None:
            return None
        lengths = np.array([len(tokens) for tokens in sequences])
        pairs = np.array([pair for tokens in sequences for pair in self.bigrams.ids(self.bigram_keys(tokens))])
        ends = np.cumsum(lengths + 1)  # where each row's pairs end
        last, first = np.zeros(len(pairs), dtype=bool), np.zeros(len(pairs), dtype=bool)
        last[ends - 1] = first[ends - lengths - 1] = True
        ids = np.zeros((*mask.shape, 2), dtype=np.int64)
        ids[..., 0][mask.numpy()] = pairs[~last]
        ids[..., 1][mask.numpy()] = pairs[~first]
        return torch.from_numpy(ids)

    def _memory_groups(self, sentences: Sequence[Sequence[str]], documents: Sequence[int], mask: Tensor) -> Tensor:
        """(B, T) id of each token's (document, word key) pair; 0 at padding."""
        groups = torch.zeros(mask.shape, dtype=torch.long)
        groups[mask] = self.word_groups(sentences, documents)
        return groups

    def word_groups(self, sentences: Sequence[Sequence[str]], documents: Sequence[int]) -> Tensor:
        """(N,) id of each token's (document, word key) pair, the sentences' tokens one after another.

        ``documents[i]`` is sentence i's document id; ids count from 0 in order of first appearance.
        """
        if len(documents) != len(sentences):
            raise ValueError(f"{len(documents)} document ids for {len(sentences)} sentences")
        ids: dict[tuple[int, str], int] = {}
        key = self.word_key
        return torch.tensor([ids.setdefault((document, key(token)), len(ids))
                             for tokens, document in zip(sentences, documents) for token in tokens], dtype=torch.long)

    def _inputs(self, sequences: Sequence[Sequence[str]]) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, list[str]]:
        """Word ids, casings, token types (B, S), type characters (U, L), mask (B, S) and the U types."""
        # Built in NumPy, whose cost per operation is several times lower than torch's: it
        # counts for small batches, a single sentence above all.
        types: dict[str, int] = {}
        flat_types = [types.setdefault(token, len(types)) for tokens in sequences for token in tokens]
        info = [self._token_info(token) for token in types]
        mask = _padding_mask(np.array([len(tokens) for tokens in sequences]))
        token_types = np.zeros(mask.shape, dtype=np.int64)
        token_types[mask] = flat_types
        words = np.where(mask, np.array([word for word, _, _ in info])[token_types], 0)
        casings = np.where(mask, np.array([case for _, case, _ in info])[token_types], 0)
        # All the types' characters as one buffer, spread into their padded rows: many
        # times faster than building the (U, L) array from nested Python lists.
        char_counts = np.array([len(chars) // 4 for _, _, chars in info])
        type_chars = np.zeros((len(info), char_counts.max()), dtype=np.int64)
        type_chars[_padding_mask(char_counts)] = np.frombuffer(b"".join([chars for _, _, chars in info]), dtype=np.int32)
        tensors = [torch.from_numpy(array) for array in (words, casings, token_types, type_chars, mask)]
        return (*tensors, list(types))

    def _token_info(self, token: str) -> tuple[int, int, bytes]:
        """Word id, casing id and character ids (int32 bytes) of a token, cached: corpora repeat their words."""
        found = self._cache.get(token)
        if found is None:
            if len(self._cache) >= 200_000:  # bounded memory when streaming huge inputs
                self._cache.clear()
            chars = self.chars.ids(token[:MAX_WORD_CHARS]) or [1]  # an empty token reads as one unknown char
            found = self._cache[token] = (
                self.words.id(self.word_key(token)), casing(token), np.asarray(chars, dtype=np.int32).tobytes())
        return found

    def tag_ids(self, tag_lists: Sequence[Sequence[str]], length: int) -> Tensor:
        """(B, T) ids of gold tags, padded with 0."""
        ids = torch.zeros((len(tag_lists), length), dtype=torch.long)
        for i, tags in enumerate(tag_lists):
            ids[i, : len(tags)] = torch.tensor(self.tags.ids(tags))
        return ids

    def tag_names(self, ids: Tensor) -> list[list[str]]:
        """Tags of a (B, T) id tensor whose padding is -1."""
        names = self.tags.names
        return [[names[i] for i in row if i >= 0] for row in ids.tolist()]

    def to_dict(self) -> dict:
        return {
            "words": self.words.to_dict(),
            "chars": self.chars.to_dict(),
            "tags": self.tags.to_dict(),
            "lowercase": self.lowercase,
            **({"bigrams": self.bigrams.to_dict()} if self.bigrams is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Encoder":
        return cls(
            Vocabulary.from_dict(data["words"]),
            Vocabulary.from_dict(data["chars"]),
            Vocabulary.from_dict(data["tags"]),
            data["lowercase"],
            Vocabulary.from_dict(data["bigrams"]) if "bigrams" in data else None,
        )


def bigram_key(before: str, after: str) -> str:
    """The vocabulary name of two adjacent tokens (word keys; "" past either end of the sentence)."""
    return f"{before} {after}"


def _padding_mask(lengths: np.ndarray) -> np.ndarray:
    """(N, max length) bool: True on the first ``lengths[i]`` positions of row i."""
    return np.arange(lengths.max()) < lengths[:, None]
