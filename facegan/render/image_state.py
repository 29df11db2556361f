"""Per-image attributes and nuisances, drawn from the identity's own rates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from facegan.render.identity import (FRAME_COLOURS, GLASSES_STYLES, NO_BEARD, OWN_PAIR, OWN_SUNGLASSES, WILD_YAW,
                                     Identity, lens_tint)

CLOTHES = np.array([[0.1, 0.1, 0.12], [0.85, 0.85, 0.85], [0.15, 0.2, 0.4], [0.5, 0.1, 0.1],
                    [0.3, 0.35, 0.25], [0.6, 0.5, 0.35], [0.4, 0.4, 0.45], [0.7, 0.45, 0.55]], np.float32)


@dataclass
class ImageState:
    # attributes
    eyeglasses: bool
    glasses_style: str
    glasses_tint: float      # 0 clear .. 1 sunglasses-dark
    frame_rgb: np.ndarray
    smiling: bool
    smile: float             # 0..1 strength of the expression
    mouth_open: float        # lip gap in px
    age: float               # 0 young .. 1 old
    yaw_deg: float
    lipstick: bool
    gaze: tuple[float, float]
    # nuisances
    light_dir: np.ndarray    # unit vector towards the light, camera frame (x right, y down, z to camera)
    light: float
    ambient: float
    light_rgb: np.ndarray
    cast: np.ndarray         # per-channel gains after rendering
    gamma: float
    background: str
    bg_rgb: np.ndarray       # two colours for gradients / textures
    clothes_rgb: np.ndarray
    rot_deg: float
    scale: float
    shift: tuple[float, float]
    blur: float
    noise: float
    jpeg_quality: int
    # thermal nuisances
    t_ambient: float
    t_gain: float
    t_noise: float
    # this photo's look: hair (the identity's own or one of its other looks) and headwear
    hair_style: str = ""
    hair_colour: str = ""
    hair_vol: float = 0.0
    part: float = 0.0
    hat: str = ""            # "" | beanie | cap
    hat_rgb: np.ndarray | None = None
    facial_hair: str = ""    # this photo's beard; "" = the identity's own
    pitch_deg: float = 0.0   # head nod, chin up positive: shifts the skull's outline and the body against the face


# Rates at which the look changes within a person, set so that the pixels outside the inner face
# identify people about as well as celeba-mini's do (bench/shortcut.py): a celebrity's photos span
# years of cuts, dye, hats and beards.
MAIN_LOOK = 0.1   # share of photos in the person's usual look (the rest: one of ALTERNATE_LOOKS)
PART_FLIP = 0.2   # parting on the other side
HAT = 0.15        # a beanie or cap
SHAVEN = 0.3      # a bearded man photographed shaven or with stubble
STUBBLE = 0.15    # a clean-shaven man photographed with stubble


def _look(ident: Identity, rng) -> dict:
    looks = ident.looks
    if looks and rng.random() >= MAIN_LOOK:
        style, colour, vol = looks[rng.integers(len(looks))]
    else:
        style, colour, vol = ident.hair_style, ident.hair_colour, ident.hair_vol
    hat = ("beanie", "cap")[rng.integers(2)] if rng.random() < HAT else ""
    beard = ident.facial_hair
    if beard not in NO_BEARD and rng.random() < SHAVEN:
        beard = NO_BEARD[rng.integers(2)]
    elif ident.male and beard == "none" and rng.random() < STUBBLE:
        beard = "stubble"
    return dict(hair_style=style, hair_colour=colour, hair_vol=float(vol * rng.uniform(0.85, 1.15)),
                part=float(-ident.part if rng.random() < PART_FLIP else ident.part), hat=hat,
                hat_rgb=np.clip(CLOTHES[rng.integers(len(CLOTHES))] + rng.normal(0, 0.08, 3), 0.03, 1)
                .astype(np.float32), facial_hair=beard)


PITCH_SD = 10.0  # degrees of head nod across photos, clipped at 2.5 sd


def pitch_shift(ident: Identity, st: ImageState) -> float:
    """How far (template px, down positive) the head's outline moves against the face front when
    the head nods: the front stands about head_w * depth before the skull's centre."""
    return float(ident.head_w * ident.depth * np.sin(np.deg2rad(st.pitch_deg)))


def styled(ident: Identity, st: ImageState) -> Identity:
    """The identity as this photo shows it: its hair and beard in the photo's look, and its
    outline (skull top, ears, hairline, chin) where this photo's head pitch puts it."""
    dv = pitch_shift(ident, st)
    if dv:
        ident = dataclasses.replace(ident, head_top=ident.head_top + dv, ear_v=ident.ear_v + dv,
                                    hairline=ident.hairline + 0.5 * dv, chin=ident.chin + 0.2 * dv)
    if not st.hair_style:
        return ident
    return dataclasses.replace(ident, hair_style=st.hair_style, hair_colour=st.hair_colour,
                               hair_vol=st.hair_vol, part=st.part, facial_hair=st.facial_hair or ident.facial_hair)


def _age(ident: Identity, rng) -> float:
    centre = ident.age_old if rng.random() < ident.p_old else ident.age_young
    return float(np.clip(centre + rng.normal(0, 0.06), 0.0, 1.0))


