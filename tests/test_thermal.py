"""Thermal twins in the prepared store: sources, the simulator for real photos, paired folders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegan.cli import main
from facegan.config import parse_params
from facegan.data.alignment import CELEBA_TEMPLATE
from facegan.data.decode import crop_aligned
from facegan.data.store import open_prepared
from facegan.data.thermal import crop_view, resolve_source, simulated_twin
from facegan.errors import FaceganError
from facegan.render.thermal import Capture, lens_mask, lwir_image, simulate_thermal

TEMPLATE = CELEBA_TEMPLATE.reshape(5, 2)


def prep_celeba(workdir, root, **thermal) -> int:
    workdir.write_params(data={"source": "celeba", "root": str(root), "image_size": 32, "workers": 1},
                         split={"min_images": 2, "novel_fraction": 0.34}, thermal=thermal)
    return main(["prep"])


def error_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_auto_source_follows_the_data_source():
    assert resolve_source(parse_params({})) == "synthetic"
    assert resolve_source(parse_params({"data": {"source": "celeba"}})) == "simulated"
    assert resolve_source(parse_params({"data": {"source": "folder"}, "thermal": {"source": "none"}})) == "none"
    with pytest.raises(FaceganError, match="data.source: folder"):
        resolve_source(parse_params({"thermal": {"source": "paired"}}))
    with pytest.raises(FaceganError, match="set data.root to the same folder"):
        resolve_source(parse_params({"data": {"source": "folder", "root": "a"},
                                     "thermal": {"source": "paired", "root": "b"}}))


def test_simulator_is_deterministic_and_glasses_are_cold():
    a = simulate_thermal(TEMPLATE, (218, 178), seed=4)
    np.testing.assert_array_equal(a, simulate_thermal(TEMPLATE, (218, 178), seed=4))
    assert not np.array_equal(a, simulate_thermal(TEMPLATE, (218, 178), seed=5))  # exposure and noise differ
    lenses = lens_mask(TEMPLATE, (218, 178))
    assert lenses[111, 70] > 0.9 and lenses[111, 88] < 0.1 and lenses[150, 88] == 0  # on the eyes only
    glasses = simulate_thermal(TEMPLATE, (218, 178), seed=4, glasses_mask=lenses)
    eyes = lenses > 0.9
    assert glasses[eyes].mean() < a[eyes].mean() - 15


def frame_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """A full-frame simulation cut to the face crop as prep did before views: the reference."""
    return crop_aligned(np.repeat(frame[..., None], 3, axis=2), size)[..., 0].astype(float)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_a_crop_view_draws_what_the_frame_cropped_and_resized_shows(size):
    view, quiet = crop_view(size), Capture(noise=0.0)
    for seed in range(4):
        points = (TEMPLATE + np.random.default_rng(seed).normal(0, 2, TEMPLATE.shape)).astype(np.float32)
        glasses = seed % 2 == 1
        frame = simulate_thermal(points, view.frame, capture=quiet,
                                 glasses_mask=lens_mask(points, view.frame) if glasses else None)
        got = simulate_thermal(points, view.frame, capture=quiet, view=view,
                               glasses_mask=lens_mask(points, view.frame, view.fine()) if glasses else None)
        assert got.shape == (size, size) and got.dtype == np.uint8
        diff = np.abs(got - frame_crop(frame, size))
        # Sub-pixel differences along edges only (measured: mean 0.11-0.27, max 6 here; mean <= 0.33,
        # max 5-9 over 200 celeba-mini photos at 32 and 64 px, where the crop's own skin map is used).
        # Point-sampling the 32 px view instead of drawing it at 2x gave mean 1.4-1.8, max 28.
        assert diff.mean() < 0.5 and diff.max() < 12


@pytest.mark.parametrize("size", [32, 64, 128])
def test_a_crop_view_samples_the_frame_where_the_crop_does(size):
    view = crop_view(size)
    frame_y, frame_x = np.mgrid[0:218, 0:178].astype(np.float32)
    for frame_ramp, view_ramp, extent in zip((frame_x, frame_y), view.fine().frame_xy(), (178, 218)):
        # ~0.5 grey per frame pixel: a tenth of a frame pixel off would shift the mean by 0.05, one
        # way on a rising ramp and the other on a falling one. At 32 px the crop's 8-bit 2x box
        # pre-reduction (reducing_gap) rounds halves up: the reference ~0.25 higher on both alike.
        shift = []
        for sign in (1, -1):
            frame = lwir_image(27 + sign * (frame_ramp - extent / 2) / 20, np.random.default_rng(0), noise=0.0)
            drawn = lwir_image(27 + sign * (view_ramp - extent / 2) / 20, np.random.default_rng(0), noise=0.0,
                               view=view)
            shift.append(sign * (drawn - frame_crop(frame, size))[2:-2, 2:-2].mean())
        assert abs(np.mean(shift)) < 0.05  # measured < 0.015


@pytest.mark.parametrize("size", [32, 64, 128])
def test_a_crop_view_keeps_the_frame_noise_level(size):
    view, warm = crop_view(size), 30.0
    frame_noise, view_noise = [], []
    for k in range(20):
        rng = np.random.default_rng(k)
        frame = [lwir_image(np.full(view.frame, warm), rng, noise=n) for n in (10.0, 0.0)]
        frame_noise.append(frame_crop(frame[0], size) - frame_crop(frame[1], size))
        drawn = [lwir_image(np.full(view.fine().size, warm), rng, noise=n, view=view).astype(float)
                 for n in (10.0, 0.0)]
        view_noise.append(drawn[0] - drawn[1])
    stds = []
    for noise in (np.stack(frame_noise), np.stack(view_noise)):
        columns = noise.mean(axis=1, keepdims=True)
        stds.append(((noise - columns).std(), columns.std()))  # per-pixel, column pattern
    (pixel_ref, column_ref), (pixel, column) = stds
    assert pixel == pytest.approx(pixel_ref, rel=0.05)  # measured within 1%
    assert column == pytest.approx(column_ref, rel=0.1)  # 1,280 columns: ~2% sampling error


def test_simulated_twins_are_prepared_like_rendered_ones(workdir, celeba_layout):
    assert prep_celeba(workdir, celeba_layout) == 0  # thermal.source auto -> simulated for celeba
    data = open_prepared(workdir / "data/prepared")
    index = data.index
    assert data.report["thermal_source"] == "simulated" and data.report["n_thermal"] == data.report["n_images"] == 24
    visible, thermal = index[index.domain == "visible"], index[index.domain == "thermal"]
    # every twin points at its photo and back, sharing name, identity, split and role
    twins = index.loc[thermal["pair"]]
    assert (twins["domain"] == "visible").all()
    assert (index.loc[visible["pair"], "pair"].to_numpy() == visible.index).all()
    for column in ("name", "identity", "split", "role"):
        assert (twins[column].to_numpy() == thermal[column].to_numpy()).all()
    faces = data.faces[thermal.index.to_numpy()].astype(int)
    assert (faces[..., 0] == faces[..., 1]).all() and (faces[..., 1] == faces[..., 2]).all()  # grey
    centre, corner = faces[:, 12:20, 12:20, 0].mean(), faces[:, :3, :3, 0].mean()
    assert centre > corner + 30  # warm face, ambient background
    first = np.array(data.faces)
    assert prep_celeba(workdir, celeba_layout) == 0  # same params, same bytes
    np.testing.assert_array_equal(open_prepared(workdir / "data/prepared").faces, first)

    assert prep_celeba(workdir, celeba_layout, source="none") == 0
    plain = open_prepared(workdir / "data/prepared")
    assert plain.report["thermal_source"] == "none" and len(plain.faces) == 24
    np.testing.assert_array_equal(plain.faces, first[visible.index.to_numpy()])  # photos untouched


@pytest.mark.bad_input
def test_asking_for_rendered_twins_that_do_not_exist(workdir, celeba_layout, capsys):
    assert prep_celeba(workdir, celeba_layout, source="synthetic") == 2
    assert "thermal.source synthetic" in error_line(capsys)


def write_pairs(root, people: int = 4, photos: int = 2, seed: int = 0) -> dict:
    """Rendered photos and their thermal twins, both moved off the CelebA frame by the same
    similarity (as a co-registered camera pair would see them); returns the aligned thermal truth."""
    from facegan.render.face import identity_assets
    from facegan.render.identity import sample_identity
    from facegan.render.image_state import sample_image_state
    from facegan.render.renderer import render

    rng = np.random.default_rng(seed)
    truth = {}
    for person in range(1, people + 1):
        ident = sample_identity(seed, person)
        assets = identity_assets(ident)
        for k in range(photos):
            shot = np.random.default_rng([seed, person, k])
            r = render(ident, assets, sample_image_state(ident, shot, neutral=True), shot)
            m = cv2.getRotationMatrix2D((89, 109), rng.uniform(-15, 15), rng.uniform(0.9, 1.3))
            m[:, 2] += rng.uniform(20, 40, size=2)
            for side, image in (("visible", r.rgb[..., ::-1]), ("thermal", r.thermal)):
                path = root / side / f"p{person}" / f"{k}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), cv2.warpAffine(image, m, (260, 280), borderValue=0))
            truth[f"p{person}/{k}.png"] = r.thermal
    return truth


@pytest.mark.slow  # MTCNN on 8 photos
def test_paired_folders_align_the_thermal_twin_with_its_photo(workdir, tmp_path):
    root = tmp_path / "pairs"
    truth = write_pairs(root)
    workdir.write_params(data={"source": "folder", "root": str(root), "image_size": 32, "workers": 1},
                         split={"min_images": 2, "novel_fraction": 0.5},
                         thermal={"source": "paired", "root": str(root)})
    assert main(["prep"]) == 0
    data = open_prepared(workdir / "data/prepared")
    assert data.report["thermal_source"] == "paired" and data.report["n_thermal"] == data.report["n_images"] == 8
    landmarks = ["lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y", "leftmouth_x",
                 "leftmouth_y", "rightmouth_x", "rightmouth_y"]
    for row in data.rows(domain="thermal").itertuples():
        assert data.index.at[row.pair, "name"] == row.name
        np.testing.assert_array_equal(data.index.loc[row.Index, landmarks].to_numpy(float),
                                      data.index.loc[row.pair, landmarks].to_numpy(float))
        expected = crop_aligned(np.repeat(truth[row.name][..., None], 3, 2), 32)[..., 0].astype(float)
        got = data.faces[row.Index][..., 0].astype(float)
        assert np.corrcoef(expected.ravel(), got.ravel())[0, 1] > 0.9  # the photo's transform, re-aligned


@pytest.mark.bad_input
def test_paired_folders_that_disagree_name_the_first_mismatch(workdir, tmp_path, capsys):
    root = tmp_path / "pairs"
    for side, names in (("visible", ["a/1.png", "a/2.png", "b/1.png"]), ("thermal", ["a/1.png", "b/1.png"])):
        for name in names:
            (root / side / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / side / name), np.zeros((8, 8), np.uint8))
    prepared = workdir / "data/prepared"
    prepared.mkdir(parents=True)
    (prepared / "keep.txt").write_text("earlier output")
    workdir.write_params(data={"source": "folder", "root": str(root)}, thermal={"source": "paired", "root": str(root)})
    assert main(["prep"]) == 2
    line = error_line(capsys)
    assert "visible/a/2 has no twin in thermal/" in line and "1 unpaired" in line
    assert (prepared / "keep.txt").read_text() == "earlier output"  # nothing overwritten


@pytest.mark.real_data
def test_simulator_on_real_celeba_photos(celeba_mini):
    from facegan.data.celeba import LANDMARK_COLUMNS, read_celeba
    from facegan.data.decode import load_face

    table = read_celeba(celeba_mini).iloc[::250].head(16)
    twins = []
    for row in table.itertuples():
        photo = load_face(row.path, 64)
        landmarks = table.loc[row.Index, LANDMARK_COLUMNS].to_numpy(np.float32)
        kwargs = dict(eyeglasses=bool(row.eyeglasses), identity=row.identity, name=row.name, seed=0)
        twin = simulated_twin(photo, landmarks, **kwargs)
        np.testing.assert_array_equal(twin, simulated_twin(photo, landmarks, **kwargs))  # deterministic
        assert twin.shape == (64, 64, 3) and twin.dtype == np.uint8
        assert (twin[..., 0] == twin[..., 2]).all()
        twins.append(twin[..., 0].astype(float))
    twins = np.stack(twins)
    # LWIR range of the sensor model (never saturated), warm faces on ambient surroundings
    assert 20 <= twins.min() and twins.max() <= 245
    assert twins[:, 24:40, 24:40].mean() > twins[:, :6, :].mean() + 40
