"""The shortcut check (facegan.evaluation.shortcut) finds identity planted outside the inner face,
and only there: a store whose hair/background colour names the person scores far above chance from
the outside, one whose outside is random per photo scores at chance while its full face does not."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from facegan.data.store import PreparedData
from facegan.evaluation.shortcut import inner_face_mask, regions, shortcut_check, template_points

SIZE = 32


def fake_store(identity_outside: bool, identity_inner: bool, novel: int = 16, base: int = 20, per_identity: int = 8,
               seed: int = 0) -> PreparedData:
    """Prepared-store stand-in: per photo, one colour outside the inner face and one inside, each
    either the identity's own (a hue per identity) or random per photo; pixel noise everywhere."""
    rng = np.random.default_rng(seed)
    inner = inner_face_mask(SIZE)
    n_ids = novel + base
    hues = rng.permutation(n_ids) * 180 // n_ids

    def colour(hue: int | None) -> np.ndarray:
        hsv = np.array([[[rng.integers(0, 180) if hue is None else hue, 200, 200]]], np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)

    faces, rows = [], []
    for ident in range(n_ids):
        for _ in range(per_identity):
            face = np.where(inner[..., None], colour(hues[ident] if identity_inner else None),
                            colour(hues[ident] if identity_outside else None))
            face += rng.normal(0, 12, face.shape)
            faces.append(np.clip(face, 0, 255).astype(np.uint8))
            rows.append({"identity": ident, "split": "novel" if ident < novel else "base", "domain": "visible",
                         "eyeglasses": 0, "smiling": 0, "young": 1, "yaw": 0.0, "pair": -1})
    return PreparedData(faces=np.stack(faces), index=pd.DataFrame(rows), report={"source": "fake"})


def test_the_inner_face_holds_the_template_landmarks_and_the_corners_are_outside():
    for size in (32, 64, 128):
        mask = inner_face_mask(size)
        for x, y in template_points(size):
            assert mask[int(y), int(x)]
        assert not mask[0, 0] and not mask[-1, -1] and not mask[0, -1] and not mask[-1, 0]
        assert 0.15 < mask.mean() < 0.35  # a quarter of the crop: the face, not the frame


def test_the_outside_bands_split_the_outside_and_only_it():
    bands = np.stack(list(regions(SIZE, outside_only=True).values()))
    assert (bands.sum(0) == ~inner_face_mask(SIZE)).all()  # each outside pixel in exactly one band
    full = np.stack(list(regions(SIZE, outside_only=False).values()))
    assert (full.sum(0) == 1).all()


def test_an_outside_colour_per_identity_is_found():
    result = shortcut_check(fake_store(identity_outside=True, identity_inner=False), episodes=5, resamples=200)
    outside = result["outside"]["views"][result["outside"]["strongest"]]
    assert outside["n_identities"] == 16 and outside["chance"] == pytest.approx(1 / 16)
    assert outside["multiple"] > 5


def test_a_random_outside_scores_at_chance_while_the_full_face_does_not():
    result = shortcut_check(fake_store(identity_outside=False, identity_inner=True), episodes=5, resamples=200)
    outside = result["outside"]["views"][result["outside"]["strongest"]]
    assert outside["multiple"] < 2
    assert result["full_face"]["views"][result["full_face"]["strongest"]]["multiple"] > 5


def test_a_common_gallery_size_sets_chance():
    result = shortcut_check(fake_store(identity_outside=True, identity_inner=False), episodes=3, identities=6,
                            resamples=200)
    common, everyone = result["outside"]["views"]["whole"], result["outside"]["strongest_all"]
    assert common["n_identities"] == 6 and common["chance"] == pytest.approx(1 / 6)
    assert everyone["n_identities"] == 16
    assert common["n_probes"] < everyone["n_probes"]  # probes of the chosen identities only
