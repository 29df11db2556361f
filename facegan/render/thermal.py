"""Long-wave infrared appearance model, shared by the renderer and the
thermal simulator for real photos.

Skin temperature is a smooth map in canonical face coordinates (template
pixels, origin between the eyes): warm inner eye corners (periorbital
vessels) and forehead, cooler nose tip, cheeks and face edges. Hair, glasses,
clothes and background are materials that sit between skin and ambient
temperature (glass is opaque to LWIR, so lenses show their own cold surface).
The sensor model maps degrees to 8-bit grey with low contrast, optical blur,
temporal and fixed-pattern (column) noise. The simulator can draw a `View`
(a box of the frame at its own resolution, e.g. a face crop) instead of the
whole frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from facegan.render.shapes import ellipse_sdf, coverage, gauss, smoothstep

# CelebA mean aligned landmarks relative to the eye midpoint (88.2, 111.5).
TEMPLATE_UV = np.array([[-18.6, 0.2], [18.6, -0.2], [-0.1, 23.1], [-16.5, 39.9], [16.7, 39.5]], np.float32)
T_RANGE = 37.0      # degrees C mapped near white
# What reducing a frame to a view does, per axis, that drawing the view directly must add back:
# PIL's antialiased bicubic (Keys a = -0.5) keeps this share of white noise's variance per unit of
# scale (its integral of k^2; 0.82 measured on 160 -> 64 px) and adds no blur variance of its own,
# but each view pixel then stands for its whole footprint, a box of variance 1/12 (view px^2).
BICUBIC_NOISE = 57 / 70
PIXEL_FOOTPRINT = np.sqrt(1 / 12)
# Below this many view pixels per frame pixel, point samples alias the field's edges (a few frame
# pixels wide) and the Gaussian stand-in for the bicubic reduction misses its overshoot: such
# views are drawn at an integer multiple of their size and resized to it as prep resizes photos.
# Measured against the frame cropped and resized: 0.54 grey mean off at 0.3 point-sampled, 0.16
# drawn at 2x; 0.23 at 0.4 (64 px, the default, kept point-sampled).
MIN_SAMPLING = 0.4


@dataclass(frozen=True)
class Physiology:
    t_skin: float = 34.0
    periorbital: float = 1.5    # extra warmth at the inner eye corners
    nose_cool: float = 2.0      # how much colder the nose tip is


# Material temperature as a fraction of the way from ambient to skin.
MATERIAL = {"hair": 0.3, "beard": 0.55, "lens": 0.12, "frame": 0.3, "clothes": 0.4,
            "ear": 0.82, "neck": 0.95, "mouth": 1.08, "eye": 0.97}


def material(name: str, t_skin: float, t_ambient: float) -> float:
    return t_ambient + MATERIAL[name] * (t_skin - t_ambient)


def face_temperature(u, v, phys: Physiology):
    """Skin temperature (deg C) at canonical face coordinates (u across, v down)."""
    au = np.abs(u)
    t = phys.t_skin + 0.9 * gauss(u, v + 28, 20, 12)                   # forehead
    t = t + phys.periorbital * gauss(au - 10.0, v - 1.5, 3.5, 3.0)     # inner canthi
    t = t + 0.4 * phys.periorbital * gauss(au - 18.6, v, 7.0, 4.0)
    t = t - phys.nose_cool * gauss(u, v - 21.0, 4.5, 5.0)              # nose tip
    t = t - 0.4 * phys.nose_cool * gauss(u, v - 11.0, 3.0, 7.0)
    t = t - 0.8 * gauss(au - 27.0, v - 22.0, 8.0, 10.0)                # cheeks
    t = t + 0.5 * gauss(u, v - 40.0, 16.0, 5.0)                        # lips
    return t - 1.5 * smoothstep(0.65, 1.05, au / 45.0)                 # face edges


def view_falloff(t, n_z, t_ambient: float):
    """Emissivity drops at grazing angles: silhouettes look closer to ambient."""
    g = 1.0 - np.clip(n_z, 0, 1)
    f = 1.0 - 0.5 * (g * g * g)      # cubed by multiplying: a general power is 20x slower
    return t_ambient + (t - t_ambient) * f


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2x3) mapping src points to dst points."""
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return m


