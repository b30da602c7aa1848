"""The commands end to end, run as a user would: in subprocesses, or in-process where a test fakes a terminal."""

import io
import json
import re
import subprocess
import sys
import time

import pytest
import torch

from tagger.corpus import read_conll
from tagger.errors import TaggerError
from tagger.schemes import tags_to_spans
from tagger.storage import CONFIG_FILE

from .conftest import ROOT, SAMPLE, command, on_a_terminal


def run(*args, input=None):
    """A command run in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, input=input, capture_output=True, text=True, timeout=300
    )


def test_train_command_writes_a_model_and_refuses_to_overwrite(tmp_path):
    output = tmp_path / "model"
    args = ["train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
            "--output", str(output), "--epochs", "2", "--hidden-size", "16", "--seed", "4"]
    done = run(*args)
    assert done.returncode == 0, done.stderr
    assert "epoch   2" in done.stdout and "dev P" in done.stdout and "tokens/s" in done.stdout
    assert re.search(r"best dev F1 [0-9.]+ \(LOC [0-9.]+, MISC [0-9.]+, ORG [0-9.]+, PER [0-9.]+\) at epoch", done.stdout)
    assert (output / "model.safetensors").is_file()
    # the last line says how to tag with the model, as the command was run
    assert done.stdout.splitlines()[-1] == f"tag with: python tag.py --model {output} FILE; in Python, " \
                                           f"Tagger.load({str(output)!r})"
    again = command(*args)
    assert again.returncode == 2
    assert again.stderr.strip() == f"error: {output}: already holds a model; pass --overwrite to replace it"
    assert command(*args, "--overwrite").returncode == 0


def test_train_command_scores_the_kept_model_on_a_test_file_as_tag_py_does(tmp_path):
    output, test = tmp_path / "model", str(SAMPLE / "test.conll")
    bad = tmp_path / "bad.conll"
    bad.write_text("EU B-ORG\nrejects VBZ O\n")
    args = ["train.py", "--train", str(SAMPLE / "train.conll"), "--output", str(output), "--epochs", "2",
            "--hidden-size", "16"]
    refused = command(*args, "--test", str(bad))  # a bad test file fails before any training
    assert refused.returncode == 2 and refused.stderr.startswith(f"error: {bad}:2:") and not output.exists()
    done = command(*args, "--test", test)
    assert done.returncode == 0, done.stderr
    scored = json.loads(command("tag.py", "--model", str(output), "--eval", test, "--json").stdout)
    line = [line for line in done.stdout.splitlines() if line.startswith("test ")]
    assert line == [f"test {test}: precision {scored['precision']:.4f}  recall {scored['recall']:.4f}  "
                    f"F1 {scored['f1']:.4f}"]
    assert "micro avg" in done.stdout.split(line[0])[1]


def test_a_corpus_of_tags_without_types_trains_and_is_tagged_in_them(tmp_path):
    # BioBERT's NER corpora write one kind of entity as B, I, O: the sample with its types left out.
    for split in ("train", "dev"):
        (tmp_path / f"{split}.tsv").write_text("".join(
            "".join(f"{token}\t{tag.split('-')[0]}\n" for token, tag in zip(s.tokens, s.labels)) + "\n"
            for s in read_conll(SAMPLE / f"{split}.conll")))
    output = tmp_path / "model"
    done = command("train.py", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
                   "--output", str(output), "--epochs", "2", "--hidden-size", "16")
    assert done.returncode == 0, done.stderr
    gold = list(read_conll(tmp_path / "dev.tsv"))
    entities = sum(len(tags_to_spans(s.labels)) for s in gold)
    assert re.search(r"best dev F1 ([0-9.]+) \(_ \1\) at epoch", done.stdout)
    checked = command("train.py", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
                      "--output", str(tmp_path / "checked"), "--check")
    assert f"; {entities} entities (_ {entities})" in checked.stdout  # each B and its I's one entity, not two types
    named = command("train.py", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
                    "--output", str(tmp_path / "checked"), "--check", "--rename-type", "_=DISEASE")
    assert f"; {entities} entities (DISEASE {entities})" in named.stdout
    assert json.loads((output / CONFIG_FILE).read_text())["encoder"]["tags"]["names"] == ["O", "B", "I", "E", "S"]
    assert "**Entity types**: _ (tags without a type: B, I)" in (output / "README.md").read_text()
    tagged = command("tag.py", "--model", str(output), str(tmp_path / "dev.tsv"))
    assert tagged.returncode == 0, tagged.stderr
    predicted = [line.split("\t")[-1] for line in tagged.stdout.splitlines() if line]
    assert set(predicted) <= {"B", "I", "O"} and "B" in predicted  # written back without types


def test_train_command_renames_and_drops_entity_types_in_every_corpus(tmp_path):
    output = tmp_path / "model"
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
               "--test", str(SAMPLE / "test.conll"), "--output", str(output), "--epochs", "1", "--hidden-size", "8",
               "--rename-type", "PER=PERSON", "--rename-type", "MISC=O", "--rename-type", "GPE=LOC")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ("warning: --rename-type GPE: no such entity type in the corpora "
                                   "(they have LOC, MISC, ORG, PER)")
    tags = json.loads((output / "config.json").read_text())["encoder"]["tags"]["names"]
    assert sorted({tag.split("-")[-1] for tag in tags}) == ["LOC", "O", "ORG", "PERSON"]
    report = done.stdout.split("test ")[1]  # the test file renamed too: no MISC to miss, PERSON to find
    assert "PERSON" in report and "MISC" not in report
    refused = command("train.py", "--train", str(SAMPLE / "train.conll"), "--output", str(tmp_path / "m"),
                  "--rename-type", "PER")
    assert refused.returncode == 2 and refused.stderr.strip() == (
        "error: --rename-type: expected OLD=NEW (entity types, e.g. PERSON=PER), got 'PER'")


def test_train_command_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("EU B-ORG\nrejects VBZ O\n")
    done = run("train.py", "--train", str(bad), "--dev", str(bad), "--output", str(tmp_path / "m"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}:2: expected 2 columns like the first line, got 3: 'rejects VBZ O'"
    assert "Traceback" not in done.stderr


def test_eval_prints_report_and_json(sample_model):
    model = str(sample_model[0])
    report = run("tag.py", "--model", model, "--eval", str(SAMPLE / "test.conll"))
    assert report.returncode == 0, report.stderr
    assert "PER" in report.stdout and "micro avg" in report.stdout and "F1" in report.stdout
    done = command("tag.py", "--model", model, "--eval", str(SAMPLE / "test.conll"), "--json")
    scores = json.loads(done.stdout)
    assert {"precision", "recall", "f1", "tokens", "sentences", "seconds"} <= set(scores)
    assert scores["sentences"] == 100 and 0.8 < scores["f1"] <= 1.0
    # on a terminal, a bar of the tokens tagged while it tags, gone before the report
    code, out, shown = on_a_terminal([sys.executable, "tag.py", "--model", model, "--eval", str(SAMPLE / "test.conll")])
    assert code == 0 and out == report.stdout.replace(re.search(r"[0-9.]+ s\)", report.stdout)[0],
                                                      re.search(r"[0-9.]+ s\)", out)[0])
    from tqdm import tqdm

    assert re.search(rf"tagging:   0%\|[ ]+\| 0\.00/{re.escape(tqdm.format_sizeof(scores['tokens']))} \[", shown), shown


def test_eval_of_a_file_without_entities_reports_so(sample_model, tmp_path):
    gold = tmp_path / "gold.conll"
    gold.write_text("it O\nrained O\n\n")
    report = command("tag.py", "--model", str(sample_model[0]), "--eval", str(gold))
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("no entities, in the gold tags or the predicted ones\n\nprecision 0.0000")


def test_tag_conll_keeps_lines_and_appends_a_tag(sample_model, tmp_path):
    output = tmp_path / "out.conll"
    done = command("tag.py", "--model", str(sample_model[0]), str(SAMPLE / "test.conll"), "--output", str(output))
    assert done.returncode == 0, done.stderr
    gold = list(read_conll(SAMPLE / "test.conll"))
    tagged = list(read_conll(output))
    assert len(tagged) == len(gold)
    for g, t in zip(gold, tagged):
        assert [line.rsplit(" ", 1)[0] for line in t.lines] == g.lines
    assert output.read_text().count("\n") == (SAMPLE / "test.conll").read_text().count("\n")  # breaks kept
    # Read from a compressed file and written to one, by its suffix: the same lines.
    import gzip
    import lzma

    (tmp_path / "test.conll.gz").write_bytes(gzip.compress((SAMPLE / "test.conll").read_bytes()))
    done = command("tag.py", "--model", str(sample_model[0]), str(tmp_path / "test.conll.gz"), "--output",
                   str(tmp_path / "out.conll.xz"))
    assert done.returncode == 0, done.stderr
    assert lzma.decompress((tmp_path / "out.conll.xz").read_bytes()).decode() == output.read_text()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stderr_is_terminal, to_file, shown", [(True, True, True), (True, False, False),
                                                                 (False, True, False)])
def test_tagging_a_file_shows_progress_on_a_terminal(sample_model, tmp_path, monkeypatch, stderr_is_terminal,
                                                    to_file, shown):
    """Tokens tagged and their rate on standard error; not when the tags themselves go to the terminal."""
    from tqdm import tqdm

    from tagger.cli import main

    stderr = _Terminal() if stderr_is_terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", _Terminal())
    output = ["--output", str(tmp_path / "out.conll")] if to_file else []
    assert main(["--model", str(sample_model[0]), "--input-format", "conll", str(SAMPLE / "test.conll"), *output]) == 0
    tokens = sum(len(sentence) for sentence in read_conll(SAMPLE / "test.conll"))
    if shown:
        final = stderr.getvalue().rstrip().split("\r")[-1]
        assert final.startswith(f"test.conll: {tqdm.format_sizeof(tokens)} tokens [") and "tokens/s]" in final
    else:
        assert stderr.getvalue() == ""


def test_tagging_a_file_pauses_the_garbage_collector_while_reading_and_writing(sample_model, tmp_path, monkeypatch):
    import gc

    import tagger.corpus
    from tagger.cli import main

    seen = []

    def watched(read):
        def reading(*args, **kwargs):
            for sentence in read(*args, **kwargs):
                seen.append(("read", gc.isenabled()))
                yield sentence
        return reading

    def writing(pairs, stream, write=tagger.corpus.write_conll, **options):
        seen.append(("write", gc.isenabled()))
        write(pairs, stream, **options)

    monkeypatch.setattr(tagger.corpus, "parse_conll", watched(tagger.corpus.parse_conll))
    monkeypatch.setattr(tagger.corpus, "write_conll", writing)
    assert gc.isenabled()
    assert main(["--model", str(sample_model[0]), str(SAMPLE / "test.conll"), "--output", str(tmp_path / "out")]) == 0
    assert gc.isenabled()
    assert {kind for kind, _ in seen} == {"read", "write"}
    assert not any(enabled for _, enabled in seen)
    assert len(list(read_conll(tmp_path / "out"))) == len(list(read_conll(SAMPLE / "test.conll")))


def test_tag_jsonl_spans_agree_with_tags(sample_model):
    done = command("tag.py", "--model", str(sample_model[0]), str(SAMPLE / "test.conll"), "--format", "jsonl",
               "--scheme", "BIOES")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 100
    for record in records:
        assert len(record["tags"]) == len(record["tokens"])
        spans = [(e["label"], e["start"], e["end"]) for e in record["entities"]]
        assert spans == tags_to_spans(record["tags"])
        for entity in record["entities"]:
            assert record["text"][entity["start_char"] : entity["end_char"]] == entity["text"]


def test_tag_text_from_stdin(sample_model):
    text = "Angela Merkel visited Paris on Monday .\n\nReuters said so.\n"
    done = command("tag.py", "--model", str(sample_model[0]), "--input-format", "text", "--format", "jsonl", "-",
               input=text)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3 and records[1]["tokens"] == []
    assert records[0]["entities"][0]["text"] == "Angela Merkel"
    conll = command("tag.py", "--model", str(sample_model[0]), "--input-format", "text", "-", input=text)
    assert conll.stdout.splitlines()[:2] == ["Angela B-PER", "Merkel I-PER"]


def test_text_tagged_into_conll_reads_back_as_its_sentences_and_documents(sample_model, tmp_path):
    text = "Angela Merkel visited Paris. She met Mr. Smith there.\n\n\nReuters said so.\nJohn Smith left!\n"
    arguments = ["tag.py", "--model", str(sample_model[0]), "--input-format", "text", "-"]
    records = [json.loads(line) for line in command(*arguments, "--format", "jsonl", input=text).stdout.splitlines()]
    conll = tmp_path / "tagged.conll"
    done = command(*arguments, "--output", str(conll), input=text)
    assert done.returncode == 0, done.stderr
    sentences = list(read_conll(conll))
    assert [" ".join(sentence.tokens) for sentence in sentences] == [
        "Angela Merkel visited Paris .", "She met Mr. Smith there .", "Reuters said so .", "John Smith left !"]
    assert [sentence.document_start is not None for sentence in sentences] == [False, False, True, False]
    lines = [record for record in records if record["tokens"]]
    assert [tag for sentence in sentences for tag in sentence.labels] == [tag for line in lines for tag in line["tags"]]
    # Several files into one: each file begins a document, as a text's blank lines begin one.
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("Angela Merkel visited Paris.\n")
    second.write_text(text)
    for form in ("text", "paragraphs", "auto"):
        done = command("tag.py", "--model", str(sample_model[0]), "--input-format", form, str(first), str(second),
                       "--output", str(conll))
        assert done.returncode == 0, done.stderr
        starts = [sentence.document_start is not None for sentence in read_conll(conll)]
        # (paragraphs: a file is one document, its blank lines part paragraphs)
        assert starts == [False, True, False, form != "paragraphs", False], form



def test_a_folder_is_tagged_as_its_files_in_the_order_of_their_paths(sample_model, tmp_path, monkeypatch, capsys):
    model = ["tag.py", "--model", str(sample_model[0]), "--format", "jsonl"]
    folder = tmp_path / "news"
    (folder / "b").mkdir(parents=True)
    (folder / ".git").mkdir()
    texts = {"a.txt": "Tom Baker visited Paris.\n", "b/c.txt": "Reuters said so.\n", "d": "John Smith left.\n"}
    for name, text in texts.items():
        (folder / name).write_text(text)
    (folder / "README.md").write_text("News, to tag.\n")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    done = command(*model, str(folder))
    assert done.returncode == 0, done.stderr
    one_by_one = command(*model, *(str(folder / name) for name in texts))
    assert done.stdout == one_by_one.stdout and done.stderr == one_by_one.stderr
    # How the files read is said once, for the first of them that reads so.
    assert done.stderr == f"{folder / 'a.txt'}: read as plain text (--input-format conll reads it as CoNLL columns)\n"
    records = [json.loads(line) for line in done.stdout.splitlines()]
    # Each object names its file first, as the output holds several files' (one file's name none).
    assert [(record["file"], record["text"]) for record in records] == [
        (str(folder / name), text.strip()) for name, text in texts.items()]
    assert all(list(record)[0] == "file" for record in records)
    alone = command(*model, str(folder / "a.txt"))
    assert [json.loads(line) for line in alone.stdout.splitlines()] == [
        {key: value for key, value in records[0].items() if key != "file"}]
    # --workers: one pool of processes for all the files, the same output.
    import tagger.cli as cli

    pools = []

    def counted_pool(args):
        pools.append(args)
        return worker_pool(args)

    worker_pool = cli._worker_pool
    monkeypatch.setattr(cli, "_worker_pool", counted_pool)
    assert cli.main([*model[1:], str(folder), "--threads", "1"]) == 0
    one_process = capsys.readouterr().out
    assert cli.main([*model[1:], str(folder), "--workers", "2", "--threads", "1"]) == 0
    assert capsys.readouterr().out == one_process and len(pools) == 1


@pytest.mark.parametrize("output", ["file", "folder"])
def test_several_inputs_show_one_progress_bar_that_counts_them(sample_model, tmp_path, monkeypatch, output):
    import tagger.cli as cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text("Tom Baker visited Paris.\n\nReuters said so.\n")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    target = tmp_path / "out.conll" if output == "file" else tmp_path / "out"
    inputs = [str(tmp_path / name) for name in ("a.txt", "b.txt", "c.txt")]
    named = str(target) + "/" * (output == "folder")
    assert cli.main(["--model", str(sample_model[0]), *inputs, "--output", named]) == 0
    # one bar (tqdm redraws it after a carriage return), named by the file it is at, counting every file's tokens
    bars = re.findall(r"([^\r:]+): ([\d.]+) tokens \[", terminal.getvalue().replace("\n", "\r"))
    assert {name for name, _ in bars} == {"0/3 files", "1/3 files", "2/3 files", "3/3 files"}
    assert [name for name, _ in bars].index("3/3 files") > [name for name, _ in bars].index("2/3 files")
    assert float(bars[-1][1]) == 3 * 9  # "Tom Baker visited Paris ." and "Reuters said so ."
    lines = terminal.getvalue().split("\n")  # the bar clears its line for a message, then draws itself below
    said = f"{inputs[0]}: read as plain text (--input-format conll reads it as CoNLL columns)"
    assert lines[0].split("\r")[-1] == said
    if output == "folder":  # below the bar's last state
        assert lines[-2:] == [f"3 inputs tagged into {target}/, a .conll file each", ""]
        assert re.search(r"\r3/3 files: 27\.0 tokens \[[^\r]*$", lines[-3])
    # one input has a bar of its own, named by it
    terminal.seek(0), terminal.truncate()
    assert cli.main(["--model", str(sample_model[0]), inputs[0], "--output", str(tmp_path / "one.conll")]) == 0
    assert {name for name, _ in re.findall(r"([^\r\n:]+): ([\d.]+) tokens \[", terminal.getvalue())} == {"a.txt"}


@pytest.mark.parametrize("form", ["conll", "jsonl", "html"])
def test_inputs_are_tagged_each_into_a_file_of_its_own_where_output_is_a_folder(sample_model, tmp_path, form):
    model = ["tag.py", "--model", str(sample_model[0]), "--format", form]
    (tmp_path / "in" / "sub").mkdir(parents=True)
    inputs = {"a.txt": "Tom Baker visited Paris.\n\nReuters said so.\n", "sub/b.conll": "John B-PER\nSmith I-PER\n"}
    for name, text in inputs.items():
        (tmp_path / "in" / name).write_text(text)
    (tmp_path / "out").mkdir()
    done = command(*model, str(tmp_path / "in"), "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    suffix = "." + form
    assert sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.*")) == [
        "a" + suffix, "sub/b" + suffix]
    for name in inputs:  # each as the input tagged alone
        alone = command(*model, str(tmp_path / "in" / name))
        assert (tmp_path / "out" / name).with_suffix(suffix).read_text() == alone.stdout
    # where they went: a line for the run, not one an input (a folder may hold thousands)
    assert done.stderr.splitlines()[-1] == f"2 inputs tagged into {tmp_path / 'out'}/, a {suffix} file each"
    assert "tagged into" not in "".join(done.stderr.splitlines()[:-1])
    one = command(*model, str(tmp_path / "in" / "a.txt"), "--output", str(tmp_path / "out"))
    assert one.stderr.splitlines()[-1] == f"{tmp_path / 'in' / 'a.txt'}: tagged into {tmp_path / 'out' / 'a'}{suffix}"
    if form == "jsonl":  # a folder named with a final separator is made
        done = command(*model, str(tmp_path / "in"), "--output", str(tmp_path / "new" / "out") + "/")
        assert done.returncode == 0, done.stderr
        made, existing = tmp_path / "new" / "out", tmp_path / "out"
        assert (made / "sub" / "b.jsonl").read_text() == (existing / "sub" / "b.jsonl").read_text()
    if form == "conll":  # written beside the inputs, a.conll is new, but sub/b.conll would replace its input
        refused = command(*model, str(tmp_path / "in"), "--output", str(tmp_path / "in"))
        assert (refused.returncode, refused.stderr.splitlines()[-1]) == (
            2, f"error: {tmp_path / 'in' / 'sub' / 'b.conll'}: is also an input; writing there would erase it "
               "before it is read")
        assert not (tmp_path / "in" / "a.conll").exists()
        refused = command(*model, "-", "--output", str(tmp_path / "out"), input="Tom Baker left.\n")
        assert refused.returncode == 2 and "INPUTs are files, not standard input" in refused.stderr


def test_a_gold_file_is_tagged_in_the_scheme_of_its_own_tags(sample_model, tmp_path):
    from tagger.schemes import spans_to_tags

    model = ["tag.py", "--model", str(sample_model[0])]
    done = command(*model, str(SAMPLE / "test.conll"), "--scheme", "IOB2")
    assert done.returncode == 0, done.stderr
    predicted = [[line.split()[-1] for line in block.splitlines()] for block in done.stdout.split("\n\n")
                 if block.strip() and not block.startswith("-DOCSTART-")]
    assert any(tag != "O" for tags in predicted for tag in tags)
    gold = list(read_conll(SAMPLE / "test.conll"))
    for scheme in ("IOB1", "BIOES"):
        path = tmp_path / f"test.{scheme.lower()}"
        path.write_text("".join("".join(f"{token} {tag}\n" for token, tag in zip(
            sentence.tokens, spans_to_tags(tags_to_spans(sentence.labels), len(sentence), scheme))) + "\n"
            for sentence in gold))
        expected = [spans_to_tags(tags_to_spans(tags), len(tags), scheme) for tags in predicted]
        for how in ("file", "pipe"):  # from a pipe, the first sentence's tags tell the scheme
            done = command(*model, str(path)) if how == "file" else command(*model, "-", input=path.read_text())
            assert done.returncode == 0, done.stderr
            written = [[line.split()[-1] for line in block.splitlines()] for block in done.stdout.split("\n\n")
                       if block.strip()]
            assert written == expected, (scheme, how)
    # --scheme says which; without a column of tags, the model's corpus's scheme is written.
    done = command(*model, str(tmp_path / "test.bioes"), "--scheme", "IOB1")
    assert [line.split()[-1] for line in done.stdout.splitlines() if line] == [tag for tags in predicted for tag in
                                                                              spans_to_tags(tags_to_spans(tags),
                                                                                            len(tags), "IOB1")]
    tokens = tmp_path / "tokens.conll"
    tokens.write_text("".join("".join(f"{token}\n" for token in sentence.tokens) + "\n" for sentence in gold))
    done = command(*model, str(tokens), "--input-format", "conll")
    assert [line.split()[-1] for line in done.stdout.splitlines() if line] == [tag for tags in predicted
                                                                              for tag in tags]


@pytest.mark.parametrize("lines, options, expected", [
    (["-DOCSTART- O", "", "Kofi I-PER", "Mensah I-PER", "visited O", "", "Peter I-PER"], {}, "IOB1"),
    (["Kofi B-PER", "Mensah E-PER", "in O", "Madrid S-LOC"], {}, "BIOES"),
    (["Kofi B-PER x", "Mensah I-PER y"], {"label_column": 1}, "IOB2"),
    (["# id 1", "Kofi B-PER", "Mensah I-PER"], {"comment_prefix": "#"}, "IOB2"),
    (["Kofi NNP", "Mensah NNP", "visited VBD"], {}, None),  # part-of-speech tags, not entities
    (["Kofi", "Mensah"], {}, None),
    (["Kofi O", "Mensah O"], {}, None),  # no entity: any scheme
    (["# id 1", "Kofi B-PER"], {}, None),
    (["Kofi B-PER", "Mensah I-PER"], {"label_column": 2}, None),
])
def test_tag_column_scheme_reads_the_scheme_of_a_column_of_entity_tags(lines, options, expected):
    from tagger.cli import tag_column_scheme

    assert tag_column_scheme(lines, **options) == expected


def test_paragraphs_input_reads_wrapped_text(tmp_path, monkeypatch, capsys):
    text = ("Chancellor Angela\nMerkel met Emmanuel Macron\nin Paris on Monday. They\ntalked about Siemens.\n\n\n"
            "The talks in Berlin\nwent on.\n")
    arguments = ["tag.py", "--model", "en-conll03-fast", "-"]
    # read line by line, a name across a line break is cut in two
    assert "[PER Angela Merkel]" not in command(*arguments, "--input-format", "text", "--format", "inline", input=text).stdout
    inline = command(*arguments, "--input-format", "paragraphs", "--format", "inline", input=text).stdout.splitlines()
    assert len(inline) == 2 and "[PER Angela Merkel]" in inline[0] and inline[1].startswith("The talks in ")
    records = [json.loads(line) for line in command(*arguments, "--input-format", "paragraphs", "--format", "jsonl",
                                                input=text).stdout.splitlines()]
    assert [record["text"] for record in records] == [part.strip("\n") for part in text.split("\n\n\n")]
    assert records[0]["entities"][0]["text"] == "Angela\nMerkel"
    assert all(record["text"][e["start_char"] : e["end_char"]] == e["text"] for record in records for e in record["entities"])
    conll = tmp_path / "tagged.conll"
    assert command(*arguments, "--input-format", "paragraphs", "--output", str(conll), input=text).returncode == 0
    sentences = list(read_conll(conll))
    assert [" ".join(sentence.tokens) for sentence in sentences] == [
        "Chancellor Angela Merkel met Emmanuel Macron in Paris on Monday .", "They talked about Siemens .",
        "The talks in Berlin went on ."]
    assert all(sentence.document_start is None for sentence in sentences)  # the file is one document
    # a run of lines longer than a paragraph can be is cut, so that memory stays bounded
    from tagger import cli

    monkeypatch.setattr(cli, "PARAGRAPH_LINES", 2)
    (tmp_path / "lines.txt").write_text("".join(f"Line {i} .\n" for i in range(5)))
    assert cli.main(["--model", "en-conll03-fast", "--input-format", "paragraphs", "--format", "jsonl",
                     str(tmp_path / "lines.txt")]) == 0
    assert [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()] == [
        "Line 0 .\nLine 1 .", "Line 2 .\nLine 3 .", "Line 4 ."]


def test_lines_typed_at_a_terminal_are_tagged_as_they_come():
    import os
    import select

    terminal, typed_at = os.openpty()  # standard input a terminal, as when someone types
    process = subprocess.Popen([sys.executable, "tag.py", "--model", "en-conll03-fast", "--input-format", "text",
                                "--format", "inline", "-"], cwd=ROOT, stdin=typed_at, stdout=subprocess.PIPE)
    try:
        os.write(terminal, b"Angela Merkel visited Paris.\n")
        answered, _, _ = select.select([process.stdout], [], [], 60)
        assert answered and process.stdout.readline() == b"[PER Angela Merkel] visited [LOC Paris] .\n"
        assert process.poll() is None  # still reading what comes next
        os.write(terminal, b"\x04")  # end of input
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        os.close(terminal)
        os.close(typed_at)


def test_lines_from_a_slow_pipe_are_tagged_as_they_come():
    import select

    # As ``tail -f log | tag.py -``: the writer pauses, with far fewer lines than a chunk.
    process = subprocess.Popen([sys.executable, "tag.py", "--model", "en-conll03-fast", "--input-format", "text",
                                "--format", "inline", "-"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for line, tagged in ((b"Angela Merkel visited Paris.\n", b"[PER Angela Merkel] visited [LOC Paris] .\n"),
                             (b"Talks in Geneva ended.\n", b"Talks in [LOC Geneva] ended .\n")):
            process.stdin.write(line)
            process.stdin.flush()
            answered, _, _ = select.select([process.stdout], [], [], 60)
            assert answered and process.stdout.readline() == tagged
        assert process.poll() is None  # still reading what comes next
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()


def test_input_read_on_a_second_thread_keeps_documents_and_reports_errors_after_the_sentences_before_them(monkeypatch):
    from tagger.cli import PAUSE, _chunks, _with_pauses
    from tagger.errors import TaggerError

    def slow_then_bad():
        yield from ("a", "b")
        time.sleep(0.5)  # ten times the pause: the two lines are tagged while the third is awaited
        yield "c"
        raise TaggerError("input.txt, line 4: not valid utf-8 text")

    items = list(_with_pauses(iter(["a", "b"]), pause=10, ahead=1))
    assert items == ["a", "b"]  # reading ahead by one at most, nothing lost, no pause
    chunks = _chunks(_with_pauses(slow_then_bad(), pause=0.05, ahead=4), 100)
    assert next(chunks) == ["a", "b"]
    assert next(chunks) == ["c"]
    with pytest.raises(TaggerError, match="line 4"):
        next(chunks)
    assert list(_chunks(["a", PAUSE, PAUSE, "b", "c", PAUSE], 100)) == [["a"], ["b", "c"]]

    def trickle():  # an item every 30 ms, each sooner than the pause, as from a busy log
        for item in range(10):
            time.sleep(0.03)
            yield item

    chunks = list(_chunks(_with_pauses(trickle(), pause=0.05, ahead=100), 100))
    assert len(chunks) >= 3 and sum(chunks, []) == list(range(10))  # the waits add up to pauses

    def fast_pipe():  # reading takes a little while an item, as decoding and parsing do; the writer never waits
        for item in range(400):
            time.sleep(0.0002)  # 80 ms in all, more than the pause
            yield item

    # A 0.2 ms sleep can take several ms on a loaded machine: the threshold well above it keeps the rule
    # under test (short waits are the reader's, not the writer's) from depending on the load.
    monkeypatch.setattr("tagger.cli.SLOW_WRITER_WAIT", 0.02)
    assert list(_chunks(_with_pauses(fast_pipe(), pause=0.05, ahead=1000), 1000)) == [list(range(400))]


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.conll"], "error: missing.conll: no such file"),
        (["NOTES"], "error: NOTES: is a folder without files to tag"),  # a README, a .md file, a hidden file
        ([], "error: nothing to do: give INPUT files (or '-' for standard input), or --eval GOLD"),
        (["-", "--output", "/nonexistent/dir/out"], "error: /nonexistent/dir/out: cannot write, directory /nonexistent/dir does not exist"),
        (["dev.spacy"], "error: dev.spacy: a .spacy file holds spaCy Docs, which tag.py tags into Docs: --format "
                        "spacy --output FILE.spacy (or scores, --eval)"),
        (["--eval", str(SAMPLE / "dev.conll"), "--errors", "/nonexistent/dir/errors.html"],
         "error: /nonexistent/dir/errors.html: cannot write, directory /nonexistent/dir does not exist"),
        # brat's offsets count a text's characters: a column file's lines are not the text it annotates.
        ([str(SAMPLE / "dev.conll"), "--format", "brat"],
         f"error: {SAMPLE / 'dev.conll'}: reads as CoNLL columns, and --format brat annotates text files (brat's "
         "offsets count a text's characters): --format conll adds a column of tags; --input-format text annotates "
         "the file as text"),
    ],
)
def test_tag_errors(sample_model, args, message, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("README", "usage.md", ".tagged.conll"):
        (notes / name).write_text("Angela Merkel visited Paris .\n", encoding="utf-8")
    args = [str(notes) if arg == "NOTES" else arg for arg in args]
    done = command("tag.py", "--model", str(sample_model[0]), *args, input="")
    assert done.returncode == 2 and done.stderr.strip() == message.replace("NOTES", str(notes))


def test_tag_missing_model(tmp_path):
    done = run("tag.py", "--model", str(tmp_path / "none"), "-", input="")
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {tmp_path / 'none'}: no such model directory (models shipped with tagger:")


def test_tag_inline_format(sample_model):
    done = command("tag.py", "--model", str(sample_model[0]), "--input-format", "text", "--format", "inline", "-",
               input="John Smith joined Toyota in 1996 .\n")
    assert done.stdout == "[PER John Smith] joined [ORG Toyota] in 1996 .\n"


def test_scores_nbest_and_min_score(sample_model):
    text = "Angela Merkel visited Paris on Monday .\nTom Baker met Olga Petrova in Oslo .\n"
    done = command("tag.py", "--model", str(sample_model[0]), "--input-format", "text", "--format", "jsonl",
               "--nbest", "3", "-", input=text)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    for record in records:
        assert 0 < record["probability"] <= 1
        assert all(0 <= e["score"] <= 1 for e in record["entities"])
        readings = record["nbest"]
        assert 1 <= len(readings) <= 3 and readings[0]["tags"] == record["tags"]
        assert [r["probability"] for r in readings] == sorted((r["probability"] for r in readings), reverse=True)
    scores = sorted(e["score"] for record in records for e in record["entities"])
    threshold = (scores[0] + scores[-1]) / 2 if scores[0] < scores[-1] else 1.0
    filtered = command("tag.py", "--model", str(sample_model[0]), "--input-format", "text", "--format", "jsonl",
                   "--min-score", str(threshold), "-", input=text)
    kept = [json.loads(line) for line in filtered.stdout.splitlines()]
    for record in kept:
        assert all(e["score"] >= threshold for e in record["entities"])
        assert [(e["label"], e["start"], e["end"]) for e in record["entities"]] == tags_to_spans(record["tags"])
    assert sum(len(r["entities"]) for r in kept) == sum(s >= threshold for s in scores)
    refused = command("tag.py", "--model", str(sample_model[0]), "--nbest", "2", "-", input="")
    assert refused.returncode == 2 and refused.stderr.strip() == "error: --nbest goes with --format jsonl (or csv, tsv)"


def test_recipe_sets_options_that_the_command_line_overrides(tmp_path):
    output = tmp_path / "model"
    done = command("train.py", "--recipe", "conll03-en", "--train", str(SAMPLE / "train.conll"), "--dev",
               str(SAMPLE / "dev.conll"), "--output", str(output), "--epochs", "1", "--hidden-size", "8",
               "--max-vectors", "1000", "--jobs", "1")  # the members one after another, in this process
    assert done.returncode == 0, done.stderr
    config = json.loads((output / "config.json").read_text())
    assert config["recipe"] == "conll03-en@10" and config["model"]["context"] == 0
    assert config["model"]["char_kernel"] == 3  # the recipe's window, whatever the corpus
    assert config["members"] == 3 and (output / "members" / "3" / "model.safetensors").is_file()
    assert config["model"]["document_memory"] is True
    assert config["model"]["hidden_size"] == 8 and config["model"]["word_dim"] == 50  # GloVe 6B 50-d from the recipe
    assert config["training"]["epochs"] == 1 and config["training"]["patience"] == 6
    assert config["training"]["max_vectors"] == 1000 and config["training"]["average"] == 0.998 and config["training"]["batch_size"] == 64
    assert config["training"]["optimizer"] == "nadam" and config["training"]["learning_rate"] == 0.002


def test_export_half_precision(sample_model, tmp_path):
    done = command("-m", "tagger.export", "--model", str(sample_model[0]), "--output", str(tmp_path / "half"), "--fp16")
    assert done.returncode == 0, done.stderr
    from safetensors import safe_open

    with safe_open(str(tmp_path / "half" / "model.safetensors"), "pt") as weights:
        assert all(weights.get_tensor(name).dtype == torch.float16 for name in weights.keys())
    from tagger import Tagger

    full, half = Tagger.load(sample_model[0]), Tagger.load(tmp_path / "half")
    sentences = ["Angela Merkel visited Paris on Monday .", "Police in Lima arrested two men ."]
    assert [e.text for es in full.tag_batch(sentences) for e in es] == [e.text for es in half.tag_batch(sentences)
                                                                       for e in es]
    assert sorted(p.name for p in (tmp_path / "half").iterdir()) == ["config.json", "model.safetensors"]


def test_export_leaves_out_vectors_a_package_holds(tmp_path):
    import dataclasses

    from tagger import Tagger
    from tagger.corpus import read_corpus
    from tagger.embeddings import load_embeddings
    from tagger.model import BiLSTMCRF
    from tagger.storage import load_model, save_config, save_weights
    from tagger.training import TrainingConfig, train

    sentences = read_corpus(SAMPLE / "train.conll")[:40]
    glove = load_embeddings("glove-6b-50d")
    quiet = dict(log=lambda message: None)
    train(sentences, sentences[:10], tmp_path / "new", TrainingConfig(epochs=1, max_vectors=None), {"hidden_size": 8},
          glove, **quiet)
    # the same model as older versions saved it: all 400,000 vectors stored with the weights
    model, encoder, config = load_model(tmp_path / "new")
    stored = BiLSTMCRF(dataclasses.replace(model.config, fixed_vectors=""))
    stored.load_state_dict({**model.state_dict(), "fixed_word_vectors": model.fixed_word_vectors})
    (tmp_path / "old").mkdir()
    save_config(tmp_path / "old", stored.config, encoder, tag_scheme="BIOES")
    save_weights(tmp_path / "old", stored)
    assert (tmp_path / "old" / "model.safetensors").stat().st_size > 80_000_000
    done = command("-m", "tagger.export", "--model", str(tmp_path / "old"), "--output", str(tmp_path / "small"),
               "--fixed-vectors-from", "glove-6b-50d")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "small" / "model.safetensors").stat().st_size < 5_000_000
    text = ["Angela Merkel visited Zanzibar on Monday ."]
    assert Tagger.load(tmp_path / "small").predict(text) == Tagger.load(tmp_path / "old").predict(text)
    # vectors that are not the package's: refused, nothing written
    train(sentences, sentences[:10], tmp_path / "some", TrainingConfig(epochs=1, max_vectors=1000),
          {"hidden_size": 8}, glove, **quiet)
    refused = command("-m", "tagger.export", "--model", str(tmp_path / "some"), "--output", str(tmp_path / "bad"),
                  "--fixed-vectors-from", "glove-6b-50d")
    assert refused.returncode == 2 and "not the 'glove-6b-50d' vectors" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "bad" / "model.safetensors").exists()


def test_console_commands_share_the_scripts_implementation():
    from importlib.metadata import entry_points

    commands = {entry.name: entry for entry in entry_points(group="console_scripts") if entry.name.startswith("tagger-")}
    assert commands["tagger-train"].value == "tagger.train_cli:entry_point"
    assert commands["tagger-tag"].value == "tagger.cli:entry_point"
    done = subprocess.run([sys.executable, "-c", "import sys; from tagger.cli import entry_point; "
                           "sys.argv = ['tagger-tag', '--help']; entry_point()"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: tagger-tag")


@pytest.mark.parametrize("module", ["tagger.cli", "tagger.train_cli"])
def test_every_option_is_documented_and_help_shows_only_real_defaults(module):
    import argparse
    import importlib
    import re

    parser = importlib.import_module(module)._argument_parser()
    undocumented = [action.dest for action in parser._actions if not action.help]
    assert undocumented == []
    text = " ".join(parser.format_help().split())
    assert "(default: None)" not in text
    on_off = [action for action in parser._actions if isinstance(action, argparse.BooleanOptionalAction)]
    assert text.count("(default: False)") == sum(action.default is False for action in on_off)
    assert re.search(rf"--batch-size BATCH_SIZE [^()]+ \(default: {parser.get_default('batch_size')}\)", text)


def test_train_command_fine_tunes_a_shipped_network_on_a_new_label_set(tmp_path):
    for name in ("train", "dev"):  # the sample corpus with PER read as PERSON
        text = (SAMPLE / f"{name}.conll").read_text()
        (tmp_path / f"{name}.conll").write_text(text.replace("-PER\n", "-PERSON\n"))
    data = ["--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "dev.conll")]
    output = tmp_path / "tuned"
    done = command("train.py", *data, "--output", str(output), "--base", "en-conll03-fast", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    tagged = command("tag.py", "--model", str(output), "--input-format", "text", "--format", "inline", "-",
                 input="Angela Merkel visited Paris.\n")
    assert tagged.stdout == "[PERSON Angela Merkel] visited [LOC Paris] .\n"
    refusals = {
        ("--base", "en-conll03-fast", "--hidden-size", "50", "--embeddings", "glove-6b-50d"):
            "error: --embeddings, --hidden-size: with --base, the network, its vocabulary and its tag scheme are "
            "the base model's",
        ("--base", "en-conll03", "--members", "2"):
            "error: --base decides the networks (one, or an ensemble's members): leave out --members",
    }
    for options, message in refusals.items():
        refused = command("train.py", *data, "--output", str(tmp_path / "refused"), *options)
        assert (refused.returncode, refused.stderr.strip()) == (2, message)
        assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("scheme", ["BILOU", "BMES"])
def test_a_corpus_in_another_scheme_trains_and_is_written_back_in_it(tmp_path, scheme, capsys):
    from tagger.cli import main as tag
    from tagger.corpus import Sentence, read_corpus, write_conll
    from tagger.errors import run_command
    from tagger.schemes import convert_tags, detect_scheme

    for part in ("train", "dev", "test"):
        sentences = read_corpus(SAMPLE / f"{part}.conll")
        with open(tmp_path / f"{part}.conll", "w", encoding="utf-8") as stream:
            write_conll(((Sentence(s.tokens, document_start=s.document_start), convert_tags(s.labels, scheme))
                         for s in sentences), stream)
    output = tmp_path / "model"
    done = command("train.py", "--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "dev.conll"),
               "--output", str(output), "--epochs", "5", "--hidden-size", "32")
    assert done.returncode == 0, done.stderr
    assert f"({scheme} read as BIOES)" in done.stdout
    assert json.loads((output / "config.json").read_text())["input_scheme"] == scheme
    capsys.readouterr()
    tokens = tmp_path / "tokens.conll"  # no tags: written in the scheme of the model's corpus
    tokens.write_text("".join("".join(f"{token}\n" for token in s.tokens) + "\n" for s in sentences))
    assert tag(["--model", str(output), str(tokens)]) == 0
    written = [line.split()[-1] for line in capsys.readouterr().out.splitlines() if line]
    assert detect_scheme([written]) == scheme and len(tags_to_spans(written)) > 100
    assert tag(["--model", str(output), "--eval", str(tmp_path / "test.conll"), "--json", "--input-scheme", scheme]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] > 0.6
    assert tag(["--model", str(output), str(SAMPLE / "test.conll"), "--scheme", "iob1"]) == 0
    assert detect_scheme([[line.split()[-1] for line in capsys.readouterr().out.splitlines() if line]]) == "IOB1"
    assert run_command(tag, ["--model", str(output), "--eval", str(tmp_path / "test.conll"),
                             "--input-scheme", "IOB2"]) == 2
    assert re.fullmatch(rf"error: {re.escape(str(tmp_path / 'test.conll'))}:\d+: tag '[A-Z]-[A-Z]+' is not of IOB2, "
                        r"whose tags are B-TYPE I-TYPE and O\n", capsys.readouterr().err)


@pytest.mark.parametrize("lines, expected", [
    (["Angela Merkel visited Paris on Monday."], "text"),
    (["Hello world", "How are you"], "text"),  # lines of different widths
    (["Angela Merkel visited Paris.", "", "It rained there all day."], "text"),  # full stops attached
    ([], "text"),
    (["-DOCSTART- O", "", "EU B-ORG"], "conll"),
    (["Tom", "Baker", "", "visited"], "conll"),  # a token a line
    (["EU NNP I-NP I-ORG", "rejects VBZ I-VP O"], "conll"),  # ends in tags
    (["EU NNP", "rejects VBZ", "", "Peter NNP"], "conll"),  # sentences between blank lines
    (["李\tU-PER"], "conll"),
    (["李明在北京大学工作，他昨天去了上海参加一个重要的会议。"], "text"),  # Chinese, not a token: words run together
    (["", '{"id": 1, "text": "Tom Baker left."}', '{"id": 2}'], "jsonl"),  # the first line that is not blank
    (["{Tom} Baker left."], "text"),  # braces, but not JSON
    (['["Tom", "Baker"]'], "text"),  # JSON, but not an object
])
def test_input_format_auto_reads_columns_as_conll_and_anything_else_as_text(lines, expected):
    from tagger.cli import input_format_of

    assert input_format_of(lines) == expected
    # For a model of characters, a line of one column is text unless it is one character.
    assert input_format_of(["李明在北京大学工作。"], characters=True) == "text"
    assert input_format_of(["李明在北京大学工作。"]) == "conll"
    assert input_format_of(["李", "明", "", "在"], characters=True) == "conll"


def test_json_lines_records_are_tagged_as_documents_and_written_back_with_their_fields(sample_model, tmp_path,
                                                                                       monkeypatch, capsys):
    import tagger.cli as cli
    from tagger import Tagger

    records = [{"id": 1, "text": "Angela Merkel visited Paris. She met John Smith there.\nReuters said so."},
               {"id": "b", "meta": {"source": "web"}, "text": ""},
               {"id": 3, "tokens": ["Tom", "Baker", "visited", "Berlin"]},
               {"text": "Tom Baker left Reuters on Monday."}]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records[:2]) + "\n\n"
                    + "\n".join(json.dumps(record) for record in records[2:]) + "\n")
    model = ["--model", str(sample_model[0])]
    assert cli.main([*model, str(path), "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert err == f"{path}: read as JSON Lines records (--input-format text reads it as plain text)\n"
    written = [json.loads(line) for line in out.splitlines()]
    tagger = Tagger.load(sample_model[0])
    inputs = [record.get("text", record.get("tokens")) for record in records]
    # Each record a document, tagged as Tagger.predict tags it, its fields kept as they were.
    expected = tagger.predict(inputs, scheme=tagger.corpus_scheme, document_starts=[True] * len(records))
    assert len(written) == len(records)
    for record, result, found in zip(records, written, expected):
        assert {key: value for key, value in result.items() if key not in ("entities", "tags")} == record
        assert result["entities"] == [entity.to_dict() for entity in found.entities]
        assert ("tags" in result) == ("tokens" in record) and result.get("tags", found.tags) == found.tags
        text = record.get("text", " ".join(record.get("tokens", [])))
        assert all(text[e["start_char"] : e["end_char"]] == e["text"] for e in result["entities"])
    assert any(written[0]["entities"]) and written[1]["entities"] == []
    # Into CoNLL: a -DOCSTART- line between records, which read back as documents of their sentences.
    conll = tmp_path / "docs.conll"
    assert cli.main([*model, str(path), "--output", str(conll)]) == 0
    sentences = list(read_conll(conll))
    ends = [[*result.sentence_starts[1:], len(result.tokens)] for result in expected]
    assert [sentence.tokens for sentence in sentences] == [
        result.tokens[start:end] for result, last in zip(expected, ends)
        for start, end in zip(result.sentence_starts, last) if end > start]
    assert sum(sentence.document_start is not None for sentence in sentences) == 2  # three records have tokens
    # Several workers, a record a chunk: the same lines in the same order.
    monkeypatch.setattr(cli, "CHUNK_RECORDS", 1)
    assert cli.main([*model, str(path), "--format", "jsonl", "--workers", "2", "--threads", "1"]) == 0
    assert capsys.readouterr().out == out
    # --text-field names another field; records that are not as asked are errors at their line.
    other = tmp_path / "body.jsonl"
    other.write_text('{"body": "Tom Baker left."}\n')
    assert cli.main([*model, str(other), "--format", "jsonl", "--text-field", "body"]) == 0
    assert json.loads(capsys.readouterr().out)["entities"][0]["text"] == "Tom Baker"
    for line, message in [('{"body": "Tom Baker left."}', "1: no field 'text' (it has body); --text-field names the "
                                                          "one that holds the text"),
                          ('{"text": 7}', "1: its 'text' is not a string"),
                          ('{"tokens": ["Tom", 7]}', "1: its 'tokens' is not a list of tokens (strings)"),
                          ('{"text": "a"}\n{"text": "b"', "2: not a JSON object: Expecting ',' delimiter (column 13)"),
                          ('{"text": "a"}\n["b"]', "2: not a JSON object but a list")]:
        other.write_text(line + "\n")
        done = command("tag.py", *model, str(other), "--format", "jsonl")
        assert done.returncode == 2 and done.stderr.splitlines()[-1] == f"error: {other}:{message}"
    with pytest.raises(TaggerError, match=r"^--format brat annotates text files; JSON Lines and table records are "
                                          r"written back with their entities by --format jsonl \(or csv\)$"):
        cli.main([*model, str(path), "--format", "brat"])


def test_a_csv_table_is_tagged_a_record_a_row_as_json_lines_are(sample_model, tmp_path, capsys):
    import csv

    import tagger.cli as cli

    rows = [{"id": "1", "text": "Angela Merkel visited Paris. She met John Smith there.\nReuters said so.",
             "note": "a, b"},
            {"id": "2", "text": "", "note": ""},
            {"id": "3", "text": 'Tom Baker said "no" in Berlin.', "note": "x"}]
    with open(tmp_path / "docs.csv", "w", newline="", encoding="utf-8") as file:  # quoted values, one with a line break
        writer = csv.DictWriter(file, ["id", "text", "note"])
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    model = ["--model", str(sample_model[0]), "--format", "jsonl"]
    assert cli.main([*model, str(tmp_path / "docs.jsonl")]) == 0
    as_json_lines = capsys.readouterr().out
    # a .csv file reads as a table and says so; each row as the same record in JSON Lines
    assert cli.main([*model, str(tmp_path / "docs.csv")]) == 0
    out, err = capsys.readouterr()
    assert out == as_json_lines and [json.loads(line)["id"] for line in out.splitlines()] == ["1", "2", "3"]
    assert err == f"{tmp_path / 'docs.csv'}: read as a CSV table, a record a row (--input-format text reads it as " \
                  "plain text)\n"
    assert any(json.loads(out.splitlines()[0])["entities"])
    # TSV, from standard input, its text in another column; the other formats write a row as a document
    done = command("tag.py", *model, "--input-format", "tsv", "--text-field", "body", "-",
                   input="id\tbody\n7\tAngela Merkel visited Paris.\n")
    same = command("tag.py", *model, "--input-format", "jsonl", "--text-field", "body", "-",
                   input=json.dumps({"id": "7", "body": "Angela Merkel visited Paris."}) + "\n")
    assert done.returncode == 0 and done.stdout == same.stdout and json.loads(done.stdout)["entities"]
    # a spreadsheet's CSV where a comma is the decimal mark: separated by semicolons
    (tmp_path / "semicolons.csv").write_text("id;text;score\n7;Angela Merkel visited Paris.;0,5\n")
    done = command("tag.py", *model, str(tmp_path / "semicolons.csv"))
    assert done.returncode == 0 and done.stdout == same.stdout.replace('"body"', '"text"').replace(
        '"entities"', '"score": "0,5", "entities"')
    conll = command("tag.py", "--model", str(sample_model[0]), str(tmp_path / "docs.csv"))
    assert conll.stdout.count("-DOCSTART-") == 1  # the rows with text: two documents
    # a value as long as a book
    long = "Angela Merkel visited Paris. " + "Then she left. " * 20_000
    (tmp_path / "long.csv").write_text(f"id,text\n1,{long}\n")
    done = command("tag.py", *model, str(tmp_path / "long.csv"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == long and json.loads(done.stdout)["entities"]
    # errors name the line a row ends on, past a value's line break
    (tmp_path / "bad.csv").write_text('id,text\n1,"two\nlines"\n2,a,b\n')
    done = command("tag.py", *model, str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and done.stderr.splitlines()[-1] == (
        f"error: {tmp_path / 'bad.csv'}:4: 3 values, and the header names 2 columns")
    (tmp_path / "bad.csv").write_text("id,body\n1,Tom Baker left.\n")
    done = command("tag.py", *model, str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and done.stderr.splitlines()[-1] == (
        f"error: {tmp_path / 'bad.csv'}:2: no field 'text' (it has id, body); --text-field names the one that holds "
        "the text")


def test_csv_and_tsv_write_the_json_lines_objects_as_a_table(sample_model, tmp_path, capsys):
    import csv

    import tagger.cli as cli

    model = ["--model", str(sample_model[0])]
    table = tmp_path / "docs.csv"
    with open(table, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerows([["id", "text", "note"], ["1", "Angela Merkel visited Paris.\nShe met Tom Baker.", "a, b"],
                          ["2", "", ""], ["3", 'Tom Baker said "no" in Berlin.', "x"]])

    def objects(*options) -> list[dict]:
        assert cli.main([*model, *options, "--format", "jsonl"]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    def rows(*options, delimiter=",") -> tuple[list[str], list[dict]]:
        assert cli.main([*model, *options]) == 0
        read = csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter=delimiter)
        return read.fieldnames, list(read)

    # a table's rows: its own columns, then the entities, a JSON list in a cell
    expected = objects(str(table))
    header, written = rows(str(table), "--format", "csv")
    assert header == ["id", "text", "note", "entities"]
    assert [{**row, "entities": json.loads(row["entities"])} for row in written] == expected
    assert expected[0]["entities"] and expected[1]["entities"] == []
    # text: a row a sentence of the objects' fields; numbers read back as numbers, lists as lists
    text = tmp_path / "news.txt"
    text.write_text("Angela Merkel visited Paris.\n\nTom Baker left.\n")
    expected = objects(str(text))
    header, written = rows(str(text), "--format", "tsv", "--nbest", "2", delimiter="\t")
    assert header == ["text", "tokens", "tags", "entities", "probability", "nbest"]
    assert len(written) == len(expected) == 3 and written[1]["text"] == ""  # a blank line, between documents
    for row, record in zip(written, expected):
        assert row["text"] == record["text"] and float(row["probability"]) == record["probability"]
        assert [json.loads(row[name]) for name in ("tokens", "tags", "entities")] == [
            record[name] for name in ("tokens", "tags", "entities")]
        assert [reading["tags"] for reading in json.loads(row["nbest"])][0] == record["tags"]
    # several inputs into one table: one header, a file column; into a folder, a table each
    header, written = rows(str(text), str(text), "--format", "csv")
    assert header[0] == "file" and [row["file"] for row in written] == [str(text)] * 6
    assert cli.main([*model, str(text), str(table), "--format", "csv", "--output", str(tmp_path / "out") + "/"]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["docs.csv", "news.csv"]
    assert (tmp_path / "out" / "docs.csv").read_text().startswith("id,text,note,entities\n")
    # a record whose fields the header does not name: an error at its line, after the rows before it
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "Tom Baker left."}\n{"text": "Ann came.", "id": 7}\n')
    done = command("tag.py", *model, str(mixed), "--format", "csv")
    assert done.returncode == 2 and done.stdout.splitlines()[0] == "text,entities"
    assert done.stderr.splitlines()[-1] == (
        f"error: {mixed}:2: a record with the field 'id', which the table's header (the first row's fields) does not "
        "name: text, entities; --format jsonl writes records of any fields, and --output FOLDER a table for each INPUT")


def test_text_written_without_spaces_is_tagged_with_a_warning_where_the_model_reads_words(sample_model, tmp_path):
    chinese = tmp_path / "zh.txt"
    chinese.write_text("李明在北京大学工作，他昨天去了上海参加一个重要的会议。\n" * 3)
    for workers in ("1", "2"):  # the warning once a run, from the worker processes too
        done = command("tag.py", "--model", str(sample_model[0]), str(chinese), str(chinese), "--workers", workers)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == [
            f"{chinese}: read as plain text (--input-format conll reads it as CoNLL columns)",
            "warning: text written without spaces between words (as Chinese, Japanese and Thai are): this model reads "
            "words, as its training corpus had them, and reads each run of letters as one word; give it the text's "
            "words separated by spaces (or as lists of tokens), or train on a corpus of characters, which reads such "
            "text"]
    done = command("tag.py", "--model", str(sample_model[0]), "--workers", "2", str(SAMPLE / "test.conll"))
    assert done.returncode == 0 and "warning" not in done.stderr


def test_the_output_file_s_name_says_the_format_unless_format_does(sample_model, tmp_path):
    import gzip

    import tagger.cli as cli

    text = tmp_path / "news.txt"
    text.write_text("Angela Merkel visited Paris.\n")
    model = ["--model", str(sample_model[0]), str(text)]
    written = {}
    for name in ("tagged.jsonl", "tagged.csv.gz", "tagged.TSV", "tagged.html", "tagged.conll", "tagged.txt", "tagged"):
        assert cli.main([*model, "--output", str(tmp_path / name)]) == 0
        written[name] = (gzip.open if name.endswith(".gz") else open)(tmp_path / name, "rt").read()
    for name, given in [("tagged.jsonl", "jsonl"), ("tagged.csv.gz", "csv"), ("tagged.TSV", "tsv"),
                        ("tagged.html", "html"), ("tagged.txt", "conll"), ("tagged", "conll")]:
        assert cli.main([*model, "--format", given, "--output", str(tmp_path / "given")]) == 0
        assert written[name] == (tmp_path / "given").read_text(), name
    assert json.loads(written["tagged.jsonl"])["entities"] and written["tagged.csv.gz"].startswith("text,tokens,")
    assert written["tagged.conll"] == written["tagged.txt"] and written["tagged.conll"].startswith("Angela ")
    assert cli.main([*model, "--format", "inline", "--output", str(tmp_path / "inline.jsonl")]) == 0
    assert (tmp_path / "inline.jsonl").read_text().startswith("[")  # --format decides
    assert cli.main([*model, "--output", str(tmp_path / "tagged.spacy")]) == 0
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    docs = list(DocBin().from_disk(tmp_path / "tagged.spacy").get_docs(Vocab()))
    assert [[entity.text for entity in doc.ents] for doc in docs] == [
        [entity["text"] for entity in json.loads(written["tagged.jsonl"])["entities"]]]


def test_a_parquet_table_is_tagged_a_record_a_row_as_json_lines_are(sample_model, tmp_path, capsys):
    import datetime

    import pyarrow
    import pyarrow.parquet

    import tagger.cli as cli

    model = ["--model", str(sample_model[0]), "--format", "jsonl"]
    records = [{"id": 1, "text": "Angela Merkel visited Paris. She met John Smith there."},
               {"id": 2, "text": None},  # a missing value, as pandas writes NaN: a record without text
               {"id": 3, "text": 'Tom Baker said "no" in Berlin.'}]
    table = tmp_path / "docs.parquet"
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(records), table, row_group_size=2)  # read a group at a time
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    assert cli.main([*model, str(tmp_path / "docs.jsonl")]) == 0
    as_json_lines = capsys.readouterr().out
    assert cli.main([*model, str(table)]) == 0
    out, err = capsys.readouterr()
    assert out == as_json_lines and err == ""
    assert [len(json.loads(line)["entities"]) for line in out.splitlines()][1] == 0 and json.loads(
        out.splitlines()[0])["entities"]
    # a column of tokens; values JSON has no type for (a date) are written as their strings
    tokens = tmp_path / "tokens.parquet"
    pyarrow.parquet.write_table(pyarrow.table({"tokens": [["Tom", "Baker", "left", "."]],
                                               "day": [datetime.date(2024, 1, 2)]}), tokens)
    assert cli.main([*model, str(tokens)]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["day"] == "2024-01-02" and len(written["tags"]) == 4
    assert cli.main([*model[:2], str(tokens), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith('"[""Tom"", ""Baker"", ""left"", "".""]",2024-01-02,')
    # errors: one line naming the file (and the row)
    (tmp_path / "not.parquet").write_text("id,text\n1,Tom\n")
    for path, message in [(table, ":1: no field 'body' (it has id, text); --text-field names the one that holds "
                                  "the text"),
                          (tmp_path / "not.parquet", ": not a Parquet table (Parquet magic bytes not found"),
                          (tmp_path / "gone.parquet", ": no such file")]:
        done = command("tag.py", *model, str(path), "--text-field", "body")
        assert done.returncode == 2 and done.stderr.splitlines()[-1].startswith(f"error: {path}{message}")


def test_piped_plain_text_is_tagged_as_text_and_says_so(sample_model, tmp_path):
    done = command("tag.py", "--model", str(sample_model[0]), "--format", "inline", "-",
               input="Tom Baker visited Paris on Monday.\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[PER Tom Baker] visited [LOC Paris] on Monday .\n"
    assert done.stderr == "<stdin>: read as plain text (--input-format conll reads it as CoNLL columns)\n"
    assert command("tag.py", "--help").stdout.startswith("usage: tag.py ")
    assert re.findall(r"(?m)^(\w+):$", command("tag.py", "--help").stdout)[-5:] == [
        "input", "output", "decoding", "evaluation", "speed"]  # the options in groups, as train.py's
    assert command("train.py", "--help").stdout.startswith("usage: train.py ")

def test_a_tab_separated_file_is_read_as_columns_and_its_tag_written_after_a_tab(sample_model, tmp_path, capsys):
    from tagger.cli import main

    tabs = tmp_path / "tabs.tsv"
    tabs.write_text("Tom\tNNP\nBaker\tNNP\n\nvisited\tVBD\n")
    assert main(["--model", str(sample_model[0]), str(tabs)]) == 0
    out, err = capsys.readouterr()
    assert err == f"{tabs}: read as CoNLL columns (--input-format text reads it as plain text)\n"
    assert out.splitlines()[:2] == ["Tom\tNNP\tB-PER", "Baker\tNNP\tI-PER"]


@pytest.mark.parametrize("output_format", ["conll", "jsonl", "csv"])
def test_workers_tag_in_input_order_what_one_process_tags(sample_model, tmp_path, monkeypatch, output_format):
    import tagger.cli as cli

    monkeypatch.setattr(cli, "CHUNK_SENTENCES", 7)  # 100 sentences: 15 chunks shared between the workers
    threads = torch.get_num_threads()
    outputs = {}
    for workers in ("1", "2"):
        output = tmp_path / f"{workers}.out"
        assert cli.main(["--model", str(sample_model[0]), str(SAMPLE / "test.conll"), "--format", output_format,
                         "--workers", workers, "--threads", "1", "--output", str(output)]) == 0
        outputs[workers] = output.read_text()
    assert outputs["2"] == outputs["1"] and outputs["1"].count("\n") >= 100
    assert torch.get_num_threads() == threads  # --threads held for the command, not after it


def test_workers_and_threads_are_checked():
    done = command("tag.py", "--threads", "0", "x")
    assert done.returncode == 2 and done.stderr.strip() == "error: --threads must be at least 1, got 0"
    done = command("tag.py", "--workers", "2", "--eval", str(SAMPLE / "test.conll"))
    assert done.returncode == 2 and "--workers tags INPUT files" in done.stderr


def test_a_weight_average_is_given_one_way(tmp_path, capsys):
    from tagger import train_cli
    from tagger.errors import run_command

    corpora = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll")]
    both = [*corpora, "--output", str(tmp_path / "m"), "--average", "0.99", "--average-epochs", "2"]
    assert run_command(train_cli.main, both) == 2
    assert capsys.readouterr().err == ("error: --average gives the decay, --average-epochs sets it from the corpus: "
                                       "give one of them\n")
    assert run_command(train_cli.main, [*corpora, "--output", str(tmp_path / "m"), "--average-epochs", "-1"]) == 2
    assert capsys.readouterr().err == "error: --average-epochs must be at least 0, got -1.0\n"
    assert not (tmp_path / "m").exists()


def test_without_vectors_every_word_is_trained_and_some_are_dropped(tmp_path, capsys):
    from tagger import train_cli
    from tagger.errors import run_command

    vectors = tmp_path / "vectors.txt"
    vectors.write_text("the 0.1 0.2\nparis 0.3 0.1\n")
    corpora = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--epochs", "1",
               "--hidden-size", "8"]
    runs = {"none": [], "glove": ["--embeddings", str(vectors)], "given": ["--min-count", "3", "--word-dropout", "0.2"]}
    for name, options in runs.items():
        assert run_command(train_cli.main, [*corpora, "--output", str(tmp_path / name), *options]) == 0
    saved = {name: json.loads((tmp_path / name / CONFIG_FILE).read_text()) for name in runs}
    chosen = {name: (config["training"]["min_count"], config["model"]["word_dropout"]) for name, config in saved.items()}
    assert chosen == {"none": (1, 0.1), "glove": (2, 0.0), "given": (3, 0.2)}
    assert saved["glove"]["training"]["max_vectors"] == 100_000  # a text file's first words: saved with the model


def test_char_kernel_sets_the_width_of_the_character_window(tmp_path):
    from tagger import Tagger, train_cli
    from tagger.errors import run_command

    def trained(name: str, *options: str) -> int:
        assert run_command(train_cli.main, ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                                            "--epochs", "1", "--output", str(tmp_path / name), *options]) == 0
        return json.loads((tmp_path / name / CONFIG_FILE).read_text())["model"]["char_kernel"]

    # Five where the tokens are words (the sample corpus's); a width given, or a base's, wins.
    assert trained("default", "--hidden-size", "8") == 5
    assert trained("three", "--hidden-size", "8", "--char-kernel", "3") == 3
    assert trained("from-base", "--base", str(tmp_path / "three")) == 3
    tagger = Tagger.load(tmp_path / "default")
    assert tagger.model.char_cnn.conv.weight.shape[-1] == 5
    sentences = [sentence.tokens for sentence in read_conll(SAMPLE / "test.conll")][:20]
    assert [len(result.tags) for result in tagger.predict(sentences)] == [len(tokens) for tokens in sentences]


def test_a_vector_package_gives_all_its_words_and_the_model_reads_them_from_it(tmp_path):
    from tagger import Tagger, train_cli
    from tagger.errors import run_command

    corpora = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--epochs", "1",
               "--hidden-size", "8", "--embeddings", "glove-6b-50d", "--language-model", "0"]  # weights: vectors'
    assert run_command(train_cli.main, [*corpora, "--output", str(tmp_path / "all")]) == 0
    assert run_command(train_cli.main, [*corpora, "--output", str(tmp_path / "some"), "--max-vectors", "1000"]) == 0
    saved = {name: json.loads((tmp_path / name / CONFIG_FILE).read_text()) for name in ("all", "some")}
    assert saved["all"]["training"]["max_vectors"] is None and saved["all"]["model"]["fixed_vectors"] == "glove-6b-50d"
    assert saved["all"]["model"]["num_words"] > 400_000
    assert saved["some"]["training"]["max_vectors"] == 1000 and saved["some"]["model"]["fixed_vectors"] == ""
    # all 400,000 words, yet a smaller directory: the package's vectors are not copied into it
    size = {name: (tmp_path / name / "model.safetensors").stat().st_size for name in ("all", "some")}
    assert size["all"] < size["some"] < 1_000_000
    # a word only the package knows ("zanzibar" is not in the sample corpus) is a known word of the model
    tagger = Tagger.load(tmp_path / "all")
    assert "zanzibar" in tagger.encoder.words and tagger.encoder.words.id("zanzibar") > 1


def test_tagging_with_an_entity_bias_given_overrides_the_models(sample_model, tmp_path):
    from tagger.cli import main

    written = {}
    for bias in ("-100", "100"):
        output = tmp_path / f"tagged{bias}.conll"
        assert main(["--model", str(sample_model[0]), "--input-format", "conll", str(SAMPLE / "test.conll"),
                     "--entity-bias", bias, "--output", str(output)]) == 0
        written[bias] = [line.split()[-1] for line in output.read_text().splitlines()
                         if line.strip() and not line.startswith("-DOCSTART-")]
    assert set(written["-100"]) == {"O"}  # none
    assert "O" not in set(written["100"])  # every token in an entity
    refused = run("tag.py", "--model", str(sample_model[0]), "--entity-bias", "nan", str(SAMPLE / "test.conll"))
    assert refused.returncode == 2 and refused.stderr.strip() == "error: --entity-bias must be a finite number, got nan"


def test_a_file_whose_first_column_numbers_its_tokens_is_refused_before_any_is_tagged(sample_model, tmp_path):
    conllu = tmp_path / "ud.conllu"  # CoNLL-U: ID, FORM, LEMMA, UPOS, ...
    conllu.write_text("# sent_id = 1\n1\tPeter\tPeter\tPROPN\n2\tBlackburn\tBlackburn\tPROPN\n3\tvisited\tvisit\tVERB\n"
                      "\n# sent_id = 2\n1\tHe\the\tPRON\n2\tleft\tleave\tVERB\n")
    refused = command("tag.py", "--model", str(sample_model[0]), "--comment-prefix", "#", str(conllu))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines()[-1] == (
        f"error: {conllu}:2: column 0 numbers the tokens (1, 2, 3, ...), as CoNLL-U's and GermEval 2014's first "
        "column does; --token-column 1 reads its words and tags")
    tagged = command("tag.py", "--model", str(sample_model[0]), "--comment-prefix", "#", "--token-column", "1",
                     str(conllu))
    assert tagged.returncode == 0, tagged.stderr
    lines = tagged.stdout.splitlines()
    assert lines[0] == "# sent_id = 1" and lines[1].startswith("1\tPeter\tPeter\tPROPN\t")
    assert len([line for line in lines if line and not line.startswith("#")]) == 5


def test_tag_py_writes_a_conllu_files_multiword_tokens_and_empty_nodes_back_in_their_place(sample_model, tmp_path):
    from .test_corpus import CONLLU_WITH_MULTIWORD_TOKENS

    conllu = tmp_path / "es.conllu"
    conllu.write_text(CONLLU_WITH_MULTIWORD_TOKENS, encoding="utf-8")
    tagged = command("tag.py", "--model", str(sample_model[0]), "--comment-prefix", "#", "--token-column", "1",
                     str(conllu))
    assert tagged.returncode == 0, tagged.stderr
    lines = tagged.stdout.splitlines()
    assert [line.rsplit("\t", 1)[0] for line in lines] == CONLLU_WITH_MULTIWORD_TOKENS.splitlines() + [""]
    tags = {line.split("\t")[0]: line.rsplit("\t", 1)[1] for line in lines if line[:1].isdigit()}
    assert tags["2-3"] == tags["3.1"] == tags["1-2"] == "_" and tags["4"] != "_"  # "4": Real, a word


def test_brat_output_marks_each_texts_entities_at_their_offsets_and_reads_back(sample_model, tmp_path):
    from tagger.sources import read_labelled

    model = str(sample_model[0])
    sentences = [" ".join(s.tokens) for s in read_conll(SAMPLE / "test.conll")][:40]
    texts = {"first": "\r\n".join(sentences[:20]) + "\r\n", "second": "\n".join(sentences[20:30]) + "\n\n"
             + "\n".join(sentences[30:]) + "\n"}  # Windows line breaks count two characters in brat's offsets
    for name, text in texts.items():
        with open(tmp_path / f"{name}.txt", "w", encoding="utf-8", newline="") as file:
            file.write(text)
    alone = command("tag.py", "--model", model, "--format", "brat", str(tmp_path / "first.txt"))
    assert alone.returncode == 0, alone.stderr
    found = [line.split("\t") for line in alone.stdout.splitlines()]
    assert found and [fields[0] for fields in found] == [f"T{i}" for i in range(1, len(found) + 1)]
    for _, place, mention in found:
        label, start, end = place.split()
        assert texts["first"][int(start):int(end)] == mention and label in ("PER", "LOC", "ORG", "MISC")
    # The same entities as tag.py finds in the lines as text.
    lines = command("tag.py", "--model", model, "--input-format", "text", "--format", "jsonl",
                    str(tmp_path / "first.txt"))
    expected = [e["text"] for line in lines.stdout.splitlines() for e in json.loads(line)["entities"]]
    assert [mention for _, _, mention in found] == expected
    several = [str(tmp_path / f"{name}.txt") for name in texts]
    refused = command("tag.py", "--model", model, "--format", "brat", *several)
    assert refused.returncode == 2 and "--output names the folder" in refused.stderr
    (tmp_path / "first.text").write_text(texts["second"], encoding="utf-8")
    refused = command("tag.py", "--model", model, "--format", "brat", several[0], str(tmp_path / "first.text"),
                      "--output", str(tmp_path / "brat"))
    assert refused.returncode == 2 and "two INPUTs named first would write one" in refused.stderr
    assert not (tmp_path / "brat").exists()
    # Inputs in subfolders: written in the same subfolders of --output.
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "first.txt").write_text(texts["second"], encoding="utf-8")
    nested = command("tag.py", "--model", model, "--format", "brat", several[0], str(tmp_path / "again" / "first.txt"),
                     "--output", str(tmp_path / "nested"))
    assert nested.returncode == 0, nested.stderr
    assert sorted(str(path.relative_to(tmp_path / "nested")) for path in (tmp_path / "nested").rglob("*.*")) == [
        "again/first.ann", "again/first.txt", "first.ann", "first.txt"]
    assert (tmp_path / "nested" / "first.ann").read_text(encoding="utf-8") == alone.stdout
    done = command("tag.py", "--model", model, "--format", "brat", *several, "--output", str(tmp_path / "brat"))
    assert done.returncode == 0, done.stderr
    entities = sum(len((tmp_path / "brat" / name).read_text().splitlines()) for name in ("first.ann", "second.ann"))
    assert done.stderr.splitlines()[-1] == (f"2 inputs tagged into {tmp_path / 'brat'}/, a .ann file each: "
                                            f"{entities} entities")
    assert (tmp_path / "brat" / "first.ann").read_text(encoding="utf-8") == alone.stdout
    assert (tmp_path / "brat" / "second.txt").read_bytes() == (tmp_path / "second.txt").read_bytes()
    read = read_labelled(tmp_path / "brat")  # a folder brat opens, and train.py reads
    assert sum(1 for s in read for tag in s.labels if tag.startswith("B-")) == len(found) + len(
        (tmp_path / "brat" / "second.ann").read_text(encoding="utf-8").splitlines())
    # In place: the .ann files beside the texts.
    again = command("tag.py", "--model", model, "--format", "brat", *several, "--output", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "first.ann").read_text(encoding="utf-8") == alone.stdout
    # A brat project's folder as the INPUT and --output: its texts are tagged, its .ann files are not, and each
    # text's annotations are written beside it, in its subfolder.
    project = tmp_path / "nested"
    written = {name: (project / name).read_text(encoding="utf-8") for name in ("first.ann", "again/first.ann")}
    (project / "first.ann").write_text("")
    (project / "again" / "first.ann").write_text("")
    again = command("tag.py", "--model", model, "--format", "brat", str(project), "--output", str(project))
    assert again.returncode == 0, again.stderr
    assert {name: (project / name).read_text(encoding="utf-8") for name in written} == written
    assert sorted(str(path.relative_to(project)) for path in project.rglob("*.*")) == [
        "again/first.ann", "again/first.txt", "first.ann", "first.txt"]


def test_ontonotes_conll2012_files_are_tagged_line_for_line(sample_model, tmp_path):
    from .test_corpus import ONTONOTES

    path = tmp_path / "wsj.gold_conll"
    path.write_text(ONTONOTES, encoding="utf-8")
    done = command("tag.py", "--model", str(sample_model[0]), "--input-format", "conll", "--token-column", "3",
                   "--comment-prefix", "#", str(path))
    assert done.returncode == 0, done.stderr
    written = done.stdout.splitlines()
    given = [line for line in ONTONOTES.splitlines() if line.strip()]
    tagged = [line for line in written if line.strip() and not line.startswith("#")]
    assert [line.rsplit(" ", 1)[0] for line in tagged] == [line for line in given if not line.startswith("#")]
    assert all(line.rsplit(" ", 1)[1] in ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC",
                                         "I-MISC") for line in tagged)
    # Comment lines are written before the sentence they precede (a document's #begin once, not as a -DOCSTART-
    # line too), and the file's closing #end document after its last sentence: every line, in its place.
    assert [line if line.startswith("#") else line.rsplit(" ", 1)[0] for line in written if line.strip()] == given
    assert written[-1] == "#end document"
    # A line that begins with the prefix inside a sentence is a token, not a closing comment, and is written once
    path.write_text("a O\n#x O\n", encoding="utf-8")
    done = command("tag.py", "--model", str(sample_model[0]), "--input-format", "conll", "--comment-prefix", "#",
                   str(path))
    assert done.returncode == 0 and [line.split()[:2] for line in done.stdout.split("\n") if line] == [
        ["a", "O"], ["#x", "O"]]

