"""Thermal (LWIR) twins for the prepared store, from one of three sources (`thermal.source`):

- synthetic: the renderer's twins (`thermal_align_celeba/` of a CelebA-layout root);
- simulated: the thermal simulator of `facegan.render.thermal` applied to real photos: its
  temperature field placed by the photo's 5 landmarks, the skin region read from the
  photo's colours (hair, background and clothes take their material temperatures), cold
  lenses where CelebA's Eyeglasses label says so, a physiology per identity and exposure
  nuisances per image, all seeded, so the same params give the same twins. Each twin is drawn
  directly at the prepared crop's resolution (the crop's box of the CelebA frame, `crop_view`;
  crops under 64 px at a multiple of it, then resized) with the sensor's blur and noise scaled
  to match drawing the whole frame and reducing it, several times cheaper than that;
- paired: the user's own pairs, `thermal.root/visible/<id>/<n>.*` and
  `thermal.root/thermal/<id>/<n>.*` (same identity folders, same file stems). Each visible
  photo is aligned with MTCNN as identity folders are; its thermal twin gets the same
  transform, so the two cameras must be co-registered (same view; the thermal frame is
  resized to the visible frame's size first).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from facegan.config import Params
from facegan.data.alignment import CELEBA_SIZE, FACE_CROP_BOX
from facegan.data.folder import scan_identity_folders
from facegan.errors import FaceganError
from facegan.render.shapes import coverage, ellipse_sdf
from facegan.render.thermal import View, face_coords, lens_mask, sample_physiology, simulate_thermal

SOURCES = ("synthetic", "simulated", "paired", "none")
# Classic YCrCb skin rule (Chai & Ngan 1999): wide enough for most skin tones under studio light.
SKIN_CR, SKIN_CB = (133, 173), (77, 127)
MIN_SKIN_SHARE = 0.1  # of the face crop; below it (grey photos, odd light) the template oval is used
SKIN_BLUR = 1.5  # frame pixels: the skin map's edges are soft, not pixel steps
# The skin map is the crop's own; a frame-sized one would be it linearly resized, a triangle
# kernel of variance 1/6 crop px^2 that the blur adds back so edges stay as soft.
CROP_TO_FRAME_BLUR = np.sqrt(1 / 6)


def resolve_source(params: Params) -> str:
    """The thermal source prep uses: `auto` becomes the renderer's twins for synthetic data,
    the simulator for real photos."""
    source = params.thermal.source
    if source == "auto":
        return "synthetic" if params.data.source == "synthetic" else "simulated"
    if source == "paired" and params.data.source != "folder":
        raise FaceganError("thermal.source paired: the pairs are identity folders; set data.source: folder "
                           "and data.root to thermal.root")
    if source == "paired" and Path(params.data.root) != Path(params.thermal.root):
        raise FaceganError(f"thermal.source paired reads photos from thermal.root ({params.thermal.root}); "
                           f"set data.root to the same folder (got {params.data.root}) so DVC tracks it")
    return source


# --- paired folders ----------------------------------------------------------------------------


def _stems(table: pd.DataFrame) -> pd.Series:
    return pd.Series(table["path"].to_numpy(), index=[str(Path(n).with_suffix("")) for n in table["name"]])


def paired_table(root: Path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The visible photos of `root/visible` with `thermal_path` set to their twins in `root/thermal`.
    Folders that disagree (a file or identity on one side only) stop with the first mismatch."""
    root = Path(root)
    for side in ("visible", "thermal"):
        if not (root / side).is_dir():
            raise FaceganError(f"{root / side}: missing; thermal.root needs visible/<id>/<n>.png and "
                               "thermal/<id>/<n>.png")
    visible, skipped = scan_identity_folders(root / "visible")
    thermal, thermal_skipped = scan_identity_folders(root / "thermal")
    v, t = _stems(visible), _stems(thermal)
    only = sorted([(s, "visible", "thermal") for s in set(v.index) - set(t.index)]
                  + [(s, "thermal", "visible") for s in set(t.index) - set(v.index)])
    if only:
        stem, has, lacks = only[0]
        raise FaceganError(f"{root}: {has}/{stem} has no twin in {lacks}/ ({len(only)} unpaired files); "
                           "the visible and thermal folders must hold the same <id>/<n> files")
    visible["thermal_path"] = t[list(v.index)].to_numpy()
    return visible, skipped + thermal_skipped


