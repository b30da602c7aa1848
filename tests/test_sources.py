"""Corpora read through 🤗 datasets: tables (JSON Lines, JSON, CSV, TSV, Parquet), save_to_disk folders, cached hub ids."""

import bz2
import gzip
import json
import os
import subprocess
import sys

import pytest

from tagger.corpus import CorpusError, Sentence, read_corpus, to_dataset
from tagger.errors import TaggerWarning, run_command
from tagger.sources import read_labelled, source_record

from .conftest import ROOT, SAMPLE, command

GOLD = read_corpus(SAMPLE / "dev.conll")


def pairs(sentences):
    return [(sentence.tokens, sentence.labels) for sentence in sentences]


def write_jsonl(path, sentences, tokens="tokens", tags="ner_tags"):
    path.write_text("".join(json.dumps({tokens: s.tokens, tags: s.labels}, ensure_ascii=False) + "\n"
                            for s in sentences), encoding="utf-8")
    return path


def test_each_kind_of_table_reads_as_the_conll_file(tmp_path):
    import pandas as pd

    expected = pairs(GOLD)
    assert pairs(read_labelled(write_jsonl(tmp_path / "dev.jsonl", GOLD))) == expected
    (tmp_path / "dev.json").write_text(json.dumps([{"tokens": s.tokens, "ner_tags": s.labels} for s in GOLD]))
    assert pairs(read_labelled(tmp_path / "dev.json")) == expected
    table = pd.DataFrame({"words": [" ".join(s.tokens) for s in GOLD], "labels": [" ".join(s.labels) for s in GOLD]})
    table.to_csv(tmp_path / "dev.csv", index=False)
    assert pairs(read_labelled(tmp_path / "dev.csv", tokens_field="words", tags_field="labels")) == expected
    table = pd.DataFrame({"tokens": [repr(s.tokens) for s in GOLD], "ner_tags": [json.dumps(s.labels) for s in GOLD]})
    table.to_csv(tmp_path / "dev.tsv", index=False, sep="\t")  # lists written as literals, never evaluated
    assert pairs(read_labelled(tmp_path / "dev.tsv")) == expected
    # Parquet with the tags as ClassLabel ids, their names in the file's features
    to_dataset(GOLD).to_parquet(str(tmp_path / "dev.parquet"))
    assert pairs(read_labelled(tmp_path / "dev.parquet")) == expected
    # Compressed, a table is of the format its suffix before .gz names, as datasets reads it.
    (tmp_path / "dev.jsonl.gz").write_bytes(gzip.compress((tmp_path / "dev.jsonl").read_bytes()))
    assert pairs(read_labelled(tmp_path / "dev.jsonl.gz")) == expected
    (tmp_path / "dev.tsv.bz2").write_bytes(bz2.compress((tmp_path / "dev.tsv").read_bytes()))
    assert pairs(read_labelled(tmp_path / "dev.tsv.bz2")) == expected


def test_a_tsv_file_of_conll_columns_reads_as_columns(tmp_path):
    # GermEval 2014 and BioBERT's NER corpora come as .tsv files of CoNLL columns, blank lines between sentences.
    columns = tmp_path / "train.tsv"
    columns.write_text((SAMPLE / "dev.conll").read_text(encoding="utf-8").replace(" ", "\t"), encoding="utf-8")
    assert pairs(read_labelled(columns)) == pairs(GOLD)
    (tmp_path / "train.tsv.gz").write_bytes(gzip.compress(columns.read_bytes()))
    assert pairs(read_labelled(tmp_path / "train.tsv.gz")) == pairs(GOLD)
    germeval = tmp_path / "germeval.tsv"
    germeval.write_text("# http://de.wikipedia.org/wiki/Troja [2009-10-17]\n1\tKorfmann\tB-PER\tO\n"
                        "2\tgrub\tO\tO\n3\tTroja\tB-LOC\tB-LOCderiv\n\n# http://x [2009]\n1\tDie\tO\tO\n"
                        "2\tBerliner\tB-ORG\tB-LOCderiv\n", encoding="utf-8")
    assert pairs(read_labelled(germeval, token_column=1, label_column=2, comment_prefix="#")) == [
        (["Korfmann", "grub", "Troja"], ["B-PER", "O", "B-LOC"]), (["Die", "Berliner"], ["O", "B-ORG"])]
    with pytest.raises(CorpusError, match=r"germeval.tsv:2: column 0 numbers the tokens \(1, 2, 3, ...\), .*"
                                          r"; --token-column 1 reads its words and tags"):
        read_labelled(germeval, comment_prefix="#")
    # A table: a header naming the tokens column, or no blank line between two lines.
    (tmp_path / "table.tsv").write_text("tokens\tner_tags\nEU rejects\tB-ORG O\n\n", encoding="utf-8")
    assert pairs(read_labelled(tmp_path / "table.tsv")) == [(["EU", "rejects"], ["B-ORG", "O"])]
    (tmp_path / "words.tsv").write_text("words\tlabels\nEU rejects\tB-ORG O\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no column 'tokens' .it has words, labels.; --tokens-field names another"):
        read_labelled(tmp_path / "words.tsv")


def doccano_records(sentences):
    """Sentences as doccano exports them: the text, and each entity's [start, end, type] in characters."""
    from tagger.schemes import tags_to_spans

    records = []
    for sentence in sentences:
        offsets, position = [], 0
        for token in sentence.tokens:
            offsets.append((position, position + len(token)))
            position += len(token) + 1
        spans = [[offsets[start][0], offsets[end - 1][1], label] for label, start, end in tags_to_spans(sentence.labels)]
        records.append({"id": len(records), "text": " ".join(sentence.tokens), "label": spans})
    return records


def label_studio_tasks(sentences):
    """Sentences as Label Studio's JSON export gives them: a task a sentence, its text in data, its entities
    the labels results of its annotation."""
    return [{"id": record["id"], "data": {"text": record["text"]}, "meta": {},
             "annotations": [{"id": record["id"], "was_cancelled": False, "lead_time": 2.5, "result": [
                 {"id": f"r{i}", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
                  "value": {"start": start, "end": end, "text": record["text"][start:end], "labels": [label]}}
                 for i, (start, end, label) in enumerate(record["label"])]}],
             "predictions": []} for record in doccano_records(sentences)]


