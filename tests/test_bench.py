import shutil
import subprocess
import sys

from .conftest import ROOT, SAMPLE


def test_benchmark_prints_its_table(tmp_path):
    """The benchmark runs end to end (on the sample corpus standing in for CoNLL-2003)."""
    shutil.copy(SAMPLE / "train.conll", tmp_path / "eng.train")
    shutil.copy(SAMPLE / "test.conll", tmp_path / "eng.testb")
    shutil.copy(SAMPLE / "dev.conll", tmp_path / "eng.testa")
    done = subprocess.run(
        [sys.executable, "-m", "tagger.bench", "--data", str(tmp_path), "--repeats", "1", "--train-sentences", "50",
         "--stream-mb", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CPU: ") and "threads" in lines[0] and "peak RSS" in lines[0]
    for row in ("bare nn.LSTM forward, batch 256", "Tagger.tag_batch, batch 256", "Tagger.tag_batch, batch 1",
                "Tagger.tag, one 20-token sentence", "tag.py eng.testb", "Tagger.tag_batch, batch 256, --quantize", "training, batch 16",
                "Tagger.tag_batch, batch 256, --onnx --quantize", "Tagger.tag, one sentence, --onnx",
                "tag.py on 1 MB", "tag.py start-up", "training epoch with dev scoring"):
        assert any(line.startswith(row) for line in lines), row
    streamed = next(line for line in lines if line.startswith("tag.py on 1 MB"))
    assert "tokens/s once started" in streamed


def test_benchmark_without_its_data_says_so_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tagger.bench", "--data", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'eng.testb'}: no such file\n"
