import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpora" / "sample"
SHARED = ROOT.parent / "shared" / "corpora"
CONLL2003 = SHARED / "conll2003"


def pytest_configure(config):
    """Under pytest-xdist, each worker (and each process a test starts) takes its share of the cores.

    Two workers of two threads each on two cores would oversubscribe them; the tests' models are small, and a
    thread each runs them nearly as fast.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory):
    """A model trained on the sample corpus (shared by the tests that need one)."""
    from tagger.corpus import read_corpus
    from tagger.training import TrainingConfig, train

    output = tmp_path_factory.mktemp("model")
    config = TrainingConfig(epochs=12, patience=12, seed=3)
    best = train(
        read_corpus(SAMPLE / "train.conll"),
        read_corpus(SAMPLE / "dev.conll"),
        output,
        config,
        {"hidden_size": 64},
        log=lambda message: None,
    )
    return output, best


def bench_rows(model: Path, data: Path) -> dict[str, str]:
    """``python -m tagger.bench --no-cli`` on ``model``, the sample corpus standing in for CoNLL-2003: its rows by name.

    (``test_bench`` runs the rows of new processes.)
    """
    shutil.copy(SAMPLE / "train.conll", data / "eng.train")
    shutil.copy(SAMPLE / "test.conll", data / "eng.testb")
    done = subprocess.run(
        [sys.executable, "-m", "tagger.bench", "--data", str(data), "--model", str(model), "--repeats", "1",
         "--train-sentences", "50", "--no-cli"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return {line[:40].strip(): line for line in done.stdout.splitlines()}


def tiny_model(words: str, chars: str, **options):
    """A seeded, untrained ``BiLSTMCRF`` of a few units (eval mode) over ``words`` and ``chars``, and its encoder.

    ``options`` are ``ModelConfig``'s (``context=2``, ``document_memory=True``, ...); tags are BIOES of one type X.
    """
    import torch

    from tagger.encoding import CASINGS, Encoder
    from tagger.model import BiLSTMCRF, ModelConfig
    from tagger.vocab import Vocabulary

    vocabulary = Vocabulary.build(words.split())
    encoder = Encoder(vocabulary, Vocabulary.build(chars), Vocabulary(["O", "S-X", "B-X", "I-X", "E-X"]))
    torch.manual_seed(0)
    config = ModelConfig(len(vocabulary), len(encoder.chars), len(CASINGS), len(encoder.tags), word_dim=6,
                         char_dim=4, char_filters=5, hidden_size=7, **options)
    return BiLSTMCRF(config).eval(), encoder


def command(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS...`` (``train.py``, ``tag.py`` or ``-m MODULE`` of tagger's) run in this process, as the
    script runs it: its exit code, standard output and standard error (``input``: standard input).

    Importing torch and the package again for each run would cost a second or two of a launch; the scripts
    themselves run in subprocesses where a test is about the process (its exit, a kill, a pipe).
    """
    import contextlib
    import importlib
    import io
    import os

    import torch

    from tagger.errors import run_command

    script, *argv = args
    if script == "-m":
        script, *argv = argv
    main = importlib.import_module({"train.py": "tagger.train_cli", "tag.py": "tagger.cli"}.get(script, script)).main
    stdout, stderr = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
    saved = sys.argv, sys.stdin, torch.get_num_threads(), os.getcwd()
    sys.argv, sys.stdin = [script, *argv], stdin
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = run_command(main, argv)
            except SystemExit as exit:  # argparse's usage errors and --help
                code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
    finally:
        sys.argv, sys.stdin = saved[0], saved[1]
        torch.set_num_threads(saved[2])
        os.chdir(saved[3])
    return subprocess.CompletedProcess([script, *argv], code, stdout.getvalue(), stderr.getvalue())


def on_a_terminal(command: list[str]) -> tuple[int, str, str]:
    """``command``'s exit code, standard output and what it wrote to standard error, a terminal of 160 columns."""
    import fcntl
    import pty
    import struct
    import termios

    terminal, its_end = pty.openpty()
    fcntl.ioctl(its_end, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=its_end, text=True) as process:
        os.close(its_end)
        shown = b""
        while True:
            try:
                read = os.read(terminal, 65536)
            except OSError:  # the command's end of the terminal is closed
                break
            if not read:
                break
            shown += read
        out = process.stdout.read()
        code = process.wait(timeout=600)
    os.close(terminal)
    return code, out, shown.decode()
