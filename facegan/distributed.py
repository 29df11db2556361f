"""torchrun / DDP plumbing: one process per device, rank 0 writes.

Under `torchrun --nproc_per_node=N` the environment names each process's rank;
`setup()` joins the process group (NCCL on CUDA, gloo on CPU). Without torchrun
everything here is a no-op and the world has one process.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from facegan.errors import FaceganError


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup() -> None:
    """Join the process group torchrun describes (idempotent); pin this process's GPU."""
    if not launched_by_torchrun() or dist.is_initialized():
        return
    cuda = torch.cuda.is_available()
    if cuda:
        local_rank, gpus = int(os.environ.get("LOCAL_RANK", "0")), torch.cuda.device_count()
        if local_rank >= gpus:  # else CUDA's "invalid device ordinal" from deep inside set_device
            per_node = os.environ.get("LOCAL_WORLD_SIZE", str(local_rank + 1))
            raise FaceganError(f"torchrun --nproc_per_node={per_node}: this machine has {gpus} GPU(s) and NCCL "
                               f"takes one process per GPU; start at most {gpus} (CUDA_VISIBLE_DEVICES= runs "
                               f"them on the CPU with gloo)")
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=30))


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def all_sum(values: list[float], device: torch.device | str = "cpu") -> list[float]:
    """Element-wise sum over all processes (for reduced training metrics)."""
    if world_size() == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def mean_over_processes(values: dict[str, float], device: torch.device | str = "cpu") -> dict[str, float]:
    """Each value averaged over all processes (the training losses that rank 0 logs)."""
    if world_size() == 1:
        return dict(values)
    return {k: total / world_size() for k, total in zip(values, all_sum(list(values.values()), device))}


def _by_dtype(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault(t.dtype, []).append(t)
    return list(groups.values())


@torch.no_grad()
def _broadcast(tensors: list[torch.Tensor]) -> None:
    """Rank 0's values of `tensors` on every process (one message per dtype)."""
    if world_size() == 1:
        return
    for group in _by_dtype(tensors):
        flat = _flatten_dense_tensors(group)
        dist.broadcast(flat, 0)
        for t, value in zip(group, _unflatten_dense_tensors(flat, group)):
            t.copy_(value)


def broadcast_modules(*modules: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers on every process. Every process seeds its models alike, so this
    only makes the start independent of that."""
    _broadcast([t for m in modules for t in (*m.parameters(), *m.buffers())])


def broadcast_buffers(*modules: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm statistics, which stay per process) on every process: for a model that
    every process runs in eval mode during training, so that what it computes is what rank 0 saves and a
    resumed run restores."""
    _broadcast([t for m in modules for t in m.buffers()])


@torch.no_grad()
def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Average the gradients of `params` over all processes: call after `backward()`, before the
    optimizer's step. What DDP does, without its wrapper: DDP reduces inside `backward()` and
    expects one forward per backward, while a GAN step runs D several times and R1 differentiates
    D's gradient. Parameters without a gradient are skipped; every process runs the same graph,
    so they are the same ones everywhere. One all-reduce per dtype over a flat buffer."""
    if world_size() == 1:
        return
    for grads in _by_dtype([p.grad for p in params if p.grad is not None]):
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= world_size()
        for grad, value in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(value)


def check_batch_size(batch_size: int, param: str) -> None:
    """Each process needs two faces of every batch at least (BatchNorm's training statistics)."""
    if world_size() > 1 and batch_size < 2 * world_size():
        raise FaceganError(f"{param} {batch_size} leaves fewer than 2 faces a batch to each of {world_size()} "
                           f"processes; raise it to {2 * world_size()} or more, or start fewer processes")


def shard(indices, n_shards: int | None = None, index: int | None = None):
    """This process's share of a global batch: every world_size-th item from its rank.
    Every process walks the same global batches, so the run sees the data of a one-process run."""
    n_shards = world_size() if n_shards is None else n_shards
    index = rank() if index is None else index
    return indices[index::n_shards]


@dataclass(frozen=True)
class Shard:
    """This process's rows of a global batch of `size` (`shard`'s rows; all of them in a one-process run).

    Per-image random draws are made for the whole batch and cut with `take`: each image gets
    the randomness it would get in a one-process run, whatever the number of processes."""

    size: int
    index: int = 0
    count: int = 1

    def take(self, items):
        """This process's items of a batch-first array, tensor or list."""
        return shard(items, self.count, self.index)


def batch_shard(size: int) -> Shard:
    return Shard(size, rank(), world_size())
