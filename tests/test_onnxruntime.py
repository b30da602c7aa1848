"""The LSTM run by ONNX Runtime (``--onnxruntime``): the same network, the same tags."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from tagger.api import Tagger
from tagger.corpus import read_corpus
from tagger.model import OnnxRuntimeLSTM

from .conftest import ROOT, SAMPLE


@pytest.mark.parametrize("shape", [(1, 1), (1, 20), (7, 3), (64, 41)])
def test_onnx_runtime_lstm_gives_the_lstms_outputs(shape):
    torch.manual_seed(0)
    lstm = nn.LSTM(13, 9, batch_first=True, bidirectional=True).eval()
    exported = OnnxRuntimeLSTM(lstm)
    inputs = torch.randn(*shape, 13)
    with torch.no_grad():
        expected, _ = lstm(inputs)
    found, state = exported(inputs)
    assert state is None and found.shape == expected.shape == (*shape, 18)
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-5)
    packed = nn.utils.rnn.pack_padded_sequence(inputs, [shape[1]] * shape[0], batch_first=True)
    with pytest.raises(TypeError, match="one length"):
        exported(packed)


def test_tagger_with_onnx_runtime_tags_like_torch(sample_model):
    sentences = [s.tokens for s in read_corpus(SAMPLE / "test.conll")]
    plain = Tagger.load(sample_model[0])
    fast = Tagger.load(sample_model[0], onnxruntime=True)
    assert isinstance(fast.model.lstm, OnnxRuntimeLSTM) and isinstance(plain.model.lstm, nn.LSTM)
    expected, found = plain.predict(sentences), fast.predict(sentences)
    assert [r.tags for r in found] == [r.tags for r in expected]
    for a, b in zip(expected, found):
        assert b.probability == pytest.approx(a.probability, abs=1e-4)
        assert [e.score for e in b.entities] == pytest.approx([e.score for e in a.entities], abs=1e-4)
    assert fast.tag(sentences[0]) == plain.tag(sentences[0])  # one sentence alone, too
    with pytest.raises(ValueError, match="choose one"):
        Tagger.load(sample_model[0], quantize=True, onnxruntime=True)


def test_cli_onnxruntime_option(sample_model, tmp_path):
    written = {}
    for name, extra in (("torch", []), ("onnx", ["--onnxruntime"])):
        written[name] = tmp_path / f"{name}.conll"
        done = subprocess.run([sys.executable, "tag.py", "--model", str(sample_model[0]), *extra,
                               str(SAMPLE / "test.conll"), "--output", str(written[name])],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert written["onnx"].read_text() == written["torch"].read_text()
    refused = subprocess.run([sys.executable, "tag.py", "--model", str(sample_model[0]), "--quantize",
                              "--onnxruntime", str(SAMPLE / "test.conll")],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "choose one" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
