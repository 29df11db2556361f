"""The synthesize stage: variants of novel faces (for enrollment) and of base faces (for the
augmented recognizer), each judged; only the judges' agreement (target read, identity kept, quality
passed: facegan.judges.acceptance.accepted) marks a variant kept (a photo put in a probe's condition,
lowshot.conditioned: target read and quality passed; facegan.synthesis.generate says why)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.config import Params
from facegan.data.store import PreparedData, open_prepared
from facegan.editor.conditioning import NAMES
from facegan.editor.edit import continuous_age, judged_attributes, load_editor, source_attributes
from facegan.errors import FaceganError
from facegan.io import atomic_dir, atomic_write_json
from facegan.judges.acceptance import identity_kept, quality_passed
from facegan.judges.judges import load_judges
from facegan.lowshot.conditions import with_conditions
from facegan.lowshot.episodes import conditioned_episodes, enrollable_rows
from facegan.train.device import default_device
from facegan.synthesis.generate import generate_variants
from facegan.synthesis.plan import (THERMAL, condition_keys, conditioned_jobs, every_variant, normalization_jobs,
                                    sampled_variants)
from facegan.synthesis.store import FACES_FILE, JUDGED_FILE, REPORT_FILE, TABLE_FILE

EVALUATED = ("novel", "val")  # identity splits low-shot episodes run on (val: to choose settings)


def _load_translator(path: Path, device):
    """thermal faces -> visible faces, or a clear error when the translator was not trained."""
    from facegan.translator.translate import load_translator, translate_faces

    if not Path(path).is_file():
        raise FaceganError(f"{path}: translator missing but the data has thermal faces; "
                           "run `dvc repro train_translator` first")
    translator = load_translator(path, device)
    return lambda faces: translate_faces(translator, faces)


def _jobs(params: Params, data: PreparedData, attrs: pd.DataFrame, judged: pd.DataFrame,
          thermal: bool, continuous_age: bool) -> pd.DataFrame:
    """`continuous_age`: the editor's (its young coordinate a youth, 1 - age: ages flip by mirroring)."""
    p = params.synthesis
    index = data.index
    conditions, _ = with_conditions(index, judged)  # what makes a photo neutral, where labels are missing
    pair = index["pair"].to_numpy()
    base = index[(index["split"] == "base") & (index["role"] == "train") & (index["domain"] == "visible")]
    parts = []
    for split in EVALUATED:
        # Every planned edit of the photos any episode can enroll, and every visible photo (a probe in
        # some episode) edited back to the enrollment condition as far as the judges read it.
        enrolled = enrollable_rows(conditions, split, params.lowshot)
        edits = every_variant(enrolled, {c: attrs.loc[enrolled, c].to_numpy() for c in NAMES},
                              p.attributes, p.yaw_targets, thermal=False, continuous_age=continuous_age)
        visible = judged.index[index.loc[judged.index, "split"].to_numpy() == split].to_numpy()
        reading = {c: judged.loc[visible, c].to_numpy() for c in NAMES}
        normalized = normalization_jobs(visible, reading, params.lowshot.neutral_max_yaw, continuous_age)
        parts += [edits.assign(split=split), normalized.assign(split=split)]
        if params.lowshot.conditioned:
            # Each k = 1 gallery photo in the condition of each probe of its episode as the judges read
            # the probe (condition-matched enrollment, `gan_cond`; val's to choose settings by).
            keys = condition_keys(reading, params.lowshot.neutral_max_yaw, p.yaw_targets)
            episodes = conditioned_episodes(conditions, params.lowshot, params.seed, split)
            parts.append(conditioned_jobs(episodes, dict(zip(visible, keys))).assign(split=split))
    # The translation of every novel thermal photo: they are the thermal probes.
    novel = index[(index["split"] == "novel") & (index["domain"] == "visible")]
    parts.append(every_variant(novel.index.to_numpy(), {}, [], [], thermal=thermal).assign(split="novel"))
    parts.append(sampled_variants(base.index.to_numpy(), {c: attrs.loc[base.index, c].to_numpy() for c in NAMES},
                                  p.attributes, p.yaw_targets, thermal & (pair[base.index] >= 0),
                                  p.base_variants_per_image, params.seed, continuous_age).assign(split="base"))
    jobs = pd.concat(parts, ignore_index=True)
    is_thermal = (jobs["kind"] == THERMAL).to_numpy()
    jobs["input_row"] = np.where(is_thermal, pair[jobs["source_row"]], jobs["source_row"])
    jobs = jobs[jobs["input_row"] >= 0].reset_index(drop=True)  # a thermal job needs a twin
    jobs.insert(1, "identity", index["identity"].to_numpy()[jobs["source_row"]])
    return jobs[["split", "identity", "source_row", "input_row", "kind", "target", "targets"]]


