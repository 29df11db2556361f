"""Scoring the editor with the judges (never a training signal).

Each source face gets every edit of the evaluation plan: each binary attribute
flipped, and each yaw target. An edit succeeds when the attribute judge reads
the target (the judges' rule, facegan.judges.acceptance: probability on the
right side of 0.5; yaw within YAW_TOLERANCE degrees); it passes quality when the
quality critic's score reaches its threshold, and it is usable (what synthesis
would keep) when it succeeds, keeps the identity and passes quality. Identity is the identity
judge's similarity between source and edit; reconstruction is the edit with no targets; KID compares edited and
real faces in the identity judge's embedding space (no Inception weights
offline).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from pytorch_msssim import ssim
from torchmetrics.image.kid import KernelInceptionDistance

from facegan.attributes import YOUNG, flipped
from facegan.editor.conditioning import BINARY, YAW
from facegan.editor.edit import continuous_age, edit_faces
from facegan.judges.acceptance import AGE_TOLERANCE, accepted, attribute_reached, identity_kept, quality_passed
from facegan.train.device import to_input

EVAL_YAW_TARGETS = (-40.0, -20.0, 20.0, 40.0)
KID_FEATURES = "identity-judge embeddings (L2-normalized), polynomial-kernel KID"


def edit_plan(source: Mapping[str, np.ndarray], continuous_age: bool = False) -> list[tuple[str, dict]]:
    """(column name, targets) for every evaluated edit of these sources: each attribute flipped
    (facegan.attributes.flipped: a continuous youth mirrored), each yaw target."""
    flips = [(f"{name} flip", {name: flipped(name, source[name], continuous_age)}) for name in BINARY]
    return flips + [(f"yaw {t:+.0f}", {YAW: t}) for t in EVAL_YAW_TARGETS]


def judge_edit(judges, targets: dict, edited: np.ndarray, source_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """The judges' verdict on each edited face (targets: the edit's, as edit_plan gives them): what the
    attribute judge reads of the edited attribute (`judged`: a probability, or degrees) and whether
    that is the target, identity similarity to its source, quality score, and `kept`: all three pass
    (the acceptance synthesis applies); `embedding`: the edit's identity-judge embedding."""
    (attribute, target), = targets.items()
    probs, yaw = judges.attributes_and_yaw(edited)
    judged = yaw if attribute == YAW else probs[attribute]
    reached = attribute_reached(attribute, target, judged)
    embedding = judges.identity_embeddings(edited)
    similarity = np.sum(source_embeddings * embedding, axis=1)
    quality = judges.quality(edited)
    return {"judged": judged, "reached": reached, "similarity": similarity, "quality": quality,
            "embedding": embedding, "kept": accepted(reached, similarity, quality, judges)}


def edit_group(targets: dict) -> tuple[str, str | None]:
    """(attribute, yaw target name or None) of an edit of edit_plan: yaw edits are pooled and also split by target."""
    attribute = next(iter(targets))
    return attribute, (f"{targets[YAW]:+.0f}" if attribute == YAW else None)


def _run_plan(editor, faces: np.ndarray, source: Mapping[str, np.ndarray], judges, source_emb: np.ndarray):
    """Every planned edit of `faces` (identity-judge embeddings `source_emb`), its targets, and the
    judges' verdict on each (judge_edit)."""
    edits, plan, verdicts = [], [], []
    for _, targets in edit_plan(source, continuous_age(editor)):
        edited = edit_faces(editor, faces, targets, source)
        edits.append(edited)
        plan.append(targets)
        verdicts.append(judge_edit(judges, targets, edited, source_emb))
    return edits, plan, verdicts


def per_attribute(attributes: list[str], values: list[np.ndarray]) -> dict[str, float]:
    """Mean per attribute (yaw pooled over its targets), or per any name the values are grouped by;
    NaN (no value: an edit region the truth left empty) skipped."""
    pooled: dict[str, list[np.ndarray]] = {}
    for name, v in zip(attributes, values):
        pooled.setdefault(name, []).append(v)
    return {k: float(np.nanmean(np.concatenate(v))) for k, v in pooled.items()}


