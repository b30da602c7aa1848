import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.schemes import (
    allowed_transitions,
    SchemeError,
    convert_tags,
    detect_scheme,
    scheme_labels,
    scheme_name,
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
    assert detect_scheme([["I-PER", "O"], ["B-LOC"], ["I-ORG"]]) == "IOB1"
    assert detect_scheme([["B-PER", "I-PER", "O"]]) == "IOB2"
    assert detect_scheme([["B-PER", "E-PER"], ["S-LOC"]]) == "BIOES"
    assert detect_scheme([["O", "O"]]) == "IOB2"
    assert detect_scheme([["I-PER", "B-PER", "O", "I-LOC"]]) == "IOB1"  # B only after its own type
    # IOB2 with an entity begun by I- (an annotation error, as Weibo NER has a few) is still IOB2
    assert detect_scheme([["B-PER", "I-LOC"]]) == "IOB2"
    assert detect_scheme([["B-PER", "O"], ["O", "I-LOC"]]) == "IOB2"


def test_a_prefix_alone_is_a_tag_without_a_type_read_and_written_as_it_came():
    # BioBERT's NER corpora (NCBI-disease, BC2GM, ...) write their one kind of entity as B, I and O.
    assert split_tag("B") == ("B", "_") and split_tag("S") == ("S", "_") and split_tag("I") == ("I", "_")
    untyped = ["B", "I", "O", "B", "B", "I", "I"]
    assert tags_to_spans(untyped) == [("_", 0, 2), ("_", 3, 4), ("_", 4, 7)]
    assert detect_scheme([untyped]) == "IOB2" and detect_scheme([["I", "O", "I", "I"]]) == "IOB1"
    assert convert_tags(untyped, "BIOES") == ["B", "E", "O", "S", "B", "I", "E"]
    assert convert_tags(convert_tags(untyped, "BIOES"), "IOB2") == untyped  # written back as it came
    assert convert_tags(untyped, "IO") == ["I", "I", "O", "I", "I", "I", "I"]  # IO: adjacent entities merge
    assert tags_to_spans(convert_tags(untyped, "IO")) == [("_", 0, 2), ("_", 3, 7)]
    assert scheme_labels(["_"], "BIOES") == ["O", "B", "I", "E", "S"] and scheme_labels(["_"], "IOB2") == [
        "O", "B", "I"]
    # Typed tags as before: a bare type of two letters or more is IO's.
    assert split_tag("B-PER") == ("B", "PER") and split_tag("PE") == ("", "PE")


def test_split_tag_rejects_invalid_tags():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("B-I-X") == ("B", "I-X")
    assert split_tag("U-PER") == ("U", "PER")
    assert split_tag("M-PER.NAM") == ("M", "PER.NAM")
    assert split_tag("PER") == ("", "PER")  # IO: a bare type
    assert split_tag("person-actor") == ("", "person-actor")  # Few-NERD's fine types, bare (IO) or prefixed
    assert split_tag("B-person-actor") == ("B", "person-actor")
    assert split_tag("event-attack/battle/war/militaryconflict") == ("", "event-attack/battle/war/militaryconflict")
    assert split_tag("B_PER") == ("B", "PER") and split_tag("I_LOC_NAM") == ("I", "LOC_NAM")  # PEYMA's underscore
    assert split_tag("DATE_TIME") == ("", "DATE_TIME") and convert_tags(["B_PER", "I_PER", "O"], "BIOES") == [
        "B-PER", "E-PER", "O"]
    # NAVER's prefix last: PER_B, PER_I (not the IO types "PER_B" and "PER_I")
    assert split_tag("PER_B") == ("B", "PER") and split_tag("LOC-I") == ("I", "LOC") and split_tag("DAT_TIM_E") == (
        "E", "DAT_TIM")
    assert convert_tags(["PER_B", "PER_I", "O", "ORG_B", "PER_B"], "BIOES") == ["B-PER", "E-PER", "O", "S-ORG", "S-PER"]
    assert detect_scheme([["PER_B", "PER_I", "O"]]) == "IOB2"
    assert split_tag("person-actor") == ("", "person-actor") and split_tag("GPE_NAME") == ("", "GPE_NAME")
    for bad in ("X-PER", "B-", "-PER", "PER-", ",", "$", "1", "1-PER"):
        with pytest.raises(SchemeError, match="invalid tag .* no scheme reads it .tried IOB1, IOB2, BIOES, BILOU, BMES, IO"):
            split_tag(bad)


# One sentence's entities, written in each scheme: PER of 3 tokens, LOC of 1, two adjacent ORGs of 2 and 1.
SPANS = [("PER", 0, 3), ("LOC", 4, 5), ("ORG", 5, 7), ("ORG", 7, 8)]
WRITTEN = {
    "IOB1": ["I-PER", "I-PER", "I-PER", "O", "I-LOC", "I-ORG", "I-ORG", "B-ORG", "O"],
    "IOB2": ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG", "B-ORG", "O"],
    "BIOES": ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-ORG", "E-ORG", "S-ORG", "O"],
    "BILOU": ["B-PER", "I-PER", "L-PER", "O", "U-LOC", "B-ORG", "L-ORG", "U-ORG", "O"],
    "BMES": ["B-PER", "M-PER", "E-PER", "O", "S-LOC", "B-ORG", "E-ORG", "S-ORG", "O"],
    "IO": ["PER", "PER", "PER", "O", "LOC", "ORG", "ORG", "ORG", "O"],
}


@pytest.mark.parametrize("scheme", sorted(WRITTEN))
def test_each_scheme_written_and_read_literally(scheme):
    assert spans_to_tags(SPANS, 9, scheme) == WRITTEN[scheme]
    read = tags_to_spans(WRITTEN[scheme])
    # IO cannot tell two adjacent entities of one type from one: they merge, as the docs say.
    assert read == (SPANS if scheme != "IO" else SPANS[:2] + [("ORG", 5, 8)])
    assert detect_scheme([WRITTEN[scheme]]) == scheme


@pytest.mark.parametrize("source", sorted(WRITTEN))
@pytest.mark.parametrize("target", sorted(WRITTEN))
def test_conversion_between_every_pair_of_schemes(source, target):
    if source == "IO":
        return  # read as merged entities: covered above
    assert convert_tags(WRITTEN[source], target) == WRITTEN[target]


@pytest.mark.parametrize(
    "tags, spans",
    [
        (["U-PER", "B-PER", "L-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # BILOU
        (["B-PER", "I-PER", "O"], [("PER", 0, 2)]),  # BILOU B without L: closed at O
        (["L-PER", "L-PER"], [("PER", 0, 1), ("PER", 1, 2)]),  # a last tag after a last tag starts anew
        (["M-LOC", "E-LOC", "S-LOC"], [("LOC", 0, 2), ("LOC", 2, 3)]),  # BMES: M after O starts an entity
        (["B-LOC", "M-LOC", "M-PER"], [("LOC", 0, 2), ("PER", 2, 3)]),  # M of another type
        (["PER", "LOC", "LOC", "O", "PER"], [("PER", 0, 1), ("LOC", 1, 3), ("PER", 4, 5)]),  # IO
    ],
)
def test_ill_formed_sequences_of_other_schemes(tags, spans):
    assert tags_to_spans(tags) == spans


def test_detect_scheme_names_the_schemes_tried_and_the_tag_at_fault():
    assert detect_scheme([["B-NAME", "M-NAME", "E-NAME"], ["S-ORG"]]) == "BMES"
    assert detect_scheme([["B-NAME", "E-NAME"]]) == "BIOES"  # BMES without M reads the same as BIOES
    assert detect_scheme([["U-PER"], ["B-ORG", "L-ORG"]]) == "BILOU"
    assert detect_scheme([["PER", "O", "LOC"]]) == "IO"
    with pytest.raises(SchemeError, match="'U-LOC' is of no scheme that also has 'S-PER'.*tried IOB1") as error:
        detect_scheme([["O"], ["S-PER", "O"], ["O", "U-LOC"]])
    assert error.value.position == (2, 1)
    with pytest.raises(SchemeError, match="'PER' is of no scheme that also has 'B-LOC'") as error:
        detect_scheme([["B-LOC", "PER"]])
    assert error.value.position == (0, 1)


def test_a_forced_scheme_refuses_other_tags():
    assert detect_scheme([["B-PER", "E-PER"]], "BMES") == "BMES"
    with pytest.raises(SchemeError, match="'I-PER' is not of BMES, whose tags are B-TYPE M-TYPE E-TYPE S-TYPE") as error:
        detect_scheme([["O"], ["B-PER", "I-PER"]], "BMES")
    assert error.value.position == (1, 1)


def test_scheme_names_and_aliases():
    assert scheme_name("biluo") == "BILOU"
    assert scheme_name("BMEOS") == "BMES"
    assert scheme_name("iobes") == "BIOES"
    with pytest.raises(SchemeError, match="unknown tag scheme 'BIO2'"):
        scheme_name("BIO2")


def test_scheme_labels():
    assert scheme_labels(["PER", "LOC"], "IOB2") == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert scheme_labels(["X"], "BIOES") == ["O", "B-X", "I-X", "E-X", "S-X"]
    assert scheme_labels(["X"], "BILOU") == ["O", "B-X", "I-X", "L-X", "U-X"]
    assert scheme_labels(["X", "Y"], "IO") == ["O", "X", "Y"]


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


@given(spans_and_length(), st.sampled_from(["IOB1", "IOB2", "BIOES", "BILOU", "BMES"]))
def test_spans_tags_spans_is_identity(case, scheme):
    spans, length = case
    tags = spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    assert tags_to_spans(tags) == spans
    # Without a tag that only one scheme has, a sentence reads as the first scheme that has its tags.
    assert detect_scheme([tags]) in (scheme, "IOB2", "BIOES")


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
