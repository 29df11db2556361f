"""3-D head model: a per-row elliptic heightfield with relief, its yawed
orthographic projection, and the 3-D landmarks.

The face is a heightfield Z(u, v) over the frontal texture plane: each row v
is the front half of an ellipse (half width a(v), depth b(v)) plus Gaussian
relief (nose, sockets, brows, cheeks, lips, chin). Yaw rotates about the
vertical axis, so rows stay rows and visibility is a 1-D problem per row:
sweeping from the camera-near side, a sample is visible iff its projected x
is a new running maximum (floating horizon). Foreshortening, the nose
hiding the far cheek and the far face edge disappearing come out exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facegan.render.identity import Identity
from facegan.render.shapes import Grid, bezier_dist, expand, gauss, smoothstep

# Texture plane: u in [-58, 58] at 0.5 px (widest head plus hair), v rows aligned with canvas rows.
TEX = Grid(x0=-58.0, dx=0.5, nx=233, y0=-80.5, dy=1.0, ny=161)
PAD = 24                                   # canvas margin around the 178x218 output
CANVAS = (218 + 2 * PAD, 178 + 2 * PAD)    # (H, W)
ORIGIN = (88.2 + PAD, 111.5 + PAD)         # canvas (x, y) of the face origin (eye midpoint)
TEX_ROW0 = int(round(TEX.y0 + ORIGIN[1]))  # canvas row of texture row 0
WIDEST = -4.0                              # v of the widest skull row


def age_weight(age: float) -> float:
    """How much ageing shows: nothing below 0.35, full at 1."""
    return float(smoothstep(0.35, 1.0, age))


def head_profile(ident: Identity, age: float, v, inflate: float = 0.0):
    """Half width a(v) and front depth b(v) of the head cross-sections."""
    A = ident.head_w + inflate
    top = ident.head_top - inflate
    chin = ident.chin + 3.0 * age_weight(age) + 0.3 * inflate
    r = np.clip((v - WIDEST) / (WIDEST - top), -1.0, 0.0)
    t = np.clip((v - WIDEST) / (chin - WIDEST), 0.0, 1.0)
    upper = np.sqrt(np.clip(1 - r * r, 0, 1))
    p = ident.jaw_p
    jowl = 1 + 0.07 * age_weight(age) * np.exp(-((t - 0.75) / 0.15) ** 2)
    lower = (1 - ident.jaw_taper * t) * np.clip(1 - t**p, 0, 1) ** (1 / p) * jowl
    below = v > WIDEST
    a = A * np.where(below, lower, upper)
    B = ident.head_w * ident.depth + inflate
    b_low = (1 - 0.22 * t * t) * np.clip(1 - t**8, 0, 1) ** 0.125
    b = B * np.where(below, b_low, upper**0.8)
    return a.astype(np.float32), b.astype(np.float32)


def ellipse_rows(a, b, u, flat: float):
    """Front half of a superellipse per row: Z and an anti-aliased inside coverage."""
    a = a[:, None]
    rel = np.clip(np.abs(u) / np.maximum(a, 1e-3), 0.0, 1.0)
    z = b[:, None] * cv2.pow(1 - cv2.pow(rel, flat), 1 / flat)     # cv2.pow: 4x NumPy's float32 power
    inside = np.clip((a - np.abs(u)) / 0.7 + 0.5, 0.0, 1.0) * (a > 0.5)   # rows past the top/chin: none
    return z.astype(np.float32), inside.astype(np.float32)


def _bump(Z, u0, v0, su, sv, amp):
    w = TEX.window(u0 - 3 * su, u0 + 3 * su, v0 - 3 * sv, v0 + 3 * sv)
    if w is not None:
        sl, U, V = w
        Z[sl] += amp * gauss(U - u0, V - v0, su, sv)


def _nose(Z, ident: Identity):
    root, tip, prot = -2.0, ident.nose_tip, ident.nose_prot
    w = TEX.window(-ident.nose_w - 6, ident.nose_w + 6, root, tip + 10)
    sl, U, V = w
    t = np.clip((V - root) / (tip - root), 0.0, 1.0)
    h = np.where(V <= tip, 1.2 + (prot - 1.2) * t**1.6, prot * np.exp(-(((V - tip) / 3.0) ** 2)))
    width = ident.bridge_w + 2.4 * t**2
    Z[sl] += h * np.exp(-0.5 * (U / width) ** 2)
    Z[sl] += 1.6 * gauss(U, V - tip + 1.0, width * 1.1, 2.6)          # rounded tip
    for s in (-1, 1):                                                 # alar wings
        Z[sl] += 4.0 * gauss(U - s * (ident.nose_w - 2.6), V - tip - 2.2, 2.8, 2.6)


def heightfield(ident: Identity, smile: float, age: float):
    """Skin surface Z (rows x samples), its coverage, and the cross-section widths."""
    a, b = head_profile(ident, age, TEX.y)
    Z, inside = ellipse_rows(a, b, TEX.x[None, :], ident.flat)
    aw = age_weight(age)
    es, ev, mv, mw = ident.eye_sep, ident.eye_v, ident.mouth_v, ident.mouth_w
    for s in (-1, 1):
        _bump(Z, s * es, ev + 0.5, 8.5, 5.5, -4.0)                    # eye sockets
        _bump(Z, s * es, ev, 5.5, 3.0, 1.6)                           # eyeballs
        _bump(Z, s * 27, 15, 8, 7, ident.cheekbone)
        _bump(Z, s * 21, 18 - 3 * smile, 8, 6, 5.5 * smile)           # smiling cheeks rise
        _bump(Z, s * (mw + 1), mv - 1, 3, 3, -1.5 * smile)            # corners pulled in
        _bump(Z, s * es, ev + 6.5, 5, 2, 1.2 * aw)                    # eye bags
    _bump(Z, 0, -10.5, 24, 4.5, ident.brow_ridge)
    _bump(Z, 0, mv - 2, 15, 9, 3.0)                                   # muzzle
    _bump(Z, 0, mv - 1.5, mw * 0.8, 1.8, 1.2 * (1 - 0.5 * aw))        # upper lip
    _bump(Z, 0, mv + 2.8, mw * 0.7, 2.0, 1.6 * (1 - 0.5 * aw))        # lower lip
    _bump(Z, 0, ident.chin - 9, 9, 6, 2.5)
    _nose(Z, ident)
    Z *= inside > 0                                                   # nothing outside the head
    return Z, inside, a, b


def nasolabial_dist(U, V, ident: Identity, side: int, smile: float):
    """Distance to the nasolabial fold curve on one side (alar wing to past the mouth corner)."""
    p0 = (side * (ident.nose_w + 0.5), ident.nose_tip + 1.0)
    p2 = (side * (ident.mouth_w + 3.5 + 1.5 * smile), ident.mouth_v + 5.0)
    p1 = (side * (ident.nose_w + 6.0 + 2.0 * smile), ident.mouth_v - 6.0)
    return bezier_dist(U, V, p0, p1, p2)


def mouth_corners(ident: Identity, smile: float):
    """(half width, v) of the mouth corners: a smile pulls them up and out."""
    return ident.mouth_w + 5.0 * smile, ident.mouth_v - 5.5 * smile


def surface_z(Z, u: float, v: float) -> float:
    j = int(round((u - TEX.x0) / TEX.dx))
    i = int(round((v - TEX.y0) / TEX.dy))
    return float(Z[min(max(i, 0), TEX.ny - 1), min(max(j, 0), TEX.nx - 1)])


def landmarks_3d(ident: Identity, Z, smile: float) -> np.ndarray:
    """Eye centres, nose tip and mouth corners (u, v, z); left = image left (u < 0)."""
    mw, mv = mouth_corners(ident, smile)
    pts = [(-ident.eye_sep, ident.eye_v), (ident.eye_sep, ident.eye_v), (0.0, ident.nose_tip),
           (-mw, mv), (mw, mv)]
    return np.array([(u, v, surface_z(Z, u, v)) for u, v in pts], np.float32)


def rotate(points: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Yaw (u, v, z) points about the vertical axis: positive yaw moves the nose to +x."""
    th = np.deg2rad(yaw_deg)
    c, s = np.cos(th), np.sin(th)
    x = points[..., 0] * c + points[..., 2] * s
    z = -points[..., 0] * s + points[..., 2] * c
    return np.stack([x, points[..., 1], z], axis=-1)