def by_attribute_and_yaw_target(plan: list[dict], values: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """{"by_attribute": mean per attribute (yaw pooled), "by_yaw_target": mean per yaw target}."""
    groups = [edit_group(t) for t in plan]
    turns = [(v, target) for v, (_, target) in zip(values, groups) if target is not None]
    return {"by_attribute": per_attribute([a for a, _ in groups], values),
            "by_yaw_target": per_attribute([t for _, t in turns], [v for v, _ in turns])}


def edit_success(editor, faces: np.ndarray, source: Mapping[str, np.ndarray], judges) -> dict[str, float]:
    """Judged success per attribute and `usable`: per attribute, the share of edits synthesis would keep
    (target read, identity preserved, quality passed), averaged over attributes. Cheap enough to monitor
    training; `usable` is what checkpoint selection (`editor.select_best`) maximizes."""
    _, plan, verdicts = _run_plan(editor, faces, source, judges, judges.identity_embeddings(faces))
    attributes = [edit_group(t)[0] for t in plan]
    usable = float(np.mean(list(per_attribute(attributes, [v["kept"] for v in verdicts]).values())))
    return per_attribute(attributes, [v["reached"] for v in verdicts]) | {"usable": usable}


def kid(real_features: np.ndarray, fake_features: np.ndarray, seed: int = 0) -> float:
    """KID between two sets of precomputed features (torchmetrics' estimator, identity feature map)."""
    with warnings.catch_warnings(), torch.random.fork_rng():
        warnings.filterwarnings("ignore", "Metric `Kernel Inception Distance`")
        torch.manual_seed(seed)  # KID draws random subsets
        # No sync: under torchrun rank 0 alone scores, and a syncing metric would wait for the others.
        metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=50,
                                         subset_size=min(1000, len(real_features), len(fake_features)),
                                         sync_on_compute=False)
        metric.update(torch.from_numpy(real_features).double(), real=True)
        metric.update(torch.from_numpy(fake_features).double(), real=False)
        return float(metric.compute()[0])


def reconstruction_quality(faces: np.ndarray, recon: np.ndarray) -> tuple[float, float]:
    """Mean per-image PSNR (dB) and SSIM, both on [0, 1] images."""
    a, b = (to_input(faces) + 1) / 2, (to_input(recon) + 1) / 2
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(1 / mse)).mean()), float(ssim(a, b, data_range=1.0, size_average=True))


def evaluate_editor(editor, faces: np.ndarray, source: Mapping[str, np.ndarray], judges,
                    seed: int = 0) -> dict:
    """All editor metrics on these (novel-identity) faces."""
    # Each face embedded once: the same features give identity similarity and KID.
    source_emb = judges.identity_embeddings(faces)
    edits, plan, verdicts = _run_plan(editor, faces, source, judges, source_emb)
    success = per_attribute([edit_group(t)[0] for t in plan], [v["reached"] for v in verdicts])
    edit_emb = np.concatenate([v["embedding"] for v in verdicts])
    similarity = np.concatenate([v["similarity"] for v in verdicts])
    quality = by_attribute_and_yaw_target(plan, [quality_passed(v["quality"], judges.quality_threshold)
                                                 for v in verdicts])
    psnr, ssim_value = reconstruction_quality(faces, edit_faces(editor, faces, {}, source))
    age_errors = [np.abs(v["judged"] - t[YOUNG]) for t, v in zip(plan, verdicts) if YOUNG in t]
    ages = ({"age_edits": {"mean_abs_error": float(np.concatenate(age_errors).mean()), "tolerance": AGE_TOLERANCE,
                           "in": "youth (1 - age) as the attribute judge reads it against the target"}}
            if continuous_age(editor) and age_errors else {})
    return ages | {
        "edit_success": success,
        "quality_pass_rate": quality | {"threshold": float(judges.quality_threshold)},
        "usable_rate": by_attribute_and_yaw_target(plan, [v["kept"] for v in verdicts]),
        "identity": {"mean_similarity": float(similarity.mean()),
                     "preserved_rate": float(identity_kept(similarity, judges.identity_threshold).mean()),
                     "threshold": float(judges.identity_threshold)},
        "recon_psnr": psnr,
        "recon_ssim": ssim_value,
        "kid": kid(source_emb, edit_emb, seed),
        "kid_features": KID_FEATURES,
        "n_sources": int(len(faces)),
        "n_edits": int(sum(len(e) for e in edits)),
    }
