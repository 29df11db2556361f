"""Identity-folder photo sets (root/<identity>/*.jpg: LFW, VGGFace2, ORL layout)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from facegan.errors import FaceganError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}


def scan_identity_folders(root: Path, key: str = "data.root") -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Table of (name, path, identity_name) for every image-like file, and skips (file, reason).
    `key`: the parameter that named `root`, for messages."""
    root = Path(root)
    if not root.is_dir():
        raise FaceganError(f"{root}: {key} does not exist; point it at a folder of identity folders")
    rows, skipped = [], []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            skipped.append((str(entry), "outside_identity_folder"))
            continue
        for file in sorted(p for p in entry.rglob("*") if p.is_file()):
            if file.suffix.lower() in IMAGE_SUFFIXES and not file.name.startswith("."):
                rows.append((f"{entry.name}/{file.relative_to(entry)}", str(file), entry.name))
            else:
                skipped.append((str(file), "not_an_image"))
    if not rows:
        raise FaceganError(
            f"{root}: no images found; expected identity folders like {root}/<identity>/<photo>.jpg"
        )
    return pd.DataFrame(rows, columns=["name", "path", "identity_name"]), skipped
