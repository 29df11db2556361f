"""Long-wave infrared appearance model, shared by the renderer and the
thermal simulator for real photos.

Skin temperature is a smooth map in canonical face coordinates (template
pixels, origin between the eyes): warm inner eye corners (periorbital
vessels) and forehead, cooler nose tip, cheeks and face edges. Hair, glasses,
clothes and background are materials that sit between skin and ambient
temperature (glass is opaque to LWIR, so lenses show their own cold surface).
The sensor model maps degrees to 8-bit grey with low contrast, optical blur,
temporal and fixed-pattern (column) noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facegan.render.shapes import ellipse_sdf, coverage, gauss, smoothstep

# CelebA mean aligned landmarks relative to the eye midpoint (88.2, 111.5).
TEMPLATE_UV = np.array([[-18.6, 0.2], [18.6, -0.2], [-0.1, 23.1], [-16.5, 39.9], [16.7, 39.5]], np.float32)
T_RANGE = 37.0      # degrees C mapped near white


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
    f = 1.0 - 0.5 * (1.0 - np.clip(n_z, 0, 1)) ** 3
    return t_ambient + (t - t_ambient) * f


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2x3) mapping src points to dst points."""
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return m


def face_coords(landmarks, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Canonical face coordinates (u across, v down; template pixels from the eye midpoint) of
    every pixel of an H x W image whose face has these 5 landmarks."""
    h, w = shape
    to_face = _similarity(np.asarray(landmarks, np.float32), TEMPLATE_UV)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return (to_face[0, 0] * xs + to_face[0, 1] * ys + to_face[0, 2],
            to_face[1, 0] * xs + to_face[1, 1] * ys + to_face[1, 2])


def temperature_map(landmarks, shape: tuple[int, int], *, phys: Physiology = Physiology(),
                    t_ambient: float = 22.0, skin_mask=None, hair_mask=None, glasses_mask=None):
    """Temperature (deg C, float32, H x W) of a face photo from its 5 landmarks.

    landmarks: (5, 2) image (x, y) of left eye, right eye, nose tip, left and
    right mouth corner. Without masks the skin is the template face oval,
    the skull above it is hair, and the rest is ambient background.
    """
    h, w = shape
    u, v = face_coords(landmarks, shape)
    skin = coverage(ellipse_sdf(u, v - 14, 44, 58), 1.5) if skin_mask is None else np.asarray(skin_mask, np.float32)
    neck = coverage(np.maximum(np.abs(u) - 26, 60 - v), 1.5)
    head = coverage(ellipse_sdf(u, v + 5, 50, 75), 1.5)
    hair = np.clip(head - skin, 0, 1) if hair_mask is None else np.asarray(hair_mask, np.float32)
    t = np.full((h, w), t_ambient, np.float32)
    t = t + neck * (material("neck", phys.t_skin, t_ambient) - t)
    t = t + hair * (material("hair", phys.t_skin, t_ambient) - t)
    t = t + skin * (face_temperature(u, v, phys) - t)
    if glasses_mask is not None:
        t = t + np.asarray(glasses_mask, np.float32) * (material("lens", phys.t_skin, t_ambient) - t)
    return t.astype(np.float32)


def lwir_image(temp, rng: np.random.Generator, *, t_ambient: float = 22.0, gain: float = 1.0,
               noise: float = 2.0, blur: float = 1.4) -> np.ndarray:
    """8-bit LWIR frame from a temperature map: compressed range, blur, noise, column pattern."""
    lo = t_ambient - 2.0
    g = (np.asarray(temp, np.float32) - lo) / (T_RANGE - lo)
    g = 40 + 175 * gain * np.clip(g, 0.0, 1.2) ** 1.2
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), blur)
    h, w = g.shape
    g += rng.normal(0, noise, (h, w)).astype(np.float32)
    g += rng.normal(0, 0.8 * noise, (1, w)).astype(np.float32)        # column fixed pattern
    yy, xx = np.mgrid[0:h, 0:w]
    g -= 10 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)      # optics vignetting
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


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


def lens_mask(landmarks, shape: tuple[int, int]) -> np.ndarray:
    """Coverage (H x W float32) of a pair of eyeglass lenses placed on the eyes of 5 landmarks."""
    u, v = face_coords(landmarks, shape)
    lenses = [coverage(ellipse_sdf(u - side * 18.6, v - 1.0, 13.0, 9.5), 1.5) for side in (-1, 1)]
    return np.maximum(*lenses).astype(np.float32)


def simulate_thermal(landmarks, shape: tuple[int, int], *, seed: int = 0, phys: Physiology = Physiology(),
                     capture: Capture | None = None, skin_mask=None, hair_mask=None,
                     glasses_mask=None) -> np.ndarray:
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
    """
    rng = np.random.default_rng(seed)
    capture = Capture.sample(rng) if capture is None else capture
    temp = temperature_map(landmarks, shape, phys=phys, t_ambient=capture.t_ambient, skin_mask=skin_mask,
                           hair_mask=hair_mask, glasses_mask=glasses_mask)
    return lwir_image(temp, rng, t_ambient=capture.t_ambient, gain=capture.gain, noise=capture.noise)
