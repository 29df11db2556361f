"""Painted facial features in texture space: eyes, brows, nostrils, mouth.

Each feature is a few soft signed-distance shapes around its own window.
Expressions change the shapes: a smile narrows the eyes, lifts the mouth
corners and opens the lips over the teeth; age thins the lips.
"""

from __future__ import annotations

import numpy as np

from facegan.render.geometry import TEX, age_weight, mouth_corners
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState
from facegan.render.shapes import coverage, darken, gauss, paint

SCLERA = np.array([0.88, 0.85, 0.80], np.float32)
LASH = np.array([0.06, 0.04, 0.04], np.float32)
TEETH = np.array([0.93, 0.90, 0.83], np.float32)
MOUTH_IN = np.array([0.28, 0.07, 0.07], np.float32)
LIPSTICK = np.array([0.70, 0.10, 0.18], np.float32)


def eyes(img, ident: Identity, st: ImageState, eye_mask: np.ndarray):
    """Both eyes: lids (narrowed by a smile), sclera, iris, pupil, catch-light, lashes, crease."""
    squint = 0.6 * st.smile
    droop = 0.25 * age_weight(st.age)
    for s in (-1, 1):
        cu, cv = s * ident.eye_sep, ident.eye_v
        ew = ident.eye_w
        hu = ident.eye_h * (1 - 0.7 * squint - droop)
        hl = ident.eye_h * 0.75 * (1 - squint)
        w = TEX.window(cu - ew - 4, cu + ew + 4, cv - ident.eye_h - 6, cv + ident.eye_h + 5)
        sl, U, V = w
        x = (U - cu) * s                               # > 0 towards the outer corner
        y = V - cv + ident.eye_tilt * x
        f = np.clip(1 - (x / ew) ** 2, 0, 1)
        upper = -hu * f * (1 + 0.18 * x / ew)
        lower = hl * f ** 0.8
        inside = coverage(np.maximum(upper - y, y - lower), 0.5) * (np.abs(x) < ew)
        ix, iy = cu + st.gaze[0], cv + st.gaze[1] + 0.3
        r_iris = 0.42 * ew
        d_iris = np.hypot(U - ix, V - iy)
        white = SCLERA * (1 - 0.25 * (np.abs(x) / ew) ** 2)[..., None]
        eye = np.where((d_iris < r_iris)[..., None], ident.iris * (0.75 + 0.5 * (d_iris / r_iris))[..., None],
                       white)
        eye = np.where((d_iris < 0.38 * r_iris)[..., None], LASH, eye)
        catch = gauss(U - ix + 1.1, V - iy + 1.1, 0.6, 0.6)
        eye = eye + catch[..., None] * 0.8
        lid_shadow = np.clip(1 - 0.35 * np.exp(-((y - upper) / 1.5) ** 2), 0, 1)[..., None]
        paint(img, sl, inside, eye * lid_shadow)
        eye_mask[sl] = np.maximum(eye_mask[sl], inside)
        lash = coverage(np.abs(y - upper) - (0.55 + 0.45 * (x / ew + 1) / 2), 0.5) * (np.abs(x) < ew + 1.2)
        paint(img, sl, 0.9 * lash, LASH)
        darken(img, sl, 0.25 * np.exp(-((y - lower) / 0.6) ** 2) * (np.abs(x) < ew))
        if ident.crease:
            darken(img, sl, 0.22 * np.exp(-((y - (upper - 2.3 - 0.5 * f)) / 0.6) ** 2) * (np.abs(x) < ew * 0.9))


def brows(img, ident: Identity, st: ImageState, colour):
    for s in (-1, 1):
        cu = s * (ident.eye_sep + 1.0)
        cv = ident.eye_v - ident.brow_gap - 1.0 * st.smile
        half = ident.brow_len / 2
        w = TEX.window(cu - half - 3, cu + half + 3, cv - 8, cv + 6)
        sl, U, V = w
        x = (U - cu) * s                               # > 0 outwards
        t = np.clip((x + half) / (2 * half), 0, 1)     # 0 inner end .. 1 outer end
        centre = cv - ident.brow_arch * (1 - ((t - 0.6) / 0.6) ** 2) + 2.0 * t ** 3
        thick = ident.brow_thick * (1.15 - 0.7 * t)
        d = np.maximum(np.abs(V - centre) - thick, np.abs(x) - half)
        paint(img, sl, ident.brow_dark * coverage(d, 0.8), colour)


def nostrils(img, ident: Identity):
    for s in (-1, 1):
        cu, cv = s * (ident.nose_w - 4.3), ident.nose_tip + 3.6
        w = TEX.window(cu - 4, cu + 4, cv - 3, cv + 3)
        sl, U, V = w
        d = np.hypot((U - cu) / 2.1, (V - cv) / 1.1) - 1
        paint(img, sl, 0.85 * coverage(d * 1.2, 0.5), ident.skin * 0.25)


def mouth(img, ident: Identity, st: ImageState, interior: np.ndarray):
    """Lips around a lip line bent by the smile; an open mouth shows teeth and a dark interior."""
    mw, mv = mouth_corners(ident, st.smile)
    lift = ident.mouth_v - mv
    thin = 1 - 0.45 * age_weight(st.age)
    lip_col = LIPSTICK if st.lipstick else ident.lip_rgb * (1 - 0.2 * age_weight(st.age))
    o = st.mouth_open
    w = TEX.window(-mw - 4, mw + 4, mv - 8, ident.mouth_v + o + 9)
    sl, U, V = w
    x = U / mw
    f = np.clip(1 - x * x, 0, 1)
    line = mv + (lift + 0.6) * (1 - x * x)           # U-shaped when smiling
    top_in = line - 0.25 * o * f ** 0.8
    bot_in = line + 0.75 * o * f ** 0.7
    bow = 0.7 * np.exp(-((U / 2.0) ** 2)) - 0.5 * np.exp(-(((np.abs(U) - 3.5) / 2.0) ** 2))
    up_edge = top_in - ident.lip_up * thin * f ** 0.6 + bow
    lo_edge = bot_in + ident.lip_lo * thin * f ** 0.6
    upper = coverage(np.maximum(up_edge - V, V - top_in), 0.5) * (np.abs(x) < 1)
    lower = coverage(np.maximum(bot_in - V, V - lo_edge), 0.5) * (np.abs(x) < 1)
    paint(img, sl, 0.9 * upper, lip_col * 0.88)
    paint(img, sl, 0.9 * lower, lip_col * (1 + 0.12 * np.exp(-((V - (bot_in + lo_edge) / 2) / 1.2) ** 2))[..., None])
    if o > 0.3:
        inner = coverage(np.maximum(top_in - V, V - bot_in), 0.5) * (np.abs(x) < 1)
        teeth = MOUTH_IN + (TEETH - MOUTH_IN) * (coverage(V - (top_in + min(0.55 * o, 3.8)), 0.5)
                                                  * np.clip(1.3 - np.abs(x) * 1.1, 0, 1))[..., None]
        gaps = 1 - 0.25 * np.exp(-((np.mod(U + 1.25, 2.5) - 1.25) / 0.3) ** 2)
        paint(img, sl, inner, teeth * gaps[..., None])
        interior[sl] = np.maximum(interior[sl], inner)
    else:
        darken(img, sl, 0.55 * np.exp(-((V - line) / 0.55) ** 2) * (np.abs(x) < 1.02))
    for s in (-1, 1):  # corner shadows / dimples
        darken(img, sl, (0.2 + 0.2 * st.smile) * gauss(U - s * (mw + 0.8), V - mv, 1.0, 1.4))
