"""Per-step randomness as pure functions of the seed: a resumed run draws what an uninterrupted one does.

Batch order comes from (seed, epoch) and everything random within a step from a generator seeded by
(seed, step), so neither depends on how many steps ran before in this process.
"""

from __future__ import annotations

import numpy as np
import torch


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The epoch's shuffled batches, a pure function of (seed, epoch); the ragged tail is dropped
    (a tiny last batch gives BatchNorm noisy statistics)."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    full = n // batch_size
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(full)]


def step_generator(seed: int, step: int) -> torch.Generator:
    """The step's own torch generator (flips, targets, augmentation, noise)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step]).generate_state(1)[0]))