@dataclass(frozen=True)
class View:
    """Part of an H x W frame drawn at its own resolution: the frame rectangle `box` (left,
    top, right, bottom, frame pixels) sampled on a `size` (h, w) pixel grid, as resizing that
    crop of the frame would place the pixels. Drawing only the pixels that are kept is what
    makes the simulator cheap for small face crops."""
    frame: tuple[int, int]
    box: tuple[float, float, float, float]
    size: tuple[int, int]

    @classmethod
    def whole(cls, frame: tuple[int, int]) -> "View":
        h, w = frame
        return cls((h, w), (0, 0, w, h), (h, w))

    @property
    def scale(self) -> tuple[float, float]:
        """View pixels per frame pixel, (across, down)."""
        left, top, right, bottom = self.box
        return self.size[1] / (right - left), self.size[0] / (bottom - top)

    def frame_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame (x, y) of every view pixel's centre (h x w float32 each; frame pixel centres at
        integers, so the whole frame's grid is exactly its pixel indices)."""
        left, top, _, _ = self.box
        sx, sy = self.scale
        xs = left + (np.arange(self.size[1]) + 0.5) / sx - 0.5
        ys = top + (np.arange(self.size[0]) + 0.5) / sy - 0.5
        return np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))

    def fine(self) -> "View":
        """The grid the view is drawn on: the same box at the smallest multiple of its size that
        samples the frame at least MIN_SAMPLING (itself when it already does)."""
        k = max(1, math.ceil(round(MIN_SAMPLING / min(self.scale), 6)))  # round: 0.4/0.4 is 1, not 1+eps
        return View(self.frame, self.box, (self.size[0] * k, self.size[1] * k))

    def reduce(self, image: np.ndarray) -> np.ndarray:
        """An image on the `fine` grid resized to the view's pixels with PIL's antialiased bicubic,
        as prep resizes the frame's crop (the same pixel centres: a multiple of the size)."""
        h, w = self.size
        if np.shape(image) == (h, w):
            return image
        return np.array(Image.fromarray(np.asarray(image, np.float32), "F").resize((w, h), Image.Resampling.BICUBIC))


def _view(shape: tuple[int, int], view: View | None) -> View:
    """`view`, or the whole frame when there is none."""
    if view is None:
        return View.whole(shape)
    if tuple(view.frame) != tuple(shape):
        raise ValueError(f"a view of a {view.frame} frame cannot draw a {tuple(shape)} one")
    return view


def face_coords(landmarks, shape: tuple[int, int], view: View | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Canonical face coordinates (u across, v down; template pixels from the eye midpoint) of
    every pixel of an H x W image whose face has these 5 landmarks, or of `view`'s pixels."""
    to_face = _similarity(np.asarray(landmarks, np.float32), TEMPLATE_UV)
    xs, ys = _view(shape, view).frame_xy()
    return (to_face[0, 0] * xs + to_face[0, 1] * ys + to_face[0, 2],
            to_face[1, 0] * xs + to_face[1, 1] * ys + to_face[1, 2])


def temperature_map(landmarks, shape: tuple[int, int], *, phys: Physiology = Physiology(),
                    t_ambient: float = 22.0, skin_mask=None, hair_mask=None, glasses_mask=None,
                    view: View | None = None):
    """Temperature (deg C, float32, H x W, or `view`'s size) of a face photo from its 5 landmarks.

    landmarks: (5, 2) image (x, y) of left eye, right eye, nose tip, left and
    right mouth corner. Without masks the skin is the template face oval,
    the skull above it is hair, and the rest is ambient background. Masks are
    on the same pixels as the map.
    """
    u, v = face_coords(landmarks, shape, view)
    skin = coverage(ellipse_sdf(u, v - 14, 44, 58), 1.5) if skin_mask is None else np.asarray(skin_mask, np.float32)
    neck = coverage(np.maximum(np.abs(u) - 26, 60 - v), 1.5)
    head = coverage(ellipse_sdf(u, v + 5, 50, 75), 1.5)
    hair = np.clip(head - skin, 0, 1) if hair_mask is None else np.asarray(hair_mask, np.float32)
    t = np.full(u.shape, t_ambient, np.float32)
    t = t + neck * (material("neck", phys.t_skin, t_ambient) - t)
    t = t + hair * (material("hair", phys.t_skin, t_ambient) - t)
    t = t + skin * (face_temperature(u, v, phys) - t)
    if glasses_mask is not None:
        t = t + np.asarray(glasses_mask, np.float32) * (material("lens", phys.t_skin, t_ambient) - t)
    return t.astype(np.float32)


def _reduction(scale: float) -> tuple[float, float]:
    """Reducing a frame axis to `scale` view pixels per frame pixel: the blur it adds (view
    pixels) and the share of white noise's std it leaves. Nothing at full size."""
    return (0.0, 1.0) if scale >= 1 else (PIXEL_FOOTPRINT, float(np.sqrt(BICUBIC_NOISE * scale)))


def lwir_image(temp, rng: np.random.Generator, *, t_ambient: float = 22.0, gain: float = 1.0,
               noise: float = 2.0, blur: float = 1.4, view: View | None = None) -> np.ndarray:
    """8-bit LWIR frame from a temperature map: compressed range, blur, noise, column pattern.

    `view`: the map holds only those pixels of the frame, on the view's `fine` grid. `blur` and
    `noise` stay in frame pixels: the view gets the blur and the noise that drawing the whole
    frame and reducing it to the view would leave (`_reduction`); vignetting follows the frame.
    """
    view = View.whole(np.shape(temp)) if view is None else view
    lo = t_ambient - 2.0
    g = (np.asarray(temp, np.float32) - lo) / (T_RANGE - lo)
    g = 40 + 175 * gain * cv2.pow(np.clip(g, 0.0, 1.2), 1.2)     # cv2.pow: 4x NumPy's float32 power
    # Blurred as a view on the grid it is drawn on, then resized to the view when that is finer.
    sx, sy = view.fine().scale
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), np.hypot(blur * sx, _reduction(sx)[0]),
                         sigmaY=np.hypot(blur * sy, _reduction(sy)[0]))
    g = view.reduce(g)
    # Noise on the view's own pixels: resized from the fine grid it would fall below the frame's.
    (_, fx), (_, fy) = (_reduction(s) for s in view.scale)
    h, w = g.shape
    g += rng.normal(0, noise * fx * fy, (h, w)).astype(np.float32)
    g += rng.normal(0, 0.8 * noise * fx, (1, w)).astype(np.float32)   # column fixed pattern
    g -= _vignetting(tuple(view.frame), tuple(view.box), tuple(view.size))
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def _vignetting(frame, box, size) -> np.ndarray:
    """The optics' vignetting (grey levels) at a view's pixels: the same for every image, made once."""
    view = View(frame, box, size)
    xx, yy = (c.astype(np.float64) for c in view.frame_xy())
    fh, fw = view.frame
    out = 10 * (((xx - fw / 2) / fw) ** 2 + ((yy - fh / 2) / fh) ** 2)
    out.flags.writeable = False
    return out


