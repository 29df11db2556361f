"""Ears: planar 3-D shapes hinged at the sides of the head, so a turned head
shows the near ear broadside and hides the far one behind the skull."""

from __future__ import annotations

import numpy as np

from facegan.render.geometry import ORIGIN, head_profile, rotate
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState
from facegan.render.scene import XS, YS, Canvas, columns
from facegan.render.shapes import coverage, ellipse_sdf, tinted
from facegan.render.thermal import material


def ear_root(ident: Identity, age: float, side: int) -> np.ndarray:
    a, _ = head_profile(ident, age, np.array([ident.ear_v], np.float32))
    return np.array([side * (a[0] - 1.0), ident.ear_v, -3.0], np.float32)


def draw_ears(cv: Canvas, ident: Identity, st: ImageState, skin_rgb):
    if ident.hair_style == "long":   # covered by the hair
        return
    v0 = int(ORIGIN[1] + ident.ear_v - ident.ear_h)
    rows = slice(max(v0, 0), int(ORIGIN[1] + ident.ear_v + ident.ear_h))
    Y = YS[rows][:, None] - ident.ear_v
    for side in (-1, 1):
        phi = ident.ear_angle
        root = rotate(ear_root(ident, st.age, side), st.yaw_deg)
        along = rotate(np.array([side * np.sin(phi), 0, -np.cos(phi)], np.float32), st.yaw_deg)
        facing = rotate(np.array([side * np.cos(phi), 0, np.sin(phi)], np.float32), st.yaw_deg)
        k = along[0] if abs(along[0]) > 0.12 else 0.12 * np.sign(along[0] or 1)
        w, h = ident.ear_w, ident.ear_h / 2
        # Only columns where the coverage can be > 0: sdf < 0.6 / m, and ellipse_sdf >= (r - 1) *
        # min(w, h) outside, so |p - w| < w * (1 + 0.6 / m / min(w, h)).
        m = max(abs(k), 0.3)
        reach = abs(k) * w * (1 + 0.6 / m / min(w, h))
        x_mid = float(root[0] + k * w)
        cols = columns(x_mid - reach, x_mid + reach)
        p = (XS[None, cols] - root[0]) / k                     # position along the ear
        depth = root[2] + p * along[2]
        sdf = ellipse_sdf(p - w, Y + 1 - 0.12 * (p - w), w, h)
        cov = coverage(sdf * m, 0.6) * (depth > cv.depth[rows, cols] - 0.5)
        concha = np.exp(-0.5 * (((p - 0.9 * w) / (0.45 * w)) ** 2 + ((Y - 1.5) / (0.35 * h)) ** 2))
        light = st.ambient + st.light * max(float(facing @ st.light_dir), 0.0)
        rgb = tinted(light * (1 - 0.45 * concha), skin_rgb * 0.93 * st.light_rgb)
        cv.over(rows, cov, rgb, material("ear", ident.t_skin, st.t_ambient), depth, cols=cols)