def test_label_studio_json_exports_read_as_their_annotated_tasks(tmp_path, recwarn):
    from tagger.errors import TaggerWarning

    tasks = label_studio_tasks(GOLD)
    export = tmp_path / "project-1-at-2026-12-04.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text("".join(json.dumps(record) + "\n" for record in doccano_records(GOLD)), encoding="utf-8")
    assert pairs(read_labelled(export)) == pairs(read_labelled(doccano))  # as the same entities exported by doccano
    assert not recwarn.list
    # The first annotation that was not cancelled is read; a task without one is left out, and counted; results
    # that are not entities (a choice of the text's topic) are skipped.
    tasks[0]["annotations"].insert(0, {"id": 99, "was_cancelled": True, "result": []})
    tasks[1]["annotations"][0]["result"].append({"type": "choices", "from_name": "topic", "to_name": "text",
                                                 "value": {"choices": ["sport"]}})
    tasks[2]["annotations"] = []
    export.write_text(json.dumps(tasks), encoding="utf-8")
    read = read_labelled(export)
    assert pairs(read) == [pair for i, pair in enumerate(pairs(read_labelled(doccano))) if i != 2]
    assert [s.first_line for s in read[:3]] == [1, 2, 4]  # a task's number in the export
    [warning] = [w for w in recwarn.list if issubclass(w.category, TaggerWarning)]
    assert str(warning.message) == f"{export}: 1 of {len(GOLD)} Label Studio tasks have no annotation (or only " \
                                   "cancelled ones) and are left out"
    # A span whose offsets leave its text is an error naming the task
    tasks[3]["annotations"][0]["result"][0]["value"]["end"] = 400
    export.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"project-1-at-2026-12-04.json:4: span \d+-400 \(\w+\) is out of its text"):
        read_labelled(export)


def test_texts_with_character_spans_read_as_tagged_tokens(tmp_path):
    from collections import Counter

    from tagger.schemes import tags_to_spans

    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text("".join(json.dumps(record) + "\n" for record in doccano_records(GOLD)), encoding="utf-8")
    read = read_labelled(doccano)
    assert len(read) == len(GOLD) and [s.first_line for s in read[:3]] == [1, 2, 3]
    same = [(mine, gold) for mine, gold in zip(read, GOLD) if mine.tokens == gold.tokens]
    assert len(same) >= 0.9 * len(GOLD)  # the tokenizer splits a few tokens the corpus keeps whole
    assert all(mine.labels == [label.replace("I-", "B-", 1) if i == 0 or gold.labels[i - 1] == "O" else label
                               for i, label in enumerate(gold.labels)] for mine, gold in same)
    types = lambda sentences: Counter(span[0] for s in sentences for span in tags_to_spans(s.labels))  # noqa: E731
    assert types(read) == types(GOLD)
    # spaCy's and Prodigy's records, and Label Studio's list of labels; an entity's edge inside a word cuts it
    spacy = tmp_path / "spacy.jsonl"
    spacy.write_text(json.dumps({"text": "The EU-wide ban", "spans": [{"start": 4, "end": 6, "label": "ORG"}]}) + "\n"
                     + json.dumps({"text": "Mr. Blackburn", "spans": [{"start": 4, "end": 13, "labels": ["PER"]}]})
                     + "\n")
    assert pairs(read_labelled(spacy)) == [(["The", "EU", "-wide", "ban"], ["O", "B-ORG", "O", "O"]),
                                           (["Mr.", "Blackburn"], ["O", "B-PER"])]
    for spans, error in (([[0, 5, "PER"], [3, 8, "LOC"]], r"spans 'Peter' \(PER\) and 'er Bl' \(LOC\) overlap"),
                         ([[0, 40, "PER"]], r"span 0-40 \(PER\) is out of its text of 15 characters"),
                         ([[5, 6, "PER"]], r"span 5-6 \(PER\) covers no token: ' '"),
                         ([[0, 5]], r"span \[0, 5\] is not \[start, end, type\]")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"text": "Gold"}) + "\n" + json.dumps({"text": "Peter Blackburn", "label": spans}) + "\n")
        with pytest.raises(CorpusError, match="bad.jsonl:2: " + error):
            read_labelled(bad)
    # Texts written without spaces are cut into characters, as character corpora (Weibo NER) are.
    chinese = tmp_path / "weibo.jsonl"
    chinese.write_text(json.dumps({"text": "张三去了上海。", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}, ensure_ascii=False)
                       + "\n" + json.dumps({"text": "他在商店里买了一部新的 iPhone", "label": []}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    assert pairs(read_labelled(chinese)) == [
        (list("张三去了上海。"), ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]),
        (list("他在商店里买了一部新的iPhone"), ["O"] * 17)]
    # CLUENER's records, {type: {mention: [[start, last], ...]}}: a span ends at its last character. Rows whose
    # records have the same keys are read as a struct (None where a row lacks a type), others as JSON.
    clue = [{"text": "浙商银行叶老桂说，叶老桂在京", "label": {"company": {"浙商银行": [[0, 3]]},
                                                        "name": {"叶老桂": [[4, 6], [9, 11]]},
                                                        "address": {"京": [[13, 13]]}}},
            {"text": "生生不息", "label": {}}]
    for rows in (clue, [clue[0], {"text": "上海", "label": {"address": {"上海": [[0, 1]]}}}]):
        (tmp_path / "cluener.json").write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                                               encoding="utf-8")
        read = read_labelled(tmp_path / "cluener.json")
        assert pairs(read)[0] == (list("浙商银行叶老桂说，叶老桂在京"),
                                  ["B-company", "I-company", "I-company", "I-company", "B-name", "I-name", "I-name",
                                   "O", "O", "B-name", "I-name", "I-name", "O", "B-address"])
        assert pairs(read)[1] == (list(rows[1]["text"]), ["O"] * 4 if rows is clue else ["B-address", "I-address"])
    for label, error in (({"name": {"叶老": [[4, 6]]}}, r"span \[4, 6\] \(name\) is '叶老桂' in its text, not '叶老' "
                                                     r"\(CLUENER's spans end at their last character\)"),
                         ({"name": {"京": [[14, 14]]}}, r"span \[14, 14\] of '京' \(name\) is out of its text of 14 "),
                         ({"name": {"京": [13]}}, r"span 13 of '京' \(name\) is not \[start, last\]"),
                         ({"name": [[13, 13]]}, r"spans .* are not \{type: \{mention: \[\[start, last\], ...\]\}\}")):
        (tmp_path / "bad.json").write_text(json.dumps(clue[1], ensure_ascii=False) + "\n"
                                           + json.dumps({"text": clue[0]["text"], "label": label}, ensure_ascii=False)
                                           + "\n", encoding="utf-8")
        with pytest.raises(CorpusError, match="bad.json:2: " + error):
            read_labelled(tmp_path / "bad.json")
    # doccano's export with relations: "entities", records of start_offset, end_offset and label
    relations = tmp_path / "relations.jsonl"
    relations.write_text(json.dumps({"text": "Peter Blackburn", "relations": [], "entities": [
        {"id": 1, "label": "PER", "start_offset": 0, "end_offset": 15}]}) + "\n")
    assert pairs(read_labelled(relations)) == [(["Peter", "Blackburn"], ["B-PER", "I-PER"])]
    # A column "label" of classes (sentiment) is no spans column.
    (tmp_path / "reviews.jsonl").write_text(json.dumps({"text": "good film", "label": 1}) + "\n")
    with pytest.raises(CorpusError, match="no column 'tokens' .it has text, label.; --tokens-field names another"):
        read_labelled(tmp_path / "reviews.jsonl")


