"""Scoring an episode: matching rules, top-1, coverage at 99% precision, CIs.

Matching rules (`lowshot.matcher`), each a score of a probe against every enrolled identity:
ncm      cosine to the identity's class mean (of L2-normalized embeddings)
nn       the highest cosine to any of the identity's enrolled images
matched  cosine to a mean of the identity's enrolled images weighted by how near each one's
         attributes and yaw are to the probe's (pose-/attribute-aware matching): a smiling probe
         is compared mostly with the smiling variants, a frontal neutral one with the photos
hull     ncm's cosine less HULL_WEIGHT x the probe's distance to the affine hull of the enrolled
         images (after Cevikalp & Triggs, CVPR 2010): a probe the images' differences explain
         (glasses on, head turned, as a variant shows) loses less than one they do not, where the
         class mean averages those differences away
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def weigh_edit(own: np.ndarray, edit: np.ndarray, weight: float) -> np.ndarray:
    """Probe embeddings edited back to the enrollment condition, as matched (lowshot.probe_weight): the
    edits' embeddings weighted `weight` against the probes' own (rows paired; 1 = the edits alone)."""
    return edit if weight == 1 else (1 - weight) * l2_normalize(own) + weight * l2_normalize(edit)


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


MATCHERS = ("ncm", "nn", "matched", "hull")
YAW_UNIT = 30.0  # degrees of yaw difference that count as one attribute mismatch
MATCH_TEMPERATURE = 0.25  # softness of `matched`: a whole mismatch weighs e^-4 of a match
# `hull`: chosen on the val identities of the synthetic default and celeba-mini-cpu runs (0.25 to
# 2 tried; 0.5 best over both sets and k = 1, 5 for the gan arm).
HULL_WEIGHT = 0.5


def hull_distance(points: np.ndarray, members: np.ndarray) -> np.ndarray:
    """(m, d) points, (n, d) members -> (m,) distances of each point to the members' affine hull
    (the set of their combinations with weights summing to 1): the part of point - mean that no
    combination of the members' differences from their mean explains. One member: the distance to it."""
    centre = members.mean(axis=0)
    x = points - centre
    if len(members) > 1:
        _, singular, vt = np.linalg.svd(members - centre, full_matrices=False)
        basis = vt[singular > 1e-6 * max(float(singular[0]), 1e-12)]
        x = x - (x @ basis.T) @ basis
    return np.linalg.norm(x, axis=1)


def attribute_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(m, 4) x (n, 4) rows of eyeglasses, smiling, young (probabilities or 0/1) and yaw (degrees)
    -> (m, n) distances: summed attribute differences plus the yaw difference in YAW_UNITs."""
    binary = np.abs(a[:, None, :3] - b[None, :, :3]).sum(-1)
    return binary + np.abs(a[:, None, 3] - b[None, :, 3]) / YAW_UNIT


def match_scores(rule: str, gallery: list[np.ndarray], probes: np.ndarray,
                 gallery_attributes: list[np.ndarray] | None = None,
                 probe_attributes: np.ndarray | None = None) -> np.ndarray:
    """(probes, identities) scores of `rule`; gallery[i] holds identity i's enrolled embeddings
    (and gallery_attributes[i] their attribute rows, needed by `matched`)."""
    p = l2_normalize(probes)
    out = np.empty((len(p), len(gallery)), np.float64)
    for i, enrolled in enumerate(gallery):
        e = l2_normalize(enrolled)
        if rule == "hull":  # every identity by the same formula, however many images it has
            out[:, i] = p @ l2_normalize(e.mean(axis=0)) - HULL_WEIGHT * hull_distance(p, e)
        elif rule == "ncm" or len(e) == 1:
            out[:, i] = p @ l2_normalize(e.mean(axis=0))
        elif rule == "nn":
            out[:, i] = (p @ e.T).max(axis=1)
        elif rule == "matched":
            d = attribute_distance(probe_attributes, gallery_attributes[i])
            w = np.exp(-(d - d.min(axis=1, keepdims=True)) / MATCH_TEMPERATURE)
            # cosine of the probe with the weighted mean: (w.S) / |w E|, |w E|^2 = w G w
            norm = np.sqrt(np.maximum(np.einsum("mj,jl,ml->m", w, e @ e.T, w), 1e-12))
            out[:, i] = (w * (p @ e.T)).sum(axis=1) / norm
        else:
            raise ValueError(f"unknown matcher {rule!r}; expected one of {MATCHERS}")
    return out


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
