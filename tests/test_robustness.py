"""Interrupted training, untrusted model files, and inputs people really feed a tagger."""

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger import Tagger
from tagger.corpus import CorpusError, Sentence, read_corpus, write_conll
from tagger.model import BiLSTMCRF
from tagger.schemes import tags_to_spans
from tagger.storage import (
    CHECKPOINT_FILE, METRICS_FILE, WEIGHTS_FILE, ModelError, load_checkpoint, load_model, write_atomically,
)
from tagger.training import TrainingConfig, resume, train

from .conftest import ROOT, SAMPLE, command

quiet = {"log": lambda message: None}


@pytest.fixture(scope="module")
def small_corpus():
    return read_corpus(SAMPLE / "train.conll")[:80], read_corpus(SAMPLE / "dev.conll")[:30]


def weights(directory):
    return load_model(directory)[0].state_dict()


@pytest.mark.parametrize("optimizer, memory", [({"optimizer": "sgd"}, False), ({}, False), ({}, True)])
def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path, small_corpus, optimizer, memory):
    training, dev = small_corpus
    # With document memory, batches of whole documents: each LSTM direction runs on its own.
    sizes = {"hidden_size": 16, "document_memory": memory}
    whole = train(training, dev, tmp_path / "whole", TrainingConfig(epochs=4, seed=9, **optimizer), sizes, **quiet)
    # "interrupted" after epoch 2, then resumed to epoch 4
    train(training, dev, tmp_path / "cut", TrainingConfig(epochs=2, seed=9, **optimizer), sizes, **quiet)
    assert (tmp_path / "cut" / CHECKPOINT_FILE).is_file()
    resumed = resume(training, dev, tmp_path / "cut", epochs=4, **quiet)
    assert resumed == whole
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[key], b[key]) for key in a)
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "cut" / METRICS_FILE).read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]
    # every epoch the same, not only the kept (best) one
    losses = [[json.loads(line)["loss"] for line in (tmp_path / run / METRICS_FILE).read_text().splitlines()]
              for run in ("whole", "cut")]
    assert losses[0] == losses[1]


