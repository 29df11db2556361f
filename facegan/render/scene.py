"""Everything around the face, in canvas space: background, neck and
shoulders, long hair hanging behind, and the back of the skull (which a
turned head shows on its near side)."""

from __future__ import annotations

import cv2
import numpy as np

from facegan.render import hair
from facegan.render.face import wrapped_diffuse
from facegan.render.geometry import CANVAS, ORIGIN, TEX, TEX_ROW0, back_of_head
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState, pitch_shift
from facegan.render.shapes import coverage, expand, smooth_noise, smoothstep, tinted
from facegan.render.thermal import material

H, W = CANVAS
XS = np.arange(W, dtype=np.float32) - ORIGIN[0]       # canvas columns in face units
YS = np.arange(H, dtype=np.float32) - ORIGIN[1]


def columns(x_lo: float, x_hi: float) -> slice:
    """The canvas columns whose x (face units) lies in [x_lo, x_hi], and one more each side: where a
    local layer is drawn (its coverage is 0 elsewhere, so leaving the rest out changes nothing)."""
    j0 = min(max(int(np.floor(x_lo + ORIGIN[0])) - 1, 0), W)
    return slice(j0, min(max(int(np.ceil(x_hi + ORIGIN[0])) + 2, j0), W))


class Canvas:
    """Colour, temperature and depth planes composited back to front."""

    def __init__(self, rgb, temp):
        self.rgb, self.temp = rgb, temp
        self.depth = np.full((H, W), -np.inf, np.float32)

    def over(self, rows: slice, alpha, rgb, temp, depth=None, cols: slice = slice(None)):
        """Composite a layer over the canvas box (rows, cols); alpha is 0 outside the layer."""
        box = rows, cols
        colour, heat = self.rgb[box], self.temp[box]      # views: blended in place
        a = np.broadcast_to(np.clip(alpha, 0, 1).astype(np.float32), heat.shape)
        colour += (rgb - colour) * expand(a)
        heat += (temp - heat) * a
        if depth is not None:
            self.depth[box] = np.where(a > 0.5, depth, self.depth[box])


