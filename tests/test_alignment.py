"""The CelebA frame: template transform, yaw from landmarks, MTCNN alignment of real photos."""

import cv2
import numpy as np
import pytest
from PIL import Image

from facegan.cli import main
from facegan.data.alignment import (
    CELEBA_TEMPLATE,
    MTCNNAligner,
    similarity_to_template,
    to_crop_frame,
    warp_to_celeba,
    yaw_from_landmarks,
)
from facegan.data.store import open_prepared


def random_similarity(rng) -> np.ndarray:
    angle, scale = rng.uniform(-25, 25), rng.uniform(0.6, 1.6)
    m = cv2.getRotationMatrix2D((89, 109), angle, scale)
    m[:, 2] += rng.uniform(20, 60, size=2)
    return m


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    m = random_similarity(rng)
    moved = CELEBA_TEMPLATE @ m[:, :2].T + m[:, 2]
    back = similarity_to_template(moved)
    np.testing.assert_allclose(moved @ back[:, :2].T + back[:, 2], CELEBA_TEMPLATE, atol=1e-3)


def test_warp_returns_landmarks_on_the_template():
    rng = np.random.default_rng(2)
    m = random_similarity(rng)
    moved = CELEBA_TEMPLATE @ m[:, :2].T + m[:, 2]
    image = rng.integers(0, 255, (300, 260, 3), dtype=np.uint8)
    aligned, points = warp_to_celeba(image, moved)
    assert aligned.shape == (218, 178, 3)
    np.testing.assert_allclose(points.reshape(5, 2), CELEBA_TEMPLATE, atol=1e-2)


def test_yaw_sign_and_frontal():
    frontal = CELEBA_TEMPLATE.reshape(1, 10).copy()
    right, left = frontal.copy(), frontal.copy()
    right[0, 4] += 12  # nose tip moved to image right
    left[0, 4] -= 12
    yaw = yaw_from_landmarks(np.concatenate([frontal, right, left]))
    assert abs(yaw[0]) < 1.0
    assert 20 < yaw[1] < 40 and yaw[2] == pytest.approx(-yaw[1], abs=1.0)


def test_crop_frame_maps_the_crop_box_corners():
    pts = np.array([[9.0, 45.0, 169.0, 205.0]])
    np.testing.assert_allclose(to_crop_frame(pts, 64), [[0, 0, 64, 64]])


def _unaligned_copy(celeba_image: np.ndarray, rng) -> np.ndarray:
    """Put an aligned CelebA photo into a bigger canvas, rotated, scaled and shifted."""
    m = random_similarity(rng)
    return cv2.warpAffine(celeba_image, m, (300, 320), borderValue=(110, 120, 130))


@pytest.mark.real_data
def test_mtcnn_finds_celeba_landmarks(celeba_mini):
    aligner = MTCNNAligner()
    names = sorted((celeba_mini / "img_align_celeba").iterdir())[:8]
    table = np.loadtxt(celeba_mini / "list_landmarks_align_celeba.txt", skiprows=2, usecols=range(1, 11), max_rows=8)
    errors = []
    for path, expected in zip(names, table):
        found = aligner.landmarks(np.asarray(Image.open(path).convert("RGB")))
        assert found is not None, path
        errors.append(np.abs(found.reshape(10) - expected).mean())
    assert np.median(errors) < 3.0


@pytest.mark.real_data
def test_prep_identity_folders_realigns_unseen_photos(workdir, celeba_mini, tmp_path):
    """An ORL/LFW-style set: unaligned photos in mixed formats, grayscale too, plus junk."""
    rng = np.random.default_rng(0)
    ids = [ln.split() for ln in (celeba_mini / "identity_CelebA.txt").read_text().splitlines()]
    by_id: dict[str, list[str]] = {}
    for name, ident in ids:
        by_id.setdefault(ident, []).append(name)
    chosen = [i for i in sorted(by_id) if len(by_id[i]) >= 5][:4]
    root = tmp_path / "people"
    for k, ident in enumerate(chosen):
        folder = root / f"person_{k}"
        folder.mkdir(parents=True)
        for j, name in enumerate(by_id[ident][:5]):
            photo = _unaligned_copy(np.asarray(Image.open(celeba_mini / "img_align_celeba" / name)), rng)
            if j == 4:
                Image.fromarray(photo).convert("L").save(folder / f"{j}.pgm")
            else:
                Image.fromarray(photo).save(folder / f"{j}.{'png' if j % 2 else 'jpg'}")
    (root / "person_0" / "notes.txt").write_text("not a photo")
    Image.fromarray(rng.integers(0, 255, (120, 100, 3), dtype=np.uint8)).save(root / "person_1" / "noise.png")
    lonely = root / "person_single"
    lonely.mkdir()
    Image.open(celeba_mini / "img_align_celeba" / by_id[chosen[0]][5]).save(lonely / "only.jpg")

    workdir.write_params(data={"source": "folder", "root": str(root), "image_size": 64},
                         split={"min_images": 2, "novel_fraction": 0.5},
                         thermal={"source": "none"})  # simulated twins: tests/test_thermal.py
    assert main(["prep"]) == 0
    data = open_prepared(workdir / "data/prepared")
    report = data.report
    assert report["n_images"] == 20 and report["n_identities"] == 4
    assert report["skipped_by_reason"] == {"identity_with_one_image": 1, "no_face": 1, "not_an_image": 1}
    assert set(data.index["identity_name"]) == {f"person_{k}" for k in range(4)}
    # after re-alignment the landmarks sit where CelebA puts them
    template = to_crop_frame(CELEBA_TEMPLATE.reshape(1, 10), 64)[0]
    lm = data.index[["lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
                     "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y"]].to_numpy()
    # (faces differ from the mean template by a pixel or two: expression, shape)
    residual = np.abs(lm - template).mean(axis=1)
    assert np.median(residual) < 1.0 and residual.max() < 3.0
    # and each face crop matches the original aligned CelebA crop
    from facegan.data.decode import load_face

    centre = (slice(12, 52), slice(12, 52))  # the face itself; borders differ by canvas fill
    corrs = []
    for row, name in enumerate(data.index["name"]):
        k, j = int(name.split("/")[0].split("_")[1]), int(name.split("/")[1].split(".")[0])
        original = load_face(str(celeba_mini / "img_align_celeba" / by_id[chosen[k]][j]), 64)
        gray = data.faces[row].astype(float).mean(-1)  # one of the copies is grayscale
        corrs.append(np.corrcoef(original[centre].mean(-1).ravel(), gray[centre].ravel())[0, 1])
    assert np.median(corrs) > 0.95 and min(corrs) > 0.8
