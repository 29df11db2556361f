"""Skin albedo: persistent tone, blush, freckles, moles and scars; per-image
ageing (tone shift, age spots, wrinkles, folds); facial hair."""

from __future__ import annotations

import numpy as np

from facegan.render.geometry import TEX, age_weight, mouth_corners, nasolabial_dist
from facegan.render.identity import Identity
from facegan.render.shapes import coverage, darken, gauss, paint, segment_dist, smooth_noise

MOLE = np.array([0.25, 0.15, 0.10], np.float32)
SCAR = np.array([0.92, 0.70, 0.66], np.float32)


def base_albedo(ident: Identity) -> np.ndarray:
    """Identity skin texture (rows x samples x RGB), reused by all its photos."""
    rng = np.random.default_rng([ident.index, 23])
    U, V = TEX.x[None, :], TEX.y[:, None]
    mottling = 1 + 0.035 * smooth_noise(rng, (TEX.ny, TEX.nx), (14, 18))
    img = (ident.skin[None, None, :] * mottling[..., None]).astype(np.float32)
    blush = ident.rosy * (gauss(np.abs(U) - 24, V - 20, 9, 7) + 0.6 * gauss(U, V - ident.nose_tip, 5, 4))
    img *= (1 - blush[..., None] * np.array([0.0, 0.45, 0.35], np.float32))
    img *= (1 - 0.07 * gauss(np.abs(U) - ident.eye_sep, V - ident.eye_v - 4, 7, 3))[..., None]  # under-eye
    if ident.freckles:
        _freckles(img, ident, rng)
    for u, v, r in ident.moles:
        w = TEX.window(u - r - 2, u + r + 2, v - r - 2, v + r + 2)
        if w is not None:
            sl, Uw, Vw = w
            paint(img, sl, coverage(np.hypot(Uw - u, Vw - v) - r, 0.5), MOLE)
    if ident.scar:
        u0, v0, u1, v1 = ident.scar
        w = TEX.window(min(u0, u1) - 3, max(u0, u1) + 3, min(v0, v1) - 3, max(v0, v1) + 3)
        sl, Uw, Vw = w
        paint(img, sl, 0.7 * coverage(segment_dist(Uw, Vw, u0, v0, u1, v1) - 0.6, 0.5),
              SCAR * ident.skin / ident.skin.max())
    return img


def _freckles(img, ident: Identity, rng):
    n = int(120 * ident.freckles)
    us = rng.normal(0, 16, n)
    vs = rng.normal(16, 7, n)
    tone = ident.skin * np.array([0.72, 0.58, 0.48], np.float32)
    for u, v in zip(us, vs):
        w = TEX.window(u - 1.5, u + 1.5, v - 1.5, v + 1.5)
        if w is not None:
            sl, Uw, Vw = w
            paint(img, sl, 0.5 * coverage(np.hypot(Uw - u, Vw - v) - 0.55, 0.4), tone)


def age_skin(img, ident: Identity, age: float, smile: float):
    """Ageing: sallower tone, age spots, forehead lines, crow's feet, folds."""
    aw = age_weight(age)
    if aw > 0:
        grey = img.mean(-1, keepdims=True)
        img[:] = img * (1 - 0.25 * aw) + grey * (0.25 * aw) * np.array([1.04, 1.0, 0.9], np.float32)
        img *= 1 - 0.06 * aw
        _spots(img, ident, aw)
        _forehead_lines(img, ident, aw)
        _crows_feet(img, ident, aw + 0.5 * smile)
        _marionette(img, ident, aw)
    _nasolabial(img, ident, 0.12 + 0.33 * smile + 0.3 * aw, smile)


def _spots(img, ident: Identity, aw: float):
    rng = np.random.default_rng([ident.index, 29])   # same spots every photo of this person
    tone = ident.skin * np.array([0.75, 0.62, 0.5], np.float32)
    for _ in range(10):
        u, v, r = rng.uniform(-32, 32), rng.uniform(-40, 30), rng.uniform(0.8, 2.0)
        w = TEX.window(u - r - 2, u + r + 2, v - r - 2, v + r + 2)
        sl, Uw, Vw = w
        paint(img, sl, 0.45 * aw * coverage(np.hypot(Uw - u, Vw - v) - r, 0.9), tone)


