"""``--with-dev``: a run that chooses its epochs and entity bias on dev, then trains again on train and dev together."""

import json
import statistics

import pytest
import torch

from tagger import Tagger
from tagger.card import kept_record, member_runs
from tagger.corpus import read_corpus
from tagger.storage import CHECKPOINT_FILE, METRICS_FILE, load_checkpoint, load_model, read_config
from tagger.training import SELECTION, TrainingConfig, train, train_with_dev, with_dev_config
from tagger.training.runs import with_dev

from .conftest import SAMPLE

quiet = {"log": lambda message: None}


def records(directory):
    return [json.loads(line) for line in (directory / METRICS_FILE).read_text().splitlines()]


def same_weights(a, b):
    first, second = load_model(a)[0].state_dict(), load_model(b)[0].state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first)


def test_the_second_run_trains_on_dev_too_for_the_epochs_and_bias_chosen_and_keeps_its_last_epoch(tmp_path):
    training, dev = read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll")[:40]
    output = tmp_path / "m"
    # Patience 2 of 15 epochs: the first run stops early, so that the epochs it keeps are not its last.
    config = TrainingConfig(epochs=15, patience=2, seed=4, min_count=1)
    train_with_dev(training, dev, output, config, {"hidden_size": 32}, **quiet)
    selection = output / SELECTION
    chosen = max(records(selection), key=lambda record: record["dev_f1"])["epoch"]
    assert 1 < chosen < len(records(selection))
    assert read_config(selection)["training"]["trained_on_dev"] is False
    second = read_config(output)
    assert second["training"]["epochs"] == chosen and second["training"]["trained_on_dev"] is True
    assert second["entity_bias"] == read_config(selection)["entity_bias"]
    # Every epoch is run (patience stops nothing) and the last is kept, whatever its dev F1.
    assert [record["epoch"] for record in records(output)] == list(range(1, chosen + 1))
    assert load_checkpoint(output)[1]["best"]["epoch"] == chosen
    # The vocabulary is the training and dev corpora's: dev's words are known words of the model.
    trained = {token.lower() for sentence in training for token in sentence.tokens}
    dev_only = {token.lower() for sentence in dev for token in sentence.tokens} - trained
    assert dev_only
    known = set(second["encoder"]["words"]["names"])
    assert dev_only <= known and not dev_only & set(read_config(selection)["encoder"]["words"]["names"])
    # Same options, one more corpus: the weight average's decay is set again from the larger corpus's steps.
    assert second["training"]["average"] > read_config(selection)["training"]["average"]
    card = (output / "README.md").read_text()
    assert "The dev corpus is part of its training data (`train.py --with-dev`)" in card
    assert f"epoch {chosen} of {chosen}, the kept one" in card
    assert Tagger.load(output).evaluate(dev).f1 > 0.8


def test_an_ensemble_trains_again_for_the_median_of_its_members_epochs(tmp_path):
    training, dev = read_corpus(SAMPLE / "train.conll")[:80], read_corpus(SAMPLE / "dev.conll")[:30]
    selection = tmp_path / "s"
    train(training, dev, selection, TrainingConfig(epochs=5, patience=1, seed=2, members=3), {"hidden_size": 8},
          **quiet)
    kept = [kept_record(run)["epoch"] for run in member_runs(selection)]
    again = with_dev_config(selection)
    assert again.epochs == round(statistics.median(kept)) and again.members == 3 and again.trained_on_dev
    assert kept_record([{"epoch": 1, "dev_f1": 0.9}, {"epoch": 2, "dev_f1": 0.5}], trained_on_dev=True)["epoch"] == 2


