"""Exponential moving average of the generator's weights, the copy used for sampling."""

from __future__ import annotations

import copy

import torch


def make_ema(model: torch.nn.Module) -> torch.nn.Module:
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    """Average parameters; copy buffers (BatchNorm statistics). The decay ramps up from 0 so
    that a short run's EMA is not dominated by its random initialization."""
    decay = min(decay, (1 + step) / (10 + step))
    for e, m in zip(ema.parameters(), model.parameters()):
        e.lerp_(m, 1 - decay)
    for e, m in zip(ema.buffers(), model.buffers()):
        e.copy_(m)