def _forehead_lines(img, ident: Identity, aw: float):
    w = TEX.window(-26, 26, -48, -18)
    sl, U, V = w
    amt = np.zeros((V.shape[0], U.shape[1]), np.float32)
    for k, v0 in enumerate((-24.0, -30.0, -36.0, -42.0)):
        curve = v0 + 0.006 * U * U + 0.6 * np.sin(U * 0.2 + k)
        amt += np.exp(-(((V - curve) / 0.7) ** 2)) * np.clip(1 - np.abs(U) / 25, 0, 1)
    darken(img, sl, 0.28 * aw * amt)


def _crows_feet(img, ident: Identity, k: float):
    for s in (-1, 1):
        x0 = s * (ident.eye_sep + ident.eye_w + 1)
        w = TEX.window(x0 - 7, x0 + 7, ident.eye_v - 7, ident.eye_v + 7)
        sl, U, V = w
        d = np.full((V.shape[0], U.shape[1]), 99.0, np.float32)
        for ang in (-0.45, 0.0, 0.45):
            d = np.minimum(d, segment_dist(U, V, x0, ident.eye_v, x0 + s * 6 * np.cos(ang),
                                           ident.eye_v + 6 * np.sin(ang)))
        darken(img, sl, np.clip(0.22 * k, 0, 0.35) * np.exp(-((d / 0.6) ** 2)))


def _marionette(img, ident: Identity, aw: float):
    for s in (-1, 1):
        u0 = s * (ident.mouth_w + 1)
        w = TEX.window(u0 - 5, u0 + 5, ident.mouth_v, ident.mouth_v + 14)
        sl, U, V = w
        d = segment_dist(U, V, u0, ident.mouth_v + 1, u0 + s * 2.5, ident.mouth_v + 12)
        darken(img, sl, 0.2 * aw * np.exp(-((d / 0.8) ** 2)))


def _nasolabial(img, ident: Identity, k: float, smile: float):
    for s in (-1, 1):
        w = TEX.window(s * (ident.nose_w + 4) - 12, s * (ident.nose_w + 4) + 12,
                       ident.nose_tip - 2, ident.mouth_v + 9)
        sl, U, V = w
        d = nasolabial_dist(U, V, ident, s, smile)
        darken(img, sl, np.clip(k, 0, 0.5) * np.exp(-((d / (0.9 + smile)) ** 2)))


def facial_hair(img, ident: Identity, age: float, smile: float, strand: np.ndarray, hair_rgb) -> np.ndarray:
    """Paint beard/moustache/goatee/stubble; returns its coverage (for the thermal model)."""
    U, V = TEX.x[None, :], TEX.y[:, None]
    cov = np.zeros((TEX.ny, TEX.nx), np.float32)
    kind = ident.facial_hair
    if kind == "none":
        return cov
    mw, mv = mouth_corners(ident, smile)
    lips = coverage(np.maximum(np.abs(U) - mw, np.abs(V - mv - 0.5) - 4.0), 1.0)
    moustache = coverage(np.maximum(np.abs(U) - mw - 2 + 0.2 * (V - mv),
                                    np.maximum(ident.nose_tip + 5.5 - V, V - mv + 2.0)), 1.0)
    goatee = coverage(np.hypot(U / 10.5, (V - ident.chin + 9) / 11.5) - 1, 0.15)
    beard_line = 30 - 20 * (U / 45) ** 2
    beard = coverage(beard_line - V, 1.5) * coverage(np.abs(U) - ident.head_w + 3, 1.0)
    region = {"stubble": np.maximum(beard, moustache), "moustache": moustache,
              "goatee": goatee, "beard": np.maximum(beard, moustache),
              "vandyke": np.maximum(goatee, moustache)}[kind]
    cov = region * (1 - 0.85 * lips)
    density = 0.35 if kind == "stubble" else 0.92
    cov = np.clip(cov * (density + 0.15 * strand), 0, 1)
    tone = np.asarray(hair_rgb, np.float32) * (0.8 if kind != "stubble" else 0.5)
    paint(img, np.s_[:, :], cov, tone)
    return cov