def test_resume_command(tmp_path):
    args = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "8"]
    first = command("train.py", *args, "--output", str(tmp_path / "m"), "--epochs", "1")
    assert first.returncode == 0, first.stderr
    again = command("train.py", *args, "--resume", str(tmp_path / "m"), "--epochs", "2")
    assert again.returncode == 0, again.stderr
    assert "resuming after epoch 1" in again.stdout and "epoch   2" in again.stdout
    missing = command("train.py", *args, "--resume", str(tmp_path / "none"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


def test_resume_alone_rereads_the_recorded_corpora_and_refuses_others(tmp_path, capsys):
    import shutil

    from tagger.errors import TaggerError
    from tagger.storage import read_config
    from tagger.train_cli import main

    for part in ("train", "dev", "test"):
        shutil.copy(SAMPLE / f"{part}.conll", tmp_path / f"{part}.conll")
    model = str(tmp_path / "m")
    assert main(["--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "dev.conll"), "--output", model,
                 "--epochs", "1", "--hidden-size", "8", "--input-scheme", "iob2"]) == 0
    data = read_config(tmp_path / "m")["data"]
    assert data["train"]["path"] == str(tmp_path / "train.conll") and data["train"]["bytes"] > 0
    assert len(data["dev"]["sha256"]) == 64 and data["reading"]["input_scheme"] == "IOB2"
    capsys.readouterr()
    assert main(["--resume", model, "--epochs", "2"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    with pytest.raises(CorpusError, match=rf"^{tmp_path / 'test.conll'}: not the file the run was trained on "
                       rf"\({tmp_path / 'train.conll'}: [0-9,]+ bytes, sha256 [0-9a-f]{{12}}"):
        main(["--resume", model, "--train", str(tmp_path / "test.conll")])
    with pytest.raises(TaggerError, match="--input-scheme: the run in .* read its corpora with --input-scheme 'IOB2'"):
        main(["--resume", model, "--input-scheme", "BIOES"])
    (tmp_path / "train.conll").rename(tmp_path / "moved.conll")
    with pytest.raises(CorpusError, match=rf"^{tmp_path / 'train.conll'}: no such file, and the run was trained on it"):
        main(["--resume", model])
    assert main(["--resume", model, "--train", str(tmp_path / "moved.conll"), "--epochs", "3"]) == 0
    with open(tmp_path / "dev.conll", "a") as dev:
        dev.write("Paris B-LOC\n")
    with pytest.raises(CorpusError, match=rf"^{tmp_path / 'dev.conll'}: changed since the run was trained on it"):
        main(["--resume", model, "--train", str(tmp_path / "moved.conll")])
    with pytest.raises(TaggerError, match=r"--train CORPUS is required \(or --resume MODEL_DIR alone"):
        main(["--output", str(tmp_path / "other")])


def test_a_folder_of_split_named_files_trains_from_each_split_and_resumes(tmp_path, capsys):
    from tagger.storage import read_config
    from tagger.train_cli import main

    folder = tmp_path / "corpus"
    folder.mkdir()
    for part in ("train", "dev", "test"):
        lines = (SAMPLE / f"{part}.conll").read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / f"{part}.conll").write_text("".join(line for line in lines if not line.startswith("-DOCSTART-")),
                                              encoding="utf-8")
    model = str(tmp_path / "m")
    assert main(["--train", str(folder), "--dev", str(folder), "--test", str(folder), "--output", model,
                 "--epochs", "1", "--hidden-size", "8"]) == 0
    out = capsys.readouterr().out
    train, dev, test = (read_corpus(folder / f"{part}.conll") for part in ("train", "dev", "test"))
    assert f"{len(train)} training sentences" in out and f"{len(dev)} dev;" in out and "document memory" not in out
    test_entities = sum(len(tags_to_spans(sentence.labels)) for sentence in test)
    assert f"test {folder}: precision" in out and re.search(rf"micro avg +[0-9. ]+ {test_entities}\n", out)
    data = read_config(Path(model))["data"]
    assert data["train"]["path"] == str(folder) and len(data["train"]["sha256"]) == 64
    assert main(["--resume", model, "--epochs", "2"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    # a shell pattern's files after --train: the folder is the way to give them
    several = command("train.py", "--train", *map(str, sorted(folder.glob("*.conll"))), "--output", str(tmp_path / "x"))
    assert several.returncode == 2 and several.stderr.startswith(
        f"error: {folder / 'test.conll'}, {folder / 'train.conll'}: more files than one option takes (a shell pattern?)")
    # a file for each document: each begins one, and document memory comes on
    (folder / "test.conll").unlink()
    (folder / "dev.conll").rename(folder / "second-document.conll")
    (folder / "train.conll").rename(folder / "first-document.conll")
    assert main(["--train", str(folder), "--dev", str(SAMPLE / "dev.conll"), "--output", str(tmp_path / "d"),
                 "--epochs", "1", "--hidden-size", "8"]) == 0
    assert "document memory: the training corpus has 2 documents" in capsys.readouterr().out


def test_a_brat_project_trains_is_scored_and_its_nested_entities_are_a_warning(tmp_path):
    from .test_sources import write_brat

    gold = read_corpus(SAMPLE / "train.conll")
    for k in range(0, len(gold), 20):
        write_brat(tmp_path / "brat" / "train", f"doc{k:03}", gold[k:k + 20])
    annotations = tmp_path / "brat" / "train" / "doc020.ann"
    first = annotations.read_text().splitlines()[0]  # the same span twice: one is left out
    annotations.write_text(annotations.read_text() + first.replace("T1\t", "T9000\t") + "\n")
    write_brat(tmp_path / "brat" / "dev", "only", read_corpus(SAMPLE / "dev.conll"))
    brat = str(tmp_path / "brat")
    trained = command("train.py", "--train", brat, "--dev", brat, "--output", str(tmp_path / "m"), "--epochs", "6")
    assert trained.returncode == 0, trained.stderr
    assert re.search(rf"^warning: {brat}:train: 1 of [0-9,]+ entities lie inside or across others and are left out "
                     r"\(the outermost are read\)$", trained.stderr, re.M)
    assert f"document memory: the training corpus has {len(gold) // 20} documents" in trained.stdout
    scored = command("tag.py", "--model", str(tmp_path / "m"), "--eval", f"{brat}:validation", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["f1"] > 0.8


def test_a_corpus_with_comment_lines_trains_resumes_and_is_tagged_with_them(tmp_path, capsys):
    from tagger.storage import read_config
    from tagger.train_cli import main

    for part in ("train", "dev"):  # the sample corpus with a comment before each sentence, as MultiCoNER has
        blocks = (SAMPLE / f"{part}.conll").read_text().strip().split("\n\n")
        sentences = [block for block in blocks if not block.startswith("-DOCSTART-")]
        (tmp_path / f"{part}.conll").write_text("".join(f"# id {k}\tdomain=en\n{sentence}\n\n"
                                                        for k, sentence in enumerate(sentences)))
    train, dev, model = str(tmp_path / "train.conll"), str(tmp_path / "dev.conll"), str(tmp_path / "m")
    run = ["--train", train, "--dev", dev, "--output", model, "--epochs", "1", "--hidden-size", "8"]
    with pytest.raises(CorpusError, match=r"train.conll:1: column -1, 'domain=en', holds no entity tag; if "
                       r"lines starting with # are comments, --comment-prefix '#' reads them so$"):
        main(run)
    assert main([*run, "--comment-prefix", "#"]) == 0
    assert read_config(tmp_path / "m")["data"]["reading"]["comment_prefix"] == "#"
    capsys.readouterr()
    assert main(["--resume", model, "--epochs", "2"]) == 0  # the corpora read again as the run read them
    assert "resuming after epoch 1" in capsys.readouterr().out
    untold = run_tag("--model", model, dev)  # the comments make the file read as text, and it says why
    assert untold.stderr == (f"{dev}: read as plain text (--input-format conll reads it as CoNLL columns); if lines "
                             "starting with # are comments, --comment-prefix '#' reads it as CoNLL columns\n")
    prose = tmp_path / "notes.txt"  # text with a '#' line is text: no hint
    prose.write_text("# notes\nTom Baker visited Paris.\n")
    assert run_tag("--model", model, str(prose)).stderr == (f"{prose}: read as plain text (--input-format conll "
                                                            "reads it as CoNLL columns)\n")
    tagged = run_tag("--model", model, "--comment-prefix", "#", dev)
    assert tagged.returncode == 0, tagged.stderr
    assert tagged.stderr == f"{dev}: read as CoNLL columns (--input-format text reads it as plain text)\n"
    written = tagged.stdout.split("\n\n")
    assert [block.split("\n")[0] for block in written[:3]] == [f"# id {k}\tdomain=en" for k in range(3)]
    gold = read_corpus(SAMPLE / "dev.conll")
    assert written[0].split("\n")[1].startswith(gold[0].lines[0] + " ")
    scored = run_tag("--model", model, "--comment-prefix", "#", "--eval", dev, "--json")
    assert scored.returncode == 0 and json.loads(scored.stdout)["sentences"] == len(gold)


def naver_shaped(conll_text: str) -> str:
    """A CoNLL corpus in the shape of NAVER's Korean one: token ids, then the word, then the tag with its prefix
    last (PER_B), and ``-`` for the tokens outside entities."""
    def line(number: int, row: str) -> str:
        word, tag = row.split()
        return f"{number}\t{word}\t{'-' if tag == 'O' else '_'.join(reversed(tag.split('-')))}"

    blocks = [block for block in conll_text.strip().split("\n\n") if not block.startswith("-DOCSTART-")]
    return "".join("\n".join(line(k, row) for k, row in enumerate(block.split("\n"), 1)) + "\n\n" for block in blocks)


def test_a_corpus_that_writes_outside_tokens_as_a_dash_trains_with_outside_tag(tmp_path, capsys):
    from tagger.storage import read_config
    from tagger.train_cli import main

    for part in ("train", "dev"):
        (tmp_path / f"{part}.txt").write_text(naver_shaped((SAMPLE / f"{part}.conll").read_text()))
    train, dev, model = str(tmp_path / "train.txt"), str(tmp_path / "dev.txt"), str(tmp_path / "m")
    run = ["--train", train, "--dev", dev, "--output", model, "--epochs", "1", "--hidden-size", "8"]
    with pytest.raises(CorpusError, match=r"train.txt:2: invalid tag '-': .*; if '-' marks the tokens outside entities, "
                                          r"--token-column 1 --outside-tag - reads its words and tags$"):
        main(run)
    assert main([*run, "--token-column", "1", "--outside-tag", "-"]) == 0
    assert "(IOB2 read as BIOES)" in capsys.readouterr().out
    assert read_config(tmp_path / "m")["data"]["reading"]["outside_tag"] == "-"
    assert main(["--resume", model, "--epochs", "2"]) == 0  # the corpora read again as the run read them
    assert "resuming after epoch 1" in capsys.readouterr().out
    # Its gold tags read as the sample corpus's: the model scores the same on both.
    scored = run_tag("--model", model, "--token-column", "1", "--outside-tag", "-", "--eval", dev, "--json")
    assert scored.returncode == 0, scored.stderr
    expected = run_tag("--model", model, "--eval", str(SAMPLE / "dev.conll"), "--json")
    assert json.loads(scored.stdout)["f1"] == json.loads(expected.stdout)["f1"]
    assert json.loads(scored.stdout)["sentences"] == len(read_corpus(SAMPLE / "dev.conll"))
    tagging = run_tag("--model", model, "--outside-tag", "-", dev)  # tagging reads no tags
    assert tagging.returncode == 2 and tagging.stderr == ("error: --outside-tag reads the tags of --eval's gold file: "
                                                          "it goes with --eval\n")


def test_train_names_dev_types_it_cannot_learn_and_resume_refuses_new_types(tmp_path, capsys):
    from tagger.corpus import CorpusError
    from tagger.train_cli import main

    (tmp_path / "train.conll").write_text("Paris B-LOC\nis O\nnice O\n\nBob B-PER\nsmiled O\n")
    (tmp_path / "dev.conll").write_text("Paris B-LOC\nand O\nAcme B-ORG\n")
    (tmp_path / "other.conll").write_text("Bob B-PER\n\nAcme B-ORG\nrose O\n")
    run = ["--dev", str(tmp_path / "dev.conll"), "--hidden-size", "8", "--epochs", "1"]
    assert main(["--train", str(tmp_path / "train.conll"), *run, "--output", str(tmp_path / "m")]) == 0
    assert capsys.readouterr().err.strip() == (
        f"warning: {tmp_path / 'dev.conll'} has entity types that {tmp_path / 'train.conll'} lacks: ORG "
        "(the model cannot learn them; scored as missed entities)")
    checkpoint = (tmp_path / "m" / CHECKPOINT_FILE).read_bytes()
    # Another corpus: refused by train.py, whose run recorded its own.
    with pytest.raises(CorpusError, match=r"other\.conll: not the file the run was trained on"):
        main(["--train", str(tmp_path / "other.conll"), *run[:2], "--resume", str(tmp_path / "m"), "--epochs", "2"])
    # From Python, a corpus with a type the run has no tags for: the file and line, and the run left as it was.
    with pytest.raises(CorpusError, match=r"other\.conll:3: tag 'B-ORG' is of a type the run in .* was not "
                                          r"started with \(LOC, PER\)"):
        resume(read_corpus(tmp_path / "other.conll"), read_corpus(tmp_path / "dev.conll"), tmp_path / "m", epochs=2)
    assert (tmp_path / "m" / CHECKPOINT_FILE).read_bytes() == checkpoint


def test_train_warns_of_a_corpus_without_entities(tmp_path, capsys):
    from tagger.train_cli import main

    (tmp_path / "train.conll").write_text("Paris NNP O\nis VBZ O\n\nBob NNP O\n")
    assert main(["--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "train.conll"), "--hidden-size", "8",
                 "--epochs", "1", "--output", str(tmp_path / "m")]) == 0
    printed = capsys.readouterr()
    assert printed.err.strip() == (
        f"warning: {tmp_path / 'train.conll'} has no entities (every tag is O): the model can only learn to tag O; "
        "is --label-column the entity tags?")
    assert " characters, 1 tag; " in printed.out
    (tmp_path / "dev.conll").write_text("Paris NNP O\nis VBZ O\n")
    assert main(["--train", str(SAMPLE / "train.conll"), "--dev", str(tmp_path / "dev.conll"), "--hidden-size", "8",
                 "--epochs", "1", "--output", str(tmp_path / "m2")]) == 0
    assert capsys.readouterr().err.strip() == (
        f"warning: {tmp_path / 'dev.conll'} has no entities (every tag is O): its F1 is 0 at every epoch, so it "
        "cannot choose one, and the run keeps its first; give a dev corpus with entities (without --dev, part of "
        "--train is held out)")


def test_train_warns_of_an_entity_type_over_most_tokens_as_a_tag_outside_entities(tmp_path, capsys):
    from tagger.train_cli import main

    # An IO corpus that writes "o" outside entities reads as one more type, over most tokens.
    (tmp_path / "train.conll").write_text("Ik o\nwoon o\nin o\nAmsterdam LOC\n\nHij o\nziet o\nBob PER\n")
    run = ["--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "train.conll"), "--check"]
    assert main(run) == 0
    assert capsys.readouterr().err.strip().endswith(
        f"warning: {tmp_path / 'train.conll'}: the entity type 'o' covers 71% of its tokens; if 'o' marks the tokens "
        "outside entities, --outside-tag o reads it as O")
    assert main([*run, "--outside-tag", "o"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err and "2 entities (LOC 1, PER 1)" in captured.out
    # The sample corpus's names cover 32% of its tokens: no warning.
    assert main(["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "train.conll"), "--check"]) == 0
    assert "covers" not in capsys.readouterr().err


def test_train_warns_of_a_dev_or_test_corpus_whose_sentences_are_training_sentences(tmp_path, capsys):
    from tagger.train_cli import main

    train = SAMPLE / "train.conll"
    run = ["--train", str(train), "--hidden-size", "8", "--epochs", "1"]
    assert main([*run, "--dev", str(train), "--output", str(tmp_path / "m")]) == 0
    assert capsys.readouterr().err.strip() == (
        f"warning: 400 of the 400 sentences of 5 tokens or more in {train} are also in {train}: dev F1 then rewards "
        "remembering them, and chooses the epoch kept by it; give a corpus apart from the training corpus "
        "(without --dev, part of --train is held out as dev)")
    assert main([*run, "--dev", str(SAMPLE / "dev.conll"), "--test", str(train), "--check"]) == 0
    assert capsys.readouterr().err.strip() == (
        f"warning: 400 of the 400 sentences of 5 tokens or more in {train} are also in {train}: the test score then "
        "measures remembering them more than tagging; give a corpus apart from the training corpus (without --dev, "
        "part of --train is held out as dev)")
    # Half copies warn; fewer, and the short lines every corpus repeats, do not.
    training = read_corpus(train)
    trained = {tuple(sentence.tokens) for sentence in training}
    unseen = [sentence for sentence in read_corpus(SAMPLE / "dev.conll") if tuple(sentence.tokens) not in trained]
    for copies, warned in ((50, True), (49, False)):
        dev = tmp_path / f"dev{copies}.conll"
        with dev.open("w") as file:
            chosen = training[:copies] + unseen[: 100 - copies]
            write_conll([(Sentence(sentence.tokens), sentence.labels) for sentence in chosen]
                        + [(Sentence(["Reuters", "said", "."]), ["B-ORG", "O", "O"])] * 200, file)
        assert main([*run, "--dev", str(dev), "--output", str(tmp_path / f"m{copies}")]) == 0
        assert ("warning: " in capsys.readouterr().err) == warned
    # One sentence, copied: counted in the singular.
    single = tmp_path / "single.conll"
    with single.open("w") as file:
        write_conll([(Sentence(training[0].tokens), training[0].labels)], file)
    assert main([*run, "--dev", str(single), "--check"]) == 0
    assert capsys.readouterr().err.strip().startswith(
        f"warning: 1 of the 1 sentence of 5 tokens or more in {single} is also in {train}: dev F1 then rewards ")


def test_check_says_what_the_corpora_hold_and_what_the_run_would_be_and_writes_nothing(tmp_path, capsys):
    from collections import Counter

    from tagger.errors import TaggerError
    from tagger.schemes import tags_to_spans
    from tagger.train_cli import main

    train, dev = read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll")
    output = tmp_path / "m"
    assert main(["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--check",
                 "--output", str(output)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not output.exists()
    counts = Counter(label for sentence in dev for label, _, _ in tags_to_spans(sentence.labels))
    described = ", ".join(f"{label} {count}" for label, count in counts.most_common())
    assert (f"dev: {SAMPLE / 'dev.conll'}: {len(dev)} sentences, {sum(map(len, dev)):,} tokens, 10 documents; "
            f"{sum(counts.values())} entities ({described})") in lines
    # Without vectors every training word is trained (--min-count 1): the unknown words are those training lacks.
    trained = {token.lower() for sentence in train for token in sentence.tokens}
    unknown = [token.lower() not in trained for sentence in dev for token in sentence.tokens]
    in_entities = [token.lower() not in trained for sentence in dev for _, start, end in tags_to_spans(sentence.labels)
                   for token in sentence.tokens[start:end]]
    assert 0 < sum(unknown) < len(unknown)
    assert (f"dev: {sum(unknown) / len(unknown):.1%} of its tokens and {sum(in_entities) / len(in_entities):.1%} of "
            "its entities' tokens read as unknown words (no trained or pretrained vector)") in lines
    assert lines[-3].startswith("400 training sentences (IOB2 read as BIOES), 100 dev; ")
    assert lines[-1] == "up to 40 epochs; nothing trained or written (--check)"
    with pytest.raises(TaggerError, match=r"^--train CORPUS is required"):
        main(["--dev", str(SAMPLE / "dev.conll"), "--check"])
    with pytest.raises(TaggerError, match=r"^--check reads the corpora of a new run: leave out --resume$"):
        main(["--resume", str(output), "--check"])
    # One of a thing is counted in the singular.
    single = tmp_path / "one.conll"
    single.write_text("Paris\tB-LOC\n\n", encoding="utf-8")
    assert main(["--train", str(single), "--dev", str(single), "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"train: {single}: 1 sentence, 1 token, 1 document; 1 entity (LOC 1)" in lines
    assert lines[-3].startswith("1 training sentence (IOB2 read as BIOES), 1 dev; ")


def test_train_warns_of_sentences_too_long_to_be_sentences(tmp_path, capsys):
    """A column file without blank lines reads as one sentence, and the run learns next to nothing."""
    from tagger.train_cli import main

    lines = [line for line in (SAMPLE / "train.conll").read_text().splitlines() if line and "DOCSTART" not in line]
    assert len(lines) > 1000
    (tmp_path / "train.conll").write_text("\n".join(lines) + "\n")
    assert main(["--train", str(tmp_path / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "8",
                 "--epochs", "1", "--output", str(tmp_path / "m")]) == 0
    warning = (f"warning: {tmp_path / 'train.conll'}:1: a sentence of {len(lines):,} tokens; "
               "are blank lines missing between sentences?")
    assert capsys.readouterr().err.strip() == warning
    # Without --dev, no dev set can be held out of one sentence: the warning says why first.
    with pytest.raises(CorpusError, match="1 sentence: too few to hold out a dev set from"):
        main(["--train", str(tmp_path / "train.conll"), "--check"])
    assert capsys.readouterr().err.strip() == warning


def test_diverging_loss_stops_and_keeps_the_best_model(tmp_path, small_corpus, monkeypatch):
    training, dev = small_corpus
    train(training, dev, tmp_path / "m", TrainingConfig(epochs=1, seed=2), {"hidden_size": 8}, **quiet)
    before = weights(tmp_path / "m")
    monkeypatch.setattr(BiLSTMCRF, "loss", lambda self, batch, tags, *teacher: torch.tensor(float("nan")))
    with pytest.raises(Exception, match=r"training diverged at epoch 2 \(loss nan\).*best model so far \(epoch 1\)"):
        resume(training, dev, tmp_path / "m", epochs=3, **quiet)
    after = weights(tmp_path / "m")
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")

    def crash(path):
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, crash)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


class CreatesFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_weights_are_refused_without_running_them(sample_model, tmp_path):
    model_dir = tmp_path / "evil"
    model_dir.mkdir()
    (model_dir / "config.json").write_text((sample_model[0] / "config.json").read_text())
    marker = tmp_path / "pwned"
    for name in (WEIGHTS_FILE, "model.pt"):
        (model_dir / name).write_bytes(pickle.dumps({"weights": CreatesFile(str(marker))}))
    with pytest.raises(ModelError, match="not a safetensors file"):
        Tagger.load(model_dir)
    assert not marker.exists()


def test_model_directory_errors_say_which_and_why(sample_model, tmp_path):
    source = sample_model[0]
    broken = tmp_path / "m"
    broken.mkdir()
    (broken / "config.json").write_text((source / "config.json").read_text())
    with pytest.raises(ModelError, match="model.safetensors: missing"):
        Tagger.load(broken)
    (broken / WEIGHTS_FILE).write_bytes((source / WEIGHTS_FILE).read_bytes())
    config = json.loads((source / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "format": 99}))
    with pytest.raises(ModelError, match="model format 99 is not supported"):
        Tagger.load(broken)
    (broken / "config.json").write_text(json.dumps({**config, "model": {**config["model"], "hidden_size": 7}}))
    with pytest.raises(ModelError, match="weights do not match config.json"):
        Tagger.load(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        Tagger.load(broken)
    del config["encoder"]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="incomplete or invalid model settings"):
        Tagger.load(broken)


def test_a_crafted_config_opens_no_file_and_allocates_nothing_it_names(tmp_path, monkeypatch):
    """A model directory is untrusted input: its config names no file to read, and no size beyond its weights."""
    import shutil

    import tagger.embeddings
    from tagger.storage import resolve_model

    crafted = tmp_path / "crafted"
    shutil.copytree(resolve_model("en-conll03-fast"), crafted)
    config = json.loads((crafted / "config.json").read_text())

    def write(**changes) -> None:
        (crafted / "config.json").write_text(json.dumps({**config, "model": {**config["model"], **changes}}))

    def never(source):
        raise AssertionError(f"loading opened {source}")

    for path in ("/etc/hostname", "/dev/zero", str(tmp_path / "vectors.txt")):
        write(fixed_vectors=path)
        with monkeypatch.context() as patch:
            patch.setattr(tagger.embeddings, "load_embeddings", never)
            with pytest.raises(ModelError, match=rf"config.json: fixed_vectors '{path}' is not a vector package tagger "
                               r"knows \(glove-6b-50d\)"):
                Tagger.load(crafted)
    write(word_dim=51)
    with pytest.raises(ModelError, match=r"weights do not match config.json: lstm.weight_ih_l0 is \[800, 108\] in the "
                       r"weights, \[800, 109\] in the config"):
        Tagger.load(crafted)
    write(fixed_words=10**9)
    with pytest.raises(ModelError, match="config.json: incomplete or invalid model settings .*negative dimension"):
        Tagger.load(crafted)
    write(num_words=10**12 + 18891, fixed_words=10**12)  # 200 TB of vectors, were they allocated
    with pytest.raises(ModelError, match=r"config.json: 1000000000000 fixed words of 50 dimensions do not fit "
                       r"'glove-6b-50d' \(400000 words of 50\)"):
        Tagger.load(crafted)
    write(num_words=10**12 + 18891, fixed_words=10**12, fixed_vectors="")  # saved with the weights, were they
    with pytest.raises(ModelError, match=r"weights do not match config.json: fixed_word_vectors is missing in the "
                       r"weights, \[1000000000000, 50\] in the config"):
        Tagger.load(crafted)
    (crafted / "config.json").write_text(json.dumps({**config, "members": 10**9}))
    with pytest.raises(ModelError, match=r"members 1000000000, but the weights hold 1 network"):
        Tagger.load(crafted)
    write(fixed_vectors="/etc/hostname")
    done = run_tag("--model", str(crafted), str(SAMPLE / "test.conll"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is not a vector package" in done.stderr


def test_long_sentences_and_tokens(sample_model):
    tagger = Tagger.load(sample_model[0])
    tokens = ["Paris", "is", "big", "."] * 2500
    tagged = tagger.predict([tokens])[0]
    assert len(tagged.tags) == 10_000
    assert all(0 <= e.start < e.end <= 10_000 for e in tagged.entities)
    huge = "x" * 5000
    assert len(tagger.predict([[huge, "visited", "Paris"]])[0].tags) == 3
    assert [e.text for e in tagger.tag(f"{huge} visited Paris .")][-1:] == ["Paris"]


sentence_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
token_list = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(sentence_text, token_list))
def test_tag_any_unicode_input(sample_model, sentence):
    tagger = _cached_tagger(sample_model[0])
    tagged = tagger.predict([sentence])[0]
    assert len(tagged.tags) == len(tagged.tokens)
    for entity in tagger.tag(sentence):
        assert 0 <= entity.start < entity.end <= len(tagged.tokens)
        assert tagged.text[entity.start_char : entity.end_char] == entity.text


_taggers = {}


def _cached_tagger(path):
    if path not in _taggers:
        _taggers[path] = Tagger.load(path)
    return _taggers[path]


def run_tag(*args, input=None):
    return command("tag.py", *args, input=input)


def test_output_that_is_an_input_is_refused_before_anything_is_written(sample_model, tmp_path):
    path = tmp_path / "input.conll"
    path.write_text("Tom\nBaker\n\nvisited\nParis\n")
    (tmp_path / "link.conll").hardlink_to(path)
    for output, inputs in [(path, [str(path)]), (tmp_path / "link.conll", [str(SAMPLE / "test.conll"), str(path)]),
                           (tmp_path / "sub" / ".." / "input.conll", ["--eval", str(path)])]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        done = run_tag("--model", str(sample_model[0]), *inputs, "--output", str(output))
        assert done.returncode == 2
        assert done.stderr == f"error: {output}: is also an input; writing there would erase it before it is read\n"
        assert path.read_text() == "Tom\nBaker\n\nvisited\nParis\n"


def test_output_before_a_bad_line_is_kept(sample_model, tmp_path):
    path = tmp_path / "input.conll"
    path.write_text("Tom\nBaker\n\nvisited\nParis\n\nOslo too\n")
    done = run_tag("--model", str(sample_model[0]), "--input-format", "conll", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {path}:7: expected 1 columns like the first line, got 2: 'Oslo too'; "
                                   "if this is plain text, --input-format text reads it")
    assert done.stdout.splitlines()[:2] == ["Tom B-PER", "Baker I-PER"] and "Paris B-LOC" in done.stdout


def test_piping_into_head_ends_cleanly(sample_model):
    text = "Tom Baker visited Paris .\n" * 5000
    done = subprocess.run(
        f"{sys.executable} tag.py --model {sample_model[0]} --input-format text - | head -n 2",
        shell=True, cwd=ROOT, input=text, capture_output=True, text=True,
    )
    assert done.returncode == 0
    assert done.stdout == "Tom B-PER\nBaker I-PER\n"
    assert done.stderr == ""


def test_eval_file_with_unseen_types_and_messy_format(sample_model, tmp_path):
    gold = tmp_path / "gold.conll"
    # BOM, Windows line endings, tabs and spaces mixed, trailing spaces, several blank lines, no final blank line
    gold.write_bytes("\ufeffTom\tB-PER\r\nBaker  I-PER \r\n\r\n\r\nApple B-PRODUCT\r\nrose O".encode("utf-8"))
    done = run_tag("--model", str(sample_model[0]), "--eval", str(gold), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"warning: {gold} has entity types the model never predicts: PRODUCT (scored as missed entities; "
        "--rename-type OLD=NEW renames a gold type)"
    )
    scores = json.loads(done.stdout)
    assert scores["sentences"] == 2 and scores["tokens"] == 4 and scores["recall"] == 0.5
    # the type the model lacks dropped from the gold file: only Tom Baker is left, and found
    done = run_tag("--model", str(sample_model[0]), "--eval", str(gold), "--json", "--rename-type", "PRODUCT=O")
    assert done.returncode == 0 and done.stderr == "" and json.loads(done.stdout)["recall"] == 1.0
    done = run_tag("--model", str(sample_model[0]), str(gold), "--rename-type", "PRODUCT=O")
    assert done.returncode == 2 and "--rename-type renames the types of --eval's gold file" in done.stderr


def test_pos_column_and_latin1(sample_model, tmp_path):
    pos = tmp_path / "pos.conll"
    pos.write_text("EU NNP I-ORG\nrejects VBZ O\n. . O\n")
    done = run_tag("--model", str(sample_model[0]), "--eval", str(pos), "--label-column", "1")
    assert done.returncode == 2 and done.stderr.strip() == (
        f"error: {pos}:3: invalid tag '.': no scheme reads it (tried IOB1, IOB2, BIOES, BILOU, BMES, IO: a tag is O, "
        "PREFIX-TYPE with PREFIX one of B I M E L S U, or a bare TYPE in IO); is column 1 the entity tags? "
        "(--label-column picks another); --label-column 2 reads its words and tags"
    )
    latin = tmp_path / "latin.txt"
    latin.write_bytes("José Garcia visited Madrid .\n".encode("latin-1"))
    bad = run_tag("--model", str(sample_model[0]), "--input-format", "text", str(latin))
    assert bad.returncode == 2 and f"error: {latin}:1: not valid utf-8 text" in bad.stderr
    good = run_tag("--model", str(sample_model[0]), "--input-format", "text", "--encoding", "latin-1", str(latin))
    assert good.returncode == 0 and good.stdout.startswith("José ")


def test_utf16_files_are_tagged_and_scored_with_their_encoding(sample_model, tmp_path):
    text = "Tom Baker visited Paris .\r\nJosé rose .\r\n"
    plain, wide = tmp_path / "plain.txt", tmp_path / "wide.txt"  # the same text, UTF-8 and UTF-16
    plain.write_bytes(text.encode("utf-8"))
    wide.write_bytes(text.encode("utf-16"))
    expected = run_tag("--model", str(sample_model[0]), "--input-format", "text", str(plain))
    tagged = run_tag("--model", str(sample_model[0]), "--input-format", "text", "--encoding", "utf-16", str(wide))
    assert expected.returncode == tagged.returncode == 0 and tagged.stdout == expected.stdout
    assert tagged.stdout.startswith("Tom ") and "José " in tagged.stdout
    # its byte-order mark says it is UTF-16: it needs no --encoding, its format found as for the UTF-8 file
    unnamed = run_tag("--model", str(sample_model[0]), str(wide))
    assert unnamed.returncode == 0 and unnamed.stdout == expected.stdout
    assert unnamed.stderr == f"{wide}: read as plain text (--input-format conll reads it as CoNLL columns)\n"
    gold = tmp_path / "gold.conll"
    gold.write_bytes("Tom B-PER\r\nBaker I-PER\r\n\r\nParis B-LOC\r\n".encode("utf-16"))
    for encoding in (["--encoding", "utf-16"], []):
        scored = run_tag("--model", str(sample_model[0]), "--eval", str(gold), "--json", *encoding)
        assert scored.returncode == 0, scored.stderr
        assert json.loads(scored.stdout)["sentences"] == 2 and json.loads(scored.stdout)["tokens"] == 3


def test_kill_minus_nine_leaves_a_checkpoint_that_resumes(tmp_path):
    import signal
    import time

    from tagger.storage import load_checkpoint

    output = tmp_path / "m"
    args = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "8"]
    process = subprocess.Popen([sys.executable, "train.py", *args, "--output", str(output), "--epochs", "50",
                                "--patience", "50"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (output / CHECKPOINT_FILE).exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)  # somewhere inside a later epoch, perhaps mid-write
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    _, state = load_checkpoint(output)
    assert state["epoch"] >= 1
    done = subprocess.run([sys.executable, "train.py", *args, "--resume", str(output), "--epochs",
                           str(state["epoch"] + 1)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"resuming after epoch {state['epoch']}" in done.stdout
    assert not [p.name for p in output.iterdir() if p.name.endswith(".tmp")]


def test_weight_averaging_is_kept_and_resumes_exactly(tmp_path, small_corpus):
    from tagger.model import BiLSTMCRF, ModelConfig
    from tagger.training import WeightAverage

    model = BiLSTMCRF(ModelConfig(20, 10, 8, 5, word_dim=4, char_dim=3, char_filters=3, hidden_size=2))
    average = WeightAverage(model, decay=0.75)
    steps = []
    for _ in range(3):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
        steps.append([p.detach().clone() for p in model.parameters()])
        average.update_parameters(model)
    for i, averaged in enumerate(average.module.parameters()):
        # the steps' weights 0.75^age, normalised: the starting weights count for nothing
        expected = sum(0.75 ** (2 - k) * step[i] for k, step in enumerate(steps)) / (1 + 0.75 + 0.75**2)
        assert torch.allclose(averaged, expected, atol=1e-6)
    assert average.state_dict()["steps"] == 3

    training, dev = small_corpus
    sizes = {"hidden_size": 16}
    config = dict(seed=9, average=0.9)
    whole = train(training, dev, tmp_path / "whole", TrainingConfig(epochs=3, **config), sizes, **quiet)
    train(training, dev, tmp_path / "cut", TrainingConfig(epochs=2, **config), sizes, **quiet)
    assert resume(training, dev, tmp_path / "cut", epochs=3, **quiet) == whole
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[key], b[key]) for key in a)
    # what is kept is the average, not the weights as trained (one epoch: the first is always kept)
    train(training, dev, tmp_path / "one", TrainingConfig(epochs=1, **config), sizes, **quiet)
    kept, (checkpoint, _) = weights(tmp_path / "one"), load_checkpoint(tmp_path / "one")
    assert torch.equal(kept["projection.weight"], checkpoint["averaged.projection.weight"])
    assert not torch.equal(kept["projection.weight"], checkpoint["model.projection.weight"])


def test_train_without_dev_holds_out_part_of_train_and_resume_holds_out_the_same(tmp_path, capsys):
    from tagger.errors import TaggerError
    from tagger.storage import read_config
    from tagger.train_cli import main

    train = ["--train", str(SAMPLE / "train.conll"), "--hidden-size", "8"]
    assert main([*train, "--epochs", "1", "--output", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert f"dev: 40 of the 400 sentences of {SAMPLE / 'train.conll'}, held out" in out
    assert "360 training sentences" in out and ", 40 dev;" in out
    assert read_config(tmp_path / "m")["training"]["dev_fraction"] == 0.1
    with pytest.raises(TaggerError, match="holds out part of --train as dev: leave out --dev"):
        main([*train, "--dev", str(SAMPLE / "dev.conll"), "--resume", str(tmp_path / "m"), "--epochs", "2"])
    with pytest.raises(TaggerError, match="holds out 0.1 of --train as dev: leave out --dev-fraction"):
        main([*train, "--dev-fraction", "0.2", "--resume", str(tmp_path / "m"), "--epochs", "2"])
    assert main([*train, "--resume", str(tmp_path / "m"), "--epochs", "2"]) == 0
    resumed = capsys.readouterr().out
    assert "resuming after epoch 1" in resumed and "epoch   2" in resumed
    assert f"dev: 40 of the 400 sentences of {SAMPLE / 'train.conll'}, held out (--dev-fraction 0.1, --seed 1)" in resumed
    # the same sentences held out, so the same run as an uninterrupted one
    assert main([*train, "--epochs", "2", "--output", str(tmp_path / "u")]) == 0
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == (tmp_path / "u" / "model.safetensors").read_bytes()
    with pytest.raises(TaggerError, match="--dev-fraction holds out part of --train when there is no --dev"):
        main([*train, "--dev", str(SAMPLE / "dev.conll"), "--dev-fraction", "0.2", "--output", str(tmp_path / "n")])
    assert main([*train, "--dev", str(SAMPLE / "dev.conll"), "--epochs", "1", "--output", str(tmp_path / "n")]) == 0
    # its --dev is recorded: resuming rereads it
    assert main([*train, "--resume", str(tmp_path / "n"), "--epochs", "2"]) == 0


def test_loading_a_model_imports_no_compiler():
    """The sizes check builds the network on the meta device without filling its weights: initialising them
    there would import torch's compiler, which took three times as long as the rest of loading."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import sys; from tagger import Tagger; Tagger.load('en-conll03'); "
                           "print('torch._dynamo' in sys.modules)"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_corpus_of_hyphenated_bare_types_trains_and_is_tagged_in_them(tmp_path):
    """Few-NERD writes its fine types bare (IO), with a hyphen: ``person-actor``, ``location-GPE``."""
    fine = {"PER": "person-other", "LOC": "location-GPE", "ORG": "organization-company", "MISC": "other-law"}

    def rewrite(source, target):
        lines = []
        for line in (SAMPLE / source).read_text(encoding="utf-8").splitlines():
            token, _, tag = line.rpartition(" ")
            lines.append(f"{token}\t{fine[tag[2:]]}" if tag not in ("O", "") and token != "-DOCSTART-" else line)
        (tmp_path / target).write_text("\n".join(lines) + "\n", encoding="utf-8")

    rewrite("train.conll", "train.txt")
    rewrite("dev.conll", "dev.txt")
    trained = command("train.py", "--train", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"),
                      "--output", str(tmp_path / "m"), "--epochs", "2", "--hidden-size", "8")
    assert trained.returncode == 0, trained.stderr
    assert "(IO read as BIOES)" in trained.stdout
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert "B-person-other" in config["encoder"]["tags"]["names"] and "S-location-GPE" in config["encoder"]["tags"]["names"]
    tagged = command("tag.py", "--model", str(tmp_path / "m"), str(tmp_path / "dev.txt"))
    assert tagged.returncode == 0, tagged.stderr
    written = {line.split("\t")[-1] for line in tagged.stdout.splitlines() if "\t" in line}
    assert written - {"O"} and written <= {"O", *fine.values()}  # IO, as the corpus is written
    scored = command("tag.py", "--model", str(tmp_path / "m"), "--eval", str(tmp_path / "dev.txt"), "--json")
    assert scored.returncode == 0, scored.stderr
    assert set(json.loads(scored.stdout)["types"]) <= set(fine.values())


def test_a_corpus_whose_prefixes_are_joined_by_underscores_trains_on_its_types(tmp_path):
    """PEYMA (Persian) writes B_PER, I_PER: the prefix and the type, not IO types called B_PER and I_PER."""
    for part in ("train", "dev"):
        text = (SAMPLE / f"{part}.conll").read_text(encoding="utf-8")
        (tmp_path / f"{part}.txt").write_text(re.sub(r" ([BI])-([A-Z]+)$", r" \1_\2", text, flags=re.M),
                                              encoding="utf-8")
    assert " B_PER\n" in (tmp_path / "dev.txt").read_text(encoding="utf-8")
    trained = command("train.py", "--train", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"),
                      "--output", str(tmp_path / "m"), "--epochs", "2", "--hidden-size", "8")
    assert trained.returncode == 0, trained.stderr
    assert "(IOB2 read as BIOES)" in trained.stdout and "17 tags" in trained.stdout  # 4 types, as with hyphens
    scored = [json.loads(command("tag.py", "--model", str(tmp_path / "m"), "--eval", str(gold), "--json").stdout)
              for gold in (tmp_path / "dev.txt", SAMPLE / "dev.conll")]
    assert scored[0]["f1"] == scored[1]["f1"] and set(scored[0]["types"]) == {"PER", "LOC", "ORG", "MISC"}


def test_a_run_resumed_at_another_thread_count_says_it_will_not_end_as_the_uninterrupted_run(tmp_path):
    args = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "8"]
    first = command("train.py", *args, "--output", str(tmp_path / "m"), "--epochs", "1", "--threads", "1")
    assert first.returncode == 0, first.stderr
    same = command("train.py", *args, "--resume", str(tmp_path / "m"), "--epochs", "2", "--threads", "1")
    assert same.returncode == 0, same.stderr
    assert "resuming after epoch 1" in same.stdout and "a network and goes on at" not in same.stdout
    other = command("train.py", *args, "--resume", str(tmp_path / "m"), "--epochs", "3", "--threads", "2")
    assert other.returncode == 0, other.stderr
    assert "resuming after epoch 2" in other.stdout
    assert "the run trained at 1 thread a network and goes on at 2: sums round differently" in other.stdout
