"""Choosing where a network runs (--device, Tagger.load(device=...)); the CPU here, a GPU where there is one."""

import pytest
import torch

from tagger.api import Tagger
from tagger.encoding import Encoder
from tagger.errors import TaggerError, run_command
from tagger.model import device_of, resolve_device
from tagger.vocab import Vocabulary

from .conftest import SAMPLE


def test_auto_is_a_gpu_where_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None) == resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(TaggerError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(TaggerError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    with pytest.raises(TaggerError, match="runs on cpu or cuda"):
        resolve_device("meta")


def test_a_batch_moves_every_tensor_and_keeps_its_words():
    encoder = Encoder(Vocabulary.build(["a", "b"]), Vocabulary.build("ab"), Vocabulary(["O"]))
    batch = encoder.batch([["a", "b", "a"], ["b"]], contexts=[([], ["a"]), (["b"], [])], documents=[0, 0])
    assert batch.to("cpu") is batch
    moved = batch.to("meta")  # a device of its own, present in every build of torch
    tensors = {name: value for name, value in moved._asdict().items() if isinstance(value, torch.Tensor)}
    assert set(tensors) == {"words", "casing", "token_types", "type_chars", "mask", "offsets", "input_mask",
                            "memory_groups"}
    assert all(value.device.type == "meta" for value in tensors.values())
    assert moved.type_words == batch.type_words
    assert all(value.shape == getattr(batch, name).shape for name, value in tensors.items())


def test_a_tagger_loads_on_the_device_asked_for(sample_model):
    on_cpu = Tagger.load(sample_model[0], device="cpu")
    assert device_of(on_cpu.model) == torch.device("cpu")
    assert on_cpu.tag("John Smith lives in London .") == Tagger.load(sample_model[0]).tag("John Smith lives in London .")
    with pytest.raises(TaggerError, match="quantize and onnx run on the CPU"):
        Tagger.load(sample_model[0], quantize=True, device="cuda")


def test_the_commands_say_when_there_is_no_gpu(sample_model, tmp_path, monkeypatch, capsys):
    from tagger import cli, train_cli

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tagging = ["--model", str(sample_model[0]), "--device", "cuda", str(SAMPLE / "test.conll")]
    training = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--output",
                str(tmp_path / "m"), "--device", "cuda:1"]
    assert run_command(cli.main, tagging) == 2
    assert capsys.readouterr().err == "error: device 'cuda': this machine has no CUDA GPU that torch can use\n"
    assert run_command(train_cli.main, training) == 2
    assert capsys.readouterr().err == "error: device 'cuda:1': this machine has no CUDA GPU that torch can use\n"
    assert not (tmp_path / "m").exists()
