"""Persistent identity factors: what stays the same across a person's photos.

Lengths are in template pixels of the 178x218 aligned frame (inter-ocular
distance about 37 px); the face origin is the midpoint between the eyes, u
to the image right, v down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

SKIN_TONES = np.array([  # light to dark, sRGB 0..1
    [0.97, 0.82, 0.72], [0.93, 0.74, 0.61], [0.83, 0.61, 0.46],
    [0.66, 0.46, 0.32], [0.46, 0.31, 0.21], [0.31, 0.21, 0.15]], np.float32)

HAIR_COLOURS = {  # name -> (rgb, CelebA colour attribute or None)
    "black": ((0.05, 0.045, 0.045), "Black_Hair"),
    "dark_brown": ((0.16, 0.10, 0.065), "Brown_Hair"),
    "brown": ((0.32, 0.20, 0.11), "Brown_Hair"),
    "light_brown": ((0.50, 0.36, 0.21), "Brown_Hair"),
    "blond": ((0.80, 0.66, 0.42), "Blond_Hair"),
    "platinum": ((0.90, 0.84, 0.68), "Blond_Hair"),
    "auburn": ((0.48, 0.19, 0.08), None),
}
HAIR_STYLES = ("short", "buzz", "long", "bangs", "receding", "bald", "bob")
FACIAL_HAIR = ("none", "stubble", "moustache", "goatee", "beard", "vandyke")
NO_BEARD = FACIAL_HAIR[:2]  # what CelebA labels No_Beard
GLASSES_STYLES = ("round", "rectangular", "thick", "aviator")
FRAME_COLOURS = np.array([[0.05, 0.05, 0.05], [0.25, 0.14, 0.08], [0.55, 0.45, 0.25],
                          [0.6, 0.6, 0.62], [0.15, 0.15, 0.3], [0.45, 0.05, 0.05]], np.float32)
# People mostly wear their own pair (MeGlass is built on it): the share of a person's glasses
# photos in it, and of people whose own pair is dark sunglasses (half of all glasses photos were).
OWN_PAIR = 0.8
OWN_SUNGLASSES = 0.5
IRIS_COLOURS = np.array([[0.22, 0.12, 0.06], [0.10, 0.06, 0.04], [0.25, 0.40, 0.55],
                         [0.28, 0.38, 0.22], [0.40, 0.30, 0.14], [0.40, 0.45, 0.48]], np.float32)


@dataclass
class Identity:
    index: int
    male: bool
    # head and face shape
    head_w: float          # half width at the cheekbones
    head_top: float        # v of the skull top
    chin: float            # v of the chin
    jaw_p: float           # superellipse exponent of the jaw: 1.7 pointed .. 3.5 square
    jaw_taper: float       # narrowing of the lower face
    depth: float           # front depth of the head / head_w
    flat: float            # cross-section exponent: larger = flatter face front
    cheekbone: float
    brow_ridge: float
    # skin
    skin: np.ndarray
    rosy: float
    # eyes
    eye_sep: float         # half inter-ocular distance
    eye_v: float
    eye_w: float
    eye_h: float
    eye_tilt: float
    iris: np.ndarray
    crease: bool
    # brows
    brow_thick: float
    brow_arch: float
    brow_gap: float
    brow_len: float
    brow_dark: float
    # nose
    nose_tip: float        # v of the nose tip
    nose_prot: float       # how far the tip stands out of the face
    nose_w: float          # alar half width
    bridge_w: float
    # mouth
    mouth_v: float
    mouth_w: float
    lip_up: float
    lip_lo: float
    lip_rgb: np.ndarray
    # ears
    ear_h: float
    ear_w: float
    ear_v: float
    ear_angle: float
    # hair
    hair_style: str
    hair_colour: str
    hair_vol: float
    hairline: float        # v of the hairline centre
    part: float            # -1..1 side of the parting
    wavy: float
    grey_rate: float       # how fast the hair greys with age
    # facial hair, marks
    facial_hair: str
    moles: list = field(default_factory=list)   # (u, v, radius)
    freckles: float = 0.0
    scar: tuple | None = None
    # thermal physiology
    t_skin: float = 34.0
    t_periorbital: float = 1.5
    t_nose_cool: float = 2.0
    # per-identity attribute rates
    p_glasses: float = 0.2
    glasses_style: str = "rectangular"
    glasses_tint: float = 0.3       # the person's own pair: its lenses (0 clear .. 1 sunglasses-dark)
    frame_colour: int = 0           # and its frame (an index into FRAME_COLOURS)
    p_smile: float = 0.3
    age_young: float = 0.2
    age_old: float = 0.75
    p_old: float = 0.25
    p_pose: float = 0.25
    # photographed in the wild (a training set's person: rates as in CelebA) rather than to an
    # evaluation protocol (every condition, young ID photos)
    wild: bool = False
    # other looks this person has worn (haircuts, dye): (style, colour, volume) each
    looks: tuple = ()

    @property
    def hair_rgb(self) -> np.ndarray:
        return np.array(HAIR_COLOURS[self.hair_colour][0], np.float32)


def _skin(rng) -> np.ndarray:
    t = rng.beta(1.6, 1.8) * (len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    base = SKIN_TONES[i] * (1 - (t - i)) + SKIN_TONES[i + 1] * (t - i)
    undertone = rng.normal(0, 0.025, 3) * np.array([1.0, 0.7, 1.2])
    return np.clip(base + undertone, 0.05, 1.0).astype(np.float32)


def _hair(rng, male: bool, skin_dark: float) -> tuple[str, str]:
    names = list(HAIR_COLOURS)
    # dark skin mostly goes with dark hair, as in real populations
    w = np.array([3, 3, 2.5, 1.5, 1.2, 0.4, 0.5]) * np.array([1, 1, 1] + [1 - 0.8 * skin_dark] * 4)
    colour = names[rng.choice(len(names), p=w / w.sum())]
    sw = [3, 1.5, 0.6, 1.0, 1.2, 0.8, 0.3] if male else [1.2, 0.1, 4, 2, 0.1, 0.0, 2]
    style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=np.array(sw) / sum(sw))]
    return style, colour


# Styles a person can switch between: a bald head stays bald or shaved; the others cut and grow.
LOOK_STYLES = {"bald": ("bald", "buzz"), "receding": ("receding", "buzz", "short")}
ALTERNATE_LOOKS = 5


def _looks(rng, male: bool, style: str, colour: str) -> tuple:
    """Other looks of this person, as across a celebrity's photos over years: another cut or
    length, now and then dyed."""
    names = list(HAIR_COLOURS)
    out = []
    for _ in range(ALTERNATE_LOOKS):
        allowed = LOOK_STYLES.get(style)
        if allowed is None:
            sw = np.array([3, 1.0, 0.6, 1.0, 0.0, 0.0, 0.3] if male else [1.2, 0.05, 4, 2, 0.0, 0.0, 2])
            alt = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=sw / sw.sum())]
        else:
            alt = allowed[rng.integers(len(allowed))]
        dyed = names[rng.integers(len(names))] if rng.random() < 0.55 else colour
        out.append((alt, dyed, float(rng.uniform(3, 6.5))))
    return tuple(out)


def _marks(rng) -> tuple[list, float, tuple | None]:
    moles = [(float(rng.uniform(-34, 34)), float(rng.uniform(-30, 55)), float(rng.uniform(0.9, 1.8)))
             for _ in range(rng.choice(4, p=[0.35, 0.35, 0.2, 0.1]))]
    freckles = float(rng.uniform(0.4, 1.0)) if rng.random() < 0.18 else 0.0
    scar = None
    if rng.random() < 0.1:
        u0, v0 = rng.uniform(12, 30) * rng.choice([-1, 1]), rng.uniform(-20, 40)
        ang = rng.uniform(0, np.pi)
        ln = rng.uniform(6, 12)
        scar = (float(u0), float(v0), float(u0 + ln * np.cos(ang)), float(v0 + ln * np.sin(ang)))
    return moles, freckles, scar


def _rates(rng) -> dict:
    """How often this person wears glasses, smiles, is photographed old or turned."""
    return dict(
        p_glasses=0.0 if rng.random() < 0.35 else float(rng.uniform(0.15, 0.5)),
        glasses_style=GLASSES_STYLES[rng.integers(len(GLASSES_STYLES))],
        p_smile=float(rng.uniform(0.1, 0.5)),
        age_young=float(rng.uniform(0.05, 0.35)),
        age_old=float(rng.uniform(0.65, 0.95)),
        p_old=0.0 if rng.random() < 0.2 else float(rng.uniform(0.15, 0.4)),
        p_pose=float(rng.uniform(0.15, 0.4)),
    )


# A training set's people, as celeba-mini shows them (bench/attribute_spread.py): most never wear
# glasses in their photos and a few nearly always do (66% of its identities never, 6.4% of photos);
# a person's age hardly changes across their photos (70% always young, 16% always old, the Young
# label's within-identity share of variance 0.13); nearly everyone smiles in some; turned heads
# are a few, rarely past 40 degrees (13% of photos past about 26, 2% past about 42). A recognizer
# trained on such people never sees most of them with and without glasses, or young and old: the
# invariance that evaluation probes ask for is not in its data, as in real training sets.
WILD_NO_GLASSES = 0.62
WILD_GLASSES_RATE = (0.05, 0.9)   # log-uniform, for the rest
WILD_ALWAYS_OLD = 0.15
WILD_SPANS_AGES = 0.15            # photographed across the young/old line (p_old uniform)
WILD_SMILE = (0.05, 1.0)          # uniform: nearly everyone smiles in some photos (48% of celeba-mini's), some in most
WILD_POSE = (0.2, 0.5)            # uniform: the share of a person's photos with the head turned
WILD_YAW = (15.0, 11.0)           # a turned head's |yaw|: this many degrees plus an exponential of this scale


def _wild_rates(seed: int, index: int) -> dict:
    """The rates of a person photographed as celebrities are, from their own generator so that the
    person's face is the same as in any other collection."""
    rng = np.random.default_rng([seed, 5, index])
    lo, hi = np.log(WILD_GLASSES_RATE)
    p_glasses = 0.0 if rng.random() < WILD_NO_GLASSES else float(np.exp(rng.uniform(lo, hi)))
    u = rng.random()
    p_old = 1.0 if u < WILD_ALWAYS_OLD else float(rng.uniform(0.2, 0.8)) if u < WILD_ALWAYS_OLD + WILD_SPANS_AGES else 0.0
    return dict(p_glasses=p_glasses, p_old=p_old, p_smile=float(rng.uniform(*WILD_SMILE)),
                p_pose=float(rng.uniform(*WILD_POSE)), wild=True)