def test_spacy_2_training_data_saved_as_json_reads_as_the_same_texts_and_spans_in_json_lines(tmp_path):
    records = doccano_records(GOLD)
    pairs_json = tmp_path / "train.json"
    pairs_json.write_text(json.dumps([[record["text"], {"entities": record["label"]}] for record in records]),
                          encoding="utf-8")
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    read = read_labelled(pairs_json)
    assert pairs(read) == pairs(read_labelled(doccano)) and len(read) == len(GOLD)
    assert [s.first_line for s in read[:2]] == [1, 2]
    # A text without entities may leave them out; a pair of another shape, or a bad span, is named by its place.
    pairs_json.write_text(json.dumps([["Paris is", {}], ["Peter Blackburn", {"entities": [[0, 40, "PER"]]}]]))
    with pytest.raises(CorpusError, match=r"train.json:2: span 0-40 \(PER\) is out of its text of 15 characters$"):
        read_labelled(pairs_json)
    pairs_json.write_text(json.dumps([["Paris is", {}], ["Peter", [[0, 5, "PER"]]]]))
    with pytest.raises(CorpusError, match=r"train.json:2: \['Peter', \[\[0, 5, 'PER'\]\]\] is not \[text, "
                                          r"\{'entities': spans\}\], as spaCy 2's training data is$"):
        read_labelled(pairs_json)
    pairs_json.write_text('[["Paris is", {}], ["Peter", {]]')
    with pytest.raises(CorpusError, match=r"train.json:1: not JSON: "):
        read_labelled(pairs_json)
    pairs_json.write_bytes(json.dumps([["in Zürich", {"entities": [[3, 9, "LOC"]]}]], ensure_ascii=False).encode("latin-1"))
    with pytest.raises(CorpusError, match=r"train.json:1: not valid utf-8 text .*; try --encoding latin-1$"):
        read_labelled(pairs_json)
    assert pairs(read_labelled(pairs_json, encoding="latin-1")) == [(["in", "Zürich"], ["O", "B-LOC"])]
    # A folder of such files reads as their pairs, in the order of their names.
    (tmp_path / "folder").mkdir()
    for name, part in (("b.json", records[:30]), ("a.json", records[30:50])):
        (tmp_path / "folder" / name).write_text(json.dumps([[r["text"], {"entities": r["label"]}] for r in part]))
    assert pairs(read_labelled(tmp_path / "folder")) == pairs(read[30:50]) + pairs(read[:30])


def test_a_save_to_disk_folder_and_its_splits(tmp_path):
    from datasets import DatasetDict

    to_dataset(GOLD).save_to_disk(str(tmp_path / "one"))
    assert pairs(read_labelled(tmp_path / "one")) == pairs(GOLD)
    test = read_corpus(SAMPLE / "test.conll")
    DatasetDict({"train": to_dataset(test), "validation": to_dataset(GOLD)}).save_to_disk(str(tmp_path / "both"))
    assert pairs(read_labelled(tmp_path / "both")) == pairs(test)
    assert pairs(read_labelled(tmp_path / "both", split="validation")) == pairs(GOLD)
    assert pairs(read_labelled(f"{tmp_path / 'both'}:validation")) == pairs(GOLD)
    with pytest.raises(CorpusError, match=r"both: has no split 'test' \(it has train, validation\): name one as "
                       r".*both:SPLIT"):
        read_labelled(tmp_path / "both", split="test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty: is a folder without corpus files"):
        read_labelled(tmp_path / "empty")
    # a folder's record is one digest over its files
    record = source_record(tmp_path / "both")
    assert record["bytes"] > 0 and record == source_record(tmp_path / "both")


def test_a_folder_of_corpus_files_reads_each_file_as_a_document_and_split_named_files_as_splits(tmp_path):
    from tagger.corpus import document_starts

    # A document a file (as annotation tools export a project), in the order of their paths; READMEs, licences
    # and hidden files are left out.
    blocks = ["".join(f"{t} {l}\n" for t, l in zip(s.tokens, s.labels)) for s in GOLD]
    thirds = [blocks[:10], blocks[10:25], blocks[25:]]
    (tmp_path / "docs" / "later").mkdir(parents=True)
    for name, part in zip(("docs/a.conll", "docs/b.conll", "docs/later/c.conll"), thirds):
        (tmp_path / name).write_text("\n".join(part), encoding="utf-8")
    (tmp_path / "docs" / "README.md").write_text("# my corpus\n")
    (tmp_path / "docs" / "LICENSE").write_text("MIT License\n")
    (tmp_path / "docs" / "CITATION.cff").write_text("cff-version: 1.2.0\n")
    (tmp_path / "docs" / "notices.conll").write_text("Notice O\n")  # a document, though its name starts so
    (tmp_path / "docs" / ".notes").write_text("to do\n")
    read = read_labelled(tmp_path / "docs")
    assert pairs(read) == pairs(GOLD) + [(["Notice"], ["O"])]
    assert [i for i, start in enumerate(document_starts(read)) if start] == [0, 10, 25, len(GOLD)]
    (tmp_path / "docs" / "notices.conll").unlink()
    read = read_labelled(tmp_path / "docs")
    assert read[10].source.endswith("b.conll") and read[10].first_line == 1
    assert pairs(read_labelled(tmp_path / "docs", split="validation")) == pairs(GOLD)  # one corpus, whatever split
    record = source_record(tmp_path / "docs")
    (tmp_path / "docs" / "b.conll").write_text("\n".join(thirds[1][1:]), encoding="utf-8")
    assert source_record(tmp_path / "docs")["sha256"] != record["sha256"]
    # Files named by split, as datasets names them: each flag reads its own; a folder of tables reads its shards.
    (tmp_path / "splits").mkdir()
    for name, part in (("train.conll", blocks[:30]), ("dev.conll", blocks[30:40]), ("test-2.conll", blocks[40:])):
        (tmp_path / "splits" / name).write_text("\n".join(part), encoding="utf-8")
    assert pairs(read_labelled(tmp_path / "splits")) == pairs(GOLD[:30])
    assert pairs(read_labelled(tmp_path / "splits", split="validation")) == pairs(GOLD[30:40])
    assert pairs(read_labelled(f"{tmp_path / 'splits'}:test")) == pairs(GOLD[40:])
    assert source_record(f"{tmp_path / 'splits'}:test")["path"] == f"{tmp_path / 'splits'}:test"
    (tmp_path / "tables").mkdir()
    write_jsonl(tmp_path / "tables" / "train-00000.jsonl", GOLD[:20])
    write_jsonl(tmp_path / "tables" / "train-00001.jsonl", GOLD[20:])
    assert pairs(read_labelled(tmp_path / "tables")) == pairs(GOLD)
    with pytest.raises(CorpusError, match=r"tables: has no test files \(it has train, named as train.conll, dev.conll, "
                       r"test.conll are\): name one as .*tables:SPLIT or pass a file"):
        read_labelled(tmp_path / "tables", split="test")
    # Names that look like splits but are not datasets' (CoNLL-2003's eng.testa) are refused, not read whole.
    (tmp_path / "conll2003").mkdir()
    for name in ("eng.train", "eng.testa"):
        (tmp_path / "conll2003" / name).write_text("EU B-ORG\n")
    with pytest.raises(CorpusError, match=r"conll2003: its files eng.testa, eng.train look like splits, but are not "
                       "named as train.conll, dev.conll, test.conll are, so the folder would be read whole"):
        read_labelled(tmp_path / "conll2003")
    (tmp_path / "mixed").mkdir()
    write_jsonl(tmp_path / "mixed" / "a.jsonl", GOLD[:2])
    to_dataset(GOLD[2:4]).to_parquet(str(tmp_path / "mixed" / "b.parquet"))
    with pytest.raises(CorpusError, match=r"mixed: holds files of 2 kinds \(json, parquet\)"):
        read_labelled(tmp_path / "mixed")


