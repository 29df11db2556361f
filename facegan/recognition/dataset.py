"""Training batches read straight from the prepared memmap (plus optional extra faces).

Each DataLoader item is one whole batch, named by (epoch, step, face indices):
one fancy-indexed read per batch instead of per face, and augmentation seeded
per batch from (seed, epoch, step), so a batch's pixels do not depend on which
worker builds it or on whether the run was resumed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from facegan.recognition.augment import build_augment
from facegan.train.device import to_input


class FaceSource:
    """Faces from one array (a memmap or an in-memory array), by row, with class labels."""

    def __init__(self, faces: np.ndarray, rows: np.ndarray, labels: np.ndarray):
        self.faces, self.rows, self.labels = faces, np.asarray(rows, np.int64), np.asarray(labels, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, positions: np.ndarray) -> np.ndarray:
        rows = self.rows[positions]
        order = np.argsort(rows, kind="stable")  # ascending reads are kinder to the page cache
        out = np.empty((len(rows), *self.faces.shape[1:]), np.uint8)
        out[order] = self.faces[rows[order]]
        return out


class RowView:
    """Selected rows of a face array, sliceable like the array, read only when sliced
    (embedding a split of a large memmap without copying it whole)."""

    def __init__(self, faces: np.ndarray, rows: np.ndarray):
        self.faces, self.rows = faces, np.asarray(rows, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item) -> np.ndarray:
        return self.faces[self.rows[item]]


class TrainBatches(Dataset):
    """Item `(epoch, step, indices)` -> (N x 3 x S x S float in [-1, 1], N labels)."""

    def __init__(self, sources: list[FaceSource], augment: list[str], seed: int):
        self.sources = sources
        self.offsets = np.cumsum([0] + [len(s) for s in sources])
        self.labels = np.concatenate([s.labels for s in sources])
        self.augment = build_augment(augment) if augment else None
        self.seed = seed

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def read(self, indices: np.ndarray) -> np.ndarray:
        """The unaugmented uint8 faces at these dataset indices."""
        faces = np.empty((len(indices), *self.sources[0].faces.shape[1:]), np.uint8)
        which = np.searchsorted(self.offsets, indices, side="right") - 1
        for k, source in enumerate(self.sources):
            sel = which == k
            if sel.any():
                faces[sel] = source.read(indices[sel] - self.offsets[k])
        return faces

    def __getitem__(self, key: tuple[int, int, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, step, indices = key
        faces = self.read(indices)
        if self.augment is not None:
            self.augment.set_random_seed(int(np.random.SeedSequence([self.seed, epoch, step]).generate_state(1)[0]))
            faces = np.stack([self.augment(image=f)["image"] for f in faces])
        return to_input(faces), torch.from_numpy(self.labels[indices])
