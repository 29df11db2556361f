"""The translator grid: rows = novel identities, columns = thermal input, translation, real visible."""

from __future__ import annotations

import numpy as np
from PIL import Image

from facegan.gan.grid import face_sheet
from facegan.translator.translate import translate_faces

COLUMNS = ("thermal", "translated", "visible")


def thermal_grid(translator, thermal: np.ndarray, visible: np.ndarray, scale: int = 1) -> Image.Image:
    """One row per (thermal, visible) twin: the input, its translation and the real visible photo."""
    size = thermal.shape[1] * scale
    columns = (thermal, translate_faces(translator, thermal), visible)
    return face_sheet([(name[:max(1, size // 6)], faces) for name, faces in zip(COLUMNS, columns)], size)
