"""What bad edits look like, drawn onto real faces: the negatives the quality critic learns from.

An editor that blends its output into the source through a mask leaves half-transparent double
faces where the two disagree (turns to +-40 degrees); decoders smear, blotch and tear. Each face
gets one kind at a severity s in [MILD, 1]: the low end is barely visible, so the critic learns a
graded score rather than a switch.

- ghost: the face alpha-blended (alpha 0.25-0.75 at s >= 0.25, less when milder) with a shifted,
  mirrored or warped copy of itself, or with another face of the batch; over the whole face or
  inside a soft blob, as a mask blend does
- double_edges: the high frequencies of a shifted copy added: contours drawn twice, no ghost colour
- smear: motion or box blur inside one to three soft patches
- blotch: low-frequency colour fields inside soft blobs
- warp: a local smooth displacement, or a tear (a band of the face slid along itself)
- fringe: colour channels drawn apart (rainbow edges) with streaks of colour noise along one
  direction: what a decoder's failed turn leaves (the default run's worst -40/+40 degree edits)

Torch on N x 3 x S x S inputs in [-1, 1]; every draw comes from the generator passed in, so a
batch degrades the same way for the same generator state. The result is quantized to uint8 levels
as real faces are: otherwise "not on the uint8 grid" alone would tell the two classes apart.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KINDS = ("ghost", "double_edges", "smear", "blotch", "warp", "fringe")
MILD = 0.1  # lowest severity


def _u(rng: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=rng))


def _pick(rng: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (), generator=rng))


def _affine(img: torch.Tensor, *, angle: float = 0.0, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0,
            flip: bool = False) -> torch.Tensor:
    """3 x S x S resampled by a rotation (degrees), scale, shift (pixels) and mirror; edges reflected."""
    side = img.shape[-1]
    a, c = math.cos(math.radians(angle)) / scale, math.sin(math.radians(angle)) / scale
    theta = torch.tensor([[a * (-1 if flip else 1), -c, -2 * dx / side], [c, a, -2 * dy / side]])
    grid = F.affine_grid(theta[None], [1, *img.shape], align_corners=False)
    return F.grid_sample(img[None], grid, padding_mode="reflection", align_corners=False)[0]


def _blob(side: int, rng: torch.Generator, lo: float = 0.2, hi: float = 0.5) -> torch.Tensor:
    """1 x S x S soft ellipse (1 inside, fading out over a few pixels) of radii lo-hi x S."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    cx, cy = _u(rng, -0.5, 0.5), _u(rng, -0.5, 0.5)
    rx, ry = 2 * _u(rng, lo, hi), 2 * _u(rng, lo, hi)
    r = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    return torch.sigmoid((1 - r) * 6)[None]


def _region(side: int, rng: torch.Generator) -> torch.Tensor | float:
    """Where a degradation applies: the whole face or a soft blob, even odds."""
    return 1.0 if _u(rng) < 0.5 else _blob(side, rng, 0.25, 0.6)


def _low_frequency(channels: int, side: int, rng: torch.Generator) -> torch.Tensor:
    """channels x S x S smooth random field (a 2-5 cell grid upsampled), unit scale."""
    cells = 2 + _pick(rng, 4)
    coarse = torch.randn(1, channels, cells, cells, generator=rng)
    return F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)[0]


