"""Ensembles (``--members N``): several networks trained alike, tagging with their mean scores."""

import json
import re
import sys

import pytest
import torch
from safetensors.torch import load_file
from torchcrf import CRF

from tagger.api import Tagger
from tagger.corpus import document_ids, document_starts, read_corpus
from tagger.inference import _emissions, decode_sentences
from tagger.model import BiLSTMCRF, Ensemble, ModelConfig
from tagger.storage import load_model
from tagger.training import TrainingConfig, train

from .conftest import SAMPLE, bench_rows, command, on_a_terminal

OPTIONS = ["--hidden-size", "32", "--document-memory", "--threads", "1"]


def _train(output, *options):
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                   *OPTIONS, *options)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    output = tmp_path_factory.mktemp("ensemble") / "model"
    done = _train(output, "--output", str(output), "--members", "2", "--epochs", "6", "--seed", "5")
    # one thread: the members train one after another, in the run's own process
    assert "member 1 of 2:" in done.stdout and "at a time" not in done.stdout
    return output


def _same_weights(first, second) -> bool:
    a, b = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_members_are_the_runs_of_their_seeds_and_the_ensemble_learns(ensemble, tmp_path):
    config = json.loads((ensemble / "config.json").read_text())
    assert config["members"] == 2 and config["training"]["seed"] == 5
    assert [json.loads((ensemble / "members" / k / "config.json").read_text())["training"]["seed"]
            for k in ("1", "2")] == [5, 6]
    # member 2 is exactly the run a single model with seed 6 makes
    _train(tmp_path / "single", "--output", str(tmp_path / "single"), "--epochs", "6", "--seed", "6")
    assert _same_weights(ensemble / "members" / "2", tmp_path / "single")
    # the ensemble's dev score is logged, and it tags the test set well
    logged = json.loads((ensemble / "metrics.jsonl").read_text().splitlines()[-1])
    assert logged["members"] == 2 and logged["dev_f1"] > 0.6
    # the ensemble's entity bias is chosen for the ensemble: no worse on dev than none (0 is among those tried)
    assert config["entity_bias_dev"]["f1"] >= logged["dev_f1"]
    done = command("tag.py", "--model", str(ensemble), "--eval", str(SAMPLE / "test.conll"), "--json")
    assert json.loads(done.stdout)["f1"] > 0.6


def test_members_trained_at_once_in_their_own_processes_are_the_same(ensemble, tmp_path):
    output = tmp_path / "jobs"
    code, out, shown = on_a_terminal(  # a process of its own, whose output the member processes send to
        [sys.executable, "train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
         *OPTIONS, "--output", str(output), "--members", "2", "--epochs", "6", "--seed", "5",
         "--threads", "2"])  # on a CPU, as many members at once as threads: one thread each, as in the fixture's run
    assert code == 0, shown
    assert "2 at a time, 1 thread each" in out
    for k in (1, 2):  # each member's lines, whole, in order
        lines = [line for line in out.splitlines() if line.startswith(f"member {k}: ")]
        assert [line.split()[3] for line in lines[:6]] == ["1", "2", "3", "4", "5", "6"]
        assert lines[6].startswith(f"member {k}: best dev F1 ") and lines[-1].startswith(f"member {k}: entity bias")
    # the terminal shows one line for the members, redrawn in place: how far each is in its epoch, then how
    # many are done
    states = [state.strip() for state in re.split(r"[\r\n]", shown) if state.strip()]
    assert any(re.fullmatch(r"member 1: epoch \d/6 (\d+%|dev) · member 2: epoch \d/6 (\d+%|dev)", state)
               for state in states)
    for k in (1, 2):  # each epoch's start and its end, when dev is scored, at least
        assert all(any(f"member {k}: epoch {epoch}/6 {how_far}" in state for state in states)
                   for epoch in range(1, 7) for how_far in ("0%", "dev"))
    assert "2 of 2 done" in states
    assert _same_weights(output, ensemble)


