"""Is a photo like the faces the models were trained on? Mahalanobis distance of the identity
judge's embedding in a low-dimensional PCA of the training faces, with the threshold at the 99th
percentile of held-out base faces, so about 1% of in-domain photos are flagged whatever the face set."""

from __future__ import annotations

import numpy as np

PCA_DIM = 8
QUANTILE = 0.99
MAX_FACES = 4000  # enough for 8-dimensional statistics; bounds the judges stage's extra embedding time


def fit_domain(train_embeddings: np.ndarray, heldout_embeddings: np.ndarray, dim: int = PCA_DIM,
               quantile: float = QUANTILE) -> dict:
    """Mean, principal axes and variances of the training embeddings, and the distance threshold."""
    x = np.asarray(train_embeddings, np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    dim = max(1, min(dim, len(x) - 1, x.shape[1]))
    variances = s[:dim] ** 2 / max(len(x) - 1, 1) + 1e-8  # floor: a degenerate axis must not divide by zero
    stats = {"mean": mean.astype(np.float32), "axes": vt[:dim].astype(np.float32),
             "variances": variances.astype(np.float32), "quantile": float(quantile),
             "feature": f"identity-judge embedding, PCA-{dim}"}
    stats["threshold"] = float(np.quantile(domain_distance(stats, heldout_embeddings), quantile))
    return stats


def domain_distance(stats: dict, embeddings: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each embedding from the training faces, in their PCA space."""
    z = (np.asarray(embeddings, np.float64) - np.asarray(stats["mean"], np.float64)) @ np.asarray(
        stats["axes"], np.float64).T
    return np.sqrt(np.sum(z ** 2 / np.asarray(stats["variances"], np.float64), axis=1))


def judges_domain(judges, faces, train_index: np.ndarray, heldout_index: np.ndarray, seed: int = 0) -> dict:
    """Domain statistics of these judges on base training faces, threshold from held-out base faces."""
    rng = np.random.default_rng(seed)

    def embed(index):
        index = np.sort(rng.choice(index, size=min(MAX_FACES, len(index)), replace=False))
        return judges.identity_embeddings(faces[index])

    return fit_domain(embed(np.asarray(train_index)), embed(np.asarray(heldout_index)))
