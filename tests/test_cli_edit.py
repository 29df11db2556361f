"""`facegan edit`: argument checks and input handling (the model itself is tested in test_editor)."""

import numpy as np
import pytest
from PIL import Image

from facegan.cli import _parse_targets, main
from facegan.editor.edit import read_face
from facegan.errors import FaceganError


def test_targets_from_the_command_line():
    assert _parse_targets(["eyeglasses=1", "smiling=0"], 30.0) == {"eyeglasses": 1.0, "smiling": 0.0, "yaw": 30.0}


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


@pytest.mark.real_data
def test_read_face_aligns_an_unaligned_photo(celeba_mini, tmp_path):
    image = np.asarray(Image.open(sorted((celeba_mini / "img_align_celeba").iterdir())[0]))
    canvas = np.full((300, 260, 3), 120, np.uint8)
    canvas[40:258, 50:228] = image
    Image.fromarray(canvas).save(tmp_path / "photo.png")
    face = read_face(tmp_path / "photo.png", 64)
    from facegan.data.decode import crop_aligned

    expected = crop_aligned(image, 64).astype(float)
    assert np.corrcoef(face[0].astype(float).ravel(), expected.ravel())[0, 1] > 0.9


@pytest.mark.bad_input
def test_read_face_without_a_face(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(FaceganError, match="no face found"):
        read_face(tmp_path / "x.png", 64)
