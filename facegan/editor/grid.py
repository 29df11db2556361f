"""The editor grid: rows = source faces, columns = source, reconstruction and each evaluated edit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image

from facegan.editor.edit import continuous_age, edit_faces
from facegan.editor.evaluate import edit_plan
from facegan.gan.grid import face_sheet


def edit_grid(editor, faces: np.ndarray, source: Mapping[str, np.ndarray], scale: int = 1) -> Image.Image:
    columns = [("source", faces), ("recon", edit_faces(editor, faces, {}, source))]
    plan = edit_plan(source, continuous_age(editor))
    columns += [(name, edit_faces(editor, faces, targets, source)) for name, targets in plan]
    size = faces.shape[1] * scale
    return face_sheet([(name.replace(" flip", "")[:size // 6], images) for name, images in columns], size)