@dataclass
class Projection:
    """Which two texture samples each canvas pixel of the head rows sees, and how mixed.

    Only the canvas columns `cols` can see the head; the weights are 0 where a pixel sees nothing.
    """

    i_left: np.ndarray
    i_right: np.ndarray
    w_left: np.ndarray
    w_right: np.ndarray
    cols: slice

    def sample(self, arr: np.ndarray) -> np.ndarray:
        flat = arr.reshape(-1, *arr.shape[2:]).astype(np.float32, copy=False)
        if arr.ndim == 2:
            return flat.take(self.i_left) * self.w_left + flat.take(self.i_right) * self.w_right
        return (flat.take(self.i_left, axis=0) * expand(self.w_left)
                + flat.take(self.i_right, axis=0) * expand(self.w_right))


def project(Z, yaw_deg: float, xs) -> Projection:
    """Floating-horizon visibility and inverse mapping of a heightfield seen at yaw.

    xs: canvas x of the pixel columns relative to the face origin (ascending).
    """
    th = np.deg2rad(yaw_deg)
    c, s = np.cos(th), np.sin(th)
    rows, n = Z.shape
    xp = TEX.x[None, :] * c + Z * s
    # Columns outside the span of the projected samples see nothing: leave them out (a column of
    # margin each side, as the keys below are compared in float64).
    j0 = max(int(np.searchsorted(xs, xp.min())) - 1, 0)
    j1 = min(int(np.searchsorted(xs, xp.max(), side="right")) + 1, len(xs))
    cols = slice(j0, j1)
    xs = xs[cols]
    flip = s < 0
    if flip:  # sweep from the other side: mirror so the camera-near side comes first
        xp = -xp[:, ::-1]
        xs = -xs[::-1]
    vis = xp >= np.maximum.accumulate(xp, axis=1)
    big = 4096.0
    keys = xp + big * np.arange(rows, dtype=np.float64)[:, None]
    src = np.flatnonzero(vis)
    kv = keys.ravel()[src]
    q = (xs[None, :] + big * np.arange(rows, dtype=np.float64)[:, None]).ravel()
    k = np.clip(np.searchsorted(kv, q), 1, len(kv) - 1)
    kl, kr = kv[k - 1], kv[k]
    row = np.repeat(np.arange(rows), len(xs))
    il, ir = src[k - 1], src[k]
    valid = (il // n == row) & (ir // n == row) & (q >= kl) & (q <= kr)
    w = np.clip((q - kl) / np.maximum(kr - kl, 1e-6), 0, 1).astype(np.float32)
    w_left, w_right = (1 - w) * valid, w * valid
    if flip:  # back to original sample indices and pixel order
        il = (il // n) * n + (n - 1 - il % n)
        ir = (ir // n) * n + (n - 1 - ir % n)
        shape = (rows, len(xs))
        il, ir, w_left, w_right = (x.reshape(shape)[:, ::-1].ravel() for x in (il, ir, w_left, w_right))
    shape = (rows, len(xs))
    return Projection(il.reshape(shape), ir.reshape(shape), w_left.reshape(shape), w_right.reshape(shape), cols)


def back_of_head(a, bz, yaw_deg: float, xs):
    """The skull behind the face (seen on the near side when turned): the columns of xs it can
    cover, and there its coverage, depth, normal, and the head-frame u of each hit point (where
    the hair's strand texture continues).

    Full ellipse per row (half width a, half depth bz) hit by the view ray;
    only the part outside the front half's silhouette ever shows.
    """
    th = np.deg2rad(yaw_deg)
    c, s = np.cos(th), np.sin(th)
    A2, B2 = (a * a)[:, None], (bz * bz)[:, None]
    # The coverage is 0 beyond the widest row's extent (+ 0.5): only those columns are computed.
    reach = np.sqrt(A2.max() * c * c + B2.max() * s * s) + 1.5
    cols = slice(int(np.searchsorted(xs, -reach)), int(np.searchsorted(xs, reach, side="right")))
    x = xs[None, cols]
    qa = s * s / A2 + c * c / B2
    qb = 2 * x * (-c * s / A2 + s * c / B2)
    qc = x * x * (c * c / A2 + s * s / B2) - 1
    disc = np.maximum(qb * qb - 4 * qa * qc, 0)
    t = (-qb + np.sqrt(disc)) / (2 * qa)
    px, pz = x * c - t * s, x * s + t * c
    nx, nz = px / A2, pz / B2
    nrm = np.sqrt(nx * nx + nz * nz) + 1e-9
    n_cam = np.stack([(nx * c + nz * s) / nrm, np.zeros_like(px), (-nx * s + nz * c) / nrm], -1)
    ext = np.sqrt(A2 * c * c + B2 * s * s)
    near = np.sqrt(A2) * abs(c)
    lo, hi = (-ext, near) if s >= 0 else (-near, ext)
    cov = np.clip(np.minimum(x - lo, hi - x) + 0.5, 0, 1)
    return cols, cov.astype(np.float32), t.astype(np.float32), n_cam.astype(np.float32), px.astype(np.float32)


def normals(Z):
    """Unit surface normals (u, v, z) of the heightfield in the frontal frame."""
    dz_du = np.gradient(Z, TEX.dx, axis=1)
    dz_dv = np.gradient(Z, TEX.dy, axis=0)
    inv = 1 / np.sqrt(dz_du * dz_du + dz_dv * dz_dv + 1)   # 1 / |(-dz_du, -dz_dv, 1)|
    n = np.empty((*Z.shape, 3), Z.dtype)
    n[..., 0] = -dz_du * inv
    n[..., 1] = -dz_dv * inv
    n[..., 2] = inv
    return n
