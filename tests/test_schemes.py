import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.schemes import (
    allowed_transitions,
    SchemeError,
    convert_tags,
    detect_scheme,
    scheme_labels,
    spans_to_tags,
    split_tag,
    tags_to_spans,
)


@pytest.mark.parametrize(
    "tags, spans",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),  # IOB2
        (["I-PER", "I-PER", "B-PER", "O"], [("PER", 0, 2), ("PER", 2, 3)]),  # IOB1
        (["B-PER", "E-PER", "S-LOC", "O"], [("PER", 0, 2), ("LOC", 2, 3)]),  # BIOES
        (["O", "I-PER", "I-LOC"], [("PER", 1, 2), ("LOC", 2, 3)]),  # ill-formed IOB2: I after O / other type
        (["B-PER", "O"], [("PER", 0, 1)]),  # BIOES B without E
        (["S-PER", "I-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # I after S starts a new entity
        (["E-ORG"], [("ORG", 0, 1)]),
        ([], []),
    ],
)
def test_tags_to_spans(tags, spans):
    assert tags_to_spans(tags) == spans


def test_conversions_between_schemes():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O", "I-ORG", "I-ORG", "I-ORG"]
    assert convert_tags(iob1, "IOB2") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "I-ORG"]
    assert convert_tags(iob1, "BIOES") == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O", "B-ORG", "I-ORG", "E-ORG"]
    assert convert_tags(convert_tags(iob1, "BIOES"), "IOB1") == iob1
    # ill-formed input is repaired, as conlleval reads it
    assert convert_tags(["O", "I-PER", "E-LOC"], "IOB2") == ["O", "B-PER", "B-LOC"]


def test_detect_scheme():
    assert detect_scheme([["I-PER", "O"], ["B-LOC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "I-PER", "O"]]) == "IOB2"
    assert detect_scheme([["B-PER", "E-PER"], ["S-LOC"]]) == "BIOES"
    assert detect_scheme([["O", "O"]]) == "IOB2"
    assert detect_scheme([["B-PER", "I-LOC"]]) == "IOB1"


def test_split_tag_rejects_invalid_tags():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("B-I-X") == ("B", "I-X")
    for bad in ("PER", "X-PER", "B-", "NNP"):
        with pytest.raises(SchemeError, match="invalid tag"):
            split_tag(bad)


def test_scheme_labels():
    assert scheme_labels(["PER", "LOC"], "IOB2") == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert scheme_labels(["X"], "BIOES") == ["O", "B-X", "I-X", "E-X", "S-X"]


@st.composite
def spans_and_length(draw):
    """Non-overlapping spans over a sentence."""
    length = draw(st.integers(0, 12))
    spans, position = [], 0
    while position < length:
        gap = draw(st.integers(0, 2))
        size = draw(st.integers(1, 3))
        if position + gap + size > length:
            break
        spans.append((draw(st.sampled_from(["PER", "LOC"])), position + gap, position + gap + size))
        position += gap + size
    return spans, length


@given(spans_and_length(), st.sampled_from(["IOB1", "IOB2", "BIOES"]))
def test_spans_tags_spans_is_identity(case, scheme):
    spans, length = case
    tags = spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    assert tags_to_spans(tags) == spans
    assert detect_scheme([tags]) in (scheme, "IOB2")


def test_allowed_transitions_iob2_literal():
    tags = ["O", "B-X", "I-X", "B-Y", "I-Y"]
    start, end = 5, 6
    assert set(allowed_transitions(tags, "IOB2")) == {
        (start, 0), (start, 1), (start, 3),
        (0, 0), (0, 1), (0, 3),
        (1, 0), (1, 1), (1, 2), (1, 3),
        (2, 0), (2, 1), (2, 2), (2, 3),
        (3, 0), (3, 1), (3, 3), (3, 4),
        (4, 0), (4, 1), (4, 3), (4, 4),
        (0, end), (1, end), (2, end), (3, end), (4, end),
    }


def test_allowed_transitions_bioes_literal():
    tags = ["O", "B-X", "I-X", "E-X", "S-X", "S-Y"]
    start, end = 6, 7
    assert set(allowed_transitions(tags, "BIOES")) == {
        (start, 0), (start, 1), (start, 4), (start, 5),
        (0, 0), (0, 1), (0, 4), (0, 5),
        (1, 2), (1, 3),
        (2, 2), (2, 3),
        (3, 0), (3, 1), (3, 4), (3, 5),
        (4, 0), (4, 1), (4, 4), (4, 5),
        (5, 0), (5, 1), (5, 4), (5, 5),
        (0, end), (3, end), (4, end), (5, end),
    }
    with pytest.raises(SchemeError, match="IOB2 and BIOES"):
        allowed_transitions(tags, "IOB1")
