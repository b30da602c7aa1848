"""What a training run leaves for people: ``curves.png`` and the ``README.md`` model card."""

import builtins
import hashlib
import json
import re

import pytest

from tagger.card import (
    CARD_FILE,
    CURVES_FILE,
    model_card,
    read_metrics,
    write_card,
    write_curves,
)
from tagger.train_cli import main as train_main

from .conftest import SAMPLE

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_with_test(tmp_path_factory):
    """``train.py`` on the sample corpus with a test corpus: what a user's run leaves."""
    output = tmp_path_factory.mktemp("run") / "model"
    assert train_main(["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                       "--test", str(SAMPLE / "test.conll"), "--output", str(output), "--epochs", "3",
                       "--hidden-size", "16", "--seed", "2"]) == 0
    return output


def test_a_run_leaves_curves_and_a_card_with_its_data_options_and_scores(run_with_test, capsys):
    output = run_with_test
    curves = (output / CURVES_FILE).read_bytes()
    assert curves.startswith(PNG) and len(curves) > 20_000  # three panels drawn, not an empty figure
    card = (output / CARD_FILE).read_text()
    for corpus in ("train.conll", "dev.conll"):
        digest = hashlib.sha256((SAMPLE / corpus).read_bytes()).hexdigest()
        assert f"`{SAMPLE / corpus}`" in card and digest in card
    metrics = read_metrics(output)
    best = max(metrics, key=lambda record: record["dev_f1"])
    assert f"(epoch {best['epoch']} of 3, the kept one)" in card
    assert f"F1 {best['dev_f1']:.4f}" in card
    for label, f1 in best["dev_type_f1"].items():
        assert f"| {label} | {f1:.4f} |" in card
    test = json.loads((output / "test.json").read_text())
    assert f"F1 {test['f1']:.4f}" in card and set(test["types"]) == {"LOC", "MISC", "ORG", "PER"}
    for label, row in test["types"].items():
        assert f"| {label} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']} |" in card
    assert "| hidden_size | `16` |" in card and "| seed | `2` |" in card and "| epochs | `3` |" in card
    assert "Entity types**: LOC, MISC, ORG, PER" in card and "written in IOB2" in card
    assert "3 epochs in " in card and re.search(r" (1 thread|([2-9]|[1-9][0-9]+) threads); torch ", card)
    assert "![training loss and dev scores per epoch](curves.png)" in card
    assert "## Intended use and limits" in card


def test_an_ensemble_draws_each_network_and_names_its_members(tmp_path):
    from tagger.corpus import read_corpus
    from tagger.training import TrainingConfig, train

    output = tmp_path / "ensemble"
    train(read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll"), output,
          TrainingConfig(epochs=2, members=2), {"hidden_size": 8}, log=lambda message: None)
    card = (output / CARD_FILE).read_text()
    assert "an ensemble of 2 networks" in card
    assert "Network 1, dev (epoch" in card and "Network 2, dev (epoch" in card
    # The first network's table of types ends before the second network's line (else Markdown reads it as a row).
    second = card.splitlines().index(next(line for line in card.splitlines() if line.startswith("Network 2, dev")))
    assert card.splitlines()[second - 1] == ""
    assert "- network 1: 2 epochs in" in card and "- network 2: 2 epochs in" in card
    for member in ("1", "2"):  # each member is a model directory of its own, with its own card
        assert (output / "members" / member / CARD_FILE).is_file()
    assert (output / CURVES_FILE).read_bytes().startswith(PNG)


def test_without_matplotlib_the_run_says_how_to_get_the_curves(run_with_test, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("config.json", "metrics.jsonl"):
        (copy / name).write_bytes((run_with_test / name).read_bytes())
    assert write_curves(copy) is None
    card = write_card(copy).read_text()
    assert "pip install 'tagger[plots]'" in card and "curves.png)" not in card
    assert "No test corpus was scored" in card


def test_overwriting_a_run_removes_the_old_card_and_scores(run_with_test, tmp_path):
    output = tmp_path / "model"
    output.mkdir()
    for name in ("config.json", "model.safetensors", CARD_FILE, "test.json"):
        (output / name).write_bytes((run_with_test / name).read_bytes())
    assert train_main(["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                       "--output", str(output), "--epochs", "1", "--hidden-size", "8", "--overwrite"]) == 0
    assert not (output / "test.json").exists()
    card = (output / CARD_FILE).read_text()
    assert "No test corpus was scored" in card and "| hidden_size | `8` |" in card


def test_a_run_given_from_python_says_its_corpora_are_not_recorded(sample_model):
    config = json.loads((sample_model[0] / "config.json").read_text())
    card = model_card(sample_model[0], config, [read_metrics(sample_model[0])], None, has_curves=True)
    assert "The corpora were given from Python, so their files are not recorded." in card


def test_many_types_are_drawn_as_their_mean_and_range_and_logged_as_their_range(tmp_path):
    import warnings

    from tagger.training.loop import described

    labels = [f"TYPE{k:02d}" for k in range(64)]  # as many as a fine-grained corpus has (Few-NERD: 66)
    records = [{"epoch": epoch, "loss": 10.0 / epoch, "dev_precision": 0.1 * epoch, "dev_recall": 0.1 * epoch,
                "dev_f1": 0.1 * epoch, "dev_type_f1": {label: (k % 8) / 10 + 0.02 * epoch for k, label in enumerate(labels)}}
               for epoch in (1, 2, 3)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a legend of 64 lines collapsed the panels ("constrained_layout not applied")
        curves = write_curves(tmp_path).read_bytes()
    assert curves.startswith(PNG) and len(curves) > 20_000
    assert described({"f1": 0.5, "type_f1": records[0]["dev_type_f1"]}) == "F1 0.5000 (64 types, from TYPE00 0.0200 to TYPE07 0.7200)"
    few = {label: f1 for label, f1 in list(records[0]["dev_type_f1"].items())[:3]}
    assert described({"f1": 0.5, "type_f1": few}) == "F1 0.5000 (TYPE00 0.0200, TYPE01 0.1200, TYPE02 0.2200)"