def test_a_folder_of_biobert_splits_reads_devel_as_dev_and_leaves_out_train_dev(tmp_path, capsys):
    from tagger.train_cli import main

    # BioBERT's NER corpora: train.tsv, devel.tsv (a name datasets reads as no split), test.tsv, and train_dev.tsv,
    # train and devel joined (named for two splits: read as both, dev would be in training and training in dev).
    blocks = ["".join(f"{t}\t{l}\n" for t, l in zip(s.tokens, s.labels)) for s in GOLD]
    folder = tmp_path / "NCBI-disease"
    folder.mkdir()
    for name, part in (("train.tsv", blocks[:60]), ("devel.tsv", blocks[60:80]), ("test.tsv", blocks[80:]),
                       ("train_dev.tsv", blocks[:80])):
        (folder / name).write_text("\n".join(part), encoding="utf-8")
    with pytest.warns(TaggerWarning, match=r"NCBI-disease: train_dev.tsv is named for two splits \(train, "
                      r"validation\): left out of both; pass it as a file to read it"):
        assert pairs(read_labelled(folder)) == pairs(GOLD[:60])
        assert pairs(read_labelled(folder, split="validation")) == pairs(GOLD[60:80])
        assert pairs(read_labelled(f"{folder}:test")) == pairs(GOLD[80:])
    # A run reads the folder twice (--train and --dev) and says so once; a name of no split is left out, said too.
    (folder / "eng.testb").write_text("EU B-ORG\n")
    assert run_command(main, ["--train", str(folder), "--dev", str(folder), "--output", str(tmp_path / "m"),
                              "--check"]) == 0
    printed = capsys.readouterr()
    assert printed.err.count("train_dev.tsv is named for two splits") == 1
    assert f"warning: {folder}: eng.testb named as no split (train, dev or devel, test): left out" in printed.err
    assert f"train: {folder}: 60 sentences" in printed.out and f"dev: {folder}: 20 sentences" in printed.out


def test_wikiner_files_of_piped_tokens_read_a_sentence_a_line(tmp_path):
    import bz2

    from tagger.schemes import convert_tags

    # WikiNER's aij-wikiner-*-wp2 files (bzip2): a sentence a line of WORD|POS|TAG tokens in IOB1, a blank line
    # between articles; spaCy's iob converter reads the same layout.
    iob1 = [convert_tags(s.labels, "IOB1") for s in GOLD]
    lines = [" ".join(f"{t}|NN|{tag}" for t, tag in zip(s.tokens, tags)) for s, tags in zip(GOLD, iob1)]
    text = "\n".join(lines[:10]) + "\n\n" + "\n".join(lines[10:]) + "\n"
    (tmp_path / "aij-wikiner-en-wp2.bz2").write_bytes(bz2.compress(text.encode()))
    read = read_labelled(tmp_path / "aij-wikiner-en-wp2.bz2")
    assert pairs(read) == [(s.tokens, tags) for s, tags in zip(GOLD, iob1)]
    assert [i for i, s in enumerate(read) if s.document_start] == [0, 10] and read[10].first_line == 12
    # A word may hold a |; a token with fewer parts than the first line's is an error at its line.
    (tmp_path / "piped.txt").write_text("a|b|DT|O EU|NNP|B-ORG rejects|VBZ|O\nGerman|JJ|B-MISC call|O\n")
    with pytest.raises(CorpusError, match=r"piped.txt:2: token 'call\|O' is not WORD\|POS\|TAG, as the first line's"):
        read_labelled(tmp_path / "piped.txt")
    (tmp_path / "piped.txt").write_text("a|b|DT|O EU|NNP|B-ORG rejects|VBZ|O\n")
    assert pairs(read_labelled(tmp_path / "piped.txt")) == [(["a|b", "EU", "rejects"], ["O", "B-ORG", "O"])]
    # A tag at fault is an error at its sentence's line, not at the token's place in it.
    (tmp_path / "bad.txt").write_text("EU|NNP|U-ORG rejects|VBZ|O .|.|O\nok|O|O fine|O|O\nok|O|O fine|O|S-MISC\n")
    with pytest.raises(CorpusError, match=r"bad.txt:3: tag 'S-MISC' is of no scheme that also has 'U-ORG'"):
        read_labelled(tmp_path / "bad.txt")
    (tmp_path / "bad.txt").write_text("EU|NNP|B-ORG rejects|VBZ|O .|.|O\nok|O|O fine|O|O\nit|O|O is|O|O it|O|O "
                                      "is|O|X-MISC\n")
    with pytest.raises(CorpusError, match=r"bad.txt:3: invalid tag 'X-MISC'"):
        read_labelled(tmp_path / "bad.txt")
    # tag.py scores a model on such a file, and will not tag its lines as text.
    scored = command("tag.py", "--model", "en-conll03-fast", "--eval", str(tmp_path / "aij-wikiner-en-wp2.bz2"),
                     "--json")
    assert scored.returncode == 0 and json.loads(scored.stdout)["sentences"] == len(GOLD)
    refused = command("tag.py", "--model", "en-conll03-fast", str(tmp_path / "piped.txt"))
    assert refused.returncode == 2 and refused.stderr.strip().endswith(
        "piped.txt: reads as a sentence a line of WORD|POS|TAG tokens (WikiNER's layout), which tag.py scores "
        "(--eval) but does not tag; --input-format text tags its lines as text")


def write_brat(folder, name, sentences, newline="\n", extra=""):
    """Sentences as a brat document: ``name.txt`` (a sentence a paragraph) and ``name.ann`` (a T line an entity)."""
    records = doccano_records(sentences)
    text, lines, shift = "", [], 0
    for record in records:
        for start, end, label in record["label"]:
            lines.append(f"T{len(lines) + 1}\t{label} {shift + start} {shift + end}\t{record['text'][start:end]}\n")
        text += record["text"] + newline * 2
        shift = len(text)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.txt", "w", encoding="utf-8", newline="") as file:
        file.write(text)
    (folder / f"{name}.ann").write_text("".join(lines) + extra, encoding="utf-8")
    return text


