"""Ensembles: members trained one after another or at once, each a run of its own, then saved as one model."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import torch

from ..card import describe_run
from ..corpus import Sentence
from ..errors import counted
from ..storage import (
    append_metrics,
    load_members,
    read_config,
    remove_stale_temporaries,
    save_weights,
)
from .distributed import ONE_PROCESS, Processes
from .loop import described, dev_scores, keep_entity_bias, resume_network


def member_directories(output: Path, members: int) -> list[Path]:
    """Where an ensemble's members are trained: ``output/members/1``, ``output/members/2``, ..."""
    return [output / "members" / str(k) for k in range(1, members + 1)]


def fit_members(
    train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence], output: Path, epochs: int | None, log,
    jobs: int | None = None, processes: Processes = ONE_PROCESS,
) -> dict:
    """Train (or go on training) each member of the ensemble in ``output``, then save the ensemble there.

    With ``jobs`` > 1, that many members train at once, each in a process of
    its own with an equal share of torch's threads (at least one). On a small
    CPU this is faster than one member after another with all the threads: an
    LSTM step of this size keeps one thread busy better than two (three members
    on 2 cores, one thread each, took 23-31 minutes, against 16 minutes a member
    on 2 threads). A member's result depends only on its seed and its thread count.
    ``jobs`` None: on a CPU, as many at once as torch has threads (one thread
    each, at most ``members``); on a GPU, one after another.
    ``processes``: this one alone, with the device the members train on.
    """
    members = int(read_config(output)["members"])
    directories = member_directories(output, members)
    if jobs is None:
        jobs = min(members, torch.get_num_threads()) if processes.device == "cpu" else 1
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, torch.get_num_threads() // min(jobs, members))
        log(f"training {members} members, {min(jobs, members)} at a time, {counted(threads, 'thread')} each")
        # "spawn": a forked process would inherit torch's thread pools, which can hang it.
        context = multiprocessing.get_context("spawn")
        messages = context.Queue()  # from the members' processes, to be written here (_relay)
        with ProcessPoolExecutor(min(jobs, members), mp_context=context, initializer=_member_process,
                                 initargs=(messages,)) as pool:
            running = [pool.submit(_train_member, train_sentences, dev_sentences, directory, epochs, threads, k,
                                   processes)
                       for k, directory in enumerate(directories, start=1)]
            _relay(messages, running, log)
        for member in running:
            member.result()
    else:
        for k, directory in enumerate(directories, start=1):
            log(f"member {k} of {members}: {directory}")
            remove_stale_temporaries(directory)
            resume_network(train_sentences, dev_sentences, directory, epochs, log, processes=processes)
    ensemble, encoder, _ = load_members(directories)
    scores = dev_scores(ensemble, encoder, dev_sentences)
    save_weights(output, ensemble)
    append_metrics(output, {"members": members, **{f"dev_{name}": value for name, value in scores.items()}})
    log(f"ensemble of {members}: dev {described(scores)}; model in {output}")
    keep_entity_bias(output, dev_sentences, read_config(output).get("training", {}).get("entity_bias"), log)
    describe_run(output, log)
    return scores


# In a member's process (``fit_members`` with jobs > 1): the queue to the process that trains the ensemble, which
# writes the members' log lines and shows how far each is (``_relay``); a process's only way to it.
_TO_ENSEMBLE = None

# How often a member says how far it is in its epoch, at most.
REPORT_SECONDS = 0.5


def _member_process(messages) -> None:
    """Start a member's process (the pool's initializer): ``messages``, the queue to the ensemble's process."""
    global _TO_ENSEMBLE
    _TO_ENSEMBLE = messages


def _train_member(train_sentences, dev_sentences, directory: Path, epochs: int | None, threads: int, k: int,
                  processes: Processes) -> None:
    """Member ``k``'s run in a process of the pool: its log lines and how far each epoch is go to the ensemble's
    process as ``("log", k, line)`` and ``("step", k, (epoch, epochs, step, steps))``, then ``("done", k, None)``."""
    torch.set_num_threads(threads)

    def reported(batches: list[list[int]], epoch: int, epochs: int) -> _ReportedEpoch:
        return _ReportedEpoch(batches, lambda step: _TO_ENSEMBLE.put(("step", k, (epoch, epochs, step, len(batches)))))

    try:
        remove_stale_temporaries(directory)
        resume_network(train_sentences, dev_sentences, directory, epochs,
                       lambda message: _TO_ENSEMBLE.put(("log", k, message)), progress=reported, processes=processes)
    finally:
        _TO_ENSEMBLE.put(("done", k, None))


class _ReportedEpoch:
    """An epoch's batches (as ``loop.EpochProgress`` gives them) that report the steps done, ``report(step)``, at
    the start, every ``REPORT_SECONDS`` and at the end."""

    def __init__(self, batches: list[list[int]], report):
        self.batches, self.report = batches, report

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        self.report(0)
        reported = time.monotonic()
        for step, batch in enumerate(self.batches, start=1):
            yield batch  # resumed once the step is done
            if time.monotonic() - reported >= REPORT_SECONDS or step == len(self.batches):
                self.report(step)
                reported = time.monotonic()

    def set_postfix(self, **values) -> None:
        """The loss so far, which the members' epoch lines give instead."""

    def close(self) -> None:
        """(The last step's report says that the member scores dev.)"""


def _relay(messages, running: list[Future], log) -> None:
    """Write what the members' processes send (``_train_member``) until they are done: each log line through
    ``log``, after the member's number (``member 2: epoch 3 ...``), and, on a terminal, one line that says how far
    each member is in its epoch (``member 1: epoch 3/40 45% · member 2: epoch 3/40 dev``, where it scores dev)."""
    from queue import Empty

    from tqdm import tqdm

    where: dict[int, str] = {}
    done: set[int] = set()
    with tqdm(bar_format="{desc}", file=sys.stderr, leave=False, disable=None) as status:
        while len(done) < len(running):
            try:
                kind, k, value = messages.get(timeout=REPORT_SECONDS)
            except Empty:
                if all(member.done() for member in running):  # a process that died says nothing more
                    return
                continue
            if kind == "log":
                with tqdm.external_write_mode(file=sys.stdout):
                    log(f"member {k}: {value}")
                continue
            if kind == "step":
                epoch, epochs, step, steps = value
                # The last step done, the member scores its dev corpus.
                how_far = "dev" if step == steps else f"{100 * step // max(steps, 1)}%"
                where[k] = f"member {k}: epoch {epoch}/{epochs} {how_far}"
            else:
                done.add(k)
                where.pop(k, None)
            parts = [where[j] for j in sorted(where)] + ([f"{len(done)} of {len(running)} done"] if done else [])
            status.set_description_str(" · ".join(parts))