def background(st: ImageState, rng) -> Canvas:
    c0, c1 = st.bg_rgb
    yy, xx = YS[:, None] / H + 0.5, XS[None, :] / W + 0.5
    kind = st.background
    if kind == "solid":
        t = np.zeros((H, W), np.float32)
    elif kind == "vgrad":
        t = np.broadcast_to(yy, (H, W))
    elif kind == "hgrad":
        t = np.broadcast_to(xx, (H, W))
    elif kind == "radial":
        t = np.clip(np.sqrt((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 1.6, 0, 1)   # np.hypot is 10x slower
    elif kind == "blobs":
        t = np.clip(0.5 + 0.35 * smooth_noise(rng, (H, W), (4, 4)), 0, 1)
    else:  # stripes: shelves, door frames
        edges = np.sort(rng.uniform(0, 1, 5))
        t = np.broadcast_to((np.searchsorted(edges, xx) % 2).astype(np.float32) * 0.8 + 0.1 * yy, (H, W))
    grain = 1 + 0.03 * smooth_noise(rng, (H, W), (30, 30))
    rgb = cv2.merge([(c0[i] + (c1[i] - c0[i]) * t) * grain for i in range(3)])   # plane by plane: see expand
    temp = st.t_ambient + 0.6 * smooth_noise(rng, (H, W), (3, 3)) + 0.8 * t
    return Canvas(rgb.astype(np.float32, copy=False), temp.astype(np.float32, copy=False))


def _lambert(nx, nz, st: ImageState):
    return st.ambient + st.light * np.clip(nx * st.light_dir[0] + nz * st.light_dir[2], 0, 1)


def body(cv: Canvas, ident: Identity, st: ImageState, skin_rgb):
    """Neck (a lit cylinder behind the jaw) and shoulders in clothes with a neckline."""
    s = float(np.sin(np.deg2rad(st.yaw_deg)))
    rn = ident.head_w * (0.68 if ident.male else 0.6)
    xc = -0.3 * ident.head_w * s
    dv = pitch_shift(ident, st)                      # the body stays, the face moves on a nod
    rows = slice(int(ORIGIN[1] + 20 + min(dv, 0.0)), H)   # nothing of the body above the jaw
    cols = columns(xc - rn - 0.6, xc + rn + 0.6)     # the neck's coverage is 0 past rn + 0.6
    X, Y = XS[None, cols], YS[rows][:, None] - dv
    nx = np.clip((X - xc) / rn, -1, 1)
    neck = coverage(np.maximum(np.abs(X - xc) - rn, 20 - Y), 0.6)
    shadow = 0.55 + 0.45 * smoothstep(ident.chin - 4, ident.chin + 22, Y)
    lit = _lambert(nx, np.sqrt(1 - nx * nx), st) * shadow
    cv.over(rows, neck, tinted(lit, skin_rgb * st.light_rgb), material("neck", ident.t_skin, st.t_ambient),
            cols=cols)
    X = XS[None, :]
    xb = 0.3 * xc
    top = 84 + 0.0045 * (X - xb) ** 2 - 14 * smoothstep(rn + 8, rn + 40, np.abs(X - xb))
    cloth = coverage(np.maximum(top - Y, np.abs(X - xb) - 100.0), 0.8)
    neckline = coverage(np.abs(X - xb) - (rn * 0.8 - 0.5 * np.maximum(Y - 84, 0)), 0.6) * (Y < 84 + 2 * rn)
    cloth = cloth * (1 - neckline)
    bx = np.clip((X - xb) / 100, -1, 1)
    shade = _lambert(bx, np.sqrt(1 - bx * bx), st) * (0.9 + 0.1 * smoothstep(80, 130, Y))
    cv.over(rows, cloth, tinted(shade, st.clothes_rgb * st.light_rgb),
            material("clothes", ident.t_skin, st.t_ambient))


def long_hair(cv: Canvas, ident: Identity, st: ImageState, rng, tone):
    """Hair falling behind the head and onto the shoulders."""
    if ident.hair_style not in hair.LONG_STYLES:
        return
    s = float(np.sin(np.deg2rad(st.yaw_deg)))
    xc = -0.45 * ident.head_w * s
    end = 105.0 if ident.hair_style == "long" else 42.0
    crown = ident.head_top - hair.volume(ident)
    rows = slice(max(int(ORIGIN[1] + crown) - 2, 0), min(int(ORIGIN[1] + end) + 5, H))
    Y = YS[rows][:, None]
    half = ident.head_w + hair.volume(ident) + 2 + 8 * smoothstep(0, end, Y) * (ident.hair_style == "long")
    # Noise drawn over the full width (its values depend on it), the rest only where coverage can
    # be > 0: shape >= |X - xc| - half, and coverage(shape, 1) is 0 from shape >= 1.
    cols = columns(xc - float(half.max()) - 1, xc + float(half.max()) + 1)
    X = XS[None, cols]
    ragged = 3 * smooth_noise(rng, (1, W), (1, 24))[:, cols]
    centre = crown + half                          # rounded top following the skull
    top = np.where(Y < centre, np.sqrt((X - xc) ** 2 + (Y - centre) ** 2), np.abs(X - xc)) - half
    shape = np.maximum(top, Y - end - ragged)
    streaks = 0.75 + 0.25 * smooth_noise(rng, (Y.shape[0], W), (6, 60))[:, cols]
    nx = np.clip((X - xc) / half, -1, 1)
    lit = _lambert(nx, np.sqrt(1 - nx * nx), st) * 0.75
    cv.over(rows, coverage(shape, 1.0), tinted(streaks * lit, tone * st.light_rgb),
            material("hair", ident.t_skin, st.t_ambient), cols=cols)


def hat(cv: Canvas, ident: Identity, st: ImageState):
    """A beanie or a cap over the crown, down to the forehead: it hides most of the hair."""
    if not st.hat:
        return
    s = float(np.sin(np.deg2rad(st.yaw_deg)))
    xc = -0.45 * ident.head_w * s                      # the skull's centre, as the long hair's
    top = ident.head_top - hair.volume(ident) - 3.0
    edge = hair.hairline(ident, st.age) + (3.0 if st.hat == "beanie" else 1.0)
    half = ident.head_w + hair.volume(ident) + 3.0
    rows = slice(max(int(ORIGIN[1] + top) - 2, 0), int(ORIGIN[1] + edge) + 8)
    X, Y = XS[None, :], YS[rows][:, None]
    dome = np.hypot((X - xc) / half, (Y - edge) / (edge - top)) - 1
    band = edge + 1.5 * np.cos(np.clip((X - xc) / half, -1, 1) * np.pi / 2)   # the rim follows the head
    shape = np.maximum(dome * 12, Y - band)
    nx = np.clip((X - xc) / half, -1, 1)
    lit = _lambert(nx, np.sqrt(1 - nx * nx), st)
    fold = 1 - 0.25 * ((st.hat == "beanie") & (Y > band - 6))   # a beanie's turned-up cuff
    rgb = tinted(lit * fold, st.hat_rgb * st.light_rgb)
    cv.over(rows, coverage(shape, 0.8), rgb, material("clothes", ident.t_skin, st.t_ambient))
    if st.hat == "cap":  # the peak, foreshortened, towards where the face looks
        px = xc + 1.2 * half * s
        peak = np.hypot((X - px) / (0.75 * half), (Y - band) / (4.0 + 3.0 * abs(s))) - 1
        cv.over(rows, coverage(np.maximum(peak * 8, band - 1 - Y), 0.8), rgb * 0.8,
                material("clothes", ident.t_skin, st.t_ambient))


def back_layer(cv: Canvas, ident: Identity, st: ImageState, front, skin_rgb, strands):
    """The skull's back half: hair (or scalp) seen beside the face when it turns."""
    v = TEX.y
    keep = v < 34
    v = v[keep]
    has_hair = ident.hair_style != "bald"
    nape = 30.0 if ident.hair_style in hair.LONG_STYLES else hair.bottom(ident) + 14
    fade = smoothstep(nape + 2, nape - 10, v)          # hair thins out towards the nape
    a_b = np.maximum(front.a[keep], front.a_hair[keep] * fade * has_hair)
    a_b = np.where(v > 0, np.maximum(a_b, front.a[keep].max() * 0.8 * smoothstep(34, 20, v)), a_b)
    cols, cov, depth, n_cam, u = back_of_head(np.maximum(a_b, 1.0), 1.2 * np.maximum(a_b, 1.0), st.yaw_deg, XS)
    cov *= (a_b > 1.0)[:, None]          # rows above the skull have none
    is_hair = np.broadcast_to((fade * has_hair).astype(np.float32)[:, None], cov.shape)
    # The front hair's strands continue round the back (same u, same row) and it is lit the same
    # way (wrapped Lambert), so no seam shows where the two layers meet on a turned head.
    samples = np.clip(np.rint((u - TEX.x0) / TEX.dx).astype(np.int64), 0, TEX.nx - 1)
    strand = np.take_along_axis(strands[:int(keep.sum())], samples, axis=1)
    albedo = hair.colour(ident, st.age, strand) * expand(is_hair) + tinted(1 - is_hair, skin_rgb)
    lit = st.ambient + st.light * wrapped_diffuse(n_cam, st.light_dir)
    t_hair, t_skin = material("hair", ident.t_skin, st.t_ambient), material("neck", ident.t_skin, st.t_ambient)
    temp = t_hair * is_hair + t_skin * (1 - is_hair)
    rows = slice(TEX_ROW0, TEX_ROW0 + int(keep.sum()))
    cv.over(rows, cov, albedo * tinted(lit, st.light_rgb), temp, depth, cols=cols)
