"""The train_recognizer stage: train on base identities, score on novel ones, save model and report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from facegan import distributed
from facegan.config import Params
from facegan.data.store import PreparedData, open_prepared
from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes, atomic_write_json
from facegan.live import live_factory
from facegan.model_file import provenance
from facegan.recognition.dataset import FaceSource, RowView, TrainBatches
from facegan.recognition.embed import embed_faces, save_recognizer
from facegan.recognition.train import clamped_batch_size, step_budget, train_recognizer
from facegan.recognition.whiten import fit_wccn, matching_embeddings
from facegan.recognition.verification import verification_metrics

FORK_FILE = "fork.pt"
REPORT_KEYS = ("verification_acc", "tar_at_far_1e-3", "far_achieved", "eer", "roc_auc",
               "n_genuine_pairs", "n_impostor_pairs")


def _classes(data: PreparedData, train_rows, extra_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Sorted identity ids that become classes, and their names."""
    ids = np.union1d(train_rows["identity"].to_numpy(), extra_ids)
    known = dict(zip(data.index["identity"], data.index["identity_name"].astype(str)))
    return ids, [known.get(i, str(i)) for i in ids]


def train_recognizer_stage(params: Params, *, prepared_dir: Path, model_path: Path, report_path: Path,
                           live_dir: Path | None, checkpoint_dir: Path,
                           extra_train: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                           extra_report: dict | None = None, fork_path: Path | None = None,
                           start_from: Path | None = None) -> dict:
    """Train the recognizer on base visible train faces (plus `extra_train` = (uint8 face array,
    its rows to use, their identity ids), e.g. kept variants of base faces), then score
    novel-identity pairs. The optimizer steps are always those of `recognizer.epochs` over the
    base faces alone: extra faces change what the recognizer sees, not how long it trains
    (a fair comparison of the two recognizers).

    `fork_path`: also write the training state after the first (1 - recognizer_aug.fork) of the
    steps there; `start_from`: such a file, where this run starts (the extra faces are then only in
    the last `recognizer_aug.fork` of the steps, and those of identities the run it forks from did
    not train on are left out)."""
    started = time.perf_counter()
    p = params.recognizer
    data = open_prepared(prepared_dir)
    train_rows = data.rows(split="base", role="train", domain="visible")
    extra_faces, extra_rows, extra_ids = extra_train if extra_train is not None else (
        data.faces, np.zeros(0, np.int64), np.zeros(0, np.int64))
    if train_rows["identity"].nunique() < 2:
        raise FaceganError(f"{prepared_dir}: the recognizer needs base training faces of at least 2 identities, "
                           f"found {train_rows['identity'].nunique()}; add data or lower split.novel_fraction")
    novel_rows = data.rows(split="novel", domain="visible")
    if novel_rows["identity"].nunique() < 2:
        raise FaceganError(f"{prepared_dir}: scoring the recognizer needs at least 2 novel identities, "
                           f"found {novel_rows['identity'].nunique()}; raise split.novel_fraction")

    if start_from is not None:  # the forked run's classes are the base run's
        inside = np.isin(np.asarray(extra_ids), train_rows["identity"].to_numpy())
        extra_rows, extra_ids = np.asarray(extra_rows)[inside], np.asarray(extra_ids)[inside]
        extra_report = (extra_report or {}) | {"n_extra_outside_classes": int((~inside).sum())}
    class_ids, names = _classes(data, train_rows, np.asarray(extra_ids))
    sources = [FaceSource(data.faces, train_rows.index.to_numpy(),
                          np.searchsorted(class_ids, train_rows["identity"].to_numpy()))]
    if len(extra_ids):
        sources.append(FaceSource(extra_faces, extra_rows, np.searchsorted(class_ids, extra_ids)))
    batches = TrainBatches(sources, p.augment, params.seed)

    val_rows = data.rows(split="base", role="val", domain="visible")
    val = None
    if val_rows["identity"].nunique() >= 2 and val_rows["identity"].duplicated().any():
        val = (data.faces[val_rows.index.to_numpy()], val_rows["identity"].to_numpy())

    live = live_factory(live_dir)
    budget = step_budget(p, len(train_rows))
    fork_at = None if fork_path is None else (round((1 - params.recognizer_aug.fork) * budget), FORK_FILE)
    fork = None if start_from is None else _fork(Path(start_from), budget, len(class_ids))
    result = train_recognizer(p, batches, len(class_ids), seed=params.seed, image_size=data.image_size,
                              checkpoint_dir=Path(checkpoint_dir), live=live, val=val, total_steps=budget,
                              fork_at=fork_at, start_from=fork)
    for opened in live.opened if live is not None else []:
        opened.end()
    if not distributed.is_main():  # under torchrun, rank 0 saves and scores
        return {}
    if fork_path is not None:  # the checkpoint folder persists across reruns; the model folder's copy is DVC's
        atomic_write_bytes(fork_path, (Path(checkpoint_dir) / FORK_FILE).read_bytes())
    device = next(result.model.parameters()).device
    whitening = None
    if p.wccn > 0:
        # Fitted on the real base photos alone, also in train_recognizer_aug, so the two recognizers
        # differ only by the variants they trained on. On val identities, adding the spread of the kept
        # GAN variants of base photos to the covariance (weight 1) gave k=1 real top-1 0.790 against 0.798.
        real = embed_faces(result.model, RowView(data.faces, train_rows.index.to_numpy()), flip=True, device=device)
        whitening = fit_wccn(real, train_rows["identity"].to_numpy(), p.wccn)
    save_recognizer(model_path, result.model, arch=p.arch, image_size=data.image_size,
                    embedding_dim=p.embedding_dim, width=p.width, identity_names=names, crop=p.crop,
                    provenance=provenance(params, train_rows, data.image_size, result.steps), fingerprint=result.run_id,
                    whitening=whitening)

    embeddings = matching_embeddings(result.model, RowView(data.faces, novel_rows.index.to_numpy()), whitening, device)
    metrics = verification_metrics(embeddings, novel_rows["identity"].to_numpy(), seed=params.seed)
    report = {k: metrics[k] for k in REPORT_KEYS} | {
        "n_train_images": len(batches), "n_extra_train_images": int(len(extra_ids)), "steps": result.steps,
        "epochs_equivalent": round(result.steps * clamped_batch_size(p, len(batches)) / len(batches), 3),
        "n_train_identities": len(class_ids), "processes": distributed.world_size(), "wccn": p.wccn,
        "started_at_step": 0 if fork is None else int(fork["step"]),
        "train_img_per_s": round(result.train_img_per_s, 1), "seconds": round(time.perf_counter() - started, 1),
    } | (extra_report or {})
    atomic_write_json(report_path, report)
    return report


def _fork(path: Path, budget: int, n_classes: int) -> dict:
    """The training state to start from; one clear line where it is not this recipe's (other params or data)."""
    import torch

    if not path.is_file():
        raise FaceganError(f"{path}: missing; it is written by train_recognizer (run `dvc repro train_recognizer`)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    classes = next((v.shape[0] for v in state["head"].values() if v.ndim == 2), None)
    if state["step"] > budget or classes != n_classes:
        raise FaceganError(f"{path}: the recognizer's training state is from other params or data "
                           f"(step {state['step']} of {budget}, {classes} classes, here {n_classes}); "
                           "rerun `dvc repro train_recognizer`")
    return state
