"""Tag schemes as data (IOB1, IOB2, BIOES, BILOU, BMES, IO), how a corpus's is detected, and conversions.

Every conversion goes through spans: ``tags_to_spans`` reads any scheme the
way conlleval reads IOB (an entity that continues nothing starts one; an
ill-formed sequence never loses a token), and ``spans_to_tags`` writes spans
in the scheme asked for. Spans are ``(label, start, end)`` with ``end``
exclusive, as in spaCy's ``Span``.

No two schemes give one prefix two meanings, so a tag is read the same
whatever its scheme: ``B`` begins an entity; ``I``, ``M`` (BMES) and a bare
type (IO; ``PER``, or Few-NERD's ``person-actor``) are inside one; ``E`` and
``L`` (BILOU) end one; ``S`` and ``U`` (BILOU) are an entity of one token.
The schemes differ in which of these they use, which is what
``detect_scheme`` goes by. A prefix alone (``B``, ``I``: BioBERT's NER corpora
write their one kind of entity so) is a tag without a type, read as of the type
``UNTYPED`` (``_``, as seqeval reads it) and written back as it came.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import TaggerError

OUTSIDE = "O"
# The type of a tag written without one (``B``, ``I``), as seqeval names it in its reports.
UNTYPED = "_"


@dataclass(frozen=True)
class Scheme:
    """How a scheme writes an entity: the prefix of its first token, of the tokens inside it, of its last
    token, and of an entity of one token; ``""`` writes the bare type (IO).

    ``after_same_type``: the prefix of the first token of an entity that follows one of its own type at
    once, where it differs from the usual one (IOB1's ``B``). IO has none: such entities merge.
    """

    begin: str
    inside: str
    last: str
    single: str
    after_same_type: str | None = None

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every prefix the scheme uses, in the order tags are listed (``scheme_labels``)."""
        used = (self.after_same_type, self.begin, self.inside, self.last, self.single)
        return tuple(dict.fromkeys(prefix for prefix in used if prefix is not None))


RULES = {
    "IOB1": Scheme(begin="I", inside="I", last="I", single="I", after_same_type="B"),
    "IOB2": Scheme(begin="B", inside="I", last="I", single="B"),
    "BIOES": Scheme(begin="B", inside="I", last="E", single="S"),
    "BILOU": Scheme(begin="B", inside="I", last="L", single="U"),
    "BMES": Scheme(begin="B", inside="M", last="E", single="S"),
    "IO": Scheme(begin="", inside="", last="", single=""),
}
SCHEMES = tuple(RULES)
# The schemes a model is trained and decodes in (``is_transition_allowed``); it reads and writes all.
DECODING_SCHEMES = ("IOB2", "BIOES")
# Other names of the same schemes, as tools and papers spell them.
ALIASES = {"IOB": "IOB2", "BIO": "IOB2", "IOBES": "BIOES", "BILUO": "BILOU", "BIOLU": "BILOU", "BMEOS": "BMES",
           "BMESO": "BMES"}
# Where a prefix's token is in its entity, in any scheme.
ROLES = {"B": "begin", "I": "inside", "M": "inside", "": "inside", "E": "last", "L": "last", "S": "single",
         "U": "single"}
# Tags that are a prefix alone: an entity's tokens without a type (BioBERT's NER corpora, NCBI-disease's ``B I O``).
UNTYPED_TAGS = frozenset(prefix for prefix in ROLES if prefix)
# The schemes ``detect_scheme`` tries, in order: the first that has every prefix of a corpus is its scheme.
DETECTION_ORDER = ("IOB2", "BIOES", "BILOU", "BMES", "IO")

Span = tuple[str, int, int]


class SchemeError(TaggerError):
    """A tag that no supported scheme can read, or a corpus whose tags no one scheme has."""

    def __init__(self, message: str, position: tuple[int, int] | None = None):
        super().__init__(message)
        self.position = position  # (sequence, token) of the tag at fault, where one is


def normalized_name(name: str) -> str:
    """A scheme's name in upper case, an alias (``BILUO``, ``iobes``) replaced by the scheme's name in ``SCHEMES``.

    (For an option's choices: a name that is no scheme's comes back upper-cased, for argparse to refuse.)
    """
    return ALIASES.get(name.upper(), name.upper())


def scheme_name(name: str) -> str:
    """The scheme a name (any case, or an alias such as ``BILUO``) stands for; a ``SchemeError`` if none."""
    normalized = normalized_name(name)
    if normalized not in RULES:
        raise SchemeError(f"unknown tag scheme {name!r}: expected one of {', '.join(SCHEMES)}")
    return normalized


def split_tag(tag: str) -> tuple[str, str]:
    """``'B-PER'`` -> ``('B', 'PER')``; ``'PER'`` (IO) -> ``('', 'PER')``; ``'O'`` -> ``('O', '')``.

    A bare type may hold hyphens where a word of two letters or more comes before the first one, as
    Few-NERD's ``person-actor`` (IO) and ``B-person-actor``; a letter that is no prefix (``X-PER``) is an error.
    A prefix may be joined by an underscore, as some corpora write it (PEYMA's ``B_PER``): ``('B', 'PER')``;
    or come last, after a hyphen or an underscore (NAVER's Korean corpus writes ``PER_B``): ``('B', 'PER')``.
    A prefix alone has no type: ``'B'`` -> ``('B', UNTYPED)``.
    """
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if tag in UNTYPED_TAGS:
        return tag, UNTYPED
    if tag[1:2] == "_" and tag[2:] and tag[0] in ROLES:
        return tag[0], tag[2:]
    prefix, sep, label = tag.partition("-")
    if sep and label and prefix and prefix in ROLES:
        return prefix, label
    if _prefix_last(tag):
        return tag[-1], tag[:-2]
    if tag[:1].isalpha() and (not sep or (len(prefix) > 1 and label)):
        return "", tag
    upper = tag[:1].upper() + tag[1:]
    case_hint = f"; prefixes are upper case: {upper!r}" if upper != tag and looks_like_a_tag(upper) else ""
    raise SchemeError(
        f"invalid tag {tag!r}: no scheme reads it (tried {', '.join(SCHEMES)}: a tag is O, PREFIX-TYPE with "
        f"PREFIX one of {' '.join(prefix for prefix in ROLES if prefix)}, or a bare TYPE in IO{case_hint})"
    )


def looks_like_a_tag(text: str) -> bool:
    """``O``, or PREFIX-TYPE with a prefix of a tag scheme (``B-PER``, ``U-LOC``, ``B_PER``, ``PER_B``): what a
    column of tags holds, and a word seldom is (a bare type of IO is a word)."""
    prefix, separator, label = text.replace("_", "-", 1).partition("-")
    return text == OUTSIDE or bool(prefix and prefix in ROLES and separator and label) or _prefix_last(text)


def _prefix_last(tag: str) -> bool:
    """Whether a tag writes its prefix last, after a hyphen or an underscore (NAVER's ``PER_B``)."""
    return len(tag) > 2 and tag[-2] in "-_" and tag[-1] in ROLES and tag[:1].isalpha()


def is_bracket_tag(tag: str) -> bool:
    """Whether ``tag`` is written as OntoNotes' CoNLL-2012 files mark entities: ``(PERSON*`` opens one,
    ``*)`` closes it, ``(GPE)`` is one of one token, ``*`` any other token."""
    return tag in ("*", "*)") or (len(tag) > 2 and tag[0] == "(" and tag[-1] in "*)" and "(" not in tag[1:])


def brackets_to_tags(tags: Sequence[str]) -> list[str]:
    """A sentence's bracketed entity column (``is_bracket_tag``) as IOB2 tags.

    A ``SchemeError`` (its ``position`` the token's index) where the brackets do not pair:
    an entity opened inside another or left open, a close without an open, or a tag of another kind.
    """
    written, open_type = [], ""
    for i, tag in enumerate(tags):
        if tag.startswith("("):
            label = tag[1:].rstrip(")").rstrip("*")
            if open_type or not label:
                raise SchemeError(f"{tag!r} opens an entity inside {open_type}" if open_type else
                                  f"{tag!r} names no entity type", (0, i))
            written.append(f"B-{label}")
            open_type = "" if tag.endswith(")") else label
        elif tag in ("*", "*)"):
            if tag == "*)" and not open_type:
                raise SchemeError("'*)' closes no entity", (0, i))
            written.append(f"I-{open_type}" if open_type else OUTSIDE)
            open_type = "" if tag == "*)" else open_type
        else:
            raise SchemeError(f"tag {tag!r} among bracketed ones ('(PERSON*', '*', '*)')", (0, i))
    if open_type:
        raise SchemeError(f"entity {open_type} is not closed by the sentence's end", (0, len(tags) - 1))
    return written


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of a tag sequence in any scheme (see the module's docstring for how prefixes read).

    Lenient like conlleval: an entity starts at a begin or single tag, or at an
    inside or last tag whose previous tag is ``O``, another type, or ends an
    entity; it ends after a last or single tag, or where the next tag does not continue it.
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
        role = ROLES[prefix]
        continues = role in ("inside", "last") and current == label and start >= 0
        if not continues and start >= 0:
            spans.append((current, start, i))
            start, current = -1, ""
        if start < 0:
            start, current = i, label
        if role in ("last", "single"):
            spans.append((current, start, i + 1))
            start, current = -1, ""
    if start >= 0:
        spans.append((current, start, len(tags)))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str = "IOB2") -> list[str]:
    """Tags of ``length`` tokens with the given non-overlapping spans in ``scheme``.

    In IO, two entities of one type next to each other read back as one.
    """
    rules = RULES.get(scheme)
    if rules is None:
        raise SchemeError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")

    tags = [OUTSIDE] * length
    previous: Span | None = None
    for label, start, end in sorted(spans, key=lambda span: span[1]):
        first = rules.single if end - start == 1 else rules.begin
        if rules.after_same_type is not None and previous is not None and previous[2] == start and previous[0] == label:
            first = rules.after_same_type
        tags[start] = tag(first, label)
        if end - start > 1:
            for i in range(start + 1, end - 1):
                tags[i] = tag(rules.inside, label)
            tags[end - 1] = tag(rules.last, label)
        previous = (label, start, end)
    return tags


@functools.lru_cache(maxsize=4096)
def tag(prefix: str, label: str) -> str:
    """``B``, ``PER`` -> ``'B-PER'``; ``''`` (IO) -> ``'PER'``; ``B``, ``UNTYPED`` -> ``'B'``: one string object
    for each tag, however many sentences are tagged with it (a corpus of 5 million tokens holds 5 million
    references, not strings)."""
    if label == UNTYPED:
        return prefix or "I"  # IO's entity tokens without a type: I, which reads back as the same entities
    return f"{prefix}-{label}" if prefix else label


def convert_tags(tags: Sequence[str], scheme: str) -> list[str]:
    """Tags in any scheme rewritten in ``scheme`` (entities kept as conlleval reads them)."""
    return spans_to_tags(tags_to_spans(tags), len(tags), scheme)


def detect_scheme(tag_sequences: Iterable[Sequence[str]], scheme: str | None = None) -> str:
    """The scheme a corpus is written in, or, given ``scheme``, that scheme once every tag is found in it.

    The first scheme of ``DETECTION_ORDER`` whose prefixes include all the
    corpus's is its scheme; of IOB's two, IOB1 starts entities with ``I-`` (after
    ``O``, another type, or at the start of a sentence) and writes ``B-`` only
    after an entity of the same type, so a corpus that starts more entities
    with ``I-`` than with ``B-`` is IOB1 (a few ``I-`` starts among IOB2's ``B-``
    starts are errors of annotation, read as conlleval reads them). So
    BMES without an ``M`` reads as BIOES, which reads the same. A corpus with
    no entity at all reads as IOB2. Tags of two schemes that no one scheme has
    (``S-PER`` and ``U-LOC``; bare types and prefixed ones) raise a ``SchemeError``
    whose ``position`` is the first tag at fault.
    """
    allowed = set(RULES[scheme].prefixes) if scheme is not None else None
    first_seen: dict[str, tuple[int, int, str]] = {}  # prefix -> (sequence, token, tag) where first seen
    starts_with_i = starts_with_b = 0
    for k, tags in enumerate(tag_sequences):
        previous = ""
        for i, tag in enumerate(tags):
            try:
                prefix, label = split_tag(tag)
            except SchemeError as error:
                raise SchemeError(str(error), (k, i)) from None
            if prefix != OUTSIDE and prefix not in first_seen:
                if allowed is not None and prefix not in allowed:
                    raise SchemeError(f"tag {tag!r} is not of {scheme}, whose tags are "
                                      f"{' '.join(_example(prefix, scheme) for prefix in RULES[scheme].prefixes)} "
                                      "and O", (k, i))
                first_seen[prefix] = (k, i, tag)
                if _candidates(first_seen) == []:
                    others = ", ".join(repr(seen[2]) for p, seen in first_seen.items() if p != prefix)
                    raise SchemeError(f"tag {tag!r} is of no scheme that also has {others} (tried "
                                      f"{', '.join(SCHEMES)})", (k, i))
            if previous != label:
                starts_with_i += prefix == "I"
                starts_with_b += prefix == "B"
            previous = label
    if scheme is not None:
        return scheme
    found = _candidates(first_seen)[0]
    return "IOB1" if found == "IOB2" and starts_with_i > starts_with_b else found


def _candidates(seen: Iterable[str]) -> list[str]:
    """The schemes of ``DETECTION_ORDER`` that use every prefix in ``seen``."""
    seen = set(seen)
    return [name for name in DETECTION_ORDER if seen <= set(RULES[name].prefixes)]


def _example(prefix: str, scheme: str) -> str:
    return f"{prefix}-TYPE" if prefix else "TYPE"


def entity_types(labels: Iterable[str]) -> list[str]:
    """Sorted entity types named by a set of tags (``B-PER``, ``I-PER`` -> ``PER``)."""
    return sorted({split_tag(tag)[1] for tag in labels} - {""})


def scheme_labels(types: Iterable[str], scheme: str) -> list[str]:
    """Every tag of ``scheme`` for the given entity types, ``O`` first."""
    prefixes = RULES[scheme].prefixes
    return [OUTSIDE] + [tag(prefix, label) for label in sorted(types) for prefix in prefixes]


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
