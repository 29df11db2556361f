"""Scoring episodes under enrollment conditions, and summarizing them with paired CIs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facegan.evaluation.classical import ClassicalVariants
from facegan.evaluation.enrollment import Condition, NovelVariants
from facegan.lowshot.episodes import PROBE_CONDITIONS, Episode, probe_conditions
from facegan.lowshot.scoring import coverage_at_precision, mean_ci95, nearest_class_mean


@dataclass(frozen=True)
class EpisodeScore:
    top1: float
    coverage_at_p99: float
    visible_top1: float  # thermal probes left out
    by_probe: dict[str, float]
    enrolled_per_identity: float


class EpisodeScorer:
    """Embeddings of one backbone: store rows (novel), variant rows, classical variants on demand."""

    def __init__(self, index: pd.DataFrame, store_embeddings: np.ndarray, variant_embeddings: np.ndarray,
                 variants: NovelVariants, classical: ClassicalVariants | None, max_yaw: float):
        self.index, self.store, self.variant = index, store_embeddings, variant_embeddings
        self.variants, self.classical = variants, classical
        # Per store row (episodes name store rows); rows outside `index` are never probes.
        rows, n = index.index.to_numpy(), len(store_embeddings)
        self.identity = np.full(n, -1, np.int64)
        self.identity[rows] = index["identity"].to_numpy()
        self.is_thermal = np.zeros(n, bool)
        self.is_thermal[rows] = (index["domain"] == "thermal").to_numpy()
        self.masks = {}
        for name, mask in probe_conditions(index, max_yaw).items():
            self.masks[name] = np.zeros(n, bool)
            self.masks[name][rows] = mask
        self.all_kinds = variants.edit_kinds

    def _enrolled(self, rows: np.ndarray, cond: Condition) -> np.ndarray:
        parts = [self.store[rows]]
        gan = np.concatenate([self.variants.kept(r, cond.gan_kinds) for r in rows])
        if len(gan):
            parts.append(self.variant[gan])
        if cond.classical and self.classical is not None:
            wanted = [(int(r), j) for r in rows for j in range(len(self.variants.kept(r, self.all_kinds)))]
            if wanted:
                parts.append(self.classical.embeddings(wanted))
        return np.concatenate(parts)

    def _probe_embeddings(self, probes: np.ndarray, cond: Condition) -> np.ndarray:
        emb = self.store[probes].copy()
        if cond.translate_probes:
            for i, row in enumerate(probes):
                at = self.variants.translation_of.get(int(row)) if self.is_thermal[row] else None
                if at is not None:
                    emb[i] = self.variant[at]
        return emb

    def score(self, episode: Episode, cond: Condition) -> EpisodeScore:
        enrolled = {ident: self._enrolled(rows, cond) for ident, rows in episode.gallery.items()}
        probes = episode.probes
        predicted, confidence = nearest_class_mean(enrolled, self._probe_embeddings(probes, cond))
        correct = predicted == self.identity[probes]
        by_probe = {name: float(correct[self.masks[name][probes]].mean()) if self.masks[name][probes].any()
                    else float("nan") for name in PROBE_CONDITIONS}
        visible = ~self.is_thermal[probes]
        return EpisodeScore(top1=float(correct.mean()), coverage_at_p99=coverage_at_precision(correct, confidence),
                            visible_top1=float(correct[visible].mean()) if visible.any() else float("nan"),
                            by_probe=by_probe,
                            enrolled_per_identity=float(np.mean([len(e) for e in enrolled.values()])))


def interval(values) -> dict:
    """Mean and 95% t-interval [low, high] over episodes."""
    mean, half = mean_ci95(values)
    return {"mean": mean, "ci95": [mean - half, mean + half]}


def paired_gain(a: list[EpisodeScore], b: list[EpisodeScore], field: str = "top1") -> dict:
    """Gain of condition a over b, paired over the same episodes."""
    return interval([getattr(x, field) - getattr(y, field) for x, y in zip(a, b)])


def summarize_condition(scores: list[EpisodeScore]) -> dict:
    return {"top1": interval([s.top1 for s in scores]),
            "coverage_at_p99": float(np.nanmean([s.coverage_at_p99 for s in scores])),
            "visible_top1": float(np.nanmean([s.visible_top1 for s in scores])),
            "enrolled_per_identity": float(np.mean([s.enrolled_per_identity for s in scores]))}


def by_probe(scores: list[EpisodeScore]) -> dict[str, float]:
    with np.errstate(all="ignore"):
        return {name: float(np.nanmean([s.by_probe[name] for s in scores])) if any(
            np.isfinite(s.by_probe[name]) for s in scores) else None for name in PROBE_CONDITIONS}
