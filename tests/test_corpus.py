import gzip
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.corpus import (CorpusError, Sentence, corpus_scheme, document_starts, read_conll, read_corpus, read_lines,
                           write_conll)

from .conftest import SAMPLE

TEXT = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
"""


def write(tmp_path, text, name="data.conll", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_sentences_columns_and_documents(tmp_path):
    sentences = list(read_conll(write(tmp_path, TEXT)))
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert [s.labels for s in sentences] == [["I-ORG", "O", "I-MISC"], ["I-PER", "I-PER"]]
    assert sentences[0].document_start == "-DOCSTART- -X- -X- O"
    assert sentences[1].document_start is None
    assert sentences[1].first_line == 7
    other = list(read_conll(write(tmp_path, TEXT), token_column=1, label_column=2))
    assert other[0].tokens == ["NNP", "VBZ", "JJ"] and other[0].labels == ["I-NP", "I-VP", "I-NP"]
    assert list(read_conll(write(tmp_path, TEXT), label_column=None))[0].labels is None


def test_windows_line_endings_bom_and_blank_runs(tmp_path):
    text = "\ufeffA B-X\r\nb O\r\n\r\n\r\n\r\nC B-Y  \r\n"
    sentences = list(read_conll(write(tmp_path, text)))
    assert [s.tokens for s in sentences] == [["A", "b"], ["C"]]
    assert sentences[1].labels == ["B-Y"]


def test_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, "A B-X\nb c O\n")
    with pytest.raises(CorpusError, match=r"data.conll:2: expected 2 columns like the first line, got 3: 'b c O'$"):
        list(read_conll(path))
    # Tab-separated, a token with a space in it is two columns: the lines agree on their tabs.
    with pytest.raises(CorpusError, match=r"data.conll:3: expected 2 columns like the first line, got 3: "
                       r"'New York\\tB-LOC'; lines 1 and 3 have 2 tab-separated columns each: if a token is or "
                       r"holds a space, --column-separator tab reads the columns between tabs$"):
        list(read_conll(write(tmp_path, "in\tO\n\nNew York\tB-LOC\n")))
    with pytest.raises(CorpusError, match=r"data.conll:2: invalid tag ',': no scheme reads it .*is column -1 the "
                       r"entity tags\?"):
        list(read_conll(write(tmp_path, "A NNP\n, ,\n")))
    with pytest.raises(CorpusError, match=r"missing.conll: no such file"):
        list(read_conll(tmp_path / "missing.conll"))
    with pytest.raises(CorpusError, match=r"data.conll/eng.testa: cannot be read \(Not a directory\)$"):
        list(read_conll(tmp_path / "data.conll" / "eng.testa"))  # a path through a file
    with pytest.raises(CorpusError, match=r"data.conll:2: not valid utf-8 text.*--encoding latin-1"):
        list(read_conll(write(tmp_path, "A O\nCaf\xe9 O\n", encoding="latin-1")))
    assert list(read_conll(write(tmp_path, "A O\nCaf\xe9 O\n", encoding="latin-1"), encoding="latin-1"))[0].tokens == [
        "A", "Café"
    ]
    with pytest.raises(CorpusError, match="no sentences"):
        read_corpus(write(tmp_path, "-DOCSTART- O\n\n\n"))


def test_utf16_files_read_with_their_encoding_and_are_named_without_it(tmp_path):
    text = "EU B-ORG\r\nrejects O\n\nGerman B-MISC\ncall O"  # Windows and Unix line breaks, no last one
    expected = [(1, "EU B-ORG"), (2, "rejects O"), (3, ""), (4, "German B-MISC"), (5, "call O")]
    little = write(tmp_path, text, "little.conll", encoding="utf-16")  # with a byte-order mark
    big = write(tmp_path, text, "big.conll", encoding="utf-16-be")  # without one
    assert list(read_lines(little, "utf-16")) == list(read_lines(big, "utf-16-be")) == expected
    assert [s.tokens for s in read_conll(little, encoding="utf-16")] == [["EU", "rejects"], ["German", "call"]]
    # With its byte-order mark (as Windows Notepad saves "Unicode"), it reads without --encoding, which is UTF-8
    # by default: no UTF-8 text begins with those bytes. Compressed too; the mark of either byte order.
    assert [s.tokens for s in read_conll(little)] == [["EU", "rejects"], ["German", "call"]]
    assert list(read_lines(write(tmp_path, "\ufeff" + text, "big-marked.conll", encoding="utf-16-be"))) == expected
    (tmp_path / "little.conll.gz").write_bytes(gzip.compress(little.read_bytes()))
    assert list(read_lines(tmp_path / "little.conll.gz")) == expected
    # Another encoding named is read as named: the mark's bytes are not UTF-16 in it.
    with pytest.raises(CorpusError, match=r"little.conll:1: not valid ascii text \(ordinal not in range\(128\)\); "
                       r"the file begins with a UTF-16 byte-order mark: try --encoding utf-16$"):
        list(read_conll(little, encoding="ascii"))
    # A bad byte is named at its line, past the lines before it, in either kind of encoding.
    broken = tmp_path / "broken.conll"
    broken.write_bytes("A O\nB O\n".encode("utf-16-le") + b"\x00\xd8" + "C O\n".encode("utf-16-le"))
    with pytest.raises(CorpusError, match=r"broken.conll:3: not valid utf-16-le text .*; try --encoding latin-1$"):
        list(read_lines(broken, "utf-16-le"))
    with pytest.raises(CorpusError, match=r"data.conll:3: not valid utf-8 text"):
        list(read_lines(write(tmp_path, "A O\nB O\nCaf\xe9 O\nD O\n", encoding="latin-1")))


def test_a_spreadsheet_a_document_or_utf16_without_its_mark_given_as_text_is_named_for_what_it_is(tmp_path):
    import zipfile

    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:  # what an Excel .xlsx is; its bytes depend on the time given
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", date_time=(2024, 1, 2, 3, 4, 5)), "<Types/>")
    # (a header of bytes under 0x80 is valid UTF-8, and then its zero bytes are what it is named by)
    files = {"book.xlsx": (workbook.getvalue(), r"\d+: (not valid utf-8 text \(.*\); )?the file is a ZIP archive "
                                                r"\(an Excel .xlsx, a Word .docx, an OpenDocument file\?\), not text: "
                                                r"save it as CSV or text"),
             "paper.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", r"2: .*; the file is a PDF document, not text: save its "
                                                               r"text first"),
             "table.pq": (b"PAR1\x15\x04\x15\xe8\x07", r"1: .*; the file is a Parquet table, read as one where its "
                                                      r"name ends in .parquet"),
             # valid UTF-8, every other byte zero: UTF-16 without its byte-order mark
             "no-mark.conll": ("EU B-ORG\nrejects O\n".encode("utf-16-le"),
                               r"1: the file holds zero bytes, as UTF-16 text without a byte-order mark does \(try "
                               r"--encoding utf-16-le or utf-16-be\) and binary files do")}
    for name, (content, message) in files.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CorpusError, match=rf"^{re.escape(str(tmp_path / name))}:{message}$"):
            list(read_lines(tmp_path / name))
    assert [s.tokens for s in read_conll(tmp_path / "no-mark.conll", encoding="utf-16-le")] == [["EU", "rejects"]]


def test_a_tag_error_names_the_line_of_its_token_past_conllus_multiword_lines(tmp_path):
    # CoNLL-U: "2-3 del" is a line of its own before the words "de" and "el"; the bad tag is on line 6.
    path = write(tmp_path, "# sent_id = 1\n1\tVoy\tS-PER\n2-3\tdel\t_\n2\tde\tO\n3\tel\tO\n4\tParís\tU-LOC\n",
                 "es.conllu")
    with pytest.raises(CorpusError, match=r"es.conllu:6: tag 'U-LOC' is of no scheme that also has 'S-PER'"):
        read_corpus(path, token_column=1, comment_prefix="#")


def test_a_compressed_file_reads_as_the_text_it_holds(tmp_path):
    import bz2
    import lzma

    plain = SAMPLE / "dev.conll"
    expected = [(s.tokens, s.labels, s.first_line) for s in read_corpus(plain)]
    for name, compress in (("dev.conll.gz", gzip.compress), ("dev.conll.bz2", bz2.compress),
                           ("dev.xz", lzma.compress)):  # known by their first bytes, whatever the name
        (tmp_path / name).write_bytes(compress(plain.read_bytes()))
        assert [(s.tokens, s.labels, s.first_line) for s in read_corpus(tmp_path / name)] == expected, name
    # A UTF-16 file compressed reads in its encoding; a text that begins as bzip2's does stays text.
    (tmp_path / "utf16.gz").write_bytes(gzip.compress("EU B-ORG\nrejects O\n".encode("utf-16")))
    assert list(read_lines(tmp_path / "utf16.gz", "utf-16")) == [(1, "EU B-ORG"), (2, "rejects O")]
    assert list(read_lines(write(tmp_path, "BZh O\nBZh91AY O\n"))) == [(1, "BZh O"), (2, "BZh91AY O")]
    # A file cut short is an error at the line it breaks off in.
    compressed = gzip.compress(plain.read_bytes())
    (tmp_path / "cut.conll.gz").write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(CorpusError, match=r"cut.conll.gz:[0-9]+: cannot be decompressed \(Compressed file ended ") as cut:
        list(read_lines(tmp_path / "cut.conll.gz"))
    assert 1 < cut.value.line < len(list(read_lines(plain)))


def test_sample_corpus_reads():
    sentences = read_corpus(SAMPLE / "train.conll")
    assert len(sentences) == 400
    assert all(len(s.tokens) == len(s.labels) > 0 for s in sentences)


COMMENTED = """# id 1\tdomain=en
# text = Tom visited Paris
Tom _ _ B-PER
# _ _ O
visited _ _ O

