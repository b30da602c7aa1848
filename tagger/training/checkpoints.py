"""A run's state between epochs: saved after each, restored by a resumed run, so that it ends as the uninterrupted one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from torch import nn

from ..card import CARD_FILE, CURVES_FILE, TEST_FILE
from ..errors import counted
from ..storage import (
    CHECKPOINT_FILE,
    METRICS_FILE,
    WEIGHTS_FILE,
    remove_stale_temporaries,
    save_checkpoint,
    write_atomically,
)


def clear_run(output: Path) -> None:
    """Make ``output`` an empty run directory (a model, metrics or checkpoint there is replaced)."""
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    for stale in (METRICS_FILE, CHECKPOINT_FILE, WEIGHTS_FILE, CARD_FILE, CURVES_FILE, TEST_FILE):
        (output / stale).unlink(missing_ok=True)


def save_state(output: Path, state: dict, model: nn.Module, optimizer, schedule, rng: random.Random, averaged,
               torch_states: list[torch.Tensor] | None = None) -> None:
    """Checkpoint everything the next epoch depends on: weights, optimizer, schedule, random states.

    ``torch_states``: each training process's torch random state, by rank
    (default: this process's, the only one).
    """
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    if averaged is not None:
        tensors.update({f"averaged.{name}": value for name, value in averaged.state_dict().items()})
    optimizer_state = optimizer.state_dict()
    for index, values in optimizer_state["state"].items():
        for key, value in values.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value)
    for rank, torch_state in enumerate(torch_states or [torch.get_rng_state()]):
        tensors[_torch_random(rank)] = torch_state
    save_checkpoint(output, tensors, {
        **state,
        # Sums split over another number of threads round differently: a resumed run says so (``thread_change``).
        "threads": torch.get_num_threads(),
        "optimizer_groups": optimizer_state["param_groups"],
        "schedule": {key: value for key, value in schedule.state_dict().items() if key != "lr_lambdas"},
        "random_python": rng.getstate(),
    })


def restore_state(
    checkpoint: tuple[dict, dict], model: nn.Module, optimizer, schedule, rng: random.Random, averaged, rank: int = 0
) -> dict:
    """Put the checkpoint's state into the run's objects; return its progress (epoch, best, epochs without gain).

    ``rank``: the training process this is (its own torch random state, where the checkpoint has one).
    """
    tensors, saved = checkpoint
    model.load_state_dict({name[6:]: value for name, value in tensors.items() if name.startswith("model.")})
    if averaged is not None:
        averaged.load_state_dict({name[9:]: value for name, value in tensors.items() if name.startswith("averaged.")})
    per_parameter: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            per_parameter.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": per_parameter, "param_groups": saved["optimizer_groups"]})
    schedule.load_state_dict({**saved["schedule"], "lr_lambdas": [None]})
    version, internal, gauss = saved["random_python"]
    rng.setstate((version, tuple(internal), gauss))
    if _torch_random(rank) in tensors:  # else a run resumed with more processes than it had: a fresh draw
        torch.set_rng_state(tensors[_torch_random(rank)])
    return {key: saved[key] for key in ("epoch", "best", "epochs_without_gain")}


def thread_change(checkpoint: tuple[dict, dict]) -> str | None:
    """What a run resumed from ``checkpoint`` at torch's current thread count should be told, if the count
    differs from the one it trained at: on a CPU the weights then part from the uninterrupted run's."""
    trained, now = checkpoint[1].get("threads"), torch.get_num_threads()
    if trained is None or trained == now:
        return None
    return (f"the run trained at {counted(trained, 'thread')} a network and goes on at {now}: sums round "
            f"differently, so it will not end exactly as the uninterrupted run would have (it does at {trained}: "
            "see --threads, --jobs)")


def _torch_random(rank: int) -> str:
    return "random.torch" if rank == 0 else f"random.torch.{rank}"


def truncate_metrics(output: Path, last_epoch: int) -> None:
    """Drop metric lines of epochs after the checkpoint (written just before a crash)."""
    path = output / METRICS_FILE
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if json.loads(line)["epoch"] <= last_epoch]
        if len(kept) != len(lines):
            write_atomically(path, lambda temporary: temporary.write_text("".join(l + "\n" for l in kept)))
