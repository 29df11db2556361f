"""True variants: the renderer draws a photo again with only the planned edit changed.

On the synthetic set each planned edit of an enrolled photo (an attribute flipped, a
yaw target) has a ground truth: the same identity, nuisances, camera noise and
framing with that one attribute or the yaw changed. Enrolling with these instead
of the editor's variants says what perfect edits would add (the `oracle`
condition); nothing but evaluation reads them.
"""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.data.decode import load_face
from facegan.data.store import open_prepared
from facegan.io import atomic_dir
from facegan.lowshot.episodes import enrollable_rows
from facegan.render.dataset import rerender
from facegan.render.identity import Identity
from facegan.render.image_state import ImageState
from facegan.synthesis.plan import NEUTRAL, NORMALIZE, every_variant, normalization_jobs, parse_targets
from facegan.synthesis.store import FACES_FILE, ORACLE_REPORT, TABLE_FILE

SMILE_STRENGTH = 0.825  # the mean of the renderer's smile strengths, U(0.65, 1.0)
MOUTH_PER_SMILE = 7.75  # the mean lip gap per unit of smile of an open smile, U(5.5, 10.0)


@dataclass(frozen=True)
class TrueEdit:
    """One planned edit as a change of a photo's state (picklable, for worker processes)."""
    kind: str  # eyeglasses | smiling | young | yaw
    target: float  # 0/1, or degrees for yaw
    difficulty: float = 1.0

    def __call__(self, ident: Identity, st: ImageState) -> ImageState:
        on = self.target >= 0.5
        if self.kind == "eyeglasses":  # style, tint and frame are drawn for every photo
            return dataclasses.replace(st, eyeglasses=on)
        if self.kind == "smiling":
            smile = float(np.clip(SMILE_STRENGTH * self.difficulty, 0, 1)) if on else 0.0
            return dataclasses.replace(st, smiling=on, smile=smile, mouth_open=MOUTH_PER_SMILE * smile)
        if self.kind == "young":  # the identity's own young / old age (Young = age < 0.5)
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


def _render_part(task) -> list[bytes]:
    root, image_ids, edits = task
    return rerender(root, image_ids, edits)


def true_variants(root: Path, image_ids: list[str], kinds: list[str], targets: list, image_size: int,
                  workers: int = 1) -> np.ndarray:
    """uint8 N x S x S x 3: photo image_ids[i] of the rendered set in `root` with edit
    (kinds[i], targets[i]) made true, decoded and cropped exactly as prep does; a `normalize`
    edit's target is its {attribute: target} dict."""
    difficulty = json.loads((Path(root) / "render.json").read_text())["arguments"]["difficulty"]
    edits = [TrueEdits(tuple(TrueEdit(a, float(v), difficulty) for a, v in t.items())) if k == NORMALIZE
             else TrueEdit(k, float(t), difficulty) for k, t in zip(kinds, targets)]
    order = pd.Series(image_ids).argsort(kind="stable").to_numpy()  # one identity's photos together
    parts = np.array_split(order, max(1, min(len(order), 8 * workers)))
    tasks = [(root, [image_ids[i] for i in part], [edits[i] for i in part]) for part in parts if len(part)]
    if workers <= 1:
        files = [_render_part(t) for t in tasks]
    else:  # spawn: safe beside torch/OpenMP threads
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            files = pool.map(_render_part, tasks, chunksize=1)
    out = np.empty((len(image_ids), image_size, image_size, 3), np.uint8)
    for part, made in zip([p for p in parts if len(p)], files):
        out[part] = [load_face(io.BytesIO(f), image_size) for f in made]
    return out


def write_oracle(params, prepared_dir: Path, out_dir: Path) -> dict:
    """The oracle store: every planned edit of every enrolled novel photo, and every novel visible
    photo that is not neutral set back to the enrollment condition (the truth behind probe
    normalization), made true by the renderer (faces.npy + variants.csv in the variant store's
    layout + oracle.json); empty, with the reason, when the prepared faces are not the rendered set."""
    started = time.perf_counter()
    data = open_prepared(prepared_dir)
    index, p = data.index, params.synthesis
    synthetic = data.report.get("source") == "synthetic"
    none = np.zeros(0, np.int64)
    rows = enrollable_rows(index, "novel", params.lowshot) if synthetic else none
    novel = (index["split"] == "novel") & (index["domain"] == "visible")
    visible = index.index[novel].to_numpy() if synthetic else none
    # The true labels of the edited attributes (NEUTRAL names every one of them).
    labels, truth = ({c: index.loc[r, c].to_numpy(np.float32) for c in NEUTRAL} for r in (rows, visible))
    jobs = pd.concat([every_variant(rows, labels, p.attributes, p.yaw_targets, thermal=False),
                      normalization_jobs(visible, truth, params.lowshot.neutral_max_yaw)], ignore_index=True)
    jobs.insert(0, "split", "novel")
    jobs.insert(1, "identity", index["identity"].to_numpy()[jobs["source_row"]] if len(jobs) else [])
    jobs["input_row"] = jobs["source_row"]
    jobs["kept"] = True  # a true variant needs no judge
    faces = np.zeros((0, data.image_size, data.image_size, 3), np.uint8)
    if len(jobs):
        names = [Path(n).name for n in index.loc[jobs["source_row"], "source_path"]]
        targets = [parse_targets(t) if k == NORMALIZE else v
                   for k, v, t in zip(jobs["kind"], jobs["target"], jobs["targets"])]
        faces = true_variants(Path(data.report["root"]), names, jobs["kind"].tolist(), targets,
                              data.image_size, params.data.workers)
    report = {"rendered": bool(len(jobs)), "variants": int(len(jobs)), "sources": int(len(rows)),
              "by_kind": {k: int(n) for k, n in jobs["kind"].value_counts(sort=False).items()}}
    if not synthetic:
        report["reason"] = "true variants exist only for the synthetic source (data.source synthetic)"
    with atomic_dir(Path(out_dir)) as tmp:
        np.save(tmp / FACES_FILE, faces)
        jobs.to_csv(tmp / TABLE_FILE, index=False)
        (tmp / ORACLE_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report | {"seconds": round(time.perf_counter() - started, 1)}
