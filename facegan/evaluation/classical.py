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


def grey_clahe(faces: np.ndarray) -> np.ndarray:
    """Faces to grey with contrast-limited adaptive histogram equalization, as 3 channels: a
    non-learned way to bring visible and thermal photos closer (the thermal task's baseline)."""
    import cv2

    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    grey = [clahe.apply(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY)) for f in faces]
    return np.repeat(np.stack(grey)[..., None], 3, axis=-1) if grey else np.zeros_like(faces)
