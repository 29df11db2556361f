"""The train_editor stage: train on base identities, score on novel ones with the judges,
write the model, the report and the grid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facegan import distributed
from facegan.attributes import ages_known
from facegan.config import Params
from facegan.data.store import PreparedData, one_per_identity, open_prepared
from facegan.editor.conditioning import attribute_vectors
from facegan.editor.edit import save_editor, source_attributes
from facegan.editor.evaluate import edit_success, evaluate_editor
from facegan.editor.grid import edit_grid
from facegan.editor.train import train_editor
from facegan.editor.truth import NOT_SYNTHETIC, TRUTH_SOURCES, synthetic_root, truth_quality
from facegan.errors import FaceganError
from facegan.gan.grid import save_grid
from facegan.io import atomic_write_json
from facegan.judges.judges import load_judges
from facegan.live import live_factory
from facegan.model_file import provenance
from facegan.train.device import default_device
from facegan.recognition.dataset import FaceSource
from facegan.recognition.embed import load_recognizer

MONITOR_FACES = 24  # fixed base-val faces judged during training
GRID_ROWS = 8


def _select(data: PreparedData, prepared_dir: Path, split: str, role: str | None, what: str) -> pd.DataFrame:
    where = {"split": split, "domain": "visible"} | ({"role": role} if role else {})
    rows = data.rows(**where)
    if len(rows) < 2:
        raise FaceganError(f"{prepared_dir}: the editor needs {what} faces, found {len(rows)}; "
                           "add data or change split.novel_fraction / split.val_fraction")
    return rows


def monitor_edits(data: PreparedData, rows: pd.DataFrame, judges):
    """(ema generator, step) -> (judged edit success, sample grid) on fixed base-val faces."""
    faces = data.faces[rows.index.to_numpy()]
    source = source_attributes(data.faces, rows, judges)

    def monitor(generator, step):
        grid_source = {k: v[:GRID_ROWS] for k, v in source.items()}
        return (edit_success(generator, faces, source, judges),
                edit_grid(generator, faces[:GRID_ROWS], grid_source))

    return monitor


@dataclass(frozen=True)
class TrainingInputs:
    """What train_editor trains on, as this stage gives it: the base-train faces with their attribute
    vectors, and the monitor that judges edits of held-out base faces (select_best)."""
    source: FaceSource
    attributes: np.ndarray
    continuous_age: bool  # the young coordinate a youth (1 - age): the faces' true ages are known
    monitor: Callable
    monitor_rows: pd.DataFrame


def training_inputs(data: PreparedData, train_rows: pd.DataFrame, val_rows: pd.DataFrame, judges,
                    seed: int) -> TrainingInputs:
    """train_editor's inputs from the store's `train_rows` (trained on) and `val_rows` (MONITOR_FACES
    of them, one per identity drawn with `seed`, monitored); also for the benches that train editors."""
    continuous = ages_known(train_rows)
    attributes = attribute_vectors(source_attributes(data.faces, train_rows, judges), continuous)
    monitor_rows = one_per_identity(val_rows, MONITOR_FACES, seed)
    return TrainingInputs(FaceSource(data.faces, train_rows.index.to_numpy(), np.zeros(len(train_rows))),
                          attributes, continuous, monitor_edits(data, monitor_rows, judges), monitor_rows)


def train_editor_stage(params: Params, *, prepared_dir: Path, recognizer_path: Path, judges_path: Path,
                       model_path: Path, report_path: Path, grid_path: Path, live_dir: Path | None,
                       checkpoint_dir: Path) -> dict:
    started = time.perf_counter()
    distributed.setup()  # before the device: under torchrun each process has a GPU of its own
    device = default_device()
    data = open_prepared(prepared_dir)
    train_rows = _select(data, prepared_dir, "base", "train", "base training")
    val_rows = _select(data, prepared_dir, "base", "val", "held-out base (split.val_fraction > 0)")
    novel_rows = _select(data, prepared_dir, "novel", None, "novel-identity")
    recognizer = load_recognizer(recognizer_path, device)
    judges = load_judges(judges_path, device)

    inputs = training_inputs(data, train_rows, val_rows, judges, params.seed)
    live = live_factory(live_dir)
    result = train_editor(params.editor, inputs.source, inputs.attributes, recognizer, seed=params.seed,
                          image_size=data.image_size, checkpoint_dir=Path(checkpoint_dir), live=live,
                          monitor=inputs.monitor, device=device, continuous_age=inputs.continuous_age,
                          monitored_by=judges.fingerprint())
    for opened in live.opened if live is not None else []:
        opened.end()
    if not distributed.is_main():  # under torchrun, rank 0 saves and scores
        return {}
    save_editor(model_path, result.generator, data.image_size,
                provenance(params, train_rows, data.image_size, result.steps), fingerprint=result.run_id)

    novel_faces = data.faces[novel_rows.index.to_numpy()]
    metrics = evaluate_editor(result.generator, novel_faces, source_attributes(data.faces, novel_rows, judges), judges,
                              seed=params.seed)
    root = synthetic_root(data.report)
    if root is None:
        metrics["truth"] = {"reason": NOT_SYNTHETIC}
    else:  # the renderer can draw each edit's true variant
        truth_rows = novel_rows.sample(n=min(TRUTH_SOURCES, len(novel_rows)), random_state=params.seed)
        metrics["truth"] = truth_quality(result.generator, data.faces[truth_rows.index.to_numpy()], truth_rows,
                                         source_attributes(data.faces, truth_rows, judges), judges, root,
                                         params.data.workers)
    grid_rows = one_per_identity(novel_rows, GRID_ROWS, params.seed)
    save_grid(grid_path, edit_grid(result.generator, data.faces[grid_rows.index.to_numpy()],
                                   source_attributes(data.faces, grid_rows, judges), scale=2))
    report = metrics | {"train_img_per_s": round(result.train_img_per_s, 1), "steps": result.steps,
                        "selected_step": result.selected_step,
                        "selection": {"metric": "usable edits (attribute read and identity kept) on "
                                                f"{len(inputs.monitor_rows)} held-out base faces",
                                      "by_step": {str(k): round(v, 4) for k, v in result.selection.items()}},
                        "n_train_images": int(len(train_rows)), "processes": distributed.world_size(),
                        "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(report_path, report)
    return report
