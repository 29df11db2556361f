"""The editor's edits of a user's photos, made and judged as synthesis makes and judges its
variants: the GAN variants `enroll --augment gan` adds and the probes `identify --normalize` edits.
The photos have no labels, so the judges' reading is their source attributes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.errors import FaceganError


def kept_edits(faces: np.ndarray, plan: Callable[[pd.DataFrame, bool], pd.DataFrame], editor_path: Path,
               judges_path: Path, device) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(jobs, the edited faces, which the judges keep) for the synthesis jobs `plan` makes from the
    judges' reading of `faces` (rows 0..N-1: eyeglasses/smiling/young probabilities and yaw) and
    whether the editor's age is continuous (facegan.editor.edit.continuous_age)."""
    from facegan.editor.edit import continuous_age, judged_attributes, load_editor
    from facegan.judges.judges import load_judges
    from facegan.synthesis.generate import generate_variants

    editor, judges = load_editor(editor_path, device), load_judges(judges_path, device)
    if editor.image_size != faces.shape[1]:
        raise FaceganError(f"{editor_path}: edits {editor.image_size} px faces but the photos are aligned at "
                           f"{faces.shape[1]} px (data.image_size); give the models and params of one run")
    judged = pd.DataFrame(judged_attributes(judges, faces))
    jobs = plan(judged, continuous_age(editor))
    made = np.empty((len(jobs), *faces.shape[1:]), np.uint8)
    if not len(jobs):
        return jobs, made, np.zeros(0, bool)
    jobs["input_row"] = jobs["source_row"]
    kept = generate_variants(jobs, faces, judged, editor, None, judges, made, progress=False,
                             judged_attributes=judged)["kept"].to_numpy()
    return jobs, made, kept
