"""Data-parallel training: processes started by torchrun on this machine, talking over loopback only."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger.corpus import read_corpus
from tagger.errors import TaggerError
from tagger.storage import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, load_checkpoint
from tagger.training import TrainingConfig, train
from tagger.training.distributed import Processes

from .conftest import ROOT, SAMPLE

CORPORA = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll")]


def torchrun(*args: str, processes: int = 2, **popen) -> subprocess.Popen:
    """``torchrun --standalone --nproc_per_node PROCESSES train.py ARGS`` on loopback, one thread a process."""
    environment = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr", "127.0.0.1",
               "--nproc_per_node", str(processes), "train.py", *args]
    return subprocess.Popen(command, cwd=ROOT, env=environment, text=True, **popen)


def finished(*args: str) -> subprocess.CompletedProcess:
    process = torchrun(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (torchrun puts its workers in process groups of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, waiting = [], [pid]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.append(child)
            waiting.append(child)
    return found


def metrics(output) -> list[dict]:
    """The metric lines, without their timings."""
    timed = ("seconds", "train_tokens_per_second")
    return [{key: value for key, value in json.loads(line).items() if key not in timed}
            for line in (output / METRICS_FILE).read_text().splitlines()]


def test_a_step_takes_batches_of_about_one_cost_one_a_process():
    batches = [[k] for k in range(11)]
    costs = [5, 40, 7, 39, 6, 41, 20, 21, 19, 1, 2]  # the last two drawn are left out (11 = 3 x 3 + 2)
    shards = [Processes(rank, 3).shard(batches, costs) for rank in range(3)]
    # cost order of the first nine: 0 4 2 | 8 6 7 | 3 1 5; steps in the order of their first batch drawn
    assert shards == [[[0], [3], [8]], [[4], [1], [6]], [[2], [5], [7]]]
    assert Processes().shard(batches, costs) == batches
    with pytest.raises(TaggerError, match="fewer than the 3 processes"):
        Processes(0, 3).shard(batches[:2], costs[:2])


def test_a_distributed_run_trains_one_network(tmp_path):
    sentences = read_corpus(SAMPLE / "train.conll")[:20]
    with pytest.raises(TaggerError, match="a distributed run trains one network"):
        train(sentences, sentences, tmp_path / "m", TrainingConfig(members=2), processes=Processes(0, 2))
    assert not (tmp_path / "m").exists()


def test_two_processes_learn_and_a_killed_run_resumes_to_the_same_model(tmp_path):
    # SGD learns the sample corpus in the few epochs this runs; the weight average is kept (and resumed)
    options = [*CORPORA, "--hidden-size", "32", "--batch-size", "8", "--patience", "50", "--optimizer", "sgd"]
    killed = tmp_path / "killed"
    process = torchrun(*options, "--output", str(killed), "--epochs", "50", stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (killed / CHECKPOINT_FILE).exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # somewhere inside a later epoch, perhaps mid-write
    finally:
        for pid in [process.pid, *descendants(process.pid)]:  # torchrun and the processes it started
            os.kill(pid, signal.SIGKILL)
        process.wait()
    _, state = load_checkpoint(killed)
    epochs = str(state["epoch"] + 2)
    resumed = finished("--resume", str(killed), "--epochs", epochs)
    assert f"resuming after epoch {state['epoch']}" in resumed.stdout

    whole = tmp_path / "whole"
    uninterrupted = finished(*options, "--output", str(whole), "--epochs", epochs)
    # The leader alone speaks: each epoch's line once.
    assert uninterrupted.stdout.count("epoch   1  loss") == 1
    assert {CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE} <= {path.name for path in whole.iterdir()}
    assert metrics(killed) == metrics(whole)
    assert (killed / WEIGHTS_FILE).read_bytes() == (whole / WEIGHTS_FILE).read_bytes()
    assert not [path.name for path in killed.iterdir() if path.name.endswith(".tmp")]

    # It learns: half the sample corpus's steps an epoch in each process, to a dev F1 a one-process run reaches.
    assert metrics(whole)[-1]["dev_f1"] > metrics(whole)[0]["dev_f1"] + 0.2
    from tagger.api import Tagger

    entities = Tagger.load(whole).tag("John Smith lives in London .")
    assert [entity.label for entity in entities]  # loads as any model, tags
