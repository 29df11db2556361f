"""The editor grid: rows = source faces, columns = source, reconstruction and each evaluated edit."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facegan.editor.edit import edit_faces
from facegan.editor.evaluate import edit_plan
from facegan.io import atomic_write_bytes

HEADER = 14


def edit_grid(editor, faces: np.ndarray, source: Mapping[str, np.ndarray], scale: int = 1) -> Image.Image:
    columns = [("source", faces), ("recon", edit_faces(editor, faces, {}, source))]
    columns += [(name, edit_faces(editor, faces, targets, source)) for name, targets in edit_plan(source)]
    size = faces.shape[1] * scale
    sheet = Image.new("RGB", (size * len(columns), HEADER + size * len(faces)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (name, images) in enumerate(columns):
        draw.text((c * size + 2, 1), name.replace(" flip", "")[:size // 6], fill="black")
        for r, image in enumerate(images):
            sheet.paste(Image.fromarray(image).resize((size, size), Image.NEAREST), (c * size, HEADER + r * size))
    return sheet


def save_grid(path: Path, image: Image.Image) -> None:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())
