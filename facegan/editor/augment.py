"""Differentiable augmentation of the discriminator's inputs (DiffAugment, Zhao et al. 2020).

Real and fake faces pass the same random translation and cutout before D, and
G's gradient flows back through them. D's attribute and yaw heads then learn
features that survive a shift or a hidden patch, so G cannot satisfy them with
a pixel-exact pattern (the checkerboards at the mouth): it has to draw the
attribute, which is what other classifiers (the judges) read too. Neither op
changes an attribute or the yaw, so the heads' labels stay valid. Randomness
comes from the step's generator, so a resumed run augments identically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facegan.distributed import Shard

POLICIES = ("translation", "cutout")


def _translation(x: torch.Tensor, ratio: float, rng: torch.Generator, part: Shard) -> torch.Tensor:
    """Shift each image by up to `ratio` of its side in x and y; uncovered pixels are zero (gray)."""
    n, _, h, w = x.shape
    max_shift = int(h * ratio + 0.5)
    shift = part.take(torch.randint(-max_shift, max_shift + 1, (2, part.size), generator=rng).T).T.to(x.device)
    rows = (torch.arange(h, device=x.device)[None] + shift[0, :, None] + max_shift).clamp(0, h + 2 * max_shift - 1)
    cols = (torch.arange(w, device=x.device)[None] + shift[1, :, None] + max_shift).clamp(0, w + 2 * max_shift - 1)
    padded = F.pad(x, [max_shift] * 4)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float, rng: torch.Generator, part: Shard) -> torch.Tensor:
    """Zero one square of side `ratio` * size per image, centred anywhere (clipped at the border)."""
    _, _, h, w = x.shape
    size = int(h * ratio + 0.5)
    centre = torch.stack([part.take(torch.randint(0, h, (part.size,), generator=rng)),
                          part.take(torch.randint(0, w, (part.size,), generator=rng))]).to(x.device)
    # Offset of each row/column from the square's first one: inside where 0 <= offset < size.
    rows = torch.arange(h, device=x.device)[None] - centre[0, :, None] + size // 2
    cols = torch.arange(w, device=x.device)[None] - centre[1, :, None] + size // 2
    inside_rows, inside_cols = (rows >= 0) & (rows < size), (cols >= 0) & (cols < size)
    keep = ~(inside_rows[:, :, None] & inside_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


def diff_augment(x: torch.Tensor, policy: list[str] | tuple[str, ...], rng: torch.Generator,
                 part: Shard | None = None, translation: float = 0.125, cutout: float = 0.25) -> torch.Tensor:
    """x with each op of `policy` applied (fresh randomness per image); x is `part`'s share of
    a global batch (all of it by default), the randomness is drawn for the whole batch."""
    part = part or Shard(len(x))
    for op in policy:
        if op == "translation":
            x = _translation(x, translation, rng, part)
        elif op == "cutout":
            x = _cutout(x, cutout, rng, part)
        else:
            raise ValueError(f"unknown augmentation {op!r}; choose from {POLICIES}")
    return x
