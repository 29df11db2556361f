"""The train_translator stage: train on base identities' thermal/visible twins, score on novel
identities, write the model, the report and the grid."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from facegan import distributed
from facegan.config import Params
from facegan.data.store import PreparedData, one_per_identity, open_prepared
from facegan.errors import FaceganError
from facegan.gan.grid import save_grid
from facegan.io import atomic_write_json
from facegan.live import live_factory
from facegan.model_file import provenance
from facegan.train.device import default_device
from facegan.recognition.embed import embed_faces, load_recognizer
from facegan.translator.evaluate import episode_top1, image_quality
from facegan.translator.grid import thermal_grid
from facegan.translator.train import PairedFaces, train_translator
from facegan.translator.translate import save_translator, translate_faces

GRID_ROWS = 8


def thermal_source(data: PreparedData) -> str:
    """What prep recorded; stores from before thermal sources existed had only the renderer's twins."""
    return data.report.get("thermal_source", "synthetic" if data.report.get("n_thermal") else "none")


def twin_rows(data: PreparedData, **where) -> pd.DataFrame:
    """Thermal rows (matching `where`) that have a visible twin."""
    rows = data.rows(domain="thermal", **where)
    return rows[rows["pair"] >= 0]


def _pairs(data: PreparedData, rows: pd.DataFrame) -> PairedFaces:
    return PairedFaces(data.faces, rows.index.to_numpy(), rows["pair"].to_numpy())


def _grid_faces(data: PreparedData, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return data.faces[rows.index.to_numpy()], data.faces[rows["pair"].to_numpy()]


def evaluate_translator(params: Params, data: PreparedData, translator, recognizer, device) -> dict:
    """Thermal-probe top-1 (raw vs translated) per shot count and translation quality on novel identities."""
    novel = data.rows(split="novel")
    thermal = (novel["domain"] == "thermal").to_numpy()
    faces = data.faces[novel.index.to_numpy()]
    translated = translate_faces(translator, faces[thermal])
    visible_emb = embed_faces(recognizer, faces[~thermal], device=device)
    raw_emb = embed_faces(recognizer, faces[thermal], device=device)
    # One row per novel row: visible embeddings on visible rows, probe variants on thermal rows.
    embeddings = {name: np.zeros((len(novel), raw_emb.shape[1]), np.float32)
                  for name in ("visible", "raw", "translated")}
    embeddings["visible"][~thermal] = visible_emb
    embeddings["raw"][thermal] = raw_emb
    embeddings["translated"][thermal] = embed_faces(recognizer, translated, device=device)
    by_k = {}
    for k in params.lowshot.shots:
        top1 = episode_top1(novel, embeddings, k, params.lowshot, params.seed)
        by_k[f"k{k}"] = {"thermal_rank1_raw": top1["raw"]["mean"],
                         "thermal_rank1_translated": top1["translated"]["mean"],
                         "ci95_raw": top1["raw"]["ci95"], "ci95_translated": top1["translated"]["ci95"],
                         "n_probes_per_episode": top1["n_probes_per_episode"]}
    paired = novel["pair"].to_numpy()[thermal] >= 0
    quality = image_quality(translated[paired], data.faces[novel["pair"].to_numpy()[thermal][paired]])
    first = by_k[f"k{params.lowshot.shots[0]}"]
    return {"thermal_rank1_raw": first["thermal_rank1_raw"],
            "thermal_rank1_translated": first["thermal_rank1_translated"],
            "k": params.lowshot.shots[0], "by_k": by_k} | quality | {
        "n_novel_identities": int(novel["identity"].nunique()), "n_novel_thermal": int(thermal.sum())}


def train_translator_stage(params: Params, *, prepared_dir: Path, recognizer_path: Path, model_path: Path,
                           report_path: Path, grid_path: Path, live_dir: Path | None, checkpoint_dir: Path) -> dict:
    started = time.perf_counter()
    distributed.setup()  # before the device: under torchrun each process has a GPU of its own
    device = default_device()
    data = open_prepared(prepared_dir)
    source = thermal_source(data)
    train_rows = twin_rows(data, split="base", role="train")
    if len(train_rows) < 2 or not len(twin_rows(data, split="novel")):
        raise FaceganError(f"{prepared_dir}: the translator needs thermal/visible twins of base and novel "
                           f"identities, found {len(train_rows)} base training pairs (thermal source: {source}); "
                           "set thermal.source (params.yaml) and rerun `dvc repro prep`")
    recognizer = load_recognizer(recognizer_path, device)
    monitor_rows = one_per_identity(twin_rows(data, split="base", role="val"), GRID_ROWS, params.seed)
    monitor_faces = _grid_faces(data, monitor_rows)
    live = live_factory(live_dir)
    result = train_translator(params.translator, _pairs(data, train_rows), recognizer, seed=params.seed,
                              image_size=data.image_size, checkpoint_dir=Path(checkpoint_dir), live=live,
                              monitor=lambda g: thermal_grid(g, *monitor_faces, scale=2), device=device)
    for opened in live.opened if live is not None else []:
        opened.end()
    if not distributed.is_main():  # under torchrun, rank 0 saves and scores
        return {}
    save_translator(model_path, result.generator, data.image_size, source,
                    provenance(params, train_rows, data.image_size, result.steps), fingerprint=result.run_id)

    metrics = evaluate_translator(params, data, result.generator, recognizer, device)
    grid_rows = one_per_identity(twin_rows(data, split="novel"), GRID_ROWS, params.seed)
    save_grid(grid_path, thermal_grid(result.generator, *_grid_faces(data, grid_rows), scale=2))
    report = metrics | {"thermal_source": source, "train_img_per_s": round(result.train_img_per_s, 1),
                        "steps": result.steps, "n_train_pairs": int(len(train_rows)),
                        "processes": distributed.world_size(),
                        "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(report_path, report)
    return report
