"""Sample grids of generated faces (figures and dvclive): labelled columns of faces, one row per
source, written as PNG. The editor and the translator fill the columns."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facegan.io import atomic_write_bytes

HEADER = 14


def face_sheet(columns: Sequence[tuple[str, Sequence[np.ndarray]]], size: int) -> Image.Image:
    """One column per (label, faces), one row per face; each face scaled to `size` px (nearest,
    so pixels stay visible)."""
    sheet = Image.new("RGB", (size * len(columns), HEADER + size * len(columns[0][1])), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (label, faces) in enumerate(columns):
        draw.text((c * size + 2, 1), label, fill="black")
        for r, face in enumerate(faces):
            sheet.paste(Image.fromarray(face).resize((size, size), Image.NEAREST), (c * size, HEADER + r * size))
    return sheet


def save_grid(path: Path, image: Image.Image) -> None:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())
