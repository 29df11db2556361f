"""dlib's pretrained face-recognition ResNet as the identity judge for real photos.

Optional (`pip install ".[judge]"`: dlib-bin + face-recognition-models, which
ship the weights). face_recognition_models imports pkg_resources at import
time, so its model files are located from the package spec without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from facegan.lowshot.scoring import l2_normalize

SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
EMBED_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# dlib's ResNet wants ~150 px chips; small prepared crops are upsampled first.
MIN_SIDE = 150


def dlib_model_dir() -> Path | None:
    """The folder holding the .dat files, or None when the [judge] extra is not installed."""
    if importlib.util.find_spec("dlib") is None:
        return None
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if (folder / SHAPE_MODEL).is_file() and (folder / EMBED_MODEL).is_file() else None


class DlibIdentity:
    """128-d dlib embeddings (L2-normalized) of aligned uint8 face crops."""

    def __init__(self, model_dir: Path):
        import dlib

        self._dlib = dlib
        self.shape = dlib.shape_predictor(str(model_dir / SHAPE_MODEL))
        self.net = dlib.face_recognition_model_v1(str(model_dir / EMBED_MODEL))

    def embed(self, faces: np.ndarray) -> np.ndarray:
        import cv2

        out = np.zeros((len(faces), 128), np.float32)
        for i, face in enumerate(np.asarray(faces)):
            side = face.shape[0]
            if side < MIN_SIDE:
                side = MIN_SIDE
                face = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
            face = np.ascontiguousarray(face)
            # The crop is already aligned on the face: the whole image is its box.
            box = self._dlib.rectangle(0, 0, side - 1, side - 1)
            out[i] = np.asarray(self.net.compute_face_descriptor(face, self.shape(face, box)))
        return l2_normalize(out)
