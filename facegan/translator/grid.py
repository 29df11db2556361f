"""The translator grid: rows = novel identities, columns = thermal input, translation, real visible."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from facegan.translator.translate import translate_faces

HEADER = 14
COLUMNS = ("thermal", "translated", "visible")


def thermal_grid(translator, thermal: np.ndarray, visible: np.ndarray, scale: int = 1) -> Image.Image:
    """One row per (thermal, visible) twin: the input, its translation and the real visible photo."""
    size = thermal.shape[1] * scale
    sheet = Image.new("RGB", (size * len(COLUMNS), HEADER + size * len(thermal)), "white")
    draw = ImageDraw.Draw(sheet)
    columns = (thermal, translate_faces(translator, thermal), visible)
    for c, (name, faces) in enumerate(zip(COLUMNS, columns)):
        draw.text((c * size + 2, 1), name[:max(1, size // 6)], fill="black")
        for r, face in enumerate(faces):
            sheet.paste(Image.fromarray(face).resize((size, size), Image.NEAREST), (c * size, HEADER + r * size))
    return sheet
