"""Ensembles: members trained one after another or at once, each a run of its own, then saved as one model."""

from __future__ import annotations

from collections.abc import Sequence
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
        with ProcessPoolExecutor(min(jobs, members), mp_context=context) as pool:
            running = [pool.submit(_train_member, train_sentences, dev_sentences, directory, epochs, threads, k,
                                   processes)
                       for k, directory in enumerate(directories, start=1)]
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


def _train_member(train_sentences, dev_sentences, directory: Path, epochs: int | None, threads: int, k: int,
                  processes: Processes) -> None:
    """One member's run in a worker process: its log lines go out prefixed, without progress bars."""
    torch.set_num_threads(threads)
    remove_stale_temporaries(directory)
    resume_network(train_sentences, dev_sentences, directory, epochs,
                   lambda message: print(f"member {k}: {message}", flush=True), progress=False, processes=processes)
