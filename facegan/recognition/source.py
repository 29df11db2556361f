"""The recognizer that low-shot evaluation and `facegan enroll` / `facegan identify` embed with.

An Embedder turns aligned uint8 face crops (N x S x S x 3, the prepared layout) into
L2-normalized embeddings and names itself by a fingerprint, so a gallery embedded by one
recognizer is never matched against probes embedded by another.

Today: the recognizer trained here (`models/recognizer.pt`). `recognizer.source` (dlib,
torchscript) plugs further embedders in behind the same interface.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from facegan.recognition.embed import embed_faces, load_recognizer

HASH_CHUNK = 1 << 20


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
        return embed_faces(self.model, faces_uint8, device=self.device, flip=True)


def load_embedder(params, trained_path: Path, device: torch.device | str = "cpu",
                  stage: str = "train_recognizer") -> Embedder:
    """The embedder `params.recognizer` names (today only the trained one, at `trained_path`)."""
    return TrainedEmbedder(trained_path, device, stage)
