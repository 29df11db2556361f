"""Face verification metrics on pairs: the instrument that scores embedders.

Pairs are all genuine (same-identity) pairs and a seeded sample of impostor
pairs, each capped; scores are cosine similarities of L2-normalized
embeddings. `verification_acc` follows the LFW/insightface protocol (threshold
chosen on 9 folds, accuracy on the 10th, mean over folds), with the threshold
and the accuracy balanced over the two classes, which is plain LFW accuracy
when the pair counts are equal and stays meaningful when they are not.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

MAX_PAIRS = 20_000
FOLDS = 10
FAR = 1e-3


def _genuine_pairs(identities: np.ndarray) -> np.ndarray:
    groups = [np.flatnonzero(identities == ident) for ident in np.unique(identities)]
    pairs = [np.stack([g[a], g[b]], 1) for g in groups for a, b in [np.triu_indices(len(g), k=1)]]
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def _impostor_pairs(identities: np.ndarray, rng: np.random.Generator, max_pairs: int) -> np.ndarray:
    n = len(identities)
    if n * (n - 1) // 2 <= 4 * max_pairs:  # few enough to enumerate, then subsample
        i, j = np.triu_indices(n, k=1)
        pairs = np.stack([i, j], 1)[identities[i] != identities[j]]
        return pairs if len(pairs) <= max_pairs else pairs[np.sort(rng.choice(len(pairs), max_pairs, replace=False))]
    # Too many to enumerate (large test sets): draw distinct random pairs instead.
    found = np.zeros((0, 2), np.int64)
    while len(found) < max_pairs:
        ij = np.sort(rng.integers(0, n, size=(2 * max_pairs, 2)), axis=1)
        ij = ij[identities[ij[:, 0]] != identities[ij[:, 1]]]
        found = np.unique(np.concatenate([found, ij]), axis=0)
    return found[np.sort(rng.choice(len(found), max_pairs, replace=False))]


def sample_pairs(identities: np.ndarray, seed: int, max_pairs: int = MAX_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) index pairs, each K x 2: all genuine pairs and as many
    distinct impostor pairs, both capped at `max_pairs` (seeded samples)."""
    identities = np.asarray(identities)
    rng = np.random.default_rng(seed)
    genuine = _genuine_pairs(identities)
    if len(genuine) > max_pairs:
        genuine = genuine[np.sort(rng.choice(len(genuine), max_pairs, replace=False))]
    return genuine, _impostor_pairs(identities, rng, max_pairs)


def threshold_at_far(impostor_scores: np.ndarray, far: float = FAR) -> float:
    """The similarity threshold above which at most a `far` share of impostors is accepted
    (accept = score > threshold). With fewer than 1/far impostors the achievable FAR is
    1/n; callers report `achieved_far` for that case."""
    scores = np.sort(np.asarray(impostor_scores, np.float64))[::-1]
    k = max(1, int(np.floor(far * len(scores))))  # impostors allowed above the threshold
    return float(scores[min(k, len(scores) - 1)])


def _youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold maximizing TPR - FPR, i.e. balanced accuracy, placed midway to the
    next lower score so that unseen faces just below the best score are not cut off."""
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    k = int(np.argmax(tpr - fpr))
    return float(thresholds[k] if k + 1 == len(thresholds) else (thresholds[k] + thresholds[k + 1]) / 2)


def kfold_accuracy(labels: np.ndarray, scores: np.ndarray, seed: int, folds: int = FOLDS) -> float:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    accs = []
    for train, test in splitter.split(scores, labels):
        accept = scores[test] > _youden_threshold(labels[train], scores[train])
        truth = labels[test].astype(bool)
        accs.append(0.5 * (accept[truth].mean() + (~accept[~truth]).mean()))
    return float(np.mean(accs))


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1.0 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def score_metrics(genuine_scores: np.ndarray, impostor_scores: np.ndarray, seed: int = 0) -> dict:
    """Verification metrics from genuine and impostor similarity scores."""
    genuine_scores, impostor_scores = np.asarray(genuine_scores), np.asarray(impostor_scores)
    scores = np.concatenate([genuine_scores, impostor_scores])
    labels = np.concatenate([np.ones(len(genuine_scores), int), np.zeros(len(impostor_scores), int)])
    folds = min(FOLDS, len(genuine_scores), len(impostor_scores))
    threshold = threshold_at_far(impostor_scores, FAR)
    return {
        "verification_acc": kfold_accuracy(labels, scores, seed, folds) if folds >= 2 else float("nan"),
        "tar_at_far_1e-3": float((genuine_scores > threshold).mean()),
        "far_achieved": float((impostor_scores > threshold).mean()),  # < 1e-3 only with < 1000 impostors
        "threshold_at_far_1e-3": threshold,
        "eer": equal_error_rate(labels, scores),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "n_genuine_pairs": int(len(genuine_scores)),
        "n_impostor_pairs": int(len(impostor_scores)),
    }


def pair_cosine(embeddings: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine similarity of each (i, j) row pair of L2-normalized embeddings."""
    return np.einsum("ij,ij->i", embeddings[pairs[:, 0]], embeddings[pairs[:, 1]])


def impostor_threshold(embeddings: np.ndarray, identities: np.ndarray, far: float, seed: int = 0) -> tuple[float, int]:
    """(the cosine threshold at `far` on the impostor pairs of these faces, how many pairs): where
    an identity threshold is set on held-out faces of people it will never be asked about."""
    _, impostor = sample_pairs(identities, seed)
    return threshold_at_far(pair_cosine(embeddings, impostor), far), int(len(impostor))


def verification_metrics(embeddings: np.ndarray, identities: np.ndarray, seed: int = 0,
                         max_pairs: int = MAX_PAIRS) -> dict:
    """Pair metrics for L2-normalized embeddings of faces with the given identity labels."""
    genuine, impostor = sample_pairs(identities, seed, max_pairs)
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError("verification needs at least two identities and one identity with two faces")
    return score_metrics(pair_cosine(embeddings, genuine), pair_cosine(embeddings, impostor), seed)
