"""torchrun / DDP plumbing: one process per device, rank 0 writes.

Under `torchrun --nproc_per_node=N` the environment names each process's rank;
`setup()` joins the process group (NCCL on CUDA, gloo on CPU). Without torchrun
everything here is a no-op and the world has one process.
"""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist


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
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
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


def shard(indices, n_shards: int | None = None, index: int | None = None):
    """This process's share of a global batch: every world_size-th item from its rank.
    Every process walks the same global batches, so the run sees the data of a one-process run."""
    n_shards = world_size() if n_shards is None else n_shards
    index = rank() if index is None else index
    return indices[index::n_shards]
