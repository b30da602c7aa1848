"""Vocabularies: ordered lists of names, saved as JSON.

Like ``datasets.ClassLabel``, a vocabulary is its list of names; the index of
a name is its id. Word and character vocabularies reserve id 0 for padding and
id 1 for unknown items; a label vocabulary has neither and rejects unknown
labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD = "<pad>"
UNK = "<unk>"


class Vocabulary:
    """An ordered, duplicate-free list of names with ``str -> id`` lookup.

    With ``unknown=True`` the first two names are ``<pad>`` and ``<unk>``, and
    names not in the vocabulary map to the ``<unk>`` id; otherwise looking up
    an unknown name raises ``KeyError`` naming it.
    """

    def __init__(self, names: Sequence[str], unknown: bool = False):
        names = list(names)
        if unknown and names[:2] != [PAD, UNK]:
            names = [PAD, UNK] + [name for name in names if name not in (PAD, UNK)]
        self.names = names
        self.unknown = unknown
        self._ids = dict(zip(names, range(len(names))))
        if len(self._ids) != len(names):
            duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
            raise ValueError(f"duplicate names in vocabulary: {duplicates[:5]}")

    @classmethod
    def build(
        cls, items: Iterable[str], min_count: int = 1, unknown: bool = True, extra: Iterable[str] = ()
    ) -> "Vocabulary":
        """Names seen at least ``min_count`` times, most frequent first, then ``extra`` names not yet in."""
        counts = Counter(items)
        names = [name for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if count >= min_count]
        seen = set(names)
        for name in extra:
            if name not in seen:
                seen.add(name)
                names.append(name)
        return cls(names, unknown=unknown)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and (self.names, self.unknown) == (other.names, other.unknown)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} names, unknown={self.unknown})"

    def id(self, name: str) -> int:
        """The id of ``name``; the ``<unk>`` id (1) for unknown names when ``unknown`` is set."""
        found = self._ids.get(name)
        if found is not None:
            return found
        if self.unknown:
            return 1
        raise KeyError(f"unknown label {name!r}: the vocabulary has {', '.join(self.names[:20])}")

    def ids(self, names: Iterable[str]) -> list[int]:
        return [self.id(name) for name in names]

    def name(self, index: int) -> str:
        return self.names[index]

    def to_dict(self) -> dict:
        return {"names": self.names, "unknown": self.unknown}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls(data["names"], unknown=data["unknown"])
