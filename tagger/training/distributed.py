"""Data-parallel training: one network trained by several processes that ``torchrun`` starts, on one machine or more.

Every process reads the corpora and draws the same epoch of batches; each
takes its share (``Processes.shard``), and ``DistributedDataParallel`` averages
the gradients of a step across them, so every process takes the same step and
holds the same weights. The leader (rank 0) alone scores dev, writes the
checkpoint, the metrics and the model, and tells the others whether to go on.
"""

from __future__ import annotations

import gc
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ..errors import TaggerError
from ..model import BiLSTMCRF


@dataclass(frozen=True)
class Processes:
    """The processes training one network together, seen from one of them: its ``rank`` of ``size``,
    and the ``device`` it trains on ("cpu", "cuda:0", ...)."""

    rank: int = 0
    size: int = 1
    device: str = "cpu"

    @property
    def leader(self) -> bool:
        """Whether this process scores dev and writes the run's files."""
        return self.rank == 0

    def shard(self, batches: list[list[int]], costs: Sequence[int]) -> list[list[int]]:
        """This process's batches of an epoch's ``batches`` (every process draws the same list, in random order).

        A step takes ``size`` batches, one a process, and waits for the
        slowest: its batches are of about one cost (``costs[i]``: batch i's
        tokens), neighbours in cost order. The steps come in the order their
        batches were drawn. Every process must take as many steps: the last
        batches drawn beyond a multiple of ``size`` (fewer than ``size``;
        another epoch draws others) are left out.
        """
        if self.size == 1:
            return batches
        if len(batches) < self.size:
            raise TaggerError(f"an epoch has {len(batches)} batches, fewer than the {self.size} processes that "
                              "would share them: use fewer processes or a smaller --batch-size")
        taken = len(batches) - len(batches) % self.size
        by_cost = sorted(range(taken), key=lambda i: costs[i])
        steps = sorted((by_cost[k : k + self.size] for k in range(0, taken, self.size)), key=min)
        return [batches[step[self.rank]] for step in steps]

    def loss_function(self, model: BiLSTMCRF) -> Callable[..., Tensor]:
        """``model.loss``, through ``DistributedDataParallel`` when there are several processes.

        Its ``backward`` then averages each gradient over the processes.
        """
        if self.size == 1:
            return model.loss
        # The fixed word vectors (a buffer, possibly 400,000 x 50) never change: not copied each step.
        unsynced = ({"forward_sync_buffers": False}
                    if "forward_sync_buffers" in inspect.signature(nn.parallel.DistributedDataParallel).parameters
                    else {"broadcast_buffers": False})
        # device_ids None: the batches are already where the model is (CPU or its GPU).
        return nn.parallel.DistributedDataParallel(_Loss(model), device_ids=None, **unsynced)

    def from_leader(self, value: Any) -> Any:
        """The leader's ``value``, in every process (any picklable value; each process passes its own)."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gathered(self, value: Any) -> list[Any] | None:
        """Every process's ``value`` in rank order, at the leader; None elsewhere."""
        if self.size == 1:
            return [value]
        values = [None] * self.size if self.leader else None
        dist.gather_object(value, values, dst=0)
        return values


ONE_PROCESS = Processes()


class _Loss(nn.Module):
    """``BiLSTMCRF.loss`` as a module's ``forward``: what ``DistributedDataParallel`` wraps and calls."""

    def __init__(self, model: BiLSTMCRF):
        super().__init__()
        self.model = model

    def forward(self, *arguments) -> Tensor:
        # DDP waits for every parameter's gradient, and a batch of one-token sentences leaves the CRF's
        # transitions out of the graph: they take part at weight 0 (cheaper than DDP's
        # find_unused_parameters, a search of the graph at every step).
        return self.model.loss(*arguments) + 0.0 * self.model.crf.transitions.sum()


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher) as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device: str = "cpu") -> Processes:
    """This process, training on ``device`` ("cpu" or "cuda"), and the others the launcher started with it.

    Joins the process group the launcher describes (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ...): NCCL on GPUs, each process on the one of its
    ``LOCAL_RANK``; gloo on CPUs. One process alone needs no group.
    """
    if not launched():
        return Processes(device=device)
    on_gpus = device.startswith("cuda")
    if on_gpus:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    backend = "nccl" if on_gpus else "gloo"
    try:
        dist.init_process_group(backend)
    except (RuntimeError, ValueError) as error:
        raise TaggerError(f"could not join the other training processes ({backend}): {error}") from None
    return Processes(dist.get_rank(), dist.get_world_size(), device)


def leave(processes: Processes, finished: bool = True) -> None:
    """Leave the process group ``join`` joined (nothing for one process).

    ``finished``: the run ended well, in every process: they wait for each other
    first (gloo can abort a process whose peer left while it was still writing).
    """
    if processes.size > 1 and dist.is_initialized():
        # DistributedDataParallel's hooks hold it in reference cycles: freed now, while its process
        # group lives, not at exit after it (where its threads can abort the process).
        gc.collect()
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a process's own random draws (dropout): the run's seed for the leader, others apart from it."""
    return seed if rank == 0 else seed + 104_729 * rank
