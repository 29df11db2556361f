"""The front layer: skin, features and scalp hair on the head heightfield,
lit (Lambert with wrap + Blinn highlight) and given a temperature, all in
texture space before projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facegan.render import features, hair, skin
from facegan.render.geometry import TEX, heightfield, normals
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState
from facegan.render.shapes import darken, expand, scaled, smooth_noise
from facegan.render.thermal import Physiology, face_temperature, material, view_falloff


@dataclass
class IdentityAssets:
    """Per-identity textures, computed once and reused for all its photos."""

    albedo: np.ndarray
    strands: np.ndarray
    ragged: np.ndarray
    skin_temp: np.ndarray   # deg C of bare skin (face_temperature on the texture plane)


def identity_assets(ident: Identity) -> IdentityAssets:
    rng = np.random.default_rng([ident.index, 31])
    return IdentityAssets(albedo=skin.base_albedo(ident), strands=hair.strands(ident),
                          ragged=smooth_noise(rng, (TEX.ny, TEX.nx), (40, 70)), skin_temp=_skin_temperature(ident))


@dataclass
class FrontLayer:
    rgb: np.ndarray      # lit colour
    temp: np.ndarray     # deg C
    alpha: np.ndarray
    Z: np.ndarray
    a: np.ndarray        # skull half width per row
    a_hair: np.ndarray   # hair shell half width per row
    hair_rows: np.ndarray


WRAP = 0.25  # how far light wraps past the terminator of skin and hair


def wrapped_diffuse(n_cam, light_dir, wrap: float = WRAP):
    """Wrapped Lambert: a soft terminator, as light scatters in skin and hair."""
    L = light_dir
    ndl = n_cam[..., 0] * L[0] + n_cam[..., 1] * L[1] + n_cam[..., 2] * L[2]   # no BLAS threads
    return np.clip((ndl + wrap) / (1 + wrap), 0, 1)


def shade(albedo, n_cam, st: ImageState, spec: np.ndarray):
    """Wrapped Lambert plus a Blinn-Phong highlight."""
    L = st.light_dir
    diffuse = wrapped_diffuse(n_cam, L)
    H = L + np.array([0, 0, 1], np.float32)
    H = H / np.linalg.norm(H)
    h = np.clip(n_cam[..., 0] * H[0] + n_cam[..., 1] * H[1] + n_cam[..., 2] * H[2], 0, 1)
    h8 = h * h
    h8 *= h8
    h8 *= h8
    hl = h8 * h8 * h8 * spec            # h ** 24 by squaring: a general power is 10x slower
    # (albedo * diffuse + highlight) * light colour: one pass over the 3 channels instead of four
    return scaled(albedo * expand(st.ambient + st.light * diffuse) + expand(hl * st.light), st.light_rgb)


def camera_normals(n, yaw_deg: float):
    th = np.deg2rad(yaw_deg)
    c, s = float(np.cos(th)), float(np.sin(th))   # Python floats keep the float32 normals float32
    out = np.empty_like(n)
    out[..., 0] = n[..., 0] * c + n[..., 2] * s
    out[..., 1] = n[..., 1]
    out[..., 2] = n[..., 2] * c - n[..., 0] * s
    return out


def canonical_uv(ident: Identity, U, V):
    """Identity face coordinates -> template coordinates (thermal map is defined there)."""
    uc = U * 18.6 / ident.eye_sep
    vc = np.where(V < ident.nose_tip, V * 23.1 / ident.nose_tip,
                  23.1 + (V - ident.nose_tip) * 16.6 / (ident.mouth_v - ident.nose_tip))
    return uc, vc


def front_layer(ident: Identity, assets: IdentityAssets, st: ImageState) -> FrontLayer:
    Zs, inside, a, _ = heightfield(ident, st.smile, st.age)
    z_shell, in_shell, a_hair = hair.shell(ident, st.age)
    hm = hair.scalp_mask(ident, st.age, assets.ragged) * in_shell
    Z = Zs * (1 - hm) + z_shell * hm
    alpha = np.maximum(inside, hm)
    hair_rgb = hair.colour(ident, st.age, assets.strands)
    tone = ident.hair_rgb * (1 - hair.greyness(ident, st.age)) + hair.GREY * hair.greyness(ident, st.age)

    albedo = assets.albedo.copy()
    skin.age_skin(albedo, ident, st.age, st.smile)
    eye_mask = np.zeros(Z.shape, np.float32)
    mouth_in = np.zeros(Z.shape, np.float32)
    features.nostrils(albedo, ident)
    features.eyes(albedo, ident, st, eye_mask)
    features.brows(albedo, ident, st, tone * 0.75)
    features.mouth(albedo, ident, st, mouth_in)
    beard = skin.facial_hair(albedo, ident, st.age, st.smile, assets.strands, tone)
    _parting(hair_rgb, ident, st.age)
    albedo = albedo * expand(1 - hm) + hair_rgb * expand(hm)

    n_cam = camera_normals(normals(Z), st.yaw_deg)
    spec = 0.06 + 0.1 * hm + 0.3 * eye_mask
    rgb = shade(albedo, n_cam, st, spec=spec.astype(np.float32))
    temp = _temperature(ident, st, assets.skin_temp, hm, beard, eye_mask, mouth_in, n_cam[..., 2])
    rows = hm.max(axis=1) > 0.5
    return FrontLayer(rgb.astype(np.float32), temp, alpha, Z, a, a_hair, rows)


def _parting(hair_rgb, ident: Identity, age: float):
    part = hair.parting(ident, age)
    if part is None:
        return
    u0, v_low = part
    w = TEX.window(u0 - 2, u0 + 2, -100, v_low)
    sl, U, V = w
    darken(hair_rgb, sl, 0.35 * np.exp(-((U - u0) / 0.6) ** 2))


def _skin_temperature(ident: Identity) -> np.ndarray:
    """The identity's skin temperature map on the texture plane (its thermal physiology only)."""
    phys = Physiology(ident.t_skin, ident.t_periorbital, ident.t_nose_cool)
    uc, vc = canonical_uv(ident, TEX.x[None, :], TEX.y[:, None])
    return face_temperature(uc, vc, phys).astype(np.float32)


def _temperature(ident: Identity, st: ImageState, skin_temp, hm, beard, eye_mask, mouth_in, n_z):
    t = skin_temp
    amb = st.t_ambient
    for mask, name in ((eye_mask, "eye"), (mouth_in, "mouth"), (beard, "beard"), (hm, "hair")):
        t = t + mask * (material(name, ident.t_skin, amb) - t)
    return view_falloff(t, n_z, amb).astype(np.float32)