def test_ensemble_scores_are_the_members_mean_and_decode_exactly(ensemble):
    model, encoder, _ = load_model(ensemble)
    assert isinstance(model, Ensemble)
    members = [load_model(ensemble / "members" / k)[0] for k in ("1", "2")]
    for name in ("start_transitions", "end_transitions", "transitions"):
        torch.testing.assert_close(getattr(model.crf, name),
                                   (getattr(members[0].crf, name) + getattr(members[1].crf, name)) / 2)
    test = read_corpus(SAMPLE / "test.conll")
    sentences = [s.tokens for s in test]
    documents = document_ids(document_starts(test))
    chunks = [list(range(len(sentences)))[k : k + 7] for k in range(0, len(sentences), 7)]
    with torch.inference_mode():
        mean = [sum(e for _, e, _ in parts) / 2 for parts in zip(
            *(_emissions(member, encoder, sentences, chunks, None, documents, None) for member in members))]
        emissions = [e for _, e, _ in _emissions(model, encoder, sentences, chunks, None, documents, None)]
    for expected, got in zip(mean, emissions):
        torch.testing.assert_close(got, expected)
    # Decoding is over the mean scores: pytorch-crf's own Viterbi with the mean tables picks the same tags.
    decoded = decode_sentences(model, encoder, sentences, constrained=False, documents=documents)
    crf = CRF(len(encoder.tags), batch_first=True)
    with torch.no_grad():
        for name in ("start_transitions", "end_transitions", "transitions"):
            getattr(crf, name).copy_(getattr(model.crf, name))
    for chunk, scores in zip(chunks, emissions):
        for row, i in enumerate(chunk):
            sentence = scores[row : row + 1, : len(sentences[i])]
            best = crf.decode(sentence, torch.ones(sentence.shape[:2], dtype=torch.bool))[0]
            assert decoded[i].tags == [encoder.tags.names[tag] for tag in best]


def test_ensemble_round_trips_and_runs_quantized_in_onnx_and_in_fp16(ensemble, tmp_path):
    tagger = Tagger.load(ensemble)
    test = read_corpus(SAMPLE / "test.conll")
    tokens, starts = [s.tokens for s in test], document_starts(test)
    expected = [r.tags for r in tagger.predict(tokens, document_starts=starts)]
    assert [r.tags for r in Tagger.load(ensemble, onnx=True).predict(tokens, document_starts=starts)] == expected
    quantized = [r.tags for r in Tagger.load(ensemble, quantize=True).predict(tokens, document_starts=starts)]
    assert sum(a == b for a, b in zip(quantized, expected)) >= 0.9 * len(expected)
    assert command("-m", "tagger.export", "--model", str(ensemble), "--output", str(tmp_path / "fp16"),
                   "--fp16").returncode == 0
    assert sorted(path.name for path in (tmp_path / "fp16").iterdir()) == ["config.json", "model.safetensors"]
    half = [r.tags for r in Tagger.load(tmp_path / "fp16").predict(tokens, document_starts=starts)]
    assert sum(a == b for a, b in zip(half, expected)) >= 0.95 * len(expected)


def test_an_interrupted_ensemble_resumes_to_the_same_model(tmp_path):
    train_sentences, dev_sentences = read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll")
    config = TrainingConfig(epochs=2, patience=2, seed=1, members=2)
    sizes = {"hidden_size": 16}
    # From Python the members train one after another in this process by default (as jobs=1), so that the
    # log can cut the run between them.
    train(train_sentences, dev_sentences, tmp_path / "whole", config, sizes, log=lambda message: None, jobs=1)

    def stop_at_second_member(message):
        if message.startswith("member 2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(train_sentences, dev_sentences, tmp_path / "cut", config, sizes, log=stop_at_second_member)
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    assert command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                   "--resume", str(tmp_path / "cut"), "--jobs", "1").returncode == 0
    assert _same_weights(tmp_path / "cut", tmp_path / "whole")
    for k in ("1", "2"):
        assert _same_weights(tmp_path / "cut" / "members" / k, tmp_path / "whole" / "members" / k)


