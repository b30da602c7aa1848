import json
import shutil

import pytest

from tagger.calibration import reliability

from .conftest import SAMPLE, command


def test_reliability_table_and_ece():
    pairs = [(0.95, True), (0.95, True), (0.95, False), (0.15, False), (0.55, True), (1.0, True)]
    table, ece = reliability(pairs)
    assert [row["count"] for row in table] == [0, 1, 0, 0, 0, 1, 0, 0, 0, 4]
    top = table[-1]
    assert top["score"] == pytest.approx((0.95 * 3 + 1.0) / 4) and top["precision"] == 0.75
    expected = (1 / 6) * 0.15 + (1 / 6) * 0.45 + (4 / 6) * abs(0.75 - top["score"])
    assert ece == pytest.approx(expected)


def test_calibration_command_reports_and_writes_the_temperature(sample_model, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(sample_model[0], model)
    shutil.copy(SAMPLE / "dev.conll", tmp_path / "eng.testa")
    shutil.copy(SAMPLE / "test.conll", tmp_path / "eng.testb")
    done = command("-m", "tagger.calibration", "--model", str(model), "--data", str(tmp_path), "--nbest", "3", "--write")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "constrained decoding: F1" in out and "ECE" in out and "oracle F1 of the 3-best" in out
    assert "scores off" in out and "temperature" in out
    one_best = float(out.split("1-best F1 ")[1].split(";")[0])
    oracle = float(out.split("3-best lists ")[1].split()[0])
    assert oracle >= one_best
    temperature = json.loads((model / "config.json").read_text())["temperature"]
    assert 0 < temperature <= 3.5
    assert f"temperature {temperature} written" in out
