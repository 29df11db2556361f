"""recognizer.source: the recognizer low-shot evaluation embeds with (facegan/recognition/source.py).

The TorchScript embedder is checked with tiny planted models whose outputs are known exactly
(per-channel means, the input's side, left and right halves), scripted into tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facegan.config import parse_params
from facegan.errors import FaceganError
from facegan.recognition import source
from facegan.recognition.source import DlibEmbedder, TorchScriptEmbedder, TrainedEmbedder, load_embedder

# torch deprecates TorchScript in favour of torch.export; users still ship TorchScript embedders.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


class ChannelMean(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Side(torch.nn.Module):
    """(side, 1): after L2 normalization it still tells the side it was given."""

    def forward(self, x):
        n = x.shape[0]
        return torch.stack([torch.full([n], float(x.shape[2])), torch.ones(n)], dim=1)


class Halves(torch.nn.Module):
    """Per-channel means of the left and the right half: a mirrored face swaps them."""

    def forward(self, x):
        half = x.shape[3] // 2
        return torch.cat([x[:, :, :, :half].mean(dim=(2, 3)), x[:, :, :, half:].mean(dim=(2, 3))], dim=1)


class Contrast(torch.nn.Module):
    """(pixel standard deviation, 1)."""

    def forward(self, x):
        return torch.stack([x.std(dim=(1, 2, 3)), torch.ones(x.shape[0])], dim=1)


class Flat(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(1, 2, 3))


class Fixed112(torch.nn.Module):
    """Takes only 3 x 112 x 112 input."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 112 * 112, 4)

    def forward(self, x):
        return self.fc(x.flatten(1))


def scripted(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.script(module).save(str(path))
    return path


def torchscript_params(path: Path, **keys):
    return parse_params({"recognizer": {"source": "torchscript", "torchscript": str(path), **keys}})


def solid_faces(colours: np.ndarray, side: int) -> np.ndarray:
    """One face a colour, every pixel that colour."""
    return np.broadcast_to(colours[:, None, None, :], (len(colours), side, side, 3)).astype(np.uint8)


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("channels", ["rgb", "bgr"])
def test_mean_and_std_are_applied_per_channel_in_the_models_order(tmp_path, channels):
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 0.1]
    path = scripted(ChannelMean(), tmp_path / "mean.pt")
    embedder = load_embedder(torchscript_params(path, torchscript_input_size=16, torchscript_mean=mean,
                                                torchscript_std=std, torchscript_channels=channels),
                             tmp_path / "unused.pt")
    # 70 faces: more than one CPU batch (64), so the order across batches counts too.
    colours = np.random.default_rng(0).integers(0, 256, (70, 3)).astype(np.uint8)
    emb = embedder.embed(solid_faces(colours, 16))
    seen = colours[:, ::-1] if channels == "bgr" else colours
    expected = unit_rows((seen / 255.0 - np.array(mean)) / np.array(std))
    assert isinstance(embedder, TorchScriptEmbedder) and embedder.dim == 3
    assert emb.shape == (70, 3) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(emb, expected, atol=1e-5)


@pytest.mark.parametrize("crop", [24, 40, 96])
def test_crops_are_resized_to_the_input_size(tmp_path, crop):
    embedder = load_embedder(torchscript_params(scripted(Side(), tmp_path / "side.pt"), torchscript_input_size=40),
                             tmp_path / "unused.pt")
    emb = embedder.embed(np.zeros((3, crop, crop, 3), np.uint8))
    np.testing.assert_allclose(emb, np.tile(unit_rows(np.array([[40.0, 1.0]])), (3, 1)), atol=1e-6)


def test_resizing_keeps_a_solid_colour(tmp_path):
    embedder = TorchScriptEmbedder(scripted(ChannelMean(), tmp_path / "mean.pt"), input_size=50,
                                   mean=[0, 0, 0], std=[1, 1, 1])
    colours = np.array([[200, 100, 50]], np.uint8)
    for crop in (32, 64):  # up and down
        np.testing.assert_allclose(embedder.embed(solid_faces(colours, crop)), unit_rows(colours / 255.0), atol=1e-5)