def test_members_must_match():
    small, large = ModelConfig(10, 5, 3, 4, hidden_size=8), ModelConfig(10, 5, 3, 4, hidden_size=16)
    with pytest.raises(ValueError, match="one configuration"):
        Ensemble([BiLSTMCRF(small), BiLSTMCRF(large)])
    with pytest.raises(ValueError, match="at least two"):
        Ensemble([BiLSTMCRF(small)])
    fixed = ModelConfig(10, 5, 3, 4, hidden_size=8, fixed_words=3)
    first, second = BiLSTMCRF(fixed), BiLSTMCRF(fixed)
    second.fixed_word_vectors.fill_(1.0)
    with pytest.raises(ValueError, match="fixed word vectors"):
        Ensemble([first, second])


def test_members_option_is_checked(tmp_path):
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                   "--output", str(tmp_path / "m"), "--members", "0")
    assert done.returncode != 0 and "--members must be at least 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_benchmark_of_an_ensemble_times_all_its_lstms(ensemble, tmp_path):
    rows = bench_rows(ensemble, tmp_path)
    assert "2 LSTMs, one per ensemble member" in rows["bare nn.LSTM forward, batch 256"]
    assert "all identical" in rows["same tags as the straightforward path"]
    assert "for each of the 2 members" in rows["training, batch 16"]


def test_models_trained_apart_combine_into_the_same_ensemble(ensemble, tmp_path):
    members = [str(ensemble / "members" / k) for k in ("1", "2")]
    done = command("-m", "tagger.ensemble", "--output", str(tmp_path / "combined"), *members)
    assert done.returncode == 0, done.stderr
    assert _same_weights(tmp_path / "combined", ensemble)
    config = json.loads((tmp_path / "combined" / "config.json").read_text())
    assert config["members"] == 2 and config["member_seeds"] == [5, 6]
    assert "entity_bias" not in config  # each member's was chosen for it alone
    # models with other vocabularies (here: other tags) are refused, in one line
    _train(tmp_path / "other", "--output", str(tmp_path / "other"), "--epochs", "1", "--tag-scheme", "IOB2")
    refused = command("-m", "tagger.ensemble", "--output", str(tmp_path / "bad"), members[0], str(tmp_path / "other"))
    assert refused.returncode == 2 and "its vocabularies differ" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "bad" / "model.safetensors").exists()
    alone = command("-m", "tagger.ensemble", "--output", str(tmp_path / "bad"), members[0])
    assert alone.returncode == 2 and "at least two" in alone.stderr


def test_the_relay_writes_members_lines_and_returns_when_a_member_process_dies(monkeypatch, capsys):
    import queue
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from tagger.training import members

    monkeypatch.setattr(members, "REPORT_SECONDS", 0.05)
    messages, lines = queue.Queue(), []
    finished, died = Future(), Future()
    for message in [("step", 1, (1, 2, 0, 10)), ("log", 1, "epoch   1  loss 3.0"), ("log", 2, "epoch   1  loss 4.0"),
                    ("step", 1, (2, 2, 10, 10)), ("log", 1, "best dev F1 0.5"), ("done", 1, None)]:
        messages.put(message)
    finished.set_result(None)
    died.set_exception(BrokenProcessPool("a process died"))  # and sent no "done"
    import threading

    relay = threading.Thread(target=members._relay, args=(messages, [finished, died], lines.append), daemon=True)
    relay.start()
    relay.join(timeout=30)
    assert not relay.is_alive()  # it returned, rather than wait for member 2's "done"
    assert lines == ["member 1: epoch   1  loss 3.0", "member 2: epoch   1  loss 4.0", "member 1: best dev F1 0.5"]
    assert capsys.readouterr().err == ""  # not a terminal: no line of how far they are
