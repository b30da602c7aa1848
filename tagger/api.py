"""The Python API: ``Tagger.load(path).tag(sentence)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from torch import nn

from .encoding import Encoder
from .inference import predict_tags
from .schemes import SCHEMES, SchemeError, convert_tags, tags_to_spans
from .storage import load_model
from .tokenizer import tokenize


@dataclass(frozen=True)
class Entity:
    """A tagged span, with spaCy's field names: tokens ``start:end`` and characters ``start_char:end_char``."""

    text: str
    label: str
    start: int
    end: int
    start_char: int
    end_char: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TaggedSentence:
    """A sentence with one tag per token and the entities those tags spell.

    ``text`` is the input string, or the tokens joined by single spaces when
    tokens were given; ``offsets`` are each token's ``(start_char, end_char)`` in it.
    """

    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    tags: list[str]
    entities: list[Entity]


Input = str | Sequence[str]


class Tagger:
    """A trained tagger: a model, its vocabularies, and the directory they came from.

    ``model`` is the loaded ``torch.nn.Module`` (a ``BiLSTMCRF``); ``path`` the model directory.
    """

    def __init__(self, model: nn.Module, encoder: Encoder, config: dict, path: Path | None = None):
        self.model = model
        self.encoder = encoder
        self.config = config
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> "Tagger":
        """Load a model directory written by ``train.py``; raises ``ModelError`` saying what is wrong."""
        model, encoder, config = load_model(path)
        return cls(model, encoder, config, Path(path))

    @property
    def labels(self) -> list[str]:
        """Entity types the model predicts."""
        return sorted({tag.partition("-")[2] for tag in self.encoder.tags.names} - {""})

    def tag(self, sentence: Input) -> list[Entity]:
        """Entities of one sentence: a string (tokenized by ``tagger.tokenizer``) or a list of tokens."""
        return self.tag_batch([sentence])[0]

    def tag_batch(self, sentences: Sequence[Input], batch_size: int = 256) -> list[list[Entity]]:
        """Entities of each sentence, in input order, tagged in length-sorted batches."""
        return [tagged.entities for tagged in self.predict(sentences, batch_size)]

    def predict(self, sentences: Sequence[Input], batch_size: int = 256, scheme: str = "IOB2") -> list[TaggedSentence]:
        """Tokens, token-level tags (in ``scheme``) and entities of each sentence."""
        if scheme not in SCHEMES:
            raise SchemeError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
        if isinstance(sentences, str):
            raise TypeError("predict and tag_batch take a list of sentences; use tag() for one string")
        prepared = [_prepare(sentence) for sentence in sentences]
        all_tags = predict_tags(self.model, self.encoder, [tokens for _, tokens, _ in prepared], batch_size)
        return [
            _tagged(text, tokens, offsets, convert_tags(tags, scheme))
            for (text, tokens, offsets), tags in zip(prepared, all_tags)
        ]


def _prepare(sentence: Input) -> tuple[str, list[str], list[tuple[int, int]]]:
    """Text, tokens and character offsets of a string or a token list."""
    if isinstance(sentence, str):
        found = tokenize(sentence)
        return sentence, [token for token, _, _ in found], [(start, end) for _, start, end in found]
    tokens = list(sentence)
    if not all(isinstance(token, str) for token in tokens):
        raise TypeError("a sentence is a string or a list of token strings")
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return " ".join(tokens), tokens, offsets


def _tagged(text: str, tokens: list[str], offsets: list[tuple[int, int]], tags: list[str]) -> TaggedSentence:
    entities = []
    for label, start, end in tags_to_spans(tags):
        start_char, end_char = offsets[start][0], offsets[end - 1][1]
        entities.append(Entity(text[start_char:end_char], label, start, end, start_char, end_char))
    return TaggedSentence(text, tokens, offsets, tags, entities)