def read_thermal_like(path: str, shape: tuple[int, int]) -> np.ndarray:
    """A thermal frame as RGB (grey replicated), resized to a visible frame's (h, w)."""
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot decode {path}")
    if image.shape != shape:
        image = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return np.repeat(image[..., None], 3, axis=2)


# --- the simulator for real photos ---------------------------------------------------------------


def crop_view(size: int) -> View:
    """The prepared face crop as a view of the CelebA frame: FACE_CROP_BOX at size x size."""
    return View((CELEBA_SIZE[1], CELEBA_SIZE[0]), FACE_CROP_BOX, (size, size))


def skin_mask(face_crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Skin coverage (float32, on the pixels `crop_view(size).fine()` draws) of a photo from its
    prepared face crop.

    Inside the inner face (eyes to chin, cheeks) everything counts as skin: eyes, brows and
    lips are near skin temperature. Around it, out to a generous head oval, the photo's
    skin-coloured pixels count (neck, ears, forehead unless hair covers it); outside, nothing
    (skin-coloured backgrounds stay ambient). Grey or oddly lit photos, where too little
    reads as skin, get the template oval.
    """
    view = crop_view(face_crop.shape[0])
    fine = view.fine()
    u, v = face_coords(np.asarray(landmarks, np.float32).reshape(5, 2), view.frame, fine)
    inner = coverage(ellipse_sdf(u, v - 18, 30, 34), 1.5)
    ycrcb = cv2.cvtColor(np.ascontiguousarray(face_crop), cv2.COLOR_RGB2YCrCb)
    skin = ((ycrcb[..., 1] >= SKIN_CR[0]) & (ycrcb[..., 1] <= SKIN_CR[1])
            & (ycrcb[..., 2] >= SKIN_CB[0]) & (ycrcb[..., 2] <= SKIN_CB[1])).astype(np.float32)
    if skin.mean() < MIN_SKIN_SHARE:
        return np.maximum(inner, coverage(ellipse_sdf(u, v - 14, 44, 58), 1.5))
    # Nothing is skin beyond the crop, as in the frame outside it.
    sigma = np.hypot(SKIN_BLUR * view.scale[0], CROP_TO_FRAME_BLUR)
    photo = cv2.GaussianBlur(skin, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    # Onto the grid the twin is drawn on (the crop's own but for small crops). Cubic, unlike
    # linear, adds next to no blur (32 px twins 0.23 grey mean off the frame-sized map's, linear
    # 0.5), but overshoots a little.
    photo = np.clip(cv2.resize(photo, fine.size[::-1], interpolation=cv2.INTER_CUBIC), 0, 1)
    return np.maximum(inner, photo * coverage(ellipse_sdf(u, v - 14, 50, 66), 1.5))


def simulated_twin(face_crop: np.ndarray, landmarks: np.ndarray, *, eyeglasses: bool, identity: int, name: str,
                   seed: int) -> np.ndarray:
    """The simulated thermal twin of one prepared visible crop (same size, grey on 3 channels).

    `landmarks`: the photo's 10 CelebA-frame coordinates. The person's physiology is seeded by
    (seed, identity), the exposure by (seed, image name): independent of row order and workers.
    The simulator draws the crop's view of the frame directly, at the crop's resolution.
    """
    view = crop_view(face_crop.shape[0])
    points = np.asarray(landmarks, np.float32).reshape(5, 2)
    phys = sample_physiology(np.random.default_rng([seed, 17, int(identity)]))
    lenses = lens_mask(points, view.frame, view.fine()) if eyeglasses else None
    twin = simulate_thermal(points, view.frame, seed=int(np.random.SeedSequence([seed, 18, zlib.crc32(name.encode())])
                                                         .generate_state(1)[0]),
                            phys=phys, skin_mask=skin_mask(face_crop, points), glasses_mask=lenses, view=view)
    return np.repeat(twin[..., None], 3, axis=2)