def test_shrinking_averages_fine_detail_instead_of_aliasing(tmp_path):
    embedder = TorchScriptEmbedder(scripted(Contrast(), tmp_path / "contrast.pt"), input_size=32,
                                   mean=[0, 0, 0], std=[1, 1, 1])
    stripes = np.zeros((1, 96, 96, 3), np.uint8)
    stripes[:, :, ::2] = 255  # 1-pixel stripes: plain bilinear at a third samples single stripes, full contrast
    assert embedder.embed(stripes)[0, 0] < 0.1  # antialiased: std 0.05; plain bilinear: 0.5


def test_the_mirrored_face_is_added_before_normalizing(tmp_path):
    embedder = TorchScriptEmbedder(scripted(Halves(), tmp_path / "halves.pt"), input_size=16,
                                   mean=[0, 0, 0], std=[1, 1, 1])
    face = np.zeros((1, 16, 16, 3), np.uint8)
    face[:, :, :8] = 255  # left half white: alone, (1, 1, 1, 0, 0, 0); with its mirror image, all equal
    np.testing.assert_allclose(embedder.embed(face), np.full((1, 6), 6 ** -0.5), atol=1e-6)


def test_no_faces_give_no_rows_of_the_embedding_size(tmp_path):
    embedder = TorchScriptEmbedder(scripted(Halves(), tmp_path / "halves.pt"), input_size=16)
    assert embedder.embed(np.zeros((0, 16, 16, 3), np.uint8)).shape == (0, 6)


def test_the_fingerprint_follows_the_file_and_the_input_settings(tmp_path):
    path = scripted(ChannelMean(), tmp_path / "model.pt")
    first = TorchScriptEmbedder(path, input_size=16).fingerprint
    assert TorchScriptEmbedder(path, input_size=16).fingerprint == first
    assert TorchScriptEmbedder(path, input_size=16, mean=[0.4, 0.5, 0.5]).fingerprint != first
    assert TorchScriptEmbedder(path, input_size=16, channels="bgr").fingerprint != first
    assert TorchScriptEmbedder(path, input_size=20).fingerprint != first
    scripted(Halves(), path)
    assert TorchScriptEmbedder(path, input_size=16).fingerprint != first


def test_without_params_or_by_default_the_trained_recognizer_embeds(tmp_path):
    from facegan.recognition.backbone import build_backbone
    from facegan.recognition.embed import save_recognizer

    path = tmp_path / "recognizer.pt"
    save_recognizer(path, build_backbone("mobilefacenet", 32, 16, 4), arch="mobilefacenet", image_size=32,
                    embedding_dim=16, width=4, identity_names=["a", "b"])
    for params in (None, parse_params({})):
        embedder = load_embedder(params, path)
        assert isinstance(embedder, TrainedEmbedder) and embedder.dim == 16
        emb = embedder.embed(np.zeros((2, 32, 32, 3), np.uint8))
        assert emb.shape == (2, 16) and embedder.fingerprint.startswith("trained:")