-DOCSTART- _ _ O

# id 2\tdomain=en
# _ _ O
Paris _ _ B-LOC
"""


def test_comment_lines_before_a_sentence_are_kept_apart_and_written_back(tmp_path):
    path = write(tmp_path, COMMENTED)
    sentences = list(read_conll(path, comment_prefix="#"))
    # Before a sentence's first token a line with the prefix is a comment, within the sentence a token.
    assert [s.tokens for s in sentences] == [["Tom", "#", "visited"], ["Paris"]]
    assert [s.comments for s in sentences] == [["# id 1\tdomain=en", "# text = Tom visited Paris"],
                                               ["# id 2\tdomain=en", "# _ _ O"]]
    assert (sentences[0].first_line, sentences[1].first_line) == (3, 11)
    assert sentences[1].document_start == "-DOCSTART- _ _ O"
    stream = io.StringIO()
    write_conll(zip(sentences, [s.labels for s in sentences]), stream)
    written = stream.getvalue()
    assert written.startswith("# id 1\tdomain=en\n# text = Tom visited Paris\nTom _ _ B-PER B-PER\n# _ _ O O\n")
    assert [(s.tokens, s.comments) for s in read_conll(write(tmp_path, written, "out.conll"), comment_prefix="#")] == [
        (s.tokens, s.comments) for s in sentences]
    # Without the prefix every such line is a token (a tweet may begin with '#'), and where that breaks the
    # corpus the error says what the line may be.
    assert [s.tokens for s in read_conll(write(tmp_path, "# O\nrocks O\n", "tweet.conll"))] == [["#", "rocks"]]
    with pytest.raises(CorpusError, match=r"data.conll:1: column -1, 'domain=en', holds no entity tag; "
                       r"if lines starting with # are comments, --comment-prefix '#' reads them so$"):
        read_corpus(write(tmp_path, "# id 1 domain=en\nTom _ _ B-PER\n"))
    with pytest.raises(CorpusError, match=r"data.conll:2: expected 5 columns like the first line, got 3: .*; if "
                       r"lines starting with # are comments, --comment-prefix '#' reads them so$"):
        read_corpus(write(tmp_path, "# text = Tom visited\nTom _ B-PER\n"))
    with pytest.raises(CorpusError, match=r"data.conll:1: invalid tag '1'.*--comment-prefix '#' reads them so$"):
        read_corpus(write(tmp_path, "# sent_id 1\nTom _ B-PER\n"))
    assert "--comment-prefix" not in _error(lambda: read_corpus(write(tmp_path, "A B-X\nb c O\n")))
    # CoNLL-U's "# newdoc" begins a document, as "-DOCSTART-" does, and is written back as the comment it is.
    conllu = write(tmp_path, "# newdoc id = a\n# sent_id = 1\n1\tAl\tB-ORG\n\n# sent_id = 2\n1\tHi\tO\n\n"
                             "# newdoc\n# sent_id = 3\n1\tBob\tB-PER\n", "doc.conllu")
    read = list(read_conll(conllu, token_column=1, comment_prefix="#"))
    assert [s.document_start for s in read] == ["# newdoc id = a", None, "# newdoc"]
    assert document_starts(read) == [True, False, True]
    stream = io.StringIO()
    write_conll(zip(read, [s.labels for s in read]), stream)
    assert stream.getvalue().startswith("# newdoc id = a\n# sent_id = 1\n1\tAl\tB-ORG\tB-ORG\n\n")
    assert "\n\n# newdoc\n# sent_id = 3\n1\tBob\tB-PER\tB-PER\n" in stream.getvalue()  # no -DOCSTART- line added
    # JNLPBA's abstracts: a ###MEDLINE: line, a blank line, the abstract's sentences.
    jnlpba = write(tmp_path, "###MEDLINE:96055242\n\nNumber\tO\nof\tO\nreceptors\tB-protein\n\nIn\tO\n\n"
                             "###MEDLINE:96055243\n\nThe\tO\n", "Genia4ERtask1.iob2")
    assert document_starts(list(read_conll(jnlpba, comment_prefix="#"))) == [True, False, True]


def _error(call) -> str:
    with pytest.raises(CorpusError) as error:
        call()
    return str(error.value)


def test_write_then_read_round_trip(tmp_path):
    sentences = list(read_conll(write(tmp_path, TEXT), label_column=None))
    predicted = [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]
    stream = io.StringIO()
    write_conll(zip(sentences, predicted), stream)
    again = list(read_conll(write(tmp_path, stream.getvalue(), "out.conll")))
    assert [s.tokens for s in again] == [s.tokens for s in sentences]
    assert [s.labels for s in again] == predicted
    # the input columns are kept, the prediction appended
    assert again[0].lines[0] == "EU NNP I-NP I-ORG B-ORG"
    assert again[0].document_start.startswith("-DOCSTART-")


token = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=8
).filter(lambda t: t.split() == [t] and t != "-DOCSTART-")
tag = st.sampled_from(["O", "B-PER", "I-PER", "E-LOC", "S-MISC"])


@given(st.lists(st.lists(st.tuples(token, tag), min_size=1, max_size=6), max_size=5))
def test_round_trip_property(tmp_path_factory, corpus):
    sentences = [Sentence([t for t, _ in rows]) for rows in corpus]
    stream = io.StringIO()
    write_conll(zip(sentences, [[g for _, g in rows] for rows in corpus]), stream)
    path = tmp_path_factory.mktemp("rt") / "x.conll"
    path.write_text(stream.getvalue(), encoding="utf-8")
    again = list(read_conll(path))
    assert [list(zip(s.tokens, s.labels)) for s in again] == [list(rows) for rows in corpus]


def test_hugging_face_dataset_round_trip():
    from tagger.corpus import from_dataset, to_dataset

    sentences = read_corpus(SAMPLE / "dev.conll")[:20]
    dataset = to_dataset(sentences)
    names = dataset.features["ner_tags"].feature.names
    assert names[0] == "O" and "B-PER" in names
    assert dataset[0]["tokens"] == sentences[0].tokens
    assert [names[i] for i in dataset[0]["ner_tags"]] == sentences[0].labels
    again = from_dataset(dataset)
    assert [(s.tokens, s.labels) for s in again] == [(s.tokens, s.labels) for s in sentences]
    with pytest.raises(CorpusError, match="dataset row 0: invalid tag ':'"):
        from_dataset(to_dataset([Sentence(["EU"], [":"])], labels=[":"]))


def test_hold_out_holds_out_whole_documents_drawn_from_the_seed():
    from tagger.corpus import document_ids, document_starts, hold_out

    sentences = read_corpus(SAMPLE / "train.conll")
    documents = document_ids(document_starts(sentences))
    assert documents[-1] + 1 == 40
    kept, held = hold_out(sentences, 0.1, seed=3)
    # every sentence in one part, each part in corpus order, and each document wholly in one
    assert sorted(map(id, kept + held)) == sorted(map(id, sentences))
    assert [s for s in sentences if any(s is k for k in kept)] == kept
    of = {id(s): d for s, d in zip(sentences, documents)}
    assert len({of[id(s)] for s in held}) == 4 and not {of[id(s)] for s in held} & {of[id(s)] for s in kept}
    assert held[0].document_start is not None
    assert hold_out(sentences, 0.1, seed=3) == (kept, held)
    assert hold_out(sentences, 0.1, seed=4)[1] != held


def test_hold_out_holds_out_sentences_of_a_corpus_of_few_documents(tmp_path):
    from tagger.corpus import hold_out

    text = "".join(f"w{i} O\nx B-PER\n\n" for i in range(20))
    sentences = read_corpus(write(tmp_path, text))
    kept, held = hold_out(sentences, 0.25, seed=1)
    assert len(held) == 5 and len(kept) == 15 and sorted(s.tokens[0] for s in kept + held) == sorted(
        s.tokens[0] for s in sentences)
    two = read_corpus(write(tmp_path, "a O\n\nb O\n", "two.conll"))
    assert [len(part) for part in hold_out(two, 0.1, seed=1)] == [1, 1]  # at least one on each side
    with pytest.raises(CorpusError, match=r"one\.conll: 1 sentence: too few to hold out a dev set from"):
        hold_out(read_corpus(write(tmp_path, "a O\n", "one.conll")), 0.1, seed=1)


def test_rename_types_renames_and_drops_whole_entities_in_the_corpus_scheme():
    from tagger.corpus import parse_type_renames, rename_types

    renames = parse_type_renames(["GPE=LOC", "MISC=O", "PER=PERSON"])
    assert renames == {"GPE": "LOC", "MISC": "O", "PER": "PERSON"}
    iob1 = [Sentence("a b c d e".split(), ["I-LOC", "I-GPE", "O", "I-MISC", "I-PER"]), Sentence(["x"], ["O"])]
    renamed = rename_types(iob1, renames)
    # two adjacent entities that now share a type stay two, written in IOB1 as the corpus is
    assert [s.labels for s in renamed] == [["I-LOC", "B-LOC", "O", "O", "I-PERSON"], ["O"]]
    assert renamed[1] is iob1[1] and iob1[0].labels[1] == "I-GPE"  # untouched sentences kept; the input unchanged
    bioes = [Sentence("a b c".split(), ["B-GPE", "E-GPE", "S-MISC"])]
    assert rename_types(bioes, renames)[0].labels == ["B-LOC", "E-LOC", "O"]
    for bad, message in ((["PER"], "expected OLD=NEW"), (["=PER"], "expected OLD=NEW"), (["A=B", "A=C"], "A renamed twice")):
        with pytest.raises(ValueError, match=message):
            parse_type_renames(bad)


def test_a_corpus_of_two_schemes_is_refused_at_the_line_of_the_tag_at_fault(tmp_path):
    path = write(tmp_path, "Li S-PER\nsaid O\n\nin O\nParis U-LOC\n")
    with pytest.raises(CorpusError, match=r"data.conll:5: tag 'U-LOC' is of no scheme that also has 'S-PER' "
                       r"\(tried IOB1, IOB2, BIOES, BILOU, BMES, IO\)"):
        read_corpus(path)
    bmes = write(tmp_path, "北 B-GPE\n京 E-GPE\n\n李 B-PER\n小 M-PER\n明 E-PER\n")
    assert corpus_scheme(read_corpus(bmes)) == "BMES"
    assert corpus_scheme(read_corpus(bmes, scheme="BMES"), "BMES") == "BMES"
    with pytest.raises(CorpusError, match=r"data.conll:5: tag 'M-PER' is not of BIOES"):
        read_corpus(bmes, scheme="BIOES")


def test_a_file_that_writes_the_tag_first_is_told_which_columns_read_it(tmp_path):
    # MIT Movie and MIT Restaurant: the tag, then the word.
    movie = tmp_path / "engtrain.bio"
    movie.write_text("O\twhat\nO\tmovies\nO\tstarring\nB-ACTOR\tsteve\nI-ACTOR\tmcqueen\n\nB-TITLE\tjaws\n")
    with pytest.raises(CorpusError, match=r"engtrain.bio:1: column 0 holds tags \('O', 'B-ACTOR', 'I-ACTOR'\) and "
                                          r"column -1 words \('what', 'movies', 'starring'\): this file writes the tag "
                                          r"first; --token-column 1 --label-column 0 reads its words and tags"):
        read_corpus(movie)
    read = read_corpus(movie, token_column=-1, label_column=0)
    assert [(s.tokens, s.labels) for s in read] == [
        (["what", "movies", "starring", "steve", "mcqueen"], ["O", "O", "O", "B-ACTOR", "I-ACTOR"]),
        (["jaws"], ["B-TITLE"])]
    # Not where the words are tags' look-alikes among real words, or the tags have prefixes.
    (tmp_path / "fine.conll").write_text("O\tO\nB-52\tB-MISC\n\n1\tO\n")
    assert len(read_corpus(tmp_path / "fine.conll")) == 2


def test_columns_are_split_at_spaces_and_tabs_only(tmp_path):
    # A no-break space inside a token (French numbers), an ideographic space as a token (Chinese text).
    path = tmp_path / "spaces.conll"
    path.write_text("Il O\ny O\na O\n10\u00a0000 O\neuros O\n\n\u00a0\n\u3000\tO\n中\tB-LOC\n国\tI-LOC\n", encoding="utf-8")
    read = read_corpus(path)
    assert [s.tokens for s in read] == [["Il", "y", "a", "10\u00a0000", "euros"], ["\u3000", "中", "国"]]
    assert [s.labels for s in read] == [["O"] * 5, ["O", "B-LOC", "I-LOC"]]
    assert read[1].first_line == 8  # the line of a no-break space alone is a blank line
    out = io.StringIO()
    write_conll([(s, s.labels) for s in read], out)
    assert "10\u00a0000 O O\n" in out.getvalue() and "\u3000\tO\tO\n" in out.getvalue()


def test_columns_split_at_tabs_only_let_a_token_be_or_hold_a_space(tmp_path):
    path = tmp_path / "tabs.tsv"
    path.write_text("New York\tNNP\tB-LOC\n \t_\tO\nis\tVBZ\tO\n\t\n서\t_\tB-LOC\n \t_\tI-LOC\n시\t_\tI-LOC\n",
                    encoding="utf-8")
    with pytest.raises(CorpusError, match=r"tabs.tsv:2: expected 4 columns like the first line, got 2: ' \\t_\\tO'; "
                       r"lines 1 and 2 have 3 tab-separated columns each: if a token is or holds a space, "
                       r"--column-separator tab reads the columns between tabs"):
        read_corpus(path)
    read = read_corpus(path, column_separator="tab")
    assert [s.tokens for s in read] == [["New York", " ", "is"], ["서", " ", "시"]]  # a line of a tab alone is blank
    assert [s.labels for s in read] == [["B-LOC", "O", "O"], ["B-LOC", "I-LOC", "I-LOC"]]
    out = io.StringIO()
    write_conll([(s, s.labels) for s in read], out)
    assert out.getvalue().startswith("New York\tNNP\tB-LOC\tB-LOC\n \t_\tO\tO\n")
    path.write_text("a\tO\n\tO\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"tabs.tsv:2: token column 0 is empty: '\\tO'"):
        read_corpus(path, column_separator="tab")
    with pytest.raises(ValueError, match="column separator 'comma': expected one of whitespace, tab"):
        read_corpus(path, column_separator="comma")


def test_conllu_files_with_their_tags_in_the_misc_column_read_them(tmp_path):
    # NorNE and DaNE add entities to treebanks in CoNLL-U: each token's tag in its MISC field, under "name"
    sentences = read_corpus(SAMPLE / "dev.conll")[:20]
    lines = []
    for number, sentence in enumerate(sentences, 1):
        lines += [f"# sent_id = {number}", f"# text = {' '.join(sentence.tokens)}"]
        for i, (token, tag) in enumerate(zip(sentence.tokens, sentence.labels), 1):
            misc = f"SpaceAfter=No|name={tag}" if i % 3 == 0 else f"name={tag}"
            lines.append(f"{i}\t{token}\t{token.lower()}\tX\t_\t_\t0\tdep\t_\t{misc}")
        lines.append("")
    path = tmp_path / "da_ddt-ud-dev.conllu"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_corpus(path, token_column=1, comment_prefix="#")
    assert [(s.tokens, s.labels) for s in read] == [(s.tokens, s.labels) for s in sentences]
    assert read[0].comments == ["# sent_id = 1", f"# text = {' '.join(sentences[0].tokens)}"]
    path.write_text("# sent_id = 1\n1\tPeter\t_\t_\t_\t_\t0\troot\t_\tname=B-PER\n2\tbor\t_\t_\t_\t_\t1\tdep\t_\t"
                    "SpaceAfter=No\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"da_ddt-ud-dev.conllu:3: column -1, 'SpaceAfter=No', holds no entity tag: "
                       r"a CoNLL-U MISC field holds it under one of the keys name, ner, ne, entity "):
        read_corpus(path, token_column=1, comment_prefix="#")
    path.write_text("1\tPeter\t_\tname=X-PER\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"da_ddt-ud-dev.conllu:1: invalid tag 'X-PER'"):
        read_corpus(path, token_column=1)


# Spanish UD with entities in MISC: "del" is the multiword token of the words "de" and "el"; "3.1" an empty node.
CONLLU_WITH_MULTIWORD_TOKENS = """\
# sent_id = 1
# text = Vive del Real Madrid.
1\tVive\tvivir\tVERB\t_\t_\t0\troot\t_\tname=O
2-3\tdel\t_\t_\t_\t_\t_\t_\t_\t_
2\tde\tde\tADP\t_\t_\t4\tcase\t_\tname=O
3\tel\tel\tDET\t_\t_\t4\tdet\t_\tname=O
3.1\tvive\tvivir\tVERB\t_\t_\t_\t_\t1:conj\t_
4\tReal\tReal\tPROPN\t_\t_\t1\tobl\t_\tname=B-ORG
5\tMadrid\tMadrid\tPROPN\t_\t_\t4\tflat\t_\tSpaceAfter=No|name=I-ORG
6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\tname=O

