"""One photo: compose the layers, align like CelebA, add camera nuisances;
plus its pixel-aligned LWIR twin and the exact landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facegan.render import hair, scene
from facegan.render.ears import draw_ears
from facegan.render.face import IdentityAssets, front_layer
from facegan.render.geometry import ORIGIN, TEX, TEX_ROW0, landmarks_3d, project, rotate, surface_z
from facegan.render.glasses import draw_glasses
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState, styled
from facegan.render.shapes import scaled
from facegan.render.thermal import TEMPLATE_UV, lwir_image

OUT_W, OUT_H = 178, 218
TEMPLATE = TEMPLATE_UV + np.array([88.2, 111.5], np.float32)   # CelebA mean aligned landmarks


@dataclass
class Rendered:
    rgb: np.ndarray          # (218, 178, 3) uint8
    thermal: np.ndarray | None
    landmarks: np.ndarray    # (5, 2) float, output pixel coordinates


def _compose(ident: Identity, assets: IdentityAssets, st: ImageState, rng):
    """Canvas (with padding) holding colour and temperature, plus canvas landmarks."""
    ident = styled(ident, st)  # the hair of this photo's look
    front = front_layer(ident, assets, st)
    cv = scene.background(st, rng)
    skin_rgb = ident.skin * (1 - 0.08 * hair.greyness(ident, st.age))
    tone = ident.hair_rgb * (1 - hair.greyness(ident, st.age)) + hair.GREY * hair.greyness(ident, st.age)
    scene.long_hair(cv, ident, st, rng, tone)
    scene.body(cv, ident, st, skin_rgb)
    scene.back_layer(cv, ident, st, front, skin_rgb, assets.strands)
    proj = project(front.Z, st.yaw_deg, scene.XS)
    th = np.deg2rad(st.yaw_deg)
    depth = -TEX.x[None, :] * np.sin(th) + front.Z * np.cos(th)
    rows = slice(TEX_ROW0, TEX_ROW0 + TEX.ny)
    cv.over(rows, proj.sample(front.alpha), proj.sample(front.rgb), proj.sample(front.temp), proj.sample(depth),
            cols=proj.cols)
    draw_ears(cv, ident, st, skin_rgb)
    scene.hat(cv, ident, st)
    draw_glasses(cv, ident, st, surface_z(front.Z, ident.eye_sep, ident.eye_v))
    lm = rotate(landmarks_3d(ident, front.Z, st.smile), st.yaw_deg)[:, :2] + np.array(ORIGIN, np.float32)
    return cv, lm


def alignment(lm_canvas: np.ndarray, st: ImageState) -> np.ndarray:
    """CelebA-style similarity to the template (scale limited), then small alignment jitter."""
    m, _ = cv2.estimateAffinePartial2D(lm_canvas.astype(np.float32), TEMPLATE, method=cv2.LMEDS)
    scale = np.sqrt(abs(np.linalg.det(m[:, :2])))
    m[:, :2] *= np.clip(scale, 0.9, 1.12) / scale
    centre = TEMPLATE.mean(0)
    m[:, 2] += centre - (m[:, :2] @ lm_canvas.mean(0) + m[:, 2])     # keep the landmark centroid
    jit = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), st.rot_deg, st.scale)
    jit[:, 2] += st.shift
    return (np.vstack([jit, [0, 0, 1]]) @ np.vstack([m, [0, 0, 1]]))[:2].astype(np.float32)


def _camera(rgb, st: ImageState, rng) -> np.ndarray:
    img = cv2.pow(np.clip(scaled(rgb, st.cast), 0, 1), st.gamma)     # cv2.pow: 4x NumPy's float32 power
    if st.blur > 0.15:
        img = cv2.GaussianBlur(img, (0, 0), st.blur)
    # NumPy's draw as before (OpenCV's cv2.randn would be 1 ms faster, but a different draw: every
    # photo's noise, and the thermal noise after it in the rng, would change).
    img += rng.normal(0, st.noise, img.shape).astype(np.float32)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def render(ident: Identity, assets: IdentityAssets, st: ImageState, rng: np.random.Generator,
           thermal: bool = True) -> Rendered:
    cv, lm = _compose(ident, assets, st, rng)
    m = alignment(lm, st)
    warp = dict(dsize=(OUT_W, OUT_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    rgb = _camera(cv2.warpAffine(cv.rgb, m, **warp), st, rng)
    lm_out = lm @ m[:, :2].T + m[:, 2]
    ir = None
    if thermal:
        temp = cv2.warpAffine(cv.temp, m, **warp)
        ir = lwir_image(temp, rng, t_ambient=st.t_ambient, gain=st.t_gain, noise=st.t_noise)
    return Rendered(rgb, ir, lm_out.astype(np.float32))