@pytest.mark.bad_input
def test_bad_input_missing_torchscript_file_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "embedder.pt"
    with pytest.raises(FaceganError, match="recognizer.torchscript: .*embedder.pt not found") as err:
        load_embedder(torchscript_params(missing), tmp_path / "unused.pt")
    assert "\n" not in str(err.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("kind", ["text", "state_dict"])
def test_bad_input_a_file_that_is_not_torchscript_is_named(tmp_path, kind):
    path = tmp_path / "embedder.pt"
    if kind == "text":
        path.write_text("not a model\n")
    else:
        torch.save(ChannelMean().state_dict(), path)
    with pytest.raises(FaceganError, match="embedder.pt is not a TorchScript file; export") as err:
        load_embedder(torchscript_params(path), tmp_path / "unused.pt")
    assert "recognizer.torchscript" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.bad_input
def test_bad_input_an_output_that_is_not_n_by_d_is_named(tmp_path):
    path = scripted(Flat(), tmp_path / "flat.pt")
    with pytest.raises(FaceganError, match=r"flat.pt returned shape \(2,\) for 2 faces, not N x D") as err:
        load_embedder(torchscript_params(path), tmp_path / "unused.pt")
    assert "\n" not in str(err.value)


@pytest.mark.bad_input
def test_bad_input_a_model_that_rejects_the_input_size_names_the_key(tmp_path):
    path = scripted(Fixed112(), tmp_path / "fixed.pt")
    assert load_embedder(torchscript_params(path), tmp_path / "unused.pt").dim == 4  # 112, the default
    with pytest.raises(FaceganError, match="fixed.pt failed on a 2 x 3 x 96 x 96 batch .*torchscript_input_size") as err:
        load_embedder(torchscript_params(path, torchscript_input_size=96), tmp_path / "unused.pt")
    assert "\n" not in str(err.value)


@pytest.mark.bad_input
def test_bad_input_dlib_not_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "dlib_model_dir", lambda: None)
    params = parse_params({"recognizer": {"source": "dlib"}, "judges": {"identity_judge": "trained"}})
    with pytest.raises(FaceganError, match=r"recognizer.source dlib: .*pip install '.\[judge\]'.*recognizer.source: "
                                           "trained"):
        load_embedder(params, tmp_path / "unused.pt")


@pytest.mark.bad_input
@pytest.mark.parametrize("path", ["", "  "])
def test_bad_input_torchscript_source_without_a_path(path):
    with pytest.raises(FaceganError, match="parameter 'recognizer.torchscript' is invalid: recognizer.source "
                                           "torchscript needs the path"):
        parse_params({"recognizer": {"source": "torchscript", "torchscript": path}})


@pytest.mark.bad_input
@pytest.mark.parametrize("raw, key", [
    ({"torchscript_mean": [0.5, 0.5]}, "recognizer.torchscript_mean"),
    ({"torchscript_std": [0.5, 0.0, 0.5]}, "recognizer.torchscript_std.1"),
    ({"torchscript_channels": "rgba"}, "recognizer.torchscript_channels"),
    ({"source": "onnx"}, "recognizer.source"),
])
def test_bad_input_torchscript_settings_name_the_key(raw, key):
    with pytest.raises(FaceganError, match=f"parameter '{key}' is invalid"):
        parse_params({"recognizer": raw})


@pytest.mark.bad_input
@pytest.mark.parametrize("judge", ["auto", None])
def test_bad_input_a_dlib_recognizer_with_a_dlib_identity_judge(judge):
    raw = {"recognizer": {"source": "dlib"}, "judges": {} if judge is None else {"identity_judge": judge}}
    with pytest.raises(FaceganError) as err:
        parse_params(raw)
    message = str(err.value)
    assert "recognizer.source dlib needs judges.identity_judge: trained" in message and "\n" not in message


def test_a_dlib_recognizer_with_the_trained_identity_judge_is_valid():
    params = parse_params({"recognizer": {"source": "dlib"}, "judges": {"identity_judge": "trained"}})
    assert params.recognizer.source == "dlib"


def test_dlib_embeds_when_installed():
    if source.dlib_model_dir() is None:
        pytest.skip("the [judge] extra (dlib-bin, face-recognition-models) is not installed")
    embedder = DlibEmbedder()
    faces = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3)).astype(np.uint8)
    emb = embedder.embed(faces)
    assert emb.shape == (3, 128) and embedder.dim == 128 and embedder.fingerprint.startswith("dlib:")
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(faces[:1]), emb[:1], atol=1e-6)
    # The identity judge's dlib model: the same embeddings (config keeps the two from both being used).
    from facegan.judges.dlib_identity import DlibIdentity

    np.testing.assert_array_equal(DlibIdentity(source.dlib_model_dir()).embed(faces), emb)
