"""Decoding source images into prepared face crops (the only place images are decoded)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from facegan.data.alignment import CELEBA_SIZE, FACE_CROP_BOX, warp_to_celeba

# Errors that mean "this one file is unreadable", not "the program is broken".
DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)
NO_FACE = "no face found; give a photo with one clearly visible face"


def _crop_resize(img: Image.Image, image_size: int) -> np.ndarray:
    sx, sy = img.width / CELEBA_SIZE[0], img.height / CELEBA_SIZE[1]
    left, top, right, bottom = FACE_CROP_BOX
    box = (left * sx, top * sy, right * sx, bottom * sy)
    # reducing_gap: box-reduce first, then resample - fast and alias-free.
    out = img.resize((image_size, image_size), Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)
    return np.asarray(out, dtype=np.uint8)


def load_face(path: str, image_size: int) -> np.ndarray:
    """Decode a CelebA-frame image file (a path or a file object) to the (S, S, 3) uint8 face crop.

    Grayscale (thermal) files come back replicated on three channels so every
    row of the store has one shape. Raises one of DECODE_ERRORS when the file
    is corrupt or truncated.
    """
    with Image.open(path) as img:
        if img.format == "JPEG":
            # Let libjpeg decode at a reduced scale when the target is small.
            img.draft("RGB", (2 * image_size, 2 * image_size))
        img = img.convert("RGB")
        return _crop_resize(img, image_size)


def read_rgb(path: str) -> np.ndarray:
    """Whole image as (H, W, 3) uint8 RGB, for alignment."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def crop_aligned(aligned: np.ndarray, image_size: int) -> np.ndarray:
    """Face crop of an already aligned 178x218 array."""
    return _crop_resize(Image.fromarray(aligned), image_size)


@dataclass
class AlignedFace:
    crop: np.ndarray       # S x S x 3 uint8, the prepared crop
    points: np.ndarray     # the 5 landmarks MTCNN found in the photo (5 x 2)
    landmarks: np.ndarray  # the same 5 in the CelebA frame, flat (10,)


def align_photo(aligner, image: np.ndarray, image_size: int) -> AlignedFace | None:
    """A whole RGB photo's face, aligned onto the CelebA frame by `aligner` (an MTCNNAligner) and
    cropped as prep crops: the one alignment prep's folder source, `facegan edit`, `enroll` and
    `identify` share. None when no confident face is found."""
    points = aligner.landmarks(image)
    if points is None:
        return None
    aligned, landmarks = warp_to_celeba(image, points)
    return AlignedFace(crop_aligned(aligned, image_size), points, landmarks)