def _yaw(ident: Identity, rng, difficulty: float) -> float:
    if rng.random() < ident.p_pose:
        u, side = rng.random(), rng.choice([-1, 1])
        # an evaluation protocol covers 20..60 degrees evenly; in the wild large turns are rare
        yaw = (WILD_YAW[0] - WILD_YAW[1] * np.log1p(-u) if ident.wild else 20 + 40 * u) * side
    else:
        yaw = np.clip(rng.normal(0, 5.0), -12, 12)
    return float(np.clip(yaw * min(difficulty, 1.0), -60, 60))


def _light(rng, d: float):
    az = rng.normal(0, 0.35 * d)                 # left/right
    el = rng.normal(-0.35, 0.12 * d)             # mostly from above
    v = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    return (v / np.linalg.norm(v)).astype(np.float32)


def _background_colours(rng, d: float) -> np.ndarray:
    """Two colours of a dark to bright wall, office or blurred outdoors: the head's silhouette
    against it must not be equally clear in every photo."""
    grey = rng.uniform(0.25, 0.9)
    c0 = grey + rng.normal(0, 0.08 * d, 3)
    c1 = c0 + rng.normal(0, 0.12 * d, 3)
    return np.clip(np.stack([c0, c1]), 0.05, 0.95).astype(np.float32)


def _own(own: bool, theirs, drawn):
    """The person's own pair's value, or the one drawn for another pair (drawn either way, so that
    the photo's generator is consumed alike)."""
    return theirs if own else drawn


def sample_image_state(ident: Identity, rng: np.random.Generator, *, difficulty: float = 1.0,
                       jpeg_quality: tuple[int, int] = (75, 95), neutral: bool = False) -> ImageState:
    """One photo's attributes and nuisances; `neutral` forces an enrollment-style photo."""
    d = float(difficulty)
    glasses = (not neutral) and rng.random() < ident.p_glasses
    own = rng.random() < OWN_PAIR  # the person's own pair; else another (spare, sunglasses, borrowed)
    style = ident.glasses_style if own else GLASSES_STYLES[rng.integers(len(GLASSES_STYLES))]
    smiling = (not neutral) and rng.random() < ident.p_smile
    smile = float(np.clip(rng.uniform(0.65, 1.0) * d, 0, 1)) if smiling else 0.0
    mouth_open = float(rng.uniform(5.5, 10.0) * smile) if smiling and rng.random() < 0.85 else 0.0
    if not smiling and rng.random() < 0.12:
        mouth_open = float(rng.uniform(1.0, 2.5))
    # An evaluation protocol's enrollment photo is a young ID photo; a person in the wild is
    # photographed at their age
    age = min(_age(ident, rng), 0.4) if neutral and not ident.wild else _age(ident, rng)
    yaw = float(np.clip(rng.normal(0, 2.5), -6, 6)) if neutral else _yaw(ident, rng, d)
    bg_kind = ["solid", "vgrad", "hgrad", "radial", "blobs", "stripes"][rng.integers(6)]
    return ImageState(
        eyeglasses=bool(glasses), glasses_style=style,
        # Another pair is as likely to be sunglasses as the people's own are.
        glasses_tint=_own(own, ident.glasses_tint, lens_tint(rng, OWN_SUNGLASSES)),
        frame_rgb=_own(own, FRAME_COLOURS[ident.frame_colour],
                       FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))]),
        smiling=bool(smiling), smile=smile, mouth_open=mouth_open, age=age, yaw_deg=yaw,
        lipstick=(not ident.male) and rng.random() < 0.4,
        gaze=(float(rng.normal(0, 0.8)), float(rng.normal(0, 0.4))),
        # Exposure and white balance vary as across photographers and years: skin tone and
        # brightness alone must not identify a person.
        light_dir=_light(rng, d), light=float(rng.uniform(0.45, 0.95)), ambient=float(rng.uniform(0.28, 0.52)),
        light_rgb=np.clip(1 + rng.normal(0, 0.05 * d, 3), 0.8, 1.2).astype(np.float32),
        cast=np.clip(1 + rng.normal(0, 0.09 * d, 3), 0.7, 1.3).astype(np.float32),
        gamma=float(np.exp(rng.normal(0, 0.16 * d))),
        background=bg_kind, bg_rgb=_background_colours(rng, d),
        clothes_rgb=np.clip(CLOTHES[rng.integers(len(CLOTHES))] + rng.normal(0, 0.05, 3), 0, 1).astype(np.float32),
        rot_deg=float(rng.normal(0, 1.5 * d)),  # with yaw's, about celeba-mini's roll (sd 2 deg)
        scale=float(np.exp(rng.normal(0, 0.015 * d))),
        shift=(float(rng.normal(0, 0.8 * d)), float(rng.normal(0, 0.8 * d))),
        blur=float(abs(rng.normal(0, 0.5 * d))), noise=float(abs(rng.normal(0, 0.012 * d))),
        jpeg_quality=int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1)),
        t_ambient=float(rng.uniform(18, 26)), t_gain=float(rng.uniform(0.8, 1.2)),
        t_noise=float(rng.uniform(1.0, 3.0)),
        **_look(ident, rng),
        pitch_deg=float(np.clip(rng.normal(0, PITCH_SD * d), -2.5 * PITCH_SD, 2.5 * PITCH_SD)),
    )
