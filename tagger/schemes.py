"""Tag schemes (IOB1, IOB2, BIOES) as data, and conversions between them.

Every conversion goes through spans: ``tags_to_spans`` reads any of the three
schemes the way conlleval does (an ``I-X`` after ``O`` or after another type
starts an entity; an ill-formed sequence never loses a token), and
``spans_to_tags`` writes spans in the scheme asked for. Spans are
``(label, start, end)`` with ``end`` exclusive, as in spaCy's ``Span``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import TaggerError

OUTSIDE = "O"
SCHEMES = ("IOB1", "IOB2", "BIOES")

# Prefixes each scheme may use; a tag outside these is not valid in the scheme.
PREFIXES = {"IOB1": ("B", "I"), "IOB2": ("B", "I"), "BIOES": ("B", "I", "E", "S")}

Span = tuple[str, int, int]


class SchemeError(TaggerError):
    """A tag that no supported scheme can read."""


def split_tag(tag: str) -> tuple[str, str]:
    """``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` -> ``('O', '')``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix not in ("B", "I", "E", "S"):
        raise SchemeError(f"invalid tag {tag!r}: expected 'O' or PREFIX-TYPE with PREFIX in B, I, E, S")
    return prefix, label


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of a tag sequence in IOB1, IOB2 or BIOES.

    Lenient like conlleval: an entity starts at ``B``/``S``, or at ``I``/``E``
    whose previous tag is ``O``, another type, or an ``E``/``S``; it ends after
    ``E``/``S`` or where the next tag does not continue it.
    """
    spans: list[Span] = []
    start, current = -1, ""
    for i, tag in enumerate(tags):
        if tag == OUTSIDE:  # most tokens: close the open entity, if any, and go on
            if start >= 0:
                spans.append((current, start, i))
                start, current = -1, ""
            continue
        prefix, label = split_tag(tag)
        continues = prefix in ("I", "E") and current == label and start >= 0
        if not continues and start >= 0:
            spans.append((current, start, i))
            start, current = -1, ""
        if prefix != OUTSIDE and start < 0:
            start, current = i, label
        if prefix in ("E", "S"):
            spans.append((current, start, i + 1))
            start, current = -1, ""
    if start >= 0:
        spans.append((current, start, len(tags)))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str = "IOB2") -> list[str]:
    """Tags of ``length`` tokens with the given non-overlapping spans in ``scheme``."""
    if scheme not in SCHEMES:
        raise SchemeError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    tags = [OUTSIDE] * length
    previous: Span | None = None
    for label, start, end in sorted(spans, key=lambda span: span[1]):
        if scheme == "BIOES" and end - start == 1:
            tags[start] = f"S-{label}"
        else:
            begins_with_b = scheme != "IOB1" or (
                previous is not None and previous[2] == start and previous[0] == label
            )
            tags[start] = f"{'B' if begins_with_b else 'I'}-{label}"
            for i in range(start + 1, end):
                tags[i] = f"I-{label}"
            if scheme == "BIOES":
                tags[end - 1] = f"E-{label}"
        previous = (label, start, end)
    return tags


def convert_tags(tags: Sequence[str], scheme: str) -> list[str]:
    """Tags in any scheme rewritten in ``scheme`` (entities kept as conlleval reads them)."""
    return spans_to_tags(tags_to_spans(tags), len(tags), scheme)


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """The scheme a corpus is written in.

    ``E-``/``S-`` prefixes mean BIOES; an entity that starts with ``I-`` (after
    ``O``, another type, or at the start of a sentence) means IOB1; otherwise
    IOB2. A corpus with no entity at all reads as IOB2.
    """
    iob1 = False
    for tags in tag_sequences:
        previous = ""
        for tag in tags:
            prefix, label = split_tag(tag)
            if prefix in ("E", "S"):
                return "BIOES"
            if prefix == "I" and previous != label:
                iob1 = True
            previous = label
    return "IOB1" if iob1 else "IOB2"


def entity_types(labels: Iterable[str]) -> list[str]:
    """Sorted entity types named by a set of tags (``B-PER``, ``I-PER`` -> ``PER``)."""
    return sorted({split_tag(tag)[1] for tag in labels} - {""})


def scheme_labels(types: Iterable[str], scheme: str) -> list[str]:
    """Every tag of ``scheme`` for the given entity types, ``O`` first."""
    prefixes = PREFIXES[scheme]
    return [OUTSIDE] + [f"{prefix}-{label}" for label in sorted(types) for prefix in prefixes]


START = "<start>"
END = "<end>"


def is_transition_allowed(scheme: str, previous: str, current: str) -> bool:
    """Whether ``previous`` may be followed by ``current`` in a well-formed sequence of ``scheme``.

    ``previous`` may be ``START`` and ``current`` may be ``END``. Only the
    schemes a model decodes in are supported: IOB2 and BIOES.
    """
    if scheme not in ("IOB2", "BIOES"):
        raise SchemeError(f"transition constraints are defined for IOB2 and BIOES, not {scheme!r}")
    from_prefix, from_type = (OUTSIDE, "") if previous == START else split_tag(previous)
    to_prefix, to_type = (OUTSIDE, "") if current == END else split_tag(current)
    continues = to_prefix in ("I", "E")  # a tag that only continues an entity
    if scheme == "IOB2":
        # I-X follows B-X or I-X; anything else may follow anything.
        return not continues or (from_prefix in ("B", "I") and from_type == to_type)
    inside = from_prefix in ("B", "I")  # an open entity must go on with I-X or end with E-X
    if inside:
        return continues and from_type == to_type
    return not continues


def allowed_transitions(tags: Sequence[str], scheme: str) -> list[tuple[int, int]]:
    """Allowed ``(from, to)`` pairs over tag indices; ``len(tags)`` stands for START, ``len(tags) + 1`` for END."""
    start, end = len(tags), len(tags) + 1
    named = [(i, tag) for i, tag in enumerate(tags)]
    pairs = [(start, j) for j, tag in named if is_transition_allowed(scheme, START, tag)]
    pairs += [(i, j) for i, a in named for j, b in named if is_transition_allowed(scheme, a, b)]
    pairs += [(i, end) for i, tag in named if is_transition_allowed(scheme, tag, END)]
    return pairs
