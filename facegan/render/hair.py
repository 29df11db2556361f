"""Scalp hair: where it grows (style, hairline, recession with age), its
volume shell over the skull, and its colour (strands, greying)."""

from __future__ import annotations

import numpy as np

from facegan.render.geometry import TEX, age_weight, ellipse_rows, head_profile
from facegan.render.identity import Identity
from facegan.render.shapes import coverage, ellipse_sdf, smooth_noise, smoothstep, tinted

GREY = np.array([0.74, 0.74, 0.73], np.float32)
LONG_STYLES = ("long", "bob")


def bottom(ident: Identity) -> float:
    """v where the hair stops at the sides: above the ear when short, mid-ear when longer."""
    return {"short": -4.0, "buzz": -6.0, "receding": -4.0, "bald": 2.0}.get(ident.hair_style, 4.0)


def volume(ident: Identity) -> float:
    return {"buzz": 1.2, "bald": 0.6}.get(ident.hair_style, ident.hair_vol)


def greyness(ident: Identity, age: float) -> float:
    return float(np.clip(ident.grey_rate * smoothstep(0.45, 0.95, age), 0, 1))


def hairline(ident: Identity, age: float) -> float:
    """v of the hairline centre; it recedes with age, faster for men."""
    aw = age_weight(age)
    return ident.hairline - (6 * aw if ident.male else 1.5 * aw) - (6 if ident.hair_style == "receding" else 0)


def recession(ident: Identity, age: float) -> float:
    """Depth of the temple recession (the 'M')."""
    base = 1.0 if ident.hair_style == "receding" else 0.0
    return base + (0.8 * age_weight(age) if ident.male else 0.0)


def strands(ident: Identity) -> np.ndarray:
    """Persistent strand pattern (vertical streaks, blotchier when wavy), about -1..1."""
    rng = np.random.default_rng([ident.index, 17])
    streaks = smooth_noise(rng, (TEX.ny, TEX.nx), (10, 110))
    blotch = smooth_noise(rng, (TEX.ny, TEX.nx), (24, 40))
    return np.clip(0.5 * ((1 - ident.wavy) * streaks + ident.wavy * blotch), -1, 1)


def scalp_mask(ident: Identity, age: float, ragged: np.ndarray) -> np.ndarray:
    """Hair coverage of the front layer (rows x samples)."""
    U, V = TEX.x[None, :], TEX.y[:, None]
    hl = hairline(ident, age)
    chin = ident.chin
    face = ellipse_sdf(U, V - (hl + chin) / 2, ident.head_w - 5.5, (chin - hl) / 2 + 4)
    rec = recession(ident, age)
    if rec > 0:  # temples bare above the outer brows
        face = np.minimum(face, ellipse_sdf(np.abs(U) - 15, V - hl, 9, 1 + 9 * rec))
    depth = face + 0.8 * ragged           # > 0 where hair grows (outside the face oval)
    if ident.hair_style == "bangs":
        fringe = -15.0 + 1.5 * np.sin(U * 0.45 + ident.part * 3) - 0.004 * U * U
        depth = np.maximum(depth, fringe - V + 0.6 * ragged)
    if ident.hair_style == "bald":        # only a fringe low at the sides
        depth = np.minimum(depth, np.minimum(np.abs(U) - (ident.head_w - 4), V + 28))
    depth = np.minimum(depth, bottom(ident) - V)
    return coverage(-depth, 1.0)


def shell(ident: Identity, age: float):
    """The hair volume: a head profile inflated by the hair thickness."""
    a, b = head_profile(ident, age, TEX.y, inflate=volume(ident))
    z, inside = ellipse_rows(a, b, TEX.x[None, :], ident.flat)
    return z, inside, a


def colour(ident: Identity, age: float, strand: np.ndarray) -> np.ndarray:
    """Per-sample hair albedo: identity colour mixed to grey with age, modulated by strands."""
    base = ident.hair_rgb * (1 - greyness(ident, age)) + GREY * greyness(ident, age)
    return tinted(0.78 + 0.3 * strand, base)


def parting(ident: Identity, age: float) -> tuple[float, float] | None:
    """(u, lowest v) of the visible parting line, for styles that have one."""
    if ident.hair_style not in ("short", "long", "bob", "receding"):
        return None
    return ident.part * 13.0, hairline(ident, age) - 1.0
