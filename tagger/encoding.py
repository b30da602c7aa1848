"""Turning token lists into model batches, and tag ids back into tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

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
    casing and character features.
    """

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary
    lowercase: bool = True

    def word_key(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def batch(self, sentences: Sequence[Sequence[str]]) -> Batch:
        """A padded batch of non-empty token lists."""
        if any(len(tokens) == 0 for tokens in sentences):
            raise ValueError("empty sentences cannot be encoded: drop them before batching")
        length = max(len(tokens) for tokens in sentences)
        words = torch.zeros((len(sentences), length), dtype=torch.long)
        casings = torch.zeros_like(words)
        token_types = torch.zeros_like(words)
        types: dict[str, int] = {}
        for i, tokens in enumerate(sentences):
            n = len(tokens)
            words[i, :n] = torch.tensor([self.words.id(self.word_key(token)) for token in tokens])
            casings[i, :n] = torch.tensor([casing(token) for token in tokens])
            token_types[i, :n] = torch.tensor([types.setdefault(token, len(types)) for token in tokens])
        width = min(MAX_WORD_CHARS, max(len(token) for token in types))
        type_chars = torch.zeros((len(types), max(width, 1)), dtype=torch.long)
        for token, row in types.items():
            ids = self.chars.ids(token[:width]) or [1]  # an empty token reads as one unknown char
            type_chars[row, : len(ids)] = torch.tensor(ids)
        return Batch(words, casings, token_types, type_chars, _mask(sentences, length))

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
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Encoder":
        return cls(
            Vocabulary.from_dict(data["words"]),
            Vocabulary.from_dict(data["chars"]),
            Vocabulary.from_dict(data["tags"]),
            data["lowercase"],
        )


def _mask(sentences: Sequence[Sequence[str]], length: int) -> Tensor:
    lengths = torch.tensor([len(tokens) for tokens in sentences])
    return torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
