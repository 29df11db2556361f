"""Every edit against its ground truth (synthetic faces only).

The judges only check what an edit reads as, not whether it looks like the same photo with
that one thing changed: a ghosted or smeared edit can pass. The renderer can draw a synthetic
photo again with only the edited attribute or the yaw changed (facegan.render.truth), so each
edit of the evaluation plan (facegan.editor.evaluate.edit_plan: every attribute flipped, every
yaw target) is compared with that true variant, decoded and cropped as prep does: by SSIM, L1
and the identity judge's cosine similarity. The unedited source against the same truth is the
score of doing nothing: an edit is worth making where it beats that.

Whole-face SSIM is dominated by what an edit must leave alone: glasses or a smile change a tenth
of the face, so an edit that adds nothing scores near 0.9. `region_ssim` is the SSIM map's mean
over the pixels the true edit changes (the true variant differs from the source by more than
REGION_CHANGE, grown by REGION_GROW px): how well the edit made the change itself.

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
import torch
import torch.nn.functional as F
from pytorch_msssim import ssim
from torchmetrics.functional.image import structural_similarity_index_measure as ssim_map

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
# A pixel is part of the true edit where the true variant differs from the source by more than this
# (mean over channels, on [0, 1]): above JPEG's noise (~0.02) between two encodings of one render.
REGION_CHANGE = 0.08
REGION_GROW = 2  # px: SSIM's window sees the edit's edges
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


def edit_region(source: np.ndarray, truth: np.ndarray) -> torch.Tensor:
    """N x 1 x S x S mask of where the true edit changes the uint8 `source` photos (see REGION_CHANGE)."""
    changed = ((to_input(truth) - to_input(source)).abs().mean(1, keepdim=True) / 2 > REGION_CHANGE).float()
    return F.max_pool2d(changed, 2 * REGION_GROW + 1, stride=1, padding=REGION_GROW)


def region_ssim(a: np.ndarray, b: np.ndarray, region: torch.Tensor) -> np.ndarray:
    """Per image: the mean of the SSIM map of uint8 faces `a` against `b` over `region` (NaN where empty)."""
    x, y = (to_input(a) + 1) / 2, (to_input(b) + 1) / 2
    _, full = ssim_map(x, y, data_range=1.0, reduction="none", return_full_image=True)
    area = region.flatten(1).sum(1)
    inside = (full.mean(1, keepdim=True) * region).flatten(1).sum(1)
    return torch.where(area > 0, inside / area.clamp(min=1), torch.nan).numpy()


def _against(faces: np.ndarray, faces_emb: np.ndarray, truth: np.ndarray,
             truth_emb: np.ndarray, region: torch.Tensor) -> dict[str, np.ndarray]:
    """Per face: SSIM (whole and over the edit's `region`), L1 and identity-judge similarity of `faces` to `truth`."""
    ssim_values, l1 = _ssim_l1(faces, truth)
    return {"ssim": ssim_values, "region_ssim": region_ssim(faces, truth, region), "l1": l1,
            "identity_similarity": np.sum(faces_emb * truth_emb, axis=1)}


def _means(scores: list[dict[str, np.ndarray]], groups: list[str]) -> dict[str, dict[str, float]]:
    """{group: {metric: mean over the group's edits}} (per_attribute pools the edits of a group)."""
    by_metric = {m: per_attribute(groups, [s[m] for s in scores]) for m in scores[0]}
    return {g: {m: by_metric[m][g] for m in by_metric} for g in dict.fromkeys(groups)}


def _split(values: dict[str, np.ndarray], kept: np.ndarray) -> dict:
    def side(mask):
        return {"n": int(mask.sum())} | {
            metric: float(np.nanmean(v[mask])) if mask.any() and not np.isnan(v[mask]).all() else None
            for metric, v in values.items()}

    return {"kept": side(kept), "rejected": side(~kept)}


def kept_vs_rejected(scores: list[dict[str, np.ndarray]], kept: list[np.ndarray],
                     groups: list[tuple[str, str | None]]) -> dict:
    """Mean truth SSIM (whole face and edit region) and count of kept and of rejected edits: per attribute
    (yaw pooled), per yaw target and overall. `scores[i]` ({"ssim", "region_ssim"}), `kept[i]`: per face of
    edit i; `groups[i]`: its (attribute, yaw target)."""
    def joined(at):
        return _split({m: np.concatenate([scores[i][m] for i in at]) for m in scores[0]},
                      np.concatenate([kept[i] for i in at]))

    def pooled(names):
        return {name: joined([i for i, n in enumerate(names) if n == name])
                for name in dict.fromkeys(n for n in names if n is not None)}

    return {"by_attribute": pooled([a for a, _ in groups]), "by_yaw_target": pooled([t for _, t in groups]),
            "overall": joined(range(len(scores)))}


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
        region = edit_region(faces, truth)
        made = _against(edited, verdict["embedding"], truth, truth_emb, region)
        unedited = _against(faces, faces_emb, truth, truth_emb, region)
        scores.append(made | {f"unedited_{m}": v for m, v in unedited.items()})
        kept.append(verdict["kept"])
    turns = [(s, target) for s, (_, target) in zip(scores, groups) if target is not None]
    return {"by_attribute": _means(scores, [a for a, _ in groups]),
            "by_yaw_target": _means([s for s, _ in turns], [t for _, t in turns]),
            "acceptance": kept_vs_rejected([{m: s[m] for m in ("ssim", "region_ssim")} for s in scores], kept,
                                           groups),
            "n_sources": int(len(faces)),
            "against": "the renderer's photo of the same face with only the edited attribute or yaw changed; "
                       "unedited_*: the source itself against it (doing nothing); region_ssim: SSIM over the "
                       f"pixels the true edit changes (by > {REGION_CHANGE} of the range, grown {REGION_GROW} px)"}


def truth_quality(editor, faces: np.ndarray, rows: pd.DataFrame, source: Mapping[str, np.ndarray], judges,
                  root: Path, workers: int = 1) -> dict:
    """Every planned edit of `faces` (store `rows`, rendered into `root`) scored against its true variant."""
    continuous = continuous_age(editor)
    truths = true_plan_variants(rows, source, root, faces.shape[1], workers, continuous)
    edits = [edit_faces(editor, faces, targets, source) for _, targets in edit_plan(source, continuous)]
    return score_against_truth(edits, faces, truths, source, judges, continuous)
