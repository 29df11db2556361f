"""Per-step randomness as pure functions of the seed: a resumed run draws what an uninterrupted one does.

Batch order comes from (seed, epoch) and everything random within a step from a generator seeded by
(seed, step), so neither depends on how many steps ran before in this process.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from facegan import distributed


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The epoch's shuffled batches, a pure function of (seed, epoch); the ragged tail is dropped
    (a tiny last batch gives BatchNorm noisy statistics)."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    full = n // batch_size
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(full)]


def step_batch(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The global batch of `step` over `n` items: epochs of `n // batch_size` steps in `epoch_batches` order."""
    epoch, position = divmod(step, n // batch_size)
    return epoch_batches(n, batch_size, seed, epoch)[position]


def step_generator(seed: int, step: int) -> torch.Generator:
    """The step's own torch generator (flips, targets, augmentation, noise)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step]).generate_state(1)[0]))


def keyed_batches(data: Dataset, batch_size: int, seed: int, start: int, stop: int, *,
                  global_seed_at_epoch_start: bool = False,
                  **loader_options) -> Iterator[tuple[tuple[int, int, np.ndarray], object]]:
    """((epoch, step, indices), batch) for steps [start, stop) of a Dataset of whole batches keyed by
    (epoch, step, indices) (facegan.recognition.dataset.TrainBatches): this process's shard of each
    global batch, one DataLoader per epoch.

    A loader without a generator draws its workers' seed from the global RNG, so each gets a fixed
    one. `global_seed_at_epoch_start` keeps the attribute judge's original stream, which drew that
    seed at each epoch's start: only a loader started mid-epoch (a resumed run) gets the fixed one,
    as the uninterrupted run drew the global seed before the checkpoint, not after it."""
    step = start
    while step < stop:
        epoch, first = divmod(step, len(data) // batch_size)
        batches = epoch_batches(len(data), batch_size, seed, epoch)[first:][:stop - step]
        keys = [(epoch, first + i, distributed.shard(b)) for i, b in enumerate(batches)]
        fixed = not (global_seed_at_epoch_start and first == 0)
        generator = torch.Generator().manual_seed(seed) if fixed else None
        yield from zip(keys, DataLoader(data, sampler=keys, batch_size=None, generator=generator, **loader_options))
        step += len(keys)