def test_a_table_corpus_trains_with_dev_on_disk_to_the_model_of_its_sentences_in_memory(tmp_path, monkeypatch):
    from tagger.sources import TableCorpus, read_labelled
    from tagger.training import runs

    table = tmp_path / "train.jsonl"
    table.write_text("".join(json.dumps({"tokens": s.tokens, "ner_tags": s.labels}) + "\n"
                             for s in read_corpus(SAMPLE / "train.conll")[:120]))
    training, dev = read_labelled(table), read_corpus(SAMPLE / "dev.conll")[:30]
    joined = runs.with_dev(training, dev)
    # The dev sentences after the table's rows, the whole a table read from disk, not a list in memory.
    assert isinstance(joined, TableCorpus) and len(joined) == len(training) + len(dev)
    assert [(s.tokens, s.labels) for s in joined] == [(s.tokens, s.labels) for s in [*training, *dev]]
    config = TrainingConfig(epochs=3, patience=3, seed=5)
    second_runs = []
    monkeypatch.setattr(runs, "with_dev", lambda *corpora: second_runs.append(with_dev(*corpora)) or second_runs[-1])
    for name, corpus in (("table", training), ("list", list(training))):
        train_with_dev(corpus, dev, tmp_path / name, config, {"hidden_size": 8}, **quiet)
    assert [type(corpus).__name__ for corpus in second_runs] == ["TableCorpus", "list"]
    assert same_weights(tmp_path / "table", tmp_path / "list")


def _run(tmp_path, *extra):
    return ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "32",
            "--epochs", "3", "--members", "1", "--with-dev", *extra]


def test_train_py_with_dev_resumes_in_either_training_to_the_same_model(tmp_path, monkeypatch, capsys):
    import tagger.training.runs as runs
    from tagger.train_cli import main

    assert main([*_run(tmp_path), "--output", str(tmp_path / "whole")]) == 0
    assert f"| dev, trained on too | `{SAMPLE / 'dev.conll'}` |" in (tmp_path / "whole" / "README.md").read_text()
    out = capsys.readouterr().out
    assert "training again on the training and dev corpora together: " in out
    assert "500 training sentences" in out  # the sample's 400 and its 100 dev
    epochs = read_config(tmp_path / "whole")["training"]["epochs"]
    assert epochs > 1  # so that the second training can stop an epoch short

    # Stopped between its two trainings: the model directory holds the first run's alone.
    def interrupted(selection):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(runs, "with_dev_config", interrupted)
        with pytest.raises(KeyboardInterrupt):
            main([*_run(tmp_path), "--output", str(tmp_path / "first")])
    assert not (tmp_path / "first" / "config.json").exists()
    assert main(["--resume", str(tmp_path / "first")]) == 0
    assert same_weights(tmp_path / "first", tmp_path / "whole")

    # Stopped in its second training: an epoch short.
    with monkeypatch.context() as patch:
        whole_config = runs.with_dev_config
        patch.setattr(runs, "with_dev_config", lambda selection: (lambda config: (
            setattr(config, "epochs", config.epochs - 1), config)[1])(whole_config(selection)))
        assert main([*_run(tmp_path), "--output", str(tmp_path / "second")]) == 0
    assert (tmp_path / "second" / CHECKPOINT_FILE).is_file()
    assert main(["--resume", str(tmp_path / "second"), "--epochs", str(epochs)]) == 0
    assert f"resuming after epoch {epochs - 1}" in capsys.readouterr().out
    assert same_weights(tmp_path / "second", tmp_path / "whole")


def test_train_py_with_dev_checks_and_errors(tmp_path, capsys):
    from tagger.errors import TaggerError
    from tagger.train_cli import main

    assert main([*_run(tmp_path), "--check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "up to 3 epochs; then again on the training and dev corpora together, for the epochs chosen (--with-dev); "
        "nothing trained or written (--check)")
    # Without --dev the dev corpus is held out of --train: the second training reads all of --train.
    held = ["--train", str(SAMPLE / "train.conll"), "--hidden-size", "8", "--epochs", "2", "--members", "1",
            "--with-dev", "--output", str(tmp_path / "held")]
    assert main(held) == 0
    out = capsys.readouterr().out
    assert "training on the other 360" in out and "400 training sentences" in out
    with pytest.raises(TaggerError, match="^--resume continues its run from where it stopped: leave out --with-dev$"):
        main(["--resume", str(tmp_path / "held"), "--with-dev"])
    from tagger.training.distributed import Processes

    with pytest.raises(TaggerError, match="^--with-dev trains in one process: leave out torchrun"):
        train_with_dev([], [], tmp_path / "d", TrainingConfig(), processes=Processes(rank=0, size=2))
    assert not (tmp_path / "d").exists()
