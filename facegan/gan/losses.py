"""Adversarial losses (non-saturating, hinge, WGAN-GP, LSGAN) and the discriminator penalties.

One-sided label smoothing lowers only the real target (Salimans et al.): for
the non-saturating and least-squares losses the real label becomes
1 - smoothing, for hinge the real margin does; WGAN has no labels to smooth.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facegan.distributed import Shard

LOSSES = ("nonsaturating", "hinge", "wgan-gp", "lsgan")


def d_adversarial(kind: str, real: torch.Tensor, fake: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss from its logits on real and fake images."""
    if kind == "nonsaturating":
        return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing))
                + F.softplus(fake).mean())
    if kind == "hinge":
        return F.relu(1 - smoothing - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "lsgan":
        return 0.5 * ((real - (1 - smoothing)) ** 2).mean() + 0.5 * (fake ** 2).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {LOSSES}")


def g_adversarial(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from the discriminator's logits on its images."""
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {LOSSES}")


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of D at real images; `real` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator,
                     part: Shard | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D|| - 1)^2 on random real/fake interpolates
    (weights drawn for the whole global batch that `real` is `part`'s share of)."""
    part = part or Shard(len(real))
    alpha = part.take(torch.rand(part.size, 1, 1, 1, generator=generator)).to(real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def blend_partiality(mask: torch.Tensor) -> torch.Tensor:
    """Mean of 4 m (1 - m) over a blend mask in [0, 1]: 0 where each pixel is copied or drawn, 1 where
    every pixel is half of each (a ghost: the warped input seen through the synthesized face)."""
    return 4 * (mask * (1 - mask)).mean()