def sample_physiology(rng: np.random.Generator) -> Physiology:
    """A person's thermal physiology, drawn like the renderer's identities (identity.py)."""
    return Physiology(t_skin=float(rng.normal(34.0, 0.4)), periorbital=float(rng.uniform(0.9, 2.0)),
                      nose_cool=float(rng.uniform(0.8, 3.5)))


@dataclass(frozen=True)
class Capture:
    """One LWIR exposure's nuisances, drawn like the renderer's image states (image_state.py)."""
    t_ambient: float = 22.0
    gain: float = 1.0
    noise: float = 2.0

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "Capture":
        return cls(t_ambient=float(rng.uniform(18, 26)), gain=float(rng.uniform(0.8, 1.2)),
                   noise=float(rng.uniform(1.0, 3.0)))


def lens_mask(landmarks, shape: tuple[int, int], view: View | None = None) -> np.ndarray:
    """Coverage (H x W float32, or `view`'s size) of a pair of eyeglass lenses placed on the eyes
    of 5 landmarks."""
    u, v = face_coords(landmarks, shape, view)
    lenses = [coverage(ellipse_sdf(u - side * 18.6, v - 1.0, 13.0, 9.5), 1.5) for side in (-1, 1)]
    return np.maximum(*lenses).astype(np.float32)


def simulate_thermal(landmarks, shape: tuple[int, int], *, seed: int = 0, phys: Physiology = Physiology(),
                     capture: Capture | None = None, skin_mask=None, hair_mask=None,
                     glasses_mask=None, view: View | None = None) -> np.ndarray:
    """Simulated 8-bit LWIR image (H x W uint8) of a real face photo: the thermal simulator.

    The renderer's appearance model without its 3-D scene: `temperature_map` places the
    canonical skin temperature field (warm periorbital and forehead, cool nose, cheeks
    and face edges) by the 5 landmarks, hair and glasses at their material temperatures,
    everything else at ambient; `lwir_image` adds the sensor (compressed range, blur,
    noise, column pattern, vignetting). What a photo can add goes in as masks: where its
    skin and hair are (else the template face oval and skull) and where lenses are.
    `phys` is the person (draw it per identity with `sample_physiology`); `capture` the
    exposure (ambient, gain, noise), drawn from `seed` when None. The same arguments
    give the same image.

    `view`: draw only that part of the H x W frame, at its resolution (masks then on the
    pixels of `view.fine()`, the grid it is drawn on): for a face crop, what drawing the frame,
    cropping and resizing gives (the same field, blur and noise level, not the same noise),
    for a fraction of the work.
    """
    rng = np.random.default_rng(seed)
    capture = Capture.sample(rng) if capture is None else capture
    view = _view(shape, view)
    temp = temperature_map(landmarks, shape, phys=phys, t_ambient=capture.t_ambient, skin_mask=skin_mask,
                           hair_mask=hair_mask, glasses_mask=glasses_mask, view=view.fine())
    return lwir_image(temp, rng, t_ambient=capture.t_ambient, gain=capture.gain, noise=capture.noise, view=view)
