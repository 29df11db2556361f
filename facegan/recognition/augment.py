"""Classical face augmentation (albumentations), built from the params' name list.

Strengths are mild on purpose: faces are aligned, so large geometric changes
would teach the recognizer to ignore alignment it can rely on at test time.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import (offline rule)

import albumentations as A  # noqa: E402
import cv2  # noqa: E402


def _transform(name: str) -> A.BasicTransform:
    if name == "hflip":
        return A.HorizontalFlip(p=0.5)
    if name == "brightness_contrast":
        return A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.25, p=0.6)
    if name == "white_balance":  # photographers' light and cameras: colour temperature and gamma
        return A.Sequential([A.PlanckianJitter(mode="blackbody", temperature_limit=(4000, 10000), p=0.7),
                             A.RandomGamma(gamma_limit=(85, 118), p=0.7)], p=0.5)
    if name == "affine":
        return A.Affine(scale=(0.93, 1.07), translate_percent=(-0.05, 0.05), rotate=(-10, 10),
                        border_mode=cv2.BORDER_REFLECT_101, p=0.6)
    if name == "coarse_dropout":
        return A.CoarseDropout(num_holes_range=(1, 2), hole_height_range=(0.1, 0.3),
                               hole_width_range=(0.1, 0.3), fill="random_uniform", p=0.3)
    if name == "blur_noise":
        return A.OneOf([A.GaussianBlur(blur_limit=(3, 5), p=1.0),
                        A.GaussNoise(std_range=(0.02, 0.08), p=1.0)], p=0.3)
    raise ValueError(f"unknown augmentation {name!r}")


def build_augment(names: list[str] | tuple[str, ...], seed: int | None = None) -> A.Compose:
    """A pipeline applying the named transforms in order to H x W x 3 uint8 images."""
    return A.Compose([_transform(n) for n in names], seed=seed)
