"""The recognizer that low-shot evaluation and `facegan enroll` / `facegan identify` embed with.

An Embedder turns aligned uint8 face crops (N x S x S x 3, the prepared layout) into
L2-normalized embeddings and names itself by a fingerprint, so a gallery embedded by one
recognizer is never matched against probes embedded by another.

`recognizer.source` picks it: the recognizer trained here (`models/recognizer.pt`), dlib's
pretrained ResNet (the `[judge]` extra), or the user's own TorchScript embedder, so that the
low-shot evaluation measures what the variants add to the recognizer the user will deploy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from facegan.errors import FaceganError
from facegan.lowshot.scoring import l2_normalize
from facegan.recognition.embed import load_recognizer
from facegan.recognition.whiten import matching_embeddings
from facegan.train.device import inference_batch

HASH_CHUNK = 1 << 20
DLIB_CHUNK = 256  # faces per read: a memmap is never loaded whole
DLIB_SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DLIB_EMBED_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_MIN_SIDE = 150  # dlib's ResNet wants ~150 px chips; small prepared crops are upsampled first


class Embedder(Protocol):
    name: str          # what it is, for messages and metrics: "trained", "dlib", "torchscript"
    fingerprint: str   # changes whenever the embeddings would
    dim: int

    def embed(self, faces_uint8: np.ndarray) -> np.ndarray:
        """N x D float32, L2-normalized, of N x S x S x 3 uint8 aligned crops (a memmap is fine)."""
        ...


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class TrainedEmbedder:
    """The recognizer trained by the pipeline (train_recognizer or train_recognizer_aug)."""

    name = "trained"

    def __init__(self, path: Path, device: torch.device | str = "cpu", stage: str = "train_recognizer"):
        self.model = load_recognizer(path, device, stage=stage)
        self.device = next(self.model.parameters()).device
        self.dim = int(self.model.output.fc.out_features)
        self.fingerprint = f"{self.name}:{file_digest(Path(path))}"
        self.trained_on = self.model.trained_on

    def embed(self, faces_uint8: np.ndarray) -> np.ndarray:
        return matching_embeddings(self.model, faces_uint8, self.model.whitening, self.device)


def dlib_model_dir() -> Path | None:
    """The folder holding dlib's .dat files, or None when the [judge] extra is not installed.
    face_recognition_models imports pkg_resources at import time: found from its spec, not imported."""
    if importlib.util.find_spec("dlib") is None:
        return None
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if (folder / DLIB_SHAPE_MODEL).is_file() and (folder / DLIB_EMBED_MODEL).is_file() else None


class DlibEmbedder:
    """dlib's pretrained face ResNet (128-d): an offline real-face recognizer (the [judge] extra).

    The same model as the dlib identity judge (facegan/judges/dlib_identity.py, which recognition cannot
    import: judges import recognition); config forbids the two together.
    """

    name = "dlib"
    dim = 128

    def __init__(self, model_dir: Path | None = None):
        model_dir = model_dir or dlib_model_dir()
        if model_dir is None:
            raise FaceganError("recognizer.source dlib: dlib is not installed; pip install '.[judge]' (dlib-bin + "
                               "face-recognition-models) or set recognizer.source: trained")
        import dlib

        self._dlib = dlib
        self.shape = dlib.shape_predictor(str(model_dir / DLIB_SHAPE_MODEL))
        self.net = dlib.face_recognition_model_v1(str(model_dir / DLIB_EMBED_MODEL))
        # The shape predictor places dlib's chips, so it changes the embeddings as much as the net does.
        self.fingerprint = (f"{self.name}:{file_digest(model_dir / DLIB_EMBED_MODEL)}:"
                            f"{file_digest(model_dir / DLIB_SHAPE_MODEL)}")

    def embed(self, faces_uint8: np.ndarray) -> np.ndarray:
        out = np.zeros((len(faces_uint8), self.dim), np.float32)
        for start in range(0, len(faces_uint8), DLIB_CHUNK):
            for i, face in enumerate(np.asarray(faces_uint8[start:start + DLIB_CHUNK]), start):
                out[i] = self._descriptor(face)
        return l2_normalize(out)

    def _descriptor(self, face: np.ndarray) -> np.ndarray:
        import cv2

        side = max(face.shape[0], DLIB_MIN_SIDE)
        if side != face.shape[0]:
            face = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        face = np.ascontiguousarray(face)
        # The crop is already aligned on the face: the whole image is its box; dlib's 5 landmarks in it
        # cut the chip its ResNet was trained on.
        box = self._dlib.rectangle(0, 0, side - 1, side - 1)
        return np.asarray(self.net.compute_face_descriptor(face, self.shape(face, box)))


def load_torchscript(path: Path, device: torch.device) -> torch.jit.ScriptModule:
    """The TorchScript module at `path` on `device`, in eval mode; FaceganError naming the file otherwise."""
    if not path.is_file():
        raise FaceganError(f"recognizer.torchscript: {path} not found; point it at your embedder saved with "
                           "torch.jit.save (a relative path starts where facegan runs: the repository root under dvc)")
    try:
        with warnings.catch_warnings():  # torch 2.x deprecates TorchScript for torch.export; the user's file is one
            warnings.simplefilter("ignore", FutureWarning)
            model = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError):
        raise FaceganError(f"recognizer.torchscript: {path} is not a TorchScript file; export your embedder with "
                           "torch.jit.script(model).save(path) or torch.jit.trace(model, example).save(path)") from None
    return model.eval()


class TorchScriptEmbedder:
    """The user's own embedder, a TorchScript file taking N x 3 x S x S floats and returning N x D.

    Crops are resized with torch's bilinear interpolate with antialias: batched on the model's device,
    and antialiased so that shrinking (e.g. 224 -> 112) averages pixels like PIL or cv2's INTER_AREA
    instead of aliasing; bilinear weights are non-negative, so 0..1 pixels stay in 0..1. Then
    (pixel / 255 - mean) / std per channel, in the model's channel order.
    """

    name = "torchscript"

    def __init__(self, path: Path | str, input_size: int = 112, mean: Sequence[float] = (0.5, 0.5, 0.5),
                 std: Sequence[float] = (0.5, 0.5, 0.5), channels: str = "rgb",
                 device: torch.device | str = "cpu"):
        self.path, self.device = Path(path), torch.device(device)
        self.input_size, self.channels = int(input_size), channels
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.model = load_torchscript(self.path, self.device)
        self.dim = self._probe()
        settings = json.dumps({"input_size": self.input_size, "mean": [float(v) for v in mean],
                               "std": [float(v) for v in std], "channels": channels}, sort_keys=True)
        self.fingerprint = f"{self.name}:{file_digest(self.path)}:{settings}"

    @classmethod
    def from_params(cls, rp, device: torch.device | str = "cpu") -> "TorchScriptEmbedder":
        """From params.recognizer's torchscript keys."""
        return cls(rp.torchscript, rp.torchscript_input_size, rp.torchscript_mean, rp.torchscript_std,
                   rp.torchscript_channels, device)

    @torch.no_grad()
    def embed(self, faces_uint8: np.ndarray) -> np.ndarray:
        batch = inference_batch(self.device)
        out = [self._embed_batch(faces_uint8[start:start + batch]) for start in range(0, len(faces_uint8), batch)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.dim), np.float32)

    def _embed_batch(self, faces_uint8: np.ndarray) -> torch.Tensor:
        x = self._prepare(faces_uint8)
        # Flip test-time augmentation, as embed_faces does for the trained recognizer.
        return F.normalize(self._forward(x) + self._forward(x.flip(3)), dim=1).cpu()

    def _prepare(self, faces_uint8: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(faces_uint8)).to(self.device)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        if self.channels == "bgr":
            x = x.flip(1)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                              antialias=True)
        return (x - self.mean) / self.std

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.model(x)
        if not isinstance(emb, torch.Tensor) or emb.ndim != 2 or emb.shape[0] != len(x):
            got = f"shape {tuple(emb.shape)}" if isinstance(emb, torch.Tensor) else type(emb).__name__
            raise FaceganError(f"recognizer.torchscript: {self.path} returned {got} for {len(x)} faces, not N x D "
                               "embeddings; its forward must return one 2-D tensor, a row a face")
        return emb.float()

    def _probe(self) -> int:
        """The embedding size, from two grey faces: a model that cannot take the input fails here, by name."""
        grey = np.full((2, self.input_size, self.input_size, 3), 128, np.uint8)
        try:
            with torch.no_grad():
                emb = self._forward(self._prepare(grey))
        except RuntimeError as err:  # torch.jit.Error included
            reason = str(err).strip().splitlines()[-1][:160] if str(err).strip() else type(err).__name__
            raise FaceganError(f"recognizer.torchscript: {self.path} failed on a 2 x 3 x {self.input_size} x "
                               f"{self.input_size} batch ({reason}); check recognizer.torchscript_input_size") from None
        return int(emb.shape[1])


def load_embedder(params, trained_path: Path, device: torch.device | str = "cpu",
                  stage: str = "train_recognizer") -> Embedder:
    """The embedder `params.recognizer.source` names (params None: the trained one, at `trained_path`)."""
    source = "trained" if params is None else params.recognizer.source
    if source == "dlib":
        return DlibEmbedder()
    if source == "torchscript":
        return TorchScriptEmbedder.from_params(params.recognizer, device)
    return TrainedEmbedder(trained_path, device, stage)