def ghost(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    side, px = x.shape[-1], x.shape[-1] / 64  # shifts are in 64-px pixels, scaled to the face size
    partner = _pick(rng, 4)
    shift = dict(dx=_u(rng, -1, 1) * px * _u(rng, 3, 22), dy=_u(rng, -1, 1) * px * _u(rng, 2, 8))
    if partner == 0:
        copy = _affine(x, **shift)
    elif partner == 1:
        copy = _affine(x, flip=True, **{k: v / 3 for k, v in shift.items()})
    elif partner == 2:
        copy = _affine(x, angle=_u(rng, -15, 15), scale=_u(rng, 0.88, 1.15), **{k: v / 2 for k, v in shift.items()})
    else:
        copy = _affine(other, **{k: v / 4 for k, v in shift.items()})
    alpha = 0.1 + 0.65 * (s - MILD) / (1 - MILD)
    out = x + alpha * _region(side, rng) * (copy - x)
    if _u(rng) < 0.3:  # a third face: turns that fail leave more than one ghost
        out = out + alpha / 2 * _region(side, rng) * (_affine(x, dx=-shift["dx"], dy=-shift["dy"]) - out)
    return out


def double_edges(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    px = x.shape[-1] / 64
    angle = _u(rng, 0, 2 * math.pi)
    offset = px * _u(rng, 1.5, 5)
    copy = _affine(x, dx=offset * math.cos(angle), dy=offset * math.sin(angle))
    edges = copy - F.avg_pool2d(copy[None], 5, 1, 2, count_include_pad=False)[0]
    return x + (0.4 + 1.6 * s) * _region(x.shape[-1], rng) * edges


def smear(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    side, px = x.shape[-1], x.shape[-1] / 64
    out = x
    for _ in range(1 + _pick(rng, 3)):
        length = max(2, round(px * (2 + 10 * s)))
        if _u(rng) < 0.5:  # motion blur: the mean of copies along one direction
            angle = _u(rng, 0, math.pi)
            steps = torch.linspace(-length / 2, length / 2, length).tolist()
            blurred = torch.stack([_affine(out, dx=t * math.cos(angle), dy=t * math.sin(angle))
                                   for t in steps]).mean(0)
        else:
            k = length | 1
            blurred = F.avg_pool2d(out[None], k, 1, k // 2, count_include_pad=False)[0]
        out = out + _blob(side, rng, 0.12, 0.3 + 0.15 * s) * (blurred - out)
    return out


def blotch(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    side = x.shape[-1]
    out = x
    for _ in range(1 + _pick(rng, 3)):
        colour = torch.randn(3, 1, 1, generator=rng) + 0.5 * _low_frequency(3, side, rng)
        out = out + (0.04 + 0.4 * s) * _blob(side, rng, 0.1, 0.3) * colour
    return out


def warp(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    side = x.shape[-1]
    base = F.affine_grid(torch.eye(2, 3)[None], [1, *x.shape], align_corners=False)[0]  # S x S x 2
    if _u(rng) < 0.5:  # smooth local displacement, in grid units (2 = the face's width)
        flow = (0.02 + 0.14 * s) * _blob(side, rng, 0.2, 0.5) * _low_frequency(2, side, rng)
        flow = flow.permute(1, 2, 0)
    else:  # tear: a band slid along itself, with hard edges
        axis = _pick(rng, 2)
        start, width = _u(rng, -0.8, 0.5), _u(rng, 0.1, 0.5)
        coord = base[..., 1 - axis]
        band = ((coord >= start) & (coord < start + width)).float()
        flow = torch.zeros_like(base)
        flow[..., axis] = band * (1 if _u(rng) < 0.5 else -1) * (1 + 6 * s) * 2 / 64
    grid = base + flow
    return F.grid_sample(x[None], grid[None], padding_mode="reflection", align_corners=False)[0]


def fringe(x: torch.Tensor, other: torch.Tensor, s: float, rng: torch.Generator) -> torch.Tensor:
    side, px = x.shape[-1], x.shape[-1] / 64
    offset, angle = px * (0.5 + 4 * s), _u(rng, 0, 2 * math.pi)
    apart = torch.stack([_affine(x[c:c + 1], dx=(c - 1) * offset * math.cos(angle),
                                 dy=(c - 1) * offset * math.sin(angle))[0] for c in range(3)])
    streaks = torch.randn(3, 4, side // 4, generator=rng)  # smooth along rows, varying across them
    streaks = streaks if _u(rng) < 0.5 else streaks.transpose(1, 2)
    streaks = F.interpolate(streaks[None], size=(side, side), mode="bilinear", align_corners=False)[0]
    return apart + (0.05 + 0.25 * s) * _region(side, rng) * streaks


DEGRADE = {"ghost": ghost, "double_edges": double_edges, "smear": smear, "blotch": blotch, "warp": warp,
           "fringe": fringe}


def degrade(x: torch.Tensor, rng: torch.Generator, kinds: tuple[str, ...] = KINDS,
            min_severity: float = MILD) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """Each face of N x 3 x S x S `x` ([-1, 1]) degraded by one of `kinds` drawn per face, at a severity
    drawn in [min_severity, 1]: (the faces on the uint8 grid, the kinds, the severities). A ghost of
    "another face" takes the next face of the batch."""
    unknown = [k for k in kinds if k not in DEGRADE]
    if unknown:
        raise ValueError(f"unknown degradation {unknown[0]!r}; choose from {', '.join(KINDS)}")
    x = x.detach().float().cpu()
    chosen = [kinds[_pick(rng, len(kinds))] for _ in range(len(x))]
    severity = min_severity + (1 - min_severity) * torch.rand(len(x), generator=rng)
    out = torch.stack([DEGRADE[k](face, x[(i + 1) % len(x)], float(s), rng)
                       for i, (face, k, s) in enumerate(zip(x, chosen, severity))])
    return out.clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1), chosen, severity