# sent_id = 2
1-2\tAl\t_\t_\t_\t_\t_\t_\t_\t_
1\tA\ta\tADP\t_\t_\t3\tcase\t_\tname=O
2\tel\tel\tDET\t_\t_\t3\tdet\t_\tname=O
3\tPepe\tPepe\tPROPN\t_\t_\t0\troot\t_\tname=B-PER
"""


def test_conllu_multiword_tokens_and_empty_nodes_are_not_tokens_and_are_written_back_in_their_place(tmp_path):
    path = tmp_path / "es_ancora-ud-dev.conllu"
    path.write_text(CONLLU_WITH_MULTIWORD_TOKENS, encoding="utf-8")
    read = read_corpus(path, token_column=1, comment_prefix="#")
    assert [(s.tokens, s.labels) for s in read] == [
        (["Vive", "de", "el", "Real", "Madrid", "."], ["O", "O", "O", "B-ORG", "I-ORG", "O"]),
        (["A", "el", "Pepe"], ["O", "O", "B-PER"])]
    lines = CONLLU_WITH_MULTIWORD_TOKENS.splitlines()
    assert read[0].other_lines == [(1, lines[3]), (3, lines[6])] and read[1].other_lines == [(0, lines[12])]
    assert (read[0].first_line, read[1].first_line) == (3, 13)  # a sentence's first line, a token or not
    out = io.StringIO()
    write_conll([(s, [f"T{i}" for i in range(len(s))]) for s in read], out)
    written = out.getvalue().splitlines()
    assert [line.rsplit("\t", 1)[0] for line in written] == lines + [""]  # every line in its place, one column more
    assert [line.rsplit("\t", 1)[1] for line in written if line[:1].isdigit()] == [
        "T0", "_", "T1", "T2", "_", "T3", "T4", "T5", "_", "T0", "T1", "T2"]
    # Read back, the tagged file gives the same tokens and, from its new last column, the tags written.
    path.write_text(out.getvalue().replace("\tT", "\tB-T"), encoding="utf-8")
    again = read_corpus(path, token_column=1, comment_prefix="#")
    assert [s.tokens for s in again] == [s.tokens for s in read] and again[1].labels == ["B-T0", "B-T1", "B-T2"]
    # Where the first column holds the words, a range is a word: CoNLL-2003's football scores.
    path.write_text("Ajax B-ORG\nwon O\n1-0 O\n3.5 O\n", encoding="utf-8")
    assert read_corpus(path)[0].tokens == ["Ajax", "won", "1-0", "3.5"]
    path.write_text("# sent_id = 1\n1-2\tAl\t_\t_\n\n1\tPepe\t_\tname=B-PER\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"conllu:2: '1-2\\tAl\\t_\\t_' is a multiword token or an empty node, "
                                          r"and no word follows it in its sentence$"):
        read_corpus(path, token_column=1, comment_prefix="#")


def test_a_header_line_of_column_names_is_read_as_no_sentence(tmp_path):
    from tagger.errors import TaggerWarning

    path = tmp_path / "train.tsv"
    path.write_text("Word\tPOS\tTag\nIk\tPron\tO\nwoon\tV\tO\nin\tPrep\tO\nAmsterdam\tN\tB-LOC\n\nBob\tN\tB-PER\n")
    with pytest.warns(TaggerWarning, match=r"train.tsv:1: 'Word\\tPOS\\tTag' names the columns, as a table's header "
                                           r"does: read as no sentence$"):
        read = read_corpus(path)
    assert [(s.tokens, s.labels, s.first_line) for s in read] == [
        (["Ik", "woon", "in", "Amsterdam"], ["O", "O", "O", "B-LOC"], 2), (["Bob"], ["B-PER"], 7)]
    # Only a first line that names both columns: a sentence may begin with the word "word".
    path.write_text("word\tO\nfor\tO\nword\tO\n")
    assert read_corpus(path)[0].tokens == ["word", "for", "word"]


def test_a_tag_error_says_how_to_read_tags_written_in_lower_case(tmp_path):
    path = tmp_path / "lower.conll"
    path.write_text("Ik o\nwoon o\nin o\nAmsterdam b-loc\n")
    with pytest.raises(CorpusError, match=r"lower.conll:4: invalid tag 'b-loc': .*; prefixes are upper case: "
                                          r"'B-loc'\); is column -1"):
        read_corpus(path)
    path.write_text("Ik o\nwoon o\nin o\nAmsterdam B-LOC\n")
    with pytest.raises(CorpusError, match=r"lower.conll:4: tag 'B-LOC' is of no scheme that also has 'o' .*; if 'o' "
                                          r"marks the tokens outside entities, --outside-tag o reads it as O$"):
        corpus_scheme(read_corpus(path))
    read = read_corpus(path, outside_tag="o")
    assert read[0].labels == ["O", "O", "O", "B-LOC"] and corpus_scheme(read) == "IOB2"
    # A corpus of bare types alone is IO, and needs no hint.
    path.write_text("Ik o\nwoon o\nin o\nAmsterdam LOC\n")
    assert corpus_scheme(read_corpus(path)) == "IO"


def test_a_tag_error_names_the_columns_that_read_the_words_and_tags(tmp_path):
    # Universal NER: an index, the word, the tag, and two more columns ("-").
    uner = tmp_path / "en_ewt-ud-train.iob2"
    uner.write_text("# sent_id = en_ewt-1\n1\tAl\tB-ORG\t-\t-\n2\t-\tI-ORG\t-\t-\n3\tZaman\tI-ORG\t-\t-\n4\tsaid\tO\t-\t-\n\n"
                    "# sent_id = en_ewt-2\n1\tHi\tO\t-\t-\n")
    # Read with no options, the error names every option the file needs: the comments, then the columns.
    with pytest.raises(CorpusError, match=r"iob2:2: expected 4 columns like the first line, got 5: .*; if lines "
                       r"starting with # are comments, --comment-prefix '#' reads them so \(and --token-column 1 "
                       r"--label-column 2 the words and tags\)$"):
        read_corpus(uner)
    with pytest.raises(CorpusError, match=r"iob2:2: invalid tag '-': .*; is column -1 the entity tags\? \(--label-column "
                                          r"picks another\); --token-column 1 --label-column 2 reads its words and tags$"):
        read_corpus(uner, comment_prefix="#")
    read = read_corpus(uner, comment_prefix="#", token_column=1, label_column=2)
    assert [(s.tokens, s.labels) for s in read] == [(["Al", "-", "Zaman", "said"], ["B-ORG", "I-ORG", "I-ORG", "O"]),
                                                     (["Hi"], ["O"])]
    # No column hint where no other column holds tags; a tag without letters or digits may mark the outside tokens.
    (tmp_path / "pos.conll").write_text("Paris NNP -\nis VBZ -\n")
    with pytest.raises(CorpusError, match=r"pos.conll:1: invalid tag '-': .*\(--label-column picks another\); if '-' "
                                          r"marks the tokens outside entities, --outside-tag - reads its words and tags$"):
        read_corpus(tmp_path / "pos.conll")
    (tmp_path / "pos.conll").write_text("Paris NNP ?\n")
    with pytest.raises(CorpusError, match=r"if '\?' marks the tokens outside entities, --outside-tag '\?' reads its"):
        read_corpus(tmp_path / "pos.conll")
    (tmp_path / "pos.conll").write_text("Paris NNP -x\n")  # not a mark: it has a letter
    with pytest.raises(CorpusError, match=r"pos.conll:1: invalid tag '-x': .*\(--label-column picks another\)$"):
        read_corpus(tmp_path / "pos.conll")
    # NAVER's Korean corpus: token ids, words, tags with their prefix last, and '-' outside entities.
    naver = tmp_path / "naver.txt"
    naver.write_text("1\t비토리오\tPER_B\n2\t양일\tDAT_B\n3\t만에\t-\n\n1\t이\t-\n2\t직경이\tNUM_B\n3\t8mm\tNUM_I\n")
    with pytest.raises(CorpusError, match=r"naver.txt:3: .*; if '-' marks the tokens outside entities, --token-column 1 "
                                          r"--outside-tag - reads its words and tags$"):
        read_corpus(naver)
    read = read_corpus(naver, token_column=1, outside_tag="-")
    assert [(s.tokens, s.labels) for s in read] == [(["비토리오", "양일", "만에"], ["PER_B", "DAT_B", "O"]),
                                                     (["이", "직경이", "8mm"], ["O", "NUM_B", "NUM_I"])]
    assert read_corpus(naver, token_column=1, outside_tag="-", scheme="IOB2")[1].labels == ["O", "NUM_B", "NUM_I"]


ONTONOTES = """#begin document (nw/wsj/00/wsj_0001); part 000
nw/wsj/00/wsj_0001   0    0   Pierre   NNP  (TOP(S(NP*   -  -  -  -   (PERSON*   (ARG0*    (0
nw/wsj/00/wsj_0001   0    1   Vinken   NNP          *)   -  -  -  -         *)        *)   0)
nw/wsj/00/wsj_0001   0    2     will    MD        (VP*   -  -  -  -          *   (ARGM-MOD*)   -
nw/wsj/00/wsj_0001   0    3     join    VB        (VP*  join  01  -  -      *   (V*)   -
nw/wsj/00/wsj_0001   0    4     Nov.   NNP        (NP*   -  -  -  -     (DATE*          *   -
nw/wsj/00/wsj_0001   0    5       29    CD          *)   -  -  -  -         *)          *   -

nw/wsj/00/wsj_0001   0    0   Elsevier  NNP  (TOP(S(NP*)  -  -  -  -   (ORG)   -
nw/wsj/00/wsj_0001   0    1   agreed    VBD   (VP*)       -  -  -  -   *   -

#end document
#begin document (nw/wsj/00/wsj_0002); part 000
nw/wsj/00/wsj_0002   0    0   Rudolph  NNP  (TOP(S(NP*   -  -  -  -   (PERSON*   -
nw/wsj/00/wsj_0002   0    1   Agnew    NNP  *)           -  -  -  -   *)   -

#end document
"""


def test_ontonotes_conll2012_files_read_their_bracketed_entities_and_documents(tmp_path):
    """OntoNotes' CoNLL-2012 files: the word in column 3, bracketed entities in column 10, a column for each
    predicate after them (so widths differ from sentence to sentence), #begin document lines between documents."""
    from tagger.corpus import document_starts

    path = tmp_path / "wsj.gold_conll"
    path.write_text(ONTONOTES, encoding="utf-8")
    read = read_corpus(path, token_column=3, label_column=10, comment_prefix="#")
    assert [(s.tokens, s.labels) for s in read] == [
        (["Pierre", "Vinken", "will", "join", "Nov.", "29"], ["B-PERSON", "I-PERSON", "O", "O", "B-DATE", "I-DATE"]),
        (["Elsevier", "agreed"], ["B-ORG", "O"]), (["Rudolph", "Agnew"], ["B-PERSON", "I-PERSON"])]
    assert document_starts(read) == [True, False, True] and read[2].document_start.startswith("#begin document")
    with pytest.raises(CorpusError, match=r"wsj.gold_conll:2: invalid tag '\(0'.*; column 10 holds entities in "
                       r"brackets \('\(PERSON\*'\): --label-column 10 reads them \(OntoNotes' CoNLL-2012 files: "
                       r"--token-column 3 --label-column 10 --comment-prefix '#'\)$"):
        read_corpus(path, comment_prefix="#")
    for tag, error in (("*", "entity PERSON is not closed by the sentence's end"),
                       ("(ORG*", r"'\(ORG\*' opens an entity inside PERSON"), ("O", "tag 'O' among bracketed ones")):
        lines = ONTONOTES.splitlines(keepends=True)
        head, _, tail = lines[14].rpartition("*)")  # Agnew's entity column
        lines[14] = head + tag + tail
        path.write_text("".join(lines), encoding="utf-8")
        with pytest.raises(CorpusError, match="wsj.gold_conll:15: " + error):
            read_corpus(path, token_column=3, label_column=10, comment_prefix="#")
    # Read from the end (the default), every line must be as wide as the first.
    path.write_text("EU NNP B-ORG\nrejects VBZ O extra\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="expected 3 columns like the first line, got 4"):
        read_corpus(path)
    assert read_corpus(path, label_column=2)[0].labels == ["B-ORG", "O"]
