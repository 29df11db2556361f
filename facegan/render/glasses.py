"""Eyeglasses: lens outlines in a plane in front of the eyes, turned with the
head; frames are the band |sdf| < thickness, temples run back to the ears.
Lenses are tinted and catch a sheen in visible light, and are opaque and
cold in LWIR (glass blocks long-wave infrared)."""

from __future__ import annotations

import numpy as np

from facegan.render.ears import ear_root
from facegan.render.geometry import ORIGIN, rotate
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState
from facegan.render.scene import XS, YS, Canvas, columns
from facegan.render.shapes import box_sdf, coverage, ellipse_sdf, segment_dist
from facegan.render.thermal import material

# style -> (frame thickness, is metal)
STYLE = {"round": (1.8, True), "rectangular": (2.2, False), "thick": (3.6, False), "aviator": (1.4, True)}
TINT = np.array([0.12, 0.10, 0.09], np.float32)


def lens_sdf(style: str, p, q):
    """Lens outline in lens-plane coordinates (p outwards from the lens centre, q down)."""
    if style == "round":
        return np.hypot(p, q) - 11.5
    if style == "rectangular":
        return box_sdf(p, q, 13.0, 8.5, 3.0)
    if style == "thick":
        return box_sdf(p, q + 0.5, 13.5, 9.5, 4.0)
    return np.maximum(ellipse_sdf(p - 0.5, q - 1.5, 13.0, 11.5), -(q + 8.5))   # aviator teardrop


def side_sign(u):
    return np.where(u < 0, -1.0, 1.0)


def draw_glasses(cv: Canvas, ident: Identity, st: ImageState, z_eye: float):
    if not st.eyeglasses:
        return
    th = np.deg2rad(st.yaw_deg)
    c, s = np.cos(th), np.sin(th)
    thick, metal = STYLE[st.glasses_style]
    z_l = z_eye + 9.0
    cu, cv_ = ident.eye_sep + 0.8, ident.eye_v + 0.5
    rows = slice(int(ORIGIN[1] + cv_ - 16), int(ORIGIN[1] + cv_ + 17))
    # Only the columns the lenses and frames can cover: every lens_sdf exceeds its |p| - 13.5 (the
    # aviator's ellipse (|p| - 13.5) / 1.2), and nothing shows where it exceeds thick + 0.6 / c.
    reach = (cu + 13.5 + 1.2 * (thick + 0.6 / c)) * c
    cols = columns(z_l * s - reach, z_l * s + reach)
    Y = YS[rows][:, None] - cv_
    U = (XS[None, cols] - z_l * s) / c              # lens-plane u of each pixel
    depth = -U * s + z_l * c
    frame = np.zeros((Y.shape[0], U.shape[1]), np.float32)
    lens = np.zeros_like(frame)
    for side in (-1, 1):
        d = lens_sdf(st.glasses_style, (U - side * cu) * side, Y)
        lens = np.maximum(lens, coverage(d, 0.6 / c))
        frame = np.maximum(frame, coverage((np.abs(d) - thick) * c, 0.6))
    bridge_q = -2.5 if st.glasses_style != "aviator" else -6.5
    inner = cu - 11.5
    bridge = segment_dist(U, Y - 0.15 * U * U / max(inner, 1), -inner, bridge_q, inner, bridge_q)
    frame = np.maximum(frame, coverage((bridge - 0.5 * thick - 0.2) * c, 0.6))
    if st.glasses_style == "aviator":
        frame = np.maximum(frame, coverage((segment_dist(U, Y, -inner, -8.5, inner, -8.5) - 0.45) * c, 0.6))
    # glass: tint plus one soft diagonal reflection of the light
    sheen = 0.35 * np.exp(-(((U * side_sign(U) + Y + 4) / 3.0) ** 2))
    glass_a = lens * np.clip(st.glasses_tint + 0.5 * sheen, 0, 1)
    glass_rgb = TINT * (1 - sheen)[..., None] + np.float32(0.95) * sheen[..., None]
    t_lens = material("lens", ident.t_skin, st.t_ambient)
    cv.over(rows, glass_a, glass_rgb, t_lens, cols=cols)
    cv.temp[rows, cols] = cv.temp[rows, cols] * (1 - lens) + t_lens * lens     # opaque in LWIR
    shine = 1.0 + (0.5 if metal else 0.15) * np.exp(-((Y + 4) / 2.0) ** 2)
    frame_rgb = st.frame_rgb * (st.ambient + st.light * 0.7) * shine[..., None]
    cv.over(rows, frame, frame_rgb, material("frame", ident.t_skin, st.t_ambient), depth, cols=cols)
    _temples(cv, ident, st, z_l, cu, thick)


def _temples(cv: Canvas, ident: Identity, st: ImageState, z_l: float, cu: float, thick: float):
    for side in (-1, 1):
        a = rotate(np.array([side * (cu + 11.5), ident.eye_v - 2.0, z_l], np.float32), st.yaw_deg)
        root = ear_root(ident, st.age, side)
        b = rotate(np.array([root[0], root[1] - ident.ear_h * 0.35, root[2] + 1.0], np.float32), st.yaw_deg)
        lo, hi = int(ORIGIN[1] + min(a[1], b[1]) - 3), int(ORIGIN[1] + max(a[1], b[1]) + 4)
        rows = slice(lo, hi)
        reach = 0.5 * thick + 0.7            # the coverage is 0 farther from the segment
        cols = columns(min(a[0], b[0]) - reach, max(a[0], b[0]) + reach)
        X, Y = XS[None, cols], YS[rows][:, None]
        d = segment_dist(X, Y, a[0], a[1], b[0], b[1])
        t = np.clip(((X - a[0]) * (b[0] - a[0]) + (Y - a[1]) * (b[1] - a[1]))
                    / max((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2, 1e-6), 0, 1)
        depth = a[2] + t * (b[2] - a[2])
        cov = coverage(d - 0.5 * thick - 0.1, 0.6) * (depth > cv.depth[rows, cols] - 0.5)
        rgb = st.frame_rgb * (st.ambient + st.light * 0.6)
        cv.over(rows, cov, np.broadcast_to(rgb, (*cov.shape, 3)), material("frame", ident.t_skin, st.t_ambient),
                depth, cols=cols)
