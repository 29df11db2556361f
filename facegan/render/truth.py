"""True variants: the renderer draws a photo again with only the planned edit changed.

On the synthetic set each planned edit of an enrolled photo (an attribute flipped, a
yaw target) has a ground truth: the same identity, nuisances, camera noise and
framing with that one attribute or the yaw changed. Enrolling with these instead
of the editor's variants says what perfect edits would add (the `oracle`
condition); facegan.synthesis.oracle writes them where only evaluation reads them.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.render.dataset import read_identities, rerender
from facegan.render.identity import FRAME_COLOURS, Identity
from facegan.render.image_state import ImageState

SMILE_STRENGTH = 0.825  # the mean of the renderer's smile strengths, U(0.65, 1.0)
MOUTH_PER_SMILE = 7.75  # the mean lip gap per unit of smile of an open smile, U(5.5, 10.0)


@dataclass(frozen=True)
class TrueEdit:
    """One planned edit as a change of a photo's state (picklable, for worker processes)."""
    kind: str  # eyeglasses | smiling | young | yaw
    target: float  # 0/1; young also a youth 1 - age strictly between 0 and 1; degrees for yaw
    difficulty: float = 1.0
    generic_pair: bool = False  # eyeglasses on: GENERIC_PAIR, not the pair drawn for this photo

    def __call__(self, ident: Identity, st: ImageState) -> ImageState:
        on = self.target >= 0.5
        if self.kind == "eyeglasses" and on and self.generic_pair:
            style, tint, frame = GENERIC_PAIR
            return dataclasses.replace(st, eyeglasses=True, glasses_style=style, glasses_tint=float(tint),
                                       frame_rgb=np.asarray(frame, np.float32))
        if self.kind == "eyeglasses":  # the pair drawn for this photo (most often the person's own)
            return dataclasses.replace(st, eyeglasses=on)
        if self.kind == "smiling":
            smile = float(np.clip(SMILE_STRENGTH * self.difficulty, 0, 1)) if on else 0.0
            return dataclasses.replace(st, smiling=on, smile=smile, mouth_open=MOUTH_PER_SMILE * smile)
        if self.kind == "young":
            if 0 < self.target < 1:  # a continuous target: exactly that age
                return dataclasses.replace(st, age=1 - self.target)
            # 0/1: the identity's own young / old age (Young = age < 0.5)
            return dataclasses.replace(st, age=min(ident.age_young, 0.45) if on else max(ident.age_old, 0.55))
        if self.kind == "yaw":
            return dataclasses.replace(st, yaw_deg=float(self.target))
        raise ValueError(f"no true variant for edit kind {self.kind!r}")


@dataclass(frozen=True)
class TrueEdits:
    """Several edits at once (a probe set back to the enrollment condition)."""
    edits: tuple[TrueEdit, ...]

    def __call__(self, ident: Identity, st: ImageState) -> ImageState:
        for edit in self.edits:
            st = edit(ident, st)
        return st


# The pair an editor that cannot see a person's own glasses would draw: clear lenses, thin dark frames.
GENERIC_PAIR = ("rectangular", 0.2, tuple(float(v) for v in FRAME_COLOURS[0]))  # style, tint, frame colour


@dataclass(frozen=True)
class TrueCondition:
    """A photo drawn again in another photo's condition: that photo's eyeglasses (its pair, or
    GENERIC_PAIR), smile, age and yaw; the photo's own identity, nuisances and framing. Enrolling
    a person as they would look in a probe's condition (`probe_condition`) is what an editor
    conditioned on what the probe shows could do at best."""
    eyeglasses: bool
    pair: tuple  # (style, tint, frame colour)
    smiling: bool
    smile: float
    mouth_open: float
    age: float
    yaw_deg: float

    def __call__(self, ident: Identity, st: ImageState) -> ImageState:
        style, tint, frame = self.pair
        return dataclasses.replace(st, eyeglasses=self.eyeglasses, glasses_style=style, glasses_tint=float(tint),
                                   frame_rgb=np.asarray(frame, np.float32), smiling=self.smiling, smile=self.smile,
                                   mouth_open=self.mouth_open, age=self.age, yaw_deg=self.yaw_deg)


def probe_condition(st: ImageState, generic_pair: bool = False) -> TrueCondition:
    """The condition photo state `st` shows, as a TrueCondition; `generic_pair`: its glasses (if any)
    replaced by GENERIC_PAIR, a pair nobody can tell from a photo without them."""
    pair = GENERIC_PAIR if generic_pair else (st.glasses_style, float(st.glasses_tint),
                                              tuple(float(v) for v in np.asarray(st.frame_rgb)))
    return TrueCondition(bool(st.eyeglasses), pair, bool(st.smiling), float(st.smile), float(st.mouth_open),
                         float(st.age), float(st.yaw_deg))


def photo_states(root: Path, image_ids: list[str]) -> list[ImageState]:
    """The drawn state (attributes and nuisances) of each photo of the rendered set in `root`."""
    states: list[ImageState] = []

    def keep(ident: Identity, st: ImageState) -> ImageState:
        states.append(st)
        return st

    rerender(root, list(image_ids), [keep] * len(image_ids))  # in this process, in image_ids' order
    return states


def _render_part(task) -> list[bytes]:
    root, image_ids, edits = task
    return rerender(root, image_ids, edits)


def true_variants(root: Path, image_ids: list[str], edits: list, workers: int = 1) -> list[bytes]:
    """The encoded photo image_ids[i] of the rendered set in `root` drawn again with edits[i]
    (a TrueEdit or TrueEdits) made true; the photo's own difficulty applies to a smile's strength."""
    # One identity's photos together, so that a part makes its textures (identity_assets) once.
    identity = read_identities(root).set_index("image_id")["identity"]
    keys = pd.DataFrame({"identity": identity.loc[list(image_ids)].to_numpy(), "image_id": list(image_ids)})
    order = keys.sort_values(["identity", "image_id"], kind="stable").index.to_numpy()
    parts = [p for p in np.array_split(order, max(1, min(len(order), 8 * workers))) if len(p)]
    tasks = [(root, [image_ids[i] for i in part], [edits[i] for i in part]) for part in parts]
    if workers <= 1:
        files = [_render_part(t) for t in tasks]
    else:  # spawn: safe beside torch/OpenMP threads
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            files = pool.map(_render_part, tasks, chunksize=1)
    out: list[bytes] = [b""] * len(image_ids)
    for part, made in zip(parts, files):
        for i, f in zip(part, made):
            out[i] = f
    return out


def planned_edits(root: Path, kinds: list[str], targets: list, generic_kinds: tuple[str, ...] = ()) -> list:
    """TrueEdit(s) for planned (kind, target) pairs at the rendered set's difficulty; a multi-target
    edit's target is its {attribute: target} dict. Edits of `generic_kinds` put on GENERIC_PAIR where
    they put on glasses (an edit told only "eyeglasses", not which)."""
    difficulty = json.loads((Path(root) / "render.json").read_text())["arguments"]["difficulty"]
    return [TrueEdits(tuple(TrueEdit(a, float(v), difficulty, k in generic_kinds) for a, v in t.items()))
            if isinstance(t, dict) else TrueEdit(k, float(t), difficulty, k in generic_kinds)
            for k, t in zip(kinds, targets)]
