"""Run by test_distributed.py under `torchrun --nproc_per_node=2` (gloo on CPU): the gradient
all-reduce, the initial broadcast, and exact resume of the GAN loops on 2 processes; leaves the
checkpoint of two editor steps (HEADS_ONLY) for the test to compare with one process.
argv[1]: a folder shared by the processes (checkpoints). Exits non-zero on a failed check."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from facegan import distributed
from test_editor import same_weights, train_tiny as train_editor_tiny
from test_translator import train_tiny as train_translator_tiny

HEADS_ONLY = dict(heads_pretrain_steps=2, batch_size=8, augment=["translation", "cutout"])  # D alone: no BatchNorm


def gathered(t: torch.Tensor) -> list[torch.Tensor]:
    parts = [torch.empty_like(t) for _ in range(distributed.world_size())]
    dist.all_gather(parts, t.contiguous())
    return parts


def check_broadcast_and_gradient_average() -> None:
    torch.manual_seed(distributed.rank())  # other weights on each process until the broadcast
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 6, 2), torch.nn.Linear(2, 2))
    net = net.to(memory_format=torch.channels_last)
    distributed.broadcast_modules(net)
    state = torch.cat([t.flatten().float() for t in net.state_dict().values()])
    assert all(torch.equal(part, state) for part in gathered(state)), "broadcast: weights differ"

    def grads(rank: int) -> list[torch.Tensor]:  # net[-1] stays out of the graph: no gradient
        net.zero_grad(set_to_none=True)
        x = torch.full((3, 3, 8, 8), rank + 1.0).contiguous(memory_format=torch.channels_last)
        net[:-1](x).square().sum().backward()
        return [p.grad.clone() for p in net[:-1].parameters()]

    per_rank = [grads(r) for r in range(distributed.world_size())]
    expected = [torch.stack(g).mean(0) for g in zip(*per_rank)]
    grads(distributed.rank())
    distributed.average_gradients(net.parameters())
    for p, e in zip(net[:-1].parameters(), expected):
        torch.testing.assert_close(p.grad, e)
    assert all(p.grad is None for p in net[-1].parameters())
    assert distributed.mean_over_processes({"loss": float(distributed.rank())}) == {"loss": 0.5}


def same_parameters(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def check_exact_resume(folder: Path) -> None:
    """A run killed after 3 steps and resumed ends with the weights of an uninterrupted run, and the
    processes agree on them. BatchNorm statistics are per process and rank 0 saves its own: a resumed
    process has rank 0's, so the whole state is compared on rank 0 alone."""
    for name, train, overrides in [
            ("editor-r1", train_editor_tiny, dict(penalty="r1", penalty_every=2, heads_pretrain_steps=2)),
            ("editor-gp", train_editor_tiny, dict(adversarial_loss="wgan-gp", penalty="gp", penalty_every=2)),
            ("translator", train_translator_tiny, dict(lambda_cycle=10.0, lambda_id=0.5))]:
        whole = train(folder, f"{name}-whole", **overrides).generator
        train(folder, f"{name}-killed", max_steps=3, **overrides)
        resumed = train(folder, f"{name}-killed", **overrides).generator
        assert (same_weights if distributed.is_main() else same_parameters)(resumed, whole), f"{name}: resumed"
        weights = torch.cat([p.detach().flatten() for p in whole.parameters()])
        assert all(torch.equal(part, weights) for part in gathered(weights)), f"{name}: processes disagree"


if __name__ == "__main__":
    torch.set_num_threads(1)
    distributed.setup()
    assert distributed.world_size() == 2
    check_broadcast_and_gradient_average()
    check_exact_resume(Path(sys.argv[1]))
    train_editor_tiny(Path(sys.argv[1]), "heads-only", max_steps=2, **HEADS_ONLY)
    distributed.cleanup()
