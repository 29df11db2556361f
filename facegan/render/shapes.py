"""Soft 2-D shape primitives on regular sample grids.

Everything the renderer paints is a signed distance (negative inside) turned
into a coverage with a ~1 px smooth edge, which anti-aliases without
supersampling. Shapes are evaluated only inside a window around them, which
keeps a few hundred painting operations per image cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def coverage(sdf, soft: float = 0.6):
    """Inside fraction from a signed distance; `soft` is half the edge width in samples."""
    return np.clip(0.5 - sdf / (2.0 * soft), 0.0, 1.0)


def smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss(x, y, sx, sy):
    return np.exp(-0.5 * ((x / sx) ** 2 + (y / sy) ** 2))


def ellipse_sdf(x, y, rx, ry):
    """Signed distance to an axis-aligned ellipse (first-order, good near the edge)."""
    k = np.sqrt((x / rx) ** 2 + (y / ry) ** 2)
    grad = np.sqrt((x / rx**2) ** 2 + (y / ry**2) ** 2) + 1e-6
    return (k - 1.0) * k / grad


def box_sdf(x, y, hw, hh, r):
    """Signed distance to a rounded rectangle of half sizes (hw, hh) and corner radius r."""
    qx = np.abs(x) - hw + r
    qy = np.abs(y) - hh + r
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - r


def segment_dist(x, y, x0, y0, x1, y1):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.hypot(x - x0 - t * dx, y - y0 - t * dy)


def bezier_dist(x, y, p0, p1, p2, steps: int = 4):
    """Distance to a quadratic Bezier curve, approximated by `steps` segments."""
    t = np.linspace(0.0, 1.0, steps + 1)
    pts = [((1 - s) ** 2 * p0[i] + 2 * (1 - s) * s * p1[i] + s * s * p2[i] for i in (0, 1)) for s in t]
    pts = [tuple(p) for p in pts]
    d = None
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        di = segment_dist(x, y, ax, ay, bx, by)
        d = di if d is None else np.minimum(d, di)
    return d


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]):
    """Band-limited noise (unit-ish std): a coarse random grid upsampled bicubically."""
    coarse = rng.standard_normal((max(cells[0], 2), max(cells[1], 2))).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


@dataclass(frozen=True)
class Grid:
    """Regular samples of a plane: x = x0 + dx*j across, y = y0 + dy*i down."""

    x0: float
    dx: float
    nx: int
    y0: float
    dy: float
    ny: int

    @property
    def x(self):
        return self.x0 + self.dx * np.arange(self.nx, dtype=np.float32)

    @property
    def y(self):
        return self.y0 + self.dy * np.arange(self.ny, dtype=np.float32)

    def window(self, x_lo, x_hi, y_lo, y_hi):
        """(slices, X row vector, Y column vector) covering a box, or None when off-grid."""
        j0 = max(int(np.floor((x_lo - self.x0) / self.dx)), 0)
        j1 = min(int(np.ceil((x_hi - self.x0) / self.dx)) + 1, self.nx)
        i0 = max(int(np.floor((y_lo - self.y0) / self.dy)), 0)
        i1 = min(int(np.ceil((y_hi - self.y0) / self.dy)) + 1, self.ny)
        if j0 >= j1 or i0 >= i1:
            return None
        xs = (self.x0 + self.dx * np.arange(j0, j1, dtype=np.float32))[None, :]
        ys = (self.y0 + self.dy * np.arange(i0, i1, dtype=np.float32))[:, None]
        return (slice(i0, i1), slice(j0, j1)), xs, ys


# Colour images are H x W x 3. NumPy runs `image * plane[..., None]`, `plane[..., None] * colour`
# and `image * colour` in inner loops 3 long, 5-20x slower than on same-shaped arrays; the helpers
# below build the 3-channel operand with OpenCV instead (the same float32 products).

def expand(plane) -> np.ndarray:
    """An H x W plane repeated into an H x W x 3 float32 image."""
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    if plane.size == 0:
        return np.zeros((*plane.shape, 3), np.float32)
    return cv2.merge([plane, plane, plane])


def scaled(img, colour) -> np.ndarray:
    """img * colour (per channel) as float32."""
    if img.size == 0:
        return np.array(img, np.float32)
    return cv2.multiply(np.asarray(img, np.float32), (*(float(c) for c in colour), 0.0))


def tinted(plane, colour) -> np.ndarray:
    """plane[..., None] * colour: an H x W x 3 float32 image."""
    return scaled(expand(plane), colour)


def paint(img, sl, alpha, color):
    """Alpha-blend a colour (or per-sample colours) into img[sl] (H, W, 3)."""
    below = img[sl]
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float32), below.shape[:2])
    color = np.asarray(color, dtype=np.float32)
    over = tinted(a, color) if color.ndim == 1 else color * expand(a)
    img[sl] = below * expand(1.0 - a) + over


def darken(img, sl, amount):
    """Multiply img[sl] by (1 - amount): creases, shadows, wrinkles."""
    below = img[sl]
    img[sl] = below * expand(np.broadcast_to(1.0 - np.asarray(amount, dtype=np.float32), below.shape[:2]))