def test_a_folder_of_brat_files_reads_as_documents_of_tagged_sentences(tmp_path, recwarn):
    from collections import Counter

    from tagger.corpus import document_starts
    from tagger.errors import TaggerWarning
    from tagger.schemes import tags_to_spans

    brat = tmp_path / "brat"
    write_brat(brat, "a", GOLD[:20])
    write_brat(brat, "b", GOLD[20:45], newline="\r\n", extra="R1\tlives_in Arg1:T1 Arg2:T2\nA1\tNegated T1\n"
               "#1\tAnnotatorNotes T1\tchecked\n")  # Windows line breaks count in brat's offsets; other lines skipped
    write_brat(brat, "c", GOLD[45:])
    (brat / "annotation.conf").write_text("[entities]\nPER\nLOC\nORG\nMISC\n")
    read = read_labelled(brat)
    starts = [i for i, start in enumerate(document_starts(read)) if start]
    assert len(starts) == 3 and read[starts[1]].source == str(brat / "b.txt") and read[starts[1]].first_line == 1
    same = [(mine, gold) for mine, gold in zip(read, GOLD) if mine.tokens == gold.tokens]
    assert len(read) == len(GOLD) and len(same) >= 0.9 * len(GOLD)
    types = lambda sentences: Counter(span[0] for s in sentences for span in tags_to_spans(s.labels))  # noqa: E731
    assert types(read) == types(GOLD) and not recwarn.list
    # An entity inside another is left out, and counted; a discontinuous one reads as its whole extent; a
    # sentence does not end inside an entity; text without spaces is read a character a token.
    text = "He went to New York. Times Square was full. Then Li Na came.\nA line without a stop\nis a sentence"
    (brat / "d.txt").write_text(text, encoding="utf-8")
    at = text.index
    (brat / "d.ann").write_text(f"T1\tLOC {at('New')} {at(' was')}\tNew York. Times Square\nT2\tLOC {at('New')} "
                                f"{at('. Times')}\tNew York\nT3\tPER {at('Li')} {at(' Na')};{at('Na')} {at(' came')}\t"
                                "Li Na\n", encoding="utf-8")
    with pytest.warns(TaggerWarning, match=r"brat: 1 of [0-9,]+ entities lie inside or across others and are left out"):
        read = read_labelled(brat)
    assert pairs(read[-4:]) == [
        (["He", "went", "to", "New", "York", ".", "Times", "Square", "was", "full", "."],
         ["O", "O", "O", "B-LOC", "I-LOC", "I-LOC", "I-LOC", "I-LOC", "O", "O", "O"]),
        (["Then", "Li", "Na", "came", "."], ["O", "B-PER", "I-PER", "O", "O"]),
        (["A", "line", "without", "a", "stop"], ["O"] * 5), (["is", "a", "sentence"], ["O"] * 3)]
    chinese = tmp_path / "weibo"
    chinese.mkdir()
    (chinese / "x.txt").write_text("张三去了上海。他很高兴。", encoding="utf-8")
    (chinese / "x.ann").write_text("T1\tPER 0 2\t张三\nT2\tLOC 4 6\t上海\n", encoding="utf-8")
    assert pairs(read_labelled(chinese)) == [(list("张三去了上海。"), ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]),
                                             (list("他很高兴。"), ["O"] * 5)]
    for line, error in (("T1\tPER 0 3\t张三\n", r"x.ann:1: T1 PER 0-3 is '张三去' in x.txt, not '张三'"),
                        ("T1\tPER 0 2\t张三\nT2\tLOC 4 40\t上海\n", r"x.ann:2: T2 LOC 4-40 is out of its text of 12 "),
                        ("T1\tPER zero 2\t张三\n", r"x.ann:1: 'T1\\tPER zero 2\\t张三' is not an entity as brat writes"),
                        ):
        (chinese / "x.ann").write_text(line, encoding="utf-8")
        with pytest.raises(CorpusError, match=error):
            read_labelled(chinese)
    (chinese / "x.txt").unlink()
    (chinese / "y.txt").write_text("上海。", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x.ann: no x.txt beside it"):
        read_labelled(chinese)


def test_table_errors_name_the_file_and_row(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", GOLD[:3])
    with pytest.raises(CorpusError, match=r"bad.jsonl: no column 'words' \(it has tokens, ner_tags\); --tokens-field "
                       "names another"):
        read_labelled(path, tokens_field="words")
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({"tokens": ["a", "b"], "ner_tags": ["O"]})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: 2 tokens but 1 tags"):
        read_labelled(path)
    path.write_text(json.dumps({"tokens": ["a"], "ner_tags": ["O"]}) + "\n"
                    + json.dumps({"tokens": ["EU"], "ner_tags": [":"]}) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: invalid tag ':'.*is 'ner_tags' the entity tags"):
        read_labelled(path)
    path.write_text(json.dumps({"tokens": ["EU"], "ner_tags": [3]}) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:1: tags are ints without names: give them as strings, or as a "
                       "ClassLabel feature"):
        read_labelled(path)
    path.write_text(json.dumps({"tokens": ["Li"], "ner_tags": ["S-PER"]}) + "\n"
                    + json.dumps({"tokens": ["in", "Paris"], "ner_tags": ["O", "U-LOC"]}) + "\n")
    # (the row's line, wherever the tag is in it)
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: tag 'U-LOC' is of no scheme that also has 'S-PER'"):
        read_labelled(path)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(CorpusError, match=r"broken.parquet: cannot be read as parquet"):
        read_labelled(tmp_path / "broken.parquet")
    with pytest.raises(CorpusError, match=r"missing.conll: no such file or directory$"):
        read_labelled(tmp_path / "missing.conll")
    for corpus in (path, SAMPLE / "dev.conll"):
        with pytest.raises(CorpusError, match=r": unknown encoding 'utf-9'$"):
            read_labelled(corpus, encoding="utf-9")


def write_token_rows(path, sentences, encoding="utf-8", every_row=False):
    """A table of a token a row, as Kaggle's GMB corpus writes it: ``Sentence #`` on a sentence's first row only
    (on every row, with ``every_row``), then the word, its part of speech and its tag."""
    import csv

    with open(path, "w", newline="", encoding=encoding) as file:
        writer = csv.writer(file)
        writer.writerow(["Sentence #", "Word", "POS", "Tag"])
        for number, sentence in enumerate(sentences, 1):
            for i, (token, tag) in enumerate(zip(sentence.tokens, sentence.labels)):
                writer.writerow([f"Sentence: {number}" if i == 0 or every_row else "", token, "X", tag])
    return path


def test_a_table_of_a_token_a_row_reads_as_its_sentences(tmp_path):
    gold = [Sentence(["Müller", "visits", "Zürich", ","], ["B-PER", "O", "B-LOC", "O"]), *GOLD]
    path = write_token_rows(tmp_path / "ner_dataset.csv", gold, encoding="latin-1")
    with pytest.raises(CorpusError, match=r"ner_dataset.csv:2: not valid utf-8 text .*; try --encoding latin-1$"):
        read_labelled(path, tokens_field="Word", tags_field="Tag")
    with pytest.raises(CorpusError, match=r"ner_dataset.csv: no column 'tokens' \(it has Sentence #, Word, POS, Tag\); "
                                          r"--tokens-field names another; --tokens-field Word --tags-field Tag reads "
                                          r"its tokens and tags$"):
        read_labelled(path, encoding="latin-1")
    read = read_labelled(path, tokens_field="Word", tags_field="Tag", encoding="latin-1")
    assert pairs(read) == pairs(gold)
    # Each sentence begins at its first row's line, so that an error names a token's line.
    assert [s.first_line for s in read[:3]] == [2, 6, 6 + len(gold[1])]
    # A sentence id on every row reads the same; so does any column named by --sentence-field.
    every = write_token_rows(tmp_path / "every.csv", gold, every_row=True)
    assert pairs(read_labelled(every, tokens_field="Word", tags_field="Tag")) == pairs(gold)
    assert pairs(read_labelled(every, tokens_field="Word", tags_field="Tag", sentence_field="POS")) == [
        (sum((s.tokens for s in gold), []), sum((s.labels for s in gold), []))]
    lines = every.read_text().splitlines()
    lines[3] = lines[3].replace("B-LOC", ":")
    every.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"every.csv:4: invalid tag ':'.*is 'Tag' the entity tags"):
        read_labelled(every, tokens_field="Word", tags_field="Tag")
    lines[3] = lines[3].replace(",:", ",")
    every.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"every.csv:4: token 'Zürich' has no tag in column 'Tag'$"):
        read_labelled(every, tokens_field="Word", tags_field="Tag")
    # A saved dataset of a token a row, its tags a ClassLabel's ids.
    import datasets

    features = datasets.Features({"sentence_id": datasets.Value("int64"), "tokens": datasets.Value("string"),
                                  "ner_tags": datasets.ClassLabel(names=["O", "B-LOC", "B-PER"])})
    datasets.Dataset.from_dict({"sentence_id": [0, 0, 1], "tokens": ["Paris", "sleeps", "Bob"], "ner_tags": [1, 0, 2]},
                               features=features).save_to_disk(str(tmp_path / "saved"))
    assert pairs(read_labelled(tmp_path / "saved")) == [(["Paris", "sleeps"], ["B-LOC", "O"]), (["Bob"], ["B-PER"])]
    # A token a row and nothing that says where sentences end: an error, not a corpus of one-word sentences.
    # (A sentiment column is not a sentence id.)
    (tmp_path / "words.csv").write_text("Word,Tag,sentiment\nParis,B-LOC,+\nis,O,+\n")
    with pytest.raises(CorpusError, match=r"words.csv: every row holds one token, and no column says which sentence "
                                          r"it is in \(it has Word, Tag, sentiment\): --sentence-field names the one "
                                          r"that does"):
        read_labelled(tmp_path / "words.csv", tokens_field="Word", tags_field="Tag")
    with pytest.raises(CorpusError, match=r"words.csv: no column 'sent' \(it has Word, Tag, sentiment\); "
                                          r"--sentence-field"):
        read_labelled(tmp_path / "words.csv", tokens_field="Word", tags_field="Tag", sentence_field="sent")


def test_train_and_eval_on_tables_of_a_token_a_row(tmp_path, capsys):
    from tagger.cli import main as tag
    from tagger.train_cli import main as train

    write_token_rows(tmp_path / "train.csv", read_corpus(SAMPLE / "train.conll"))
    write_token_rows(tmp_path / "dev.csv", GOLD)
    fields = ["--tokens-field", "Word", "--tags-field", "Tag"]
    output = tmp_path / "model"
    assert train(["--train", str(tmp_path / "train.csv"), "--dev", str(tmp_path / "dev.csv"), *fields, "--output",
                  str(output), "--epochs", "4", "--hidden-size", "16", "--optimizer", "sgd", "--average-epochs", "0"]) == 0
    assert "400 training sentences (IOB2 read as BIOES), 100 dev" in capsys.readouterr().out
    assert train(["--resume", str(output), "--epochs", "5"]) == 0
    assert "resuming after epoch 4" in capsys.readouterr().out
    assert tag(["--model", str(output), "--eval", str(tmp_path / "dev.csv"), *fields, "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] > 0.3 and scores["sentences"] == len(GOLD)


def test_a_hub_dataset_is_read_from_the_local_cache_only(tmp_path):
    """A cache laid out as datasets lays out a hub dataset it has downloaded (``someone/ner``), built here."""
    write_jsonl(tmp_path / "dev.jsonl", GOLD)
    script = f"""
import datasets, shutil
from datasets.packaged_modules.json.json import Json
builder = Json(dataset_name="ner", config_name="default", data_files={{"validation": {str(tmp_path / 'dev.jsonl')!r}}},
               hash="0123456789abcdef")
builder.download_and_prepare()
shutil.copytree(builder.cache_dir, {str(tmp_path / 'cache' / 'someone___ner' / 'default' / '0.0.0' / '0123456789abcdef')!r})
from tagger.sources import read_labelled
print(len(read_labelled("someone/ner", split="validation")), len(read_labelled("someone/ner:validation")))
try:
    read_labelled("someone/elsewhere")
except ValueError as error:
    print(error)
"""
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    counts, error = done.stdout.splitlines()
    assert counts == f"{len(GOLD)} {len(GOLD)}"
    assert error.startswith(f"someone/elsewhere: no such file, folder, or dataset in the local datasets cache "
                            f"({tmp_path / 'cache'}; reading offline): pass local files")


def test_train_and_eval_from_tables_and_resume_alone(tmp_path, capsys):
    from tagger.cli import main as tag
    from tagger.train_cli import main as train

    write_jsonl(tmp_path / "train.jsonl", read_corpus(SAMPLE / "train.conll"))
    to_dataset(GOLD).save_to_disk(str(tmp_path / "dev"))
    output = tmp_path / "model"
    assert train(["--train", str(tmp_path / "train.jsonl"), "--dev", str(tmp_path / "dev"), "--output", str(output),
                  "--epochs", "1", "--hidden-size", "16", "--optimizer", "sgd", "--average-epochs", "0"]) == 0
    assert "400 training sentences (IOB2 read as BIOES), 100 dev" in capsys.readouterr().out
    data = json.loads((output / "config.json").read_text())["data"]
    assert data["dev"]["path"] == str(tmp_path / "dev") and len(data["dev"]["sha256"]) == 64
    assert train(["--resume", str(output), "--epochs", "4"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert tag(["--model", str(output), "--eval", str(tmp_path / "dev"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] > 0.3 and scores["sentences"] == len(GOLD)


def test_an_annotation_tools_export_trains_and_is_scored(tmp_path, capsys):
    from tagger.cli import main as tag
    from tagger.train_cli import main as train

    for name, corpus in (("train", read_corpus(SAMPLE / "train.conll")), ("dev", GOLD)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(record) + "\n" for record in doccano_records(corpus)))
    output = tmp_path / "model"
    assert train(["--train", str(tmp_path / "train.jsonl"), "--dev", str(tmp_path / "dev.jsonl"), "--output",
                  str(output), "--epochs", "4", "--hidden-size", "16", "--optimizer", "sgd", "--average-epochs", "0"]) == 0
    assert "400 training sentences (IOB2 read as BIOES), 100 dev" in capsys.readouterr().out
    assert tag(["--model", str(output), "--eval", str(tmp_path / "dev.jsonl"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] > 0.3 and scores["sentences"] == len(GOLD)


def test_a_table_trains_from_its_arrow_file_as_its_sentences_in_memory_do(tmp_path):
    """Read a batch at a time from the table, not held as lists: the same run, weight for weight."""
    import torch

    from tagger.corpus import hold_out
    from tagger.sources import TableCorpus
    from tagger.storage import load_model
    from tagger.training import TrainingConfig, train

    sentences = read_corpus(SAMPLE / "train.conll")[:120]
    table = read_labelled(write_jsonl(tmp_path / "train.jsonl", sentences))
    assert isinstance(table, TableCorpus) and len(table) == len(sentences)
    assert table[5].first_line == 6 and pairs(table[10:12]) == pairs(sentences[10:12])
    rest, held = hold_out(table, 0.25, seed=2)
    # a table has no documents: it holds out the sentences a corpus of its sentences alone holds out
    alone = [Sentence(s.tokens, s.labels) for s in sentences]
    assert isinstance(rest, TableCorpus) and pairs(held) == pairs(hold_out(alone, 0.25, seed=2)[1])
    for name, corpus in (("lists", sentences), ("table", table)):
        train(corpus, GOLD[:20], tmp_path / name, TrainingConfig(epochs=2, seed=4), {"hidden_size": 8},
              log=lambda message: None)
    one, other = (load_model(tmp_path / name)[0].state_dict() for name in ("lists", "table"))
    assert all(torch.equal(one[key], other[key]) for key in one)


# INCEpTION's export of a document: a layer of parts of speech before the named entities, a tab after each line.
WEBANNO = """\
#FORMAT=WebAnno TSV 3.3
#T_SP=de.tudarmstadt.ukp.dkpro.core.api.lexmorph.type.pos.POS|PosValue|coarseValue
#T_SP=de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity|identifier|value


#Text=Peter Blackburn visited Berlin.
1-1\t0-5\tPeter\tNNP\t_\t_\tPER[1]\t
1-2\t6-15\tBlackburn\tNNP\t_\t_\tPER[1]\t
1-3\t16-23\tvisited\tVBD\t_\t_\t_\t
1-4\t24-30\tBerlin\tNNP\t_\t_|_\tLOC|ORG\t
1-5\t30-31\t.\t.\t_\t_\t*\t

#Text=The EU_Commission rejects United
2-1\t32-35\tThe\tDT\t_\t_\t_\t
2-2\t36-50\tEU\\_Commission\tNNP\t_\t_\tORG\t
2-3\t51-58\trejects\tVBZ\t_\t_\t_\t
2-3.1\t51-53\tre\t_\t_\t_\tMISC\t
2-4\t59-65\tUnited\tNNP\t_\t_\tORG[2]\t

#Text=Nations plans.
3-1\t66-73\tNations\tNNP\t_\t_\tORG[2]\t
3-2\t74-79\tplans\tNNS\t_\t_\t_\t
3-3\t79-80\t.\t.\t_\t_\t_\t
"""


def test_webanno_tsv_files_read_as_documents_of_their_entities(tmp_path):
    from tagger.errors import TaggerWarning

    (tmp_path / "export").mkdir()
    first, second = tmp_path / "export" / "a.tsv", tmp_path / "export" / "b.tsv"
    first.write_text(WEBANNO, encoding="utf-8")
    second.write_text("#FORMAT=WebAnno TSV 3.2\n#T_SP=de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity|value\n"
                      "\n\n#Text=Hi Anna\n1-1\t0-2\tHi\t_\n1-2\t3-7\tAnna\tPER\n", encoding="utf-8")
    with pytest.warns(TaggerWarning, match=r"export: 2 of 8 entities have no type, or lie inside or across others"):
        read = read_labelled(tmp_path / "export")
    assert [(s.tokens, s.labels) for s in read] == [
        (["Peter", "Blackburn", "visited", "Berlin", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
        # an entity across two of the file's sentences joins them; a part of a token's annotation is the token's
        (["The", "EU_Commission", "rejects", "United", "Nations", "plans", "."],
         ["O", "B-ORG", "B-MISC", "B-ORG", "I-ORG", "O", "O"]),
        (["Hi", "Anna"], ["O", "B-PER"])]
    assert [(s.source, s.first_line, s.document_start) for s in read] == [
        (str(first), 7, None), (str(first), 14, None), (str(second), 6, "-DOCSTART-")]
    with pytest.warns(TaggerWarning):
        assert [s.tokens for s in read_labelled(first)] == [s.tokens for s in read[:2]]  # one file, by its first line
    # A project's own layer of entities: --tags-field names it (and its feature, where it has several)
    custom = WEBANNO.replace("de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity|identifier|value",
                             "webanno.custom.Entity|note|label")
    first.write_text(custom, encoding="utf-8")
    message = (r"a.tsv:7: the layer de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity:value is not among the "
               r"layers its header declares \(de.tudarmstadt.ukp.dkpro.core.api.lexmorph.type.pos.POS\|PosValue\|"
               r"coarseValue, webanno.custom.Entity\|note\|label\): --tags-field LAYER:FEATURE names the layer of "
               r"the entities and the feature of their types$")
    with pytest.raises(CorpusError, match=message):
        read_labelled(first)
    with pytest.warns(TaggerWarning):
        assert [s.labels for s in read_labelled(first, tags_field="webanno.custom.Entity:label")] == [
            s.labels for s in read[:2]]
    first.write_text("#FORMAT=WebAnno TSV 3.3\n#T_SP=webanno.custom.Entity|label\n\n\n#Text=Hi Anna\n1-1\t0-2\tHi\t_\n"
                     "1-2\t3-7\tAnna\tPER\n", encoding="utf-8")
    assert read_labelled(first, tags_field="webanno.custom.Entity")[0].labels == ["O", "B-PER"]  # its only feature
    first.write_text(WEBANNO.replace("1-3\t16-23\tvisited\tVBD\t_\t", "1-3\t16-23\tvisited\t"), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"a.tsv:9: expected a WebAnno TSV token line of 7 tab-separated columns "):
        read_labelled(first)


def test_tag_py_scores_a_model_on_a_webanno_file(sample_model, tmp_path):
    path = tmp_path / "doc.tsv"
    path.write_text(WEBANNO, encoding="utf-8")
    done = command("tag.py", "--model", str(sample_model[0]), "--eval", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["types"]["PER"]["support"] == 1 and "2 of 7 entities" in done.stderr


def spacy_docbin(path, groups, entities=True, **span_groups):
    """A DocBin file of one Doc for each list of sentences in ``groups`` (sentence boundaries set where a Doc has
    several), with their IOB2 tags as ``doc.ents`` (or none); ``span_groups``: {key: [(doc, start, end, label)]}."""
    from spacy.tokens import Doc, DocBin, Span
    from spacy.vocab import Vocab

    vocab, docs = Vocab(), DocBin()
    for number, sentences in enumerate(groups):
        words = [token for sentence in sentences for token in sentence.tokens]
        starts = [k == 0 for sentence in sentences for k in range(len(sentence.tokens))]
        doc = Doc(vocab, words=words, sent_starts=starts if len(sentences) > 1 else None,
                  ents=[tag for sentence in sentences for tag in sentence.labels] if entities else None)
        for key, spans in span_groups.items():
            doc.spans[key] = [Span(doc, start, end, label) for at, start, end, label in spans if at == number]
        docs.add(doc)
    docs.to_disk(path)
    return path


def test_spacy_docbin_files_read_as_their_docs_sentences_and_entities(tmp_path):
    from tagger.errors import TaggerWarning

    groups = [GOLD[k:k + 10] for k in range(0, len(GOLD), 10)]
    read = read_labelled(spacy_docbin(tmp_path / "dev.spacy", groups))
    assert pairs(read) == pairs(GOLD)
    # a Doc of several sentences is a document, as -DOCSTART- begins one
    assert [k for k, s in enumerate(read) if s.document_start] == list(range(10, len(GOLD), 10))
    assert {(s.source, s.first_line) for s in read[10:20]} == {(str(tmp_path / "dev.spacy"), 2)}  # the Doc's number
    # Docs of one sentence each (spacy convert's default) are sentences: each file begins a document
    (tmp_path / "corpus").mkdir()
    spacy_docbin(tmp_path / "corpus" / "train.spacy", [[s] for s in GOLD[:30]])
    spacy_docbin(tmp_path / "corpus" / "dev.spacy", [[s] for s in GOLD[30:]])
    train = read_labelled(tmp_path / "corpus")
    assert pairs(train) == pairs(GOLD[:30]) and not any(s.document_start for s in train)
    assert pairs(read_labelled(tmp_path / "corpus", split="validation")) == pairs(GOLD[30:])
    (tmp_path / "docs").mkdir()
    for k in range(3):
        spacy_docbin(tmp_path / "docs" / f"{k}.spacy", [[s] for s in GOLD[2 * k:2 * k + 2]])
    assert [bool(s.document_start) for s in read_labelled(tmp_path / "docs")] == [False, False, True, False, True,
                                                                                   False]
    # spacy convert keeps CoNLL-2002's "-DOCSTART- -DOCSTART- O" lines as a word before a sentence's first
    from spacy.tokens import Doc, DocBin
    from spacy.vocab import Vocab

    marked = [Doc(Vocab(), words=["-DOCSTART-", *s.tokens] if k in (0, 2) else s.tokens,
                  ents=["O", *s.labels] if k in (0, 2) else s.labels) for k, s in enumerate(GOLD[:4])]
    DocBin(docs=marked).to_disk(tmp_path / "marked.spacy")
    read = read_labelled(tmp_path / "marked.spacy")
    assert pairs(read) == pairs(GOLD[:4]) and [bool(s.document_start) for s in read] == [False, False, True, False]
    # whitespace tokens are no words; an entity across a sentence boundary joins the sentences

    doc = Doc(Vocab(), words=["\n", "Anna", "Lee", "\n\n", "met", "Bo", ".", "New", "York", "!"],
              sent_starts=[True, False, True, False, False, False, False, True, False, False],
              ents=["O", "B-PER", "I-PER", "I-PER", "O", "B-PER", "O", "B-LOC", "I-LOC", "O"])
    unannotated = Doc(Vocab(), words=["Hi", "Bo"], ents=["", "B-PER"])  # "": spaCy's missing value
    DocBin(docs=[doc, unannotated]).to_disk(tmp_path / "spaces.spacy")
    with pytest.warns(TaggerWarning, match=r"spaces.spacy: 1 tokens have no entity annotation"):
        assert [(s.tokens, s.labels) for s in read_labelled(tmp_path / "spaces.spacy")] == [
            (["Anna", "Lee", "met", "Bo", "."], ["B-PER", "I-PER", "O", "B-PER", "O"]),
            (["New", "York", "!"], ["B-LOC", "I-LOC", "O"]), (["Hi", "Bo"], ["O", "B-PER"])]
    # a span group, nested spans read outermost; a file without entities names its span groups
    spans = {"sc": [(0, 0, 2, "ORG"), (0, 1, 2, "LOC"), (1, 3, 4, "PER")]}
    spacy_docbin(tmp_path / "spans.spacy", [[s] for s in GOLD[:2]], entities=False, **spans)
    with pytest.raises(CorpusError, match=r"spans.spacy: its 2 Docs have no entities annotated \(its span groups: "
                                          r"sc; --tags-field names one\)$"):
        read_labelled(tmp_path / "spans.spacy")
    with pytest.warns(TaggerWarning, match=r"outside.spacy: no Doc has entities \(doc.ents\), but its span groups "
                                           r"\(sc\) hold spans: --tags-field names one to read$"):
        read_labelled(spacy_docbin(tmp_path / "outside.spacy", [[Sentence(s.tokens, ["O"] * len(s.tokens))]
                                                                for s in GOLD[:2]], **spans))
    with pytest.warns(TaggerWarning, match=r"spans.spacy: 1 of 3 spans lie inside or across others"):
        labels = [s.labels for s in read_labelled(tmp_path / "spans.spacy", tags_field="sc")]
    assert labels == [["B-ORG", "I-ORG"] + ["O"] * (len(GOLD[0].tokens) - 2),
                      ["O"] * 3 + ["B-PER"] + ["O"] * (len(GOLD[1].tokens) - 4)]
    with pytest.raises(CorpusError, match=r"spans.spacy: no span group 'entities' \(it has sc; doc.ents are read "):
        read_labelled(tmp_path / "spans.spacy", tags_field="entities")
    (tmp_path / "bad.spacy").write_text("Anna B-PER\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad.spacy: is not a spaCy DocBin file \("):
        read_labelled(tmp_path / "bad.spacy")


def test_tag_py_scores_a_model_on_a_spacy_file(sample_model, tmp_path):
    path = spacy_docbin(tmp_path / "dev.spacy", [GOLD[k:k + 10] for k in range(0, len(GOLD), 10)])
    done = command("tag.py", "--model", str(sample_model[0]), "--eval", str(path), "--json")
    conll = command("tag.py", "--model", str(sample_model[0]), "--eval", str(SAMPLE / "dev.conll"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["types"] == json.loads(conll.stdout)["types"]


def test_a_spacy_file_without_spacy_installed_is_an_error_that_says_how_to_install_it(tmp_path, monkeypatch):
    path = spacy_docbin(tmp_path / "dev.spacy", [GOLD[:2]])
    monkeypatch.setitem(sys.modules, "spacy.tokens", None)  # import spacy.tokens raises ImportError
    with pytest.raises(CorpusError, match=r"dev.spacy: reading spaCy's .spacy files needs spaCy: pip install spacy$"):
        read_labelled(path)
