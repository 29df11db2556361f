"""The oracle store: the renderer's true variants of the planned edits of enrolled novel photos.

Enrolling with these instead of the editor's variants says what perfect edits would add (the
`oracle` condition); nothing but evaluation reads them. Synthetic data only: elsewhere the store
is empty, with the reason.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.attributes import ages_known, store_labels
from facegan.data.decode import load_face
from facegan.data.store import open_prepared, rendered_root
from facegan.io import atomic_dir
from facegan.lowshot.episodes import conditioned_episodes, enrollable_rows
from facegan.render.truth import planned_edits, true_variants
from facegan.synthesis.plan import (CONDITION, MULTI_TARGET, NEUTRAL, condition_keys, conditioned_jobs, edit_targets,
                                    every_variant, normalization_jobs, parse_targets)
from facegan.synthesis.store import FACES_FILE, ORACLE_REPORT, TABLE_FILE


def write_oracle(params, prepared_dir: Path, out_dir: Path, split: str = "novel") -> dict:
    """The oracle store: every planned edit of every enrolled novel photo, every novel visible
    photo that is not neutral set back to the enrollment condition (the truth behind probe
    normalization), and with lowshot.conditioned each k = 1 gallery photo in the true condition of
    each probe of its episode (glasses a generic pair, as the condition names no frames), made
    true by the renderer (faces.npy + variants.csv in the variant store's layout + oracle.json);
    empty, with the reason, when the prepared faces are not the rendered set.
    `split`: whose photos (novel for evaluation; val for bench/world_calibration.py)."""
    started = time.perf_counter()
    data = open_prepared(prepared_dir)
    index, p = data.index, params.synthesis
    synthetic = rendered_root(data.report, split) is not None
    none = np.zeros(0, np.int64)
    rows = enrollable_rows(index, split, params.lowshot) if synthetic else none
    visible = (index["split"] == split) & (index["domain"] == "visible")
    visible = index.index[visible].to_numpy() if synthetic else none
    # The true labels of the edited attributes (NEUTRAL names every one of them); young is the youth
    # 1 - age where ages are known, as it is to an editor trained on them (the base faces' ages).
    labels, truth = (store_labels(index.loc[r], NEUTRAL) for r in (rows, visible))
    continuous = ages_known(index[(index["split"] == "base") & (index["role"] == "train")])
    parts = [every_variant(rows, labels, p.attributes, p.yaw_targets, thermal=False, continuous_age=continuous),
             normalization_jobs(visible, truth, params.lowshot.neutral_max_yaw, continuous)]
    if synthetic and params.lowshot.conditioned:
        keys = condition_keys({c: index.loc[visible, c].to_numpy() for c in NEUTRAL},  # the labels: 0/1, degrees
                              params.lowshot.neutral_max_yaw, p.yaw_targets)
        episodes = conditioned_episodes(index, params.lowshot, params.seed, split)
        parts.append(conditioned_jobs(episodes, dict(zip(visible, keys))))
    jobs = pd.concat(parts, ignore_index=True)
    jobs.insert(0, "split", split)
    jobs.insert(1, "identity", index["identity"].to_numpy()[jobs["source_row"]] if len(jobs) else [])
    jobs["input_row"] = jobs["source_row"]
    jobs["kept"] = True  # a true variant needs no judge
    faces = np.zeros((0, data.image_size, data.image_size, 3), np.uint8)
    if len(jobs):
        names = [Path(n).name for n in index.loc[jobs["source_row"], "source_path"]]
        targets = [edit_targets(parse_targets(t), continuous) if k in MULTI_TARGET else v
                   for k, v, t in zip(jobs["kind"], jobs["target"], jobs["targets"])]
        root = Path(data.report["root"])
        edits = planned_edits(root, jobs["kind"].tolist(), targets, generic_kinds=(CONDITION,))
        made = true_variants(root, names, edits, params.data.workers)
        faces = np.stack([load_face(io.BytesIO(f), data.image_size) for f in made])
    report = {"rendered": bool(len(jobs)), "variants": int(len(jobs)), "sources": int(len(rows)),
              "by_kind": {k: int(n) for k, n in jobs["kind"].value_counts(sort=False).items()}}
    if not synthetic:
        report["reason"] = ("true variants exist only for faces the renderer drew "
                            "(data.source synthetic, novel.source same)")
    with atomic_dir(Path(out_dir)) as tmp:
        np.save(tmp / FACES_FILE, faces)
        jobs.to_csv(tmp / TABLE_FILE, index=False)
        (tmp / ORACLE_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report | {"seconds": round(time.perf_counter() - started, 1)}