def _report(table: pd.DataFrame, judges, seconds: float) -> dict:
    def summary(t: pd.DataFrame) -> dict:
        return {"generated": int(len(t)), "kept": int(t["kept"].sum()),
                "kept_rate": {k: float(g["kept"].mean()) for k, g in t.groupby("kind", sort=False)},
                "target_reached_rate": {k: float(g["target_reached"].mean()) for k, g in t.groupby("kind", sort=False)},
                "identity_preserved_rate": {
                    k: float(identity_kept(g["identity_similarity"], judges.identity_threshold).mean())
                    for k, g in t.groupby("kind", sort=False)},
                "quality_pass_rate": {k: float(quality_passed(g["quality"], judges.quality_threshold).mean())
                                      for k, g in t.groupby("kind", sort=False)}}

    return summary(table) | {"by_split": {s: summary(t) for s, t in table.groupby("split", sort=True)},
                             "identity_threshold": float(judges.identity_threshold),
                             "quality_threshold": float(judges.quality_threshold), "seconds": round(seconds, 1),
                             "img_per_s": round(len(table) / max(seconds, 1e-9), 1)}


def synthesize_stage(params: Params, *, prepared_dir: Path, editor_path: Path, translator_path: Path,
                     judges_path: Path, out_dir: Path, report_path: Path) -> dict:
    started = time.perf_counter()
    device = default_device()
    data = open_prepared(prepared_dir)
    judges = load_judges(judges_path, device)
    editor = load_editor(editor_path, device)
    if editor.image_size != data.image_size:
        raise FaceganError(f"{editor_path}: editor works on {editor.image_size} px faces but {prepared_dir} holds "
                           f"{data.image_size} px; rerun `dvc repro train_editor`")
    thermal = bool((data.index["domain"] == "thermal").any())
    translate = _load_translator(translator_path, device) if thermal else None

    visible = data.index[data.index["domain"] == "visible"]
    attrs = pd.DataFrame(source_attributes(data.faces, visible, judges), index=visible.index)
    # What the judges read of the photos episodes use (labels are not known at test time).
    evaluated = visible[visible["split"].isin(EVALUATED)]
    judged = pd.DataFrame(judged_attributes(judges, data.faces[evaluated.index.to_numpy()]), index=evaluated.index)
    jobs = _jobs(params, data, attrs, judged, thermal, continuous_age(editor))
    if not len(jobs):
        raise FaceganError(f"{prepared_dir}: nothing to synthesize (no novel or base training faces); "
                           "check split.novel_fraction and the prepared data")
    with atomic_dir(Path(out_dir)) as tmp:
        faces = np.lib.format.open_memmap(tmp / FACES_FILE, mode="w+", dtype=np.uint8,
                                          shape=(len(jobs), data.image_size, data.image_size, 3))
        table = generate_variants(jobs, data.faces, attrs, editor, translate, judges, faces,
                                  judged_attributes=judged)
        faces.flush()
        del faces
        table.to_csv(tmp / TABLE_FILE, index=False)
        judged.rename_axis("row").to_csv(tmp / JUDGED_FILE)
        report = _report(table, judges, time.perf_counter() - started)
        # No timing in the data folder: identical variants must hash the same, or DVC reruns every
        # stage downstream (the seconds stay in reports/synthesis.json).
        stored = {k: v for k, v in report.items() if k not in ("seconds", "img_per_s")}
        (tmp / REPORT_FILE).write_text(json.dumps(stored, indent=2) + "\n")
    atomic_write_json(report_path, report)
    return report