# How far apart people's inner-face geometry (eyes, brows, nose, mouth) is drawn, as a multiple
# of the ranges written below: what a recognizer can tell people by once hair, clothes and
# framing no longer identify them.
INNER_SPREAD = 1.35


def _inner(lo: float, hi: float) -> tuple[float, float]:
    half = INNER_SPREAD * (hi - lo) / 2
    return (lo + hi) / 2 - half, (lo + hi) / 2 + half


def sample_identity(seed: int, index: int, wild: bool = False) -> Identity:
    """The identity `index` of a data set; depends only on (seed, index). `wild`: the same person
    with a training set's attribute rates (see WILD_NO_GLASSES)."""
    rng = np.random.default_rng([seed, 0, index])
    male = bool(rng.random() < 0.5)
    skin = _skin(rng)
    skin_dark = float(1 - skin.mean())
    style, colour = _hair(rng, male, skin_dark)
    facial = "none"
    if male and rng.random() < 0.45:
        facial = FACIAL_HAIR[1 + rng.integers(len(FACIAL_HAIR) - 1)]
    moles, freckles, scar = _marks(rng)
    m = 1.0 if male else 0.0
    lip = np.array([0.72, 0.36, 0.36]) * (0.55 + 0.45 * skin.mean() / 0.8) + rng.normal(0, 0.03, 3)
    ident = Identity(
        index=index, male=male,
        head_w=float(rng.uniform(41.5, 45.5) + 1.0 * m), head_top=float(rng.uniform(-70, -65)),
        chin=float(rng.uniform(63, 69) + 1.5 * m), jaw_p=float(rng.uniform(1.7, 3.0) + 0.6 * m),
        jaw_taper=float(rng.uniform(0.0, 0.15)), depth=float(rng.uniform(0.95, 1.15)),
        flat=float(rng.uniform(2.1, 2.8)), cheekbone=float(rng.uniform(1.0, 4.0)),
        brow_ridge=float(rng.uniform(1.0, 2.5) + 1.2 * m),
        skin=skin, rosy=float(rng.uniform(0.0, 0.12)),
        eye_sep=float(rng.uniform(*_inner(16.8, 20.5))), eye_v=float(rng.uniform(*_inner(-1.5, 1.5))),
        eye_w=float(rng.uniform(*_inner(7.8, 10.0))), eye_h=float(rng.uniform(*_inner(3.6, 5.0))),
        eye_tilt=float(rng.uniform(*_inner(-0.12, 0.16))), iris=IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))],
        crease=bool(rng.random() < 0.6),
        brow_thick=float(rng.uniform(*_inner(1.2, 2.6)) + 0.9 * m), brow_arch=float(rng.uniform(*_inner(0.5, 4.0))),
        brow_gap=float(rng.uniform(*_inner(8.5, 12.5))), brow_len=float(rng.uniform(*_inner(17, 23))),
        brow_dark=float(rng.uniform(0.35, 0.8)),
        nose_tip=float(rng.uniform(*_inner(20.5, 27.0))), nose_prot=float(rng.uniform(*_inner(10, 16))),
        nose_w=float(rng.uniform(*_inner(6.8, 10.0)) + 0.6 * m), bridge_w=float(rng.uniform(*_inner(2.8, 4.6))),
        mouth_v=float(rng.uniform(*_inner(36.5, 42.0))), mouth_w=float(rng.uniform(*_inner(13.0, 18.0))),
        lip_up=float(rng.uniform(*_inner(1.8, 3.6)) - 0.4 * m), lip_lo=float(rng.uniform(*_inner(2.5, 4.8)) - 0.4 * m),
        lip_rgb=np.clip(lip, 0.1, 1.0).astype(np.float32),
        ear_h=float(rng.uniform(15, 21)), ear_w=float(rng.uniform(6.5, 9.5)),
        ear_v=float(rng.uniform(6, 12)), ear_angle=float(rng.uniform(0.25, 0.55)),
        hair_style=style, hair_colour=colour, hair_vol=float(rng.uniform(3, 6.5)),
        hairline=float(rng.uniform(-42, -35)), part=float(rng.uniform(-1, 1)),
        wavy=float(rng.uniform(0, 1) ** 2), grey_rate=float(rng.uniform(0.6, 1.2)),
        facial_hair=facial, moles=moles, freckles=freckles, scar=scar,
        t_skin=float(rng.normal(34.0, 0.4)), t_periorbital=float(rng.uniform(0.9, 2.0)),
        t_nose_cool=float(rng.uniform(0.8, 3.5)),
        **_rates(rng),
        looks=_looks(rng, male, style, colour),
    )
    ident = replace(ident, **_own_glasses(seed, index))
    return replace(ident, **_wild_rates(seed, index)) if wild else ident


def lens_tint(rng: np.random.Generator, p_dark: float) -> float:
    """A pair's lenses: dark sunglasses that hide the eyes with probability p_dark, else clear or lightly tinted."""
    return float(rng.uniform(0.85, 0.97)) if rng.random() < p_dark else float(rng.uniform(0.1, 0.45))


def _own_glasses(seed: int, index: int) -> dict:
    """The person's own pair of glasses, from their own generator (the face's draws stay as they were)."""
    rng = np.random.default_rng([seed, 6, index])
    return dict(glasses_tint=lens_tint(rng, OWN_SUNGLASSES), frame_colour=int(rng.integers(len(FRAME_COLOURS))))
