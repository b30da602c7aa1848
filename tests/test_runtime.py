"""The BiLSTM run by ONNX Runtime (``--onnx``) against PyTorch's."""

import sys

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tagger import Tagger
from tagger.corpus import document_starts, read_corpus
from tagger.runtime import OnnxLSTM, one_torch_thread

from .conftest import SAMPLE, command


@pytest.fixture(scope="module")
def lstm():
    torch.manual_seed(0)
    return nn.LSTM(12, 9, batch_first=True, bidirectional=True).eval()


def test_outputs_equal_pytorch_lstm_for_padded_and_packed_batches(lstm):
    onnx_lstm = OnnxLSTM(lstm).eval()
    inputs = torch.randn(4, 7, 12)
    lengths = torch.tensor([7, 3, 5, 1])
    with torch.inference_mode():
        torch.testing.assert_close(onnx_lstm(inputs)[0], lstm(inputs)[0], atol=1e-6, rtol=1e-5)
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        expected, expected_lengths = pad_packed_sequence(lstm(packed)[0], batch_first=True)
        got, got_lengths = pad_packed_sequence(onnx_lstm(packed)[0], batch_first=True)
    assert torch.equal(got_lengths, expected_lengths)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)  # backward direction from each sentence's end


def test_batches_split_over_threads_give_the_same_outputs(lstm):
    onnx_lstm = OnnxLSTM(lstm, threads=2).eval()
    assert "threads=2" in repr(onnx_lstm)
    for batch_size in (1, 3, 8, 40):  # below and above the size from which a batch is split over threads
        inputs = torch.randn(batch_size, 6, 12)
        with torch.inference_mode():
            torch.testing.assert_close(onnx_lstm(inputs)[0], lstm(inputs)[0], atol=1e-6, rtol=1e-5)


def test_one_torch_thread_restores_the_count_after_overlapping_uses():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_torch_thread():
            assert torch.get_num_threads() == 1
            inner = one_torch_thread()
            inner.__enter__()
        # the outer block is done, but the inner one (as from another thread) still runs
        assert torch.get_num_threads() == 1
        inner.__exit__(None, None, None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_tagger_with_onnx_runs_pytorch_on_one_thread_during_calls_only():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fast = Tagger.load(onnx=True)
        seen = []
        fast.model.members[0].lstm.register_forward_pre_hook(lambda module, inputs: seen.append(torch.get_num_threads()))
        fast.tag("Angela Merkel visited Paris .")
        fast.marginals("Angela Merkel visited Paris .")
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
        assert all(member.lstm.threads == 2 for member in fast.model.members)  # PyTorch's count at load time
    finally:
        torch.set_num_threads(before)


def test_int8_lstm_stays_near_and_training_is_refused(lstm):
    quantized = OnnxLSTM(lstm, quantize=True).eval()
    assert "int8" in repr(quantized)
    inputs = torch.randn(3, 5, 12)
    with torch.inference_mode():
        error = (quantized(inputs)[0] - lstm(inputs)[0]).abs()
    assert 0 < error.max() < 0.5 and error.mean() < 0.05  # quantized, not equal
    with pytest.raises(RuntimeError, match="only runs inference"):
        quantized.train()(inputs)
    with pytest.raises(ValueError, match="one-layer, bidirectional"):
        OnnxLSTM(nn.LSTM(12, 9, batch_first=True))


def test_quantizing_prints_nothing_and_leaves_logging_as_it_was(lstm, monkeypatch, capsys):
    """ONNX Runtime's advice to pre-process, given through the root logger, neither shows nor sets logging up."""
    import logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # a program that has not set up logging (pytest has)
    monkeypatch.setattr(root, "filters", [])
    OnnxLSTM(lstm, quantize=True)
    assert root.handlers == [] and root.filters == []  # no logging.basicConfig as a side effect
    assert capsys.readouterr().err == ""

    records = []
    recorder = logging.Handler()
    recorder.emit = records.append
    root.handlers = [recorder]
    OnnxLSTM(lstm, quantize=True)
    logging.warning("a warning of the program's own")
    assert [record.getMessage() for record in records] == ["a warning of the program's own"]
    assert root.handlers == [recorder] and root.filters == []


def test_shipped_model_tags_the_same_with_onnx():
    corpus = read_corpus(SAMPLE / "test.conll")
    sentences, starts = [s.tokens for s in corpus], document_starts(corpus)
    plain, fast = Tagger.load(), Tagger.load(onnx=True)
    # every member's LSTM runs in ONNX Runtime; the original is untouched
    assert all(isinstance(member.lstm, OnnxLSTM) for member in fast.model.members)
    assert all(isinstance(member.lstm, nn.LSTM) for member in plain.model.members)
    expected = plain.predict(sentences, document_starts=starts)
    got = fast.predict(sentences, document_starts=starts)
    assert [p.tags for p in got] == [p.tags for p in expected]
    assert [p.probability for p in got] == pytest.approx([p.probability for p in expected], abs=1e-4)
    got, expected = fast.tag("Angela Merkel visited Paris ."), plain.tag("Angela Merkel visited Paris .")
    assert [(e.text, e.label) for e in got] == [(e.text, e.label) for e in expected]
    assert [e.score for e in got] == pytest.approx([e.score for e in expected], abs=1e-4)


def test_model_with_context_tags_the_same_with_onnx(tmp_path):
    # The shipped model reads no context; here the LSTM reads each sentence with its neighbours' tokens.
    from tagger.training import TrainingConfig, train

    corpus = read_corpus(SAMPLE / "test.conll")[:40]
    output = tmp_path / "context"
    train(read_corpus(SAMPLE / "train.conll")[:100], corpus, output, TrainingConfig(epochs=1, seed=1),
          {"hidden_size": 16, "context": 4}, log=lambda message: None)
    sentences, starts = [s.tokens for s in corpus], document_starts(corpus)
    plain, fast = Tagger.load(output), Tagger.load(output, onnx=True)
    assert plain.context == 4
    expected = plain.predict(sentences, document_starts=starts)
    got = fast.predict(sentences, document_starts=starts)
    assert [p.tags for p in got] == [p.tags for p in expected]
    assert [p.probability for p in got] == pytest.approx([p.probability for p in expected], abs=1e-4)


def test_tag_command_with_onnx_writes_the_same_file(tmp_path):
    outputs = []
    for flags in ([], ["--onnx"]):
        output = tmp_path / f"out{len(flags)}.conll"
        done = command("tag.py", str(SAMPLE / "test.conll"), "--output", str(output), *flags)
        assert done.returncode == 0, done.stderr
        outputs.append(output.read_text())
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 100


@pytest.mark.parametrize("package", ["onnx", "onnxruntime"])
def test_missing_package_is_a_clear_error(monkeypatch, package):
    from tagger.errors import TaggerError

    monkeypatch.setitem(sys.modules, package, None)  # as if not installed: importing it raises ImportError
    with pytest.raises(TaggerError, match=f"needs the {package} package: pip install 'tagger\\[onnx\\]'"):
        Tagger.load(onnx=True)
