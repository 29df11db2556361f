"""`facegan edit`: argument checks and input handling (the model itself is tested in test_editor)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.cli import _parse_targets, main
from facegan.editor.edit import read_face
from facegan.errors import FaceganError


def test_targets_from_the_command_line():
    assert _parse_targets(["eyeglasses=1", "smiling=0"], 30.0) == {"eyeglasses": 1.0, "smiling": 0.0, "yaw": 30.0}
    assert _parse_targets([], None, 0.75) == {"young": 0.25}  # the editor's youth is 1 - age


@pytest.mark.bad_input
def test_an_age_for_an_editor_that_learnt_only_young_or_old_is_refused(tmp_path):
    from facegan.editor.edit import _age_targets

    binary, continuous = torch.nn.Identity(), torch.nn.Identity()
    continuous.continuous_age = True
    with pytest.raises(FaceganError, match="face.png: .*Young label.*--set young=0"):
        _age_targets(binary, {"young": 0.25}, np.array([0.8]), tmp_path / "face.png")
    assert _age_targets(binary, {"young": 0.0}, np.array([0.8]), tmp_path / "face.png") == {"young": 0.0}
    # young=0|1 on a continuous editor flips the age as synthesis does (mirrored), or keeps it.
    assert _age_targets(continuous, {"young": 0.0}, np.array([0.8]), tmp_path / "f") == {"young": pytest.approx(0.2)}
    assert _age_targets(continuous, {"young": 1.0}, np.array([0.8]), tmp_path / "f") == {"young": pytest.approx(0.8)}


@pytest.mark.bad_input
@pytest.mark.parametrize("settings, yaw, match", [
    (["beard=1"], None, "--set beard=1"),
    (["young=2"], None, "--set young=2"),
    ([], 80.0, "--yaw 80"),
    ([], None, "nothing to edit"),
])
def test_bad_targets_are_named(settings, yaw, match):
    with pytest.raises(FaceganError, match=match):
        _parse_targets(settings, yaw)
    with pytest.raises(FaceganError, match="--age 1.2"):
        _parse_targets([], None, 1.2)


@pytest.mark.bad_input
def test_edit_without_a_model_names_the_stage(tmp_path, capsys):
    photo = tmp_path / "face.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(photo)
    assert main(["edit", str(photo), "--set", "eyeglasses=1", "-o", str(tmp_path / "out.png"),
                 "--model", str(tmp_path / "missing.pt")]) == 2
    assert "train_editor" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_read_face_takes_square_crops_and_celeba_frames(tmp_path):
    square, celeba = tmp_path / "sq.png", tmp_path / "celeba.jpg"
    Image.fromarray(np.full((100, 100, 3), 90, np.uint8)).save(square)
    Image.fromarray(np.full((218, 178, 3), 140, np.uint8)).save(celeba)
    assert read_face(square, 32).shape == (1, 32, 32, 3)
    assert abs(int(read_face(celeba, 32).mean()) - 140) <= 2


def _celeba_on_canvas(celeba_mini, path):
    """A CelebA-aligned photo placed off-centre on a larger grey canvas (so MTCNN must align it),
    saved at `path`; returns (the CelebA image, the canvas)."""
    image = np.asarray(Image.open(sorted((celeba_mini / "img_align_celeba").iterdir())[0]))
    canvas = np.full((300, 260, 3), 120, np.uint8)
    canvas[40:258, 50:228] = image
    Image.fromarray(canvas).save(path)
    return image, canvas


@pytest.mark.real_data
def test_read_face_aligns_an_unaligned_photo(celeba_mini, tmp_path):
    image, _ = _celeba_on_canvas(celeba_mini, tmp_path / "photo.png")
    face = read_face(tmp_path / "photo.png", 64)
    from facegan.data.decode import crop_aligned

    expected = crop_aligned(image, 64).astype(float)
    assert np.corrcoef(face[0].astype(float).ravel(), expected.ravel())[0, 1] > 0.9


@pytest.mark.bad_input
def test_read_face_without_a_face(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(FaceganError, match="no face found"):
        read_face(tmp_path / "x.png", 64)


@pytest.fixture
def tiny_models(tmp_path):
    """Untrained models in their saved formats, plus a translator: model-file checks need no training."""
    from facegan.translator.models import UNet
    from facegan.translator.translate import save_translator
    from tests.conftest import write_models

    write_models(tmp_path / "models")
    save_translator(tmp_path / "models/translator.pt", UNet(channels=4, levels=2), 32, "synthetic")
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(tmp_path / "face.png")
    return tmp_path / "models"


def _edit_with(tmp_path, model, judges):
    return main(["edit", str(tmp_path / "face.png"), "--set", "eyeglasses=1", "-o", str(tmp_path / "out.png"),
                 "--model", str(model), "--judges", str(judges)])


@pytest.mark.bad_input
@pytest.mark.parametrize("broken, damage, message", [
    ("editor.pt", "truncate", "cannot read the editor model (truncated or damaged)"),
    ("judges.pt", "truncate", "cannot read the judges (truncated or damaged)"),
    ("editor.pt", "text", "cannot read the editor model (not a torch model file)"),
    ("editor.pt", "translator.pt", "holds a translator model, not the editor model"),
    ("judges.pt", "editor.pt", "holds an editor model, not the judges"),
    ("judges.pt", "recognizer.pt", "holds a recognizer model, not the judges"),
])
def test_a_broken_or_wrong_model_file_is_one_line(tiny_models, tmp_path, capsys, broken, damage, message):
    bad = tmp_path / "bad.pt"
    good = tiny_models / broken
    if damage == "truncate":
        bad.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    elif damage == "text":
        bad.write_text("not a model\n")
    else:
        bad.write_bytes((tiny_models / damage).read_bytes())
    paths = {"editor.pt": tiny_models / "editor.pt", "judges.pt": tiny_models / "judges.pt"} | {broken: bad}
    assert _edit_with(tmp_path, paths["editor.pt"], paths["judges.pt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: edit: {bad}: ") and message in err
    assert not (tmp_path / "out.png").exists()


# ---- the domain check: is the photo like the faces the models were trained on?


def _synthetic_domain(tiny_synthetic):
    from facegan.data.store import open_prepared
    from facegan.judges.domain import faces_domain

    data = open_prepared(tiny_synthetic / "data/prepared")
    train = data.rows(split="base", role="train", domain="visible").index.to_numpy()
    heldout = data.rows(split="base", role="val", domain="visible").index.to_numpy()
    return data, faces_domain(data.faces, train, heldout)


def test_synthetic_statistics_flag_real_photos_and_not_rendered_ones(tiny_synthetic, celeba_mini):
    from facegan.judges.domain import domain_distance, domain_features

    data, stats = _synthetic_domain(tiny_synthetic)
    novel = data.rows(split="novel", domain="visible").index.to_numpy()
    rendered = domain_distance(stats, domain_features(data.faces[novel])) > stats["threshold"]
    photos = sorted((celeba_mini / "img_align_celeba").glob("*.jpg"))[:40]
    real = np.concatenate([read_face(p, data.faces.shape[1]) for p in photos])
    flagged = domain_distance(stats, domain_features(real)) > stats["threshold"]
    assert rendered.mean() <= 0.1 and flagged.mean() >= 0.5, (rendered.mean(), flagged.mean())


def test_edit_warns_out_of_domain_and_reports_readings(tiny_models, tiny_synthetic, tmp_path, capsys, monkeypatch):
    import facegan.judges.judges as judges_module

    data, stats = _synthetic_domain(tiny_synthetic)
    judges = judges_module.load_judges(tiny_models / "judges.pt")
    judges.domain = stats  # the saved format is exercised by the judges stage; patch the loaded object
    monkeypatch.setattr(judges_module, "load_judges", lambda path, device="cpu": judges)
    from facegan.judges.domain import domain_distance, domain_features

    # A novel face the check passes whose inverted copy it flags (at 32 px and a dozen training
    # identities it flags about half of them; its power is tested on real photos above): this
    # test is about what the command does with the verdict.
    novel = data.rows(split="novel", domain="visible").index.to_numpy()
    far = [domain_distance(stats, domain_features(f)) > stats["threshold"] for f in (data.faces[novel],
                                                                                      255 - data.faces[novel])]
    face = data.faces[int(novel[np.flatnonzero(~far[0] & far[1])[0]])]
    Image.fromarray(face).save(tmp_path / "face.png")
    assert _edit_with(tmp_path, tiny_models / "editor.pt", tiny_models / "judges.pt") == 0
    quiet = capsys.readouterr()
    # Planted: the same face in inverted colours is nothing like a rendered face.
    Image.fromarray(255 - face).save(tmp_path / "face.png")
    assert _edit_with(tmp_path, tiny_models / "editor.pt", tiny_models / "judges.pt") == 0
    loud = capsys.readouterr()
    assert "warning" not in quiet.err and json.loads(quiet.out)["in_domain"] is True
    result = json.loads(loud.out)
    assert loud.err.count("warning: edit:") == 1 and result["in_domain"] is False
    assert set(result["judged_after"]["eyeglasses"]) == {"p"} and "degrees" in result["judged_after"]["yaw"]
    assert set(result["judges_read_as_reached"]) == {"eyeglasses"}


# ---- the edit goes back into the photo, at the photo's own size


def _smooth_photo(height, width, seed=0):
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 6) * 4 - 384, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(218, 178), (150, 150)])  # CelebA-aligned, square crop
def test_paste_back_returns_the_face_where_it_came_from(tmp_path, size):
    from facegan.data.alignment import paste_face
    from facegan.editor.edit import read_photo

    Image.fromarray(_smooth_photo(*size)).save(tmp_path / "photo.png")
    photo, face, to_crop = read_photo(tmp_path / "photo.png", 64)
    same = paste_face(photo, face[0], to_crop)
    assert same.shape == photo.shape
    # An edit that changes nothing gives the photo back, up to the 64-px round trip...
    assert np.abs(same.astype(int) - photo.astype(int)).mean() < 4
    # ...and a planted change lands where its crop pixels came from.
    marked = face[0].copy()
    marked[20:28, 36:44] = (255, 0, 255)
    pasted = paste_face(photo, marked, to_crop).astype(int)
    x, y = np.linalg.solve(to_crop[:, :2], np.array([39.5, 23.5]) - to_crop[:, 2])
    assert tuple(pasted[int(round(y)), int(round(x))]) == pytest.approx((255, 0, 255), abs=40)
    # Only the mark's footprint changes: 8 crop pixels a side are 8 / k photo pixels (k crop pixels
    # per photo pixel), widened by the bicubic kernel's 2 crop pixels each side.
    changed = int(np.abs(pasted - same.astype(int)).sum(axis=2).astype(bool).sum())
    side = 8 / to_crop[0, 0]
    assert 0.8 * side ** 2 <= changed <= (12 / to_crop[0, 0] + 2) ** 2, (changed, side)
    if size == (218, 178):  # outside the aligned crop the photo is untouched
        assert np.array_equal(pasted[:40], photo[:40].astype(int))


@pytest.mark.real_data
def test_paste_back_of_an_mtcnn_aligned_photo(celeba_mini, tmp_path):
    from facegan.data.alignment import paste_face
    from facegan.editor.edit import read_photo

    _, canvas = _celeba_on_canvas(celeba_mini, tmp_path / "photo.png")
    photo, face, to_crop = read_photo(tmp_path / "photo.png", 64)
    same = paste_face(photo, face[0], to_crop).astype(float)
    inner = (slice(110, 220), slice(80, 200))  # the face itself
    assert np.corrcoef(same[inner].ravel(), canvas[inner].astype(float).ravel())[0, 1] > 0.95
    assert np.array_equal(same[:20].astype(np.uint8), canvas[:20])  # far from the face: untouched
