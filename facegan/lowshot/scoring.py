"""Scoring an episode: nearest class mean, top-1, coverage at 99% precision, CIs."""

from __future__ import annotations

import numpy as np
from scipy import stats


def l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def class_means(enrolled: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """identity -> (n, d) embeddings  =>  (identities, L2-normalized mean per identity)."""
    ids = np.array(sorted(enrolled))
    means = np.stack([l2_normalize(l2_normalize(enrolled[i]).mean(axis=0)) for i in ids])
    return ids, means


def nearest_class_mean(enrolled: dict[int, np.ndarray], probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted identity and its cosine score for each probe embedding."""
    ids, means = class_means(enrolled)
    scores = l2_normalize(probes) @ means.T
    best = scores.argmax(axis=1)
    return ids[best], scores[np.arange(len(best)), best]


def coverage_at_precision(correct: np.ndarray, confidence: np.ndarray, precision: float = 0.99) -> float:
    """Share of probes answered when answering only the most confident ones,
    as far down as precision stays >= `precision` (MS-Celeb-1M low-shot challenge)."""
    if len(correct) == 0:
        return float("nan")
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    prec = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(prec >= precision)
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def mean_ci95(values) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (0 for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), 0.0
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(half)
