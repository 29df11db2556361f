"""Every edit against its ground truth (synthetic faces only).

The judges only check what an edit reads as, not whether it looks like the same photo with
that one thing changed: a ghosted or smeared edit can pass. The renderer can draw a synthetic
photo again with only the edited attribute or the yaw changed (facegan.render.truth), so each
edit of the evaluation plan (facegan.editor.evaluate.edit_plan: every attribute flipped, every
yaw target) is compared with that true variant, decoded and cropped as prep does: by SSIM, L1
and the identity judge's cosine similarity. The unedited source against the same truth is the
score of doing nothing: an edit is worth making where it beats that.

`acceptance` checks the judges against the truth: the edits the full acceptance keeps (target
read, identity kept, quality passed: facegan.judges.acceptance.accepted, as synthesis applies it)
should be nearer their truth than those it rejects; per attribute, per yaw target and overall, the
mean truth SSIM and the count of each side.

Scoring only: it runs once the editor is saved, on novel faces, and nothing here feeds training.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from pytorch_msssim import ssim

from facegan.data.decode import load_face
from facegan.data.store import rendered_root
from facegan.editor.edit import continuous_age, edit_faces
from facegan.editor.evaluate import edit_group, edit_plan, judge_edit, per_attribute
from facegan.render.truth import planned_edits, true_variants
from facegan.train.device import to_input

# A fixed sample of the novel faces: re-rendering costs ~35 ms a photo per core and each source has
# a truth per planned edit (7), so 128 sources are ~900 photos: ~20 s on the default run's 2 workers,
# ~30 s with the edits and their scoring (the default run must stay within 15 minutes). Fewer left
# the kept-vs-rejected comparison on a dozen rejected edits of an attribute.
TRUTH_SOURCES = 128
NOT_SYNTHETIC = ("the renderer's true variants exist only for faces it drew (data.source synthetic with "
                 "novel.source same)")


def synthetic_root(report: dict) -> Path | None:
    """The rendered set behind a prepared store's novel faces, or None when they are photos."""
    return rendered_root(report, "novel")


def true_plan_variants(rows: pd.DataFrame, source: Mapping[str, np.ndarray], root: Path, image_size: int,
                       workers: int = 1, continuous_age: bool = False) -> list[np.ndarray]:
    """Per edit of edit_plan(source, continuous_age), the true variants of the photos of store `rows`
    (rendered into `root`) as N x S x S x 3 uint8; all edits drawn in one pool of `workers` processes."""
    names = [Path(p).name for p in rows["source_path"]]
    plan = edit_plan(source, continuous_age)
    kinds, targets = [], []
    for _, edit in plan:
        (kind, target), = edit.items()
        kinds += [kind] * len(names)
        targets += [float(t) for t in np.broadcast_to(target, len(names))]
    files = true_variants(root, names * len(plan), planned_edits(root, kinds, targets), workers)
    faces = np.stack([load_face(io.BytesIO(f), image_size) for f in files])
    return np.split(faces, len(plan))


def _ssim_l1(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and mean absolute difference of uint8 faces, both on [0, 1]."""
    x, y = (to_input(a) + 1) / 2, (to_input(b) + 1) / 2
    return (ssim(x, y, data_range=1.0, size_average=False).numpy(),
            (x - y).abs().flatten(1).mean(1).numpy())


def _against(faces: np.ndarray, faces_emb: np.ndarray, truth: np.ndarray,
             truth_emb: np.ndarray) -> dict[str, np.ndarray]:
    """Per face: SSIM, L1 and identity-judge similarity of `faces` to `truth`."""
    ssim_values, l1 = _ssim_l1(faces, truth)
    return {"ssim": ssim_values, "l1": l1, "identity_similarity": np.sum(faces_emb * truth_emb, axis=1)}


def _means(scores: list[dict[str, np.ndarray]], groups: list[str]) -> dict[str, dict[str, float]]:
    """{group: {metric: mean over the group's edits}} (per_attribute pools the edits of a group)."""
    by_metric = {m: per_attribute(groups, [s[m] for s in scores]) for m in scores[0]}
    return {g: {m: by_metric[m][g] for m in by_metric} for g in dict.fromkeys(groups)}


def _split(values: np.ndarray, kept: np.ndarray) -> dict:
    def side(mask):
        return {"n": int(mask.sum()), "ssim": float(values[mask].mean()) if mask.any() else None}

    return {"kept": side(kept), "rejected": side(~kept)}


def kept_vs_rejected(ssim_values: list[np.ndarray], kept: list[np.ndarray], groups: list[tuple[str, str | None]]) -> dict:
    """Mean truth SSIM and count of kept and of rejected edits: per attribute (yaw pooled), per yaw target
    and overall. `ssim_values[i]`, `kept[i]`: per face of edit i; `groups[i]`: its (attribute, yaw target)."""
    def pooled(names):
        out = {}
        for name in dict.fromkeys(n for n in names if n is not None):
            at = [i for i, n in enumerate(names) if n == name]
            out[name] = _split(np.concatenate([ssim_values[i] for i in at]), np.concatenate([kept[i] for i in at]))
        return out

    return {"by_attribute": pooled([a for a, _ in groups]), "by_yaw_target": pooled([t for _, t in groups]),
            "overall": _split(np.concatenate(ssim_values), np.concatenate(kept))}


def score_against_truth(edits: list[np.ndarray], faces: np.ndarray, truths: list[np.ndarray],
                        source: Mapping[str, np.ndarray], judges, continuous_age: bool = False) -> dict:
    """The truth report of `edits[i]` (edit i of edit_plan(source, continuous_age) of `faces`) against
    `truths[i]`, beside the unedited `faces` against the same truths (`unedited_*`): per attribute (yaw
    pooled over its targets) and per yaw target; and the truth SSIM of the edits the judges keep against
    those they reject (`acceptance`)."""
    plan = edit_plan(source, continuous_age)
    faces_emb = judges.identity_embeddings(faces)
    groups = [edit_group(edit) for _, edit in plan]
    scores, kept = [], []
    for (_, edit), edited, truth in zip(plan, edits, truths, strict=True):
        truth_emb = judges.identity_embeddings(truth)
        verdict = judge_edit(judges, edit, edited, faces_emb)
        made = _against(edited, verdict["embedding"], truth, truth_emb)
        unedited = _against(faces, faces_emb, truth, truth_emb)
        scores.append(made | {f"unedited_{m}": v for m, v in unedited.items()})
        kept.append(verdict["kept"])
    turns = [(s, target) for s, (_, target) in zip(scores, groups) if target is not None]
    return {"by_attribute": _means(scores, [a for a, _ in groups]),
            "by_yaw_target": _means([s for s, _ in turns], [t for _, t in turns]),
            "acceptance": kept_vs_rejected([s["ssim"] for s in scores], kept, groups),
            "n_sources": int(len(faces)),
            "against": "the renderer's photo of the same face with only the edited attribute or yaw changed; "
                       "unedited_*: the source itself against it (doing nothing)"}


def truth_quality(editor, faces: np.ndarray, rows: pd.DataFrame, source: Mapping[str, np.ndarray], judges,
                  root: Path, workers: int = 1) -> dict:
    """Every planned edit of `faces` (store `rows`, rendered into `root`) scored against its true variant."""
    continuous = continuous_age(editor)
    truths = true_plan_variants(rows, source, root, faces.shape[1], workers, continuous)
    edits = [edit_faces(editor, faces, targets, source) for _, targets in edit_plan(source, continuous)]
    return score_against_truth(edits, faces, truths, source, judges, continuous)
