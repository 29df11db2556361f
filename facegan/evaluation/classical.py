"""Classical enrollment variants: the recognizer's albumentations pipeline applied to gallery photos.

The j-th classical variant of a store row is a pure function of (seed, row, j),
so the same gallery photo gets the same variants in every episode and shot
count, and each is embedded once.
"""

from __future__ import annotations

import numpy as np

from facegan.recognition.augment import build_augment


class ClassicalVariants:
    def __init__(self, augment: list[str], faces: np.ndarray, embed, seed: int):
        self.pipeline = build_augment(augment)
        self.faces, self.embed, self.seed = faces, embed, seed
        self.cache: dict[tuple[int, int], np.ndarray] = {}

    def _make(self, row: int, j: int) -> np.ndarray:
        self.pipeline.set_random_seed(int(np.random.SeedSequence([self.seed, 31, row, j]).generate_state(1)[0]))
        return self.pipeline(image=np.asarray(self.faces[row]))["image"]

    def embeddings(self, wanted: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings of the (row, j) variants, in order (made and embedded on first use)."""
        new = [key for key in dict.fromkeys(wanted) if key not in self.cache]
        if new:
            made = np.stack([self._make(row, j) for row, j in new])
            for key, emb in zip(new, self.embed(made)):
                self.cache[key] = emb
        if not wanted:
            return np.zeros((0, 0), np.float32)
        return np.stack([self.cache[key] for key in wanted])
