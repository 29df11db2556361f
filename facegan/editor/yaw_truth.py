"""Yaw edits against ground truth (synthetic faces only).

The judges only check the yaw an edit reads as, not whether it looks like the
same face turned: a ghosted or smeared edit can pass. The renderer can draw a
synthetic photo again with only its yaw changed, so each yaw edit is compared
with that true turned photo, cropped like the prepared faces, by SSIM and L1.
The unedited source against the same truth is the score of doing nothing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from pytorch_msssim import ssim

from facegan.data.decode import load_face
from facegan.editor.conditioning import YAW
from facegan.editor.edit import edit_faces
from facegan.train.device import to_input
from facegan.render.dataset import rerender_at_yaw

TRUTH_SOURCES = 128  # re-rendering costs ~60 ms a photo per target: a fixed sample of the novel faces


def _ssim_l1(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and mean absolute difference of uint8 faces, both on [0, 1]."""
    x, y = (to_input(a) + 1) / 2, (to_input(b) + 1) / 2
    return (ssim(x, y, data_range=1.0, size_average=False).numpy(),
            (x - y).abs().flatten(1).mean(1).numpy())


def yaw_truth_quality(editor, faces: np.ndarray, rows: pd.DataFrame, source: Mapping[str, np.ndarray],
                      root: Path, targets: tuple[float, ...]) -> dict:
    """SSIM and L1 of each yaw edit of `faces` (store `rows`, rendered into `root`) against the
    re-rendered photo at the target yaw: means over targets, per target, and for the unedited source."""
    names = [Path(p).name for p in rows["source_path"]]
    scores = {"ssim": {}, "l1": {}, "unedited_ssim": {}}
    for target in targets:
        # Decoded and cropped exactly as prep decodes the rendered files.
        truth = np.stack([load_face(io.BytesIO(f), faces.shape[1]) for f in rerender_at_yaw(root, names, target)])
        key = f"{target:+.0f}"
        scores["ssim"][key], scores["l1"][key] = (float(v.mean()) for v in
                                                  _ssim_l1(edit_faces(editor, faces, {YAW: target}, source), truth))
        scores["unedited_ssim"][key] = float(_ssim_l1(faces, truth)[0].mean())
    return {"ssim": float(np.mean(list(scores["ssim"].values()))), "ssim_by_target": scores["ssim"],
            "l1": float(np.mean(list(scores["l1"].values()))), "l1_by_target": scores["l1"],
            "unedited_ssim": float(np.mean(list(scores["unedited_ssim"].values()))),
            "n_sources": int(len(faces))}


def synthetic_root(report: dict) -> Path | None:
    """The rendered set behind a prepared store, or None when its faces are not synthetic."""
    return Path(report["root"]) if report.get("source") == "synthetic" else None

