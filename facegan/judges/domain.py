"""Is a photo like the faces the models were trained on?

The feature is the aligned face's coarse colour and its fine texture, each average-pooled to 8 x 8:
RGB, and the grey face's absolute Laplacian weighted x 3 (against 200 celeba-mini photos, the
Laplacian alone flagged 72% but misses colour faults, 16 x 16 RGB with x 4 flagged 61%, this 73%).
The judges' own embeddings map an out-of-domain face onto the training manifold (synthetic-trained
judges put real photos among the rendered faces: 0 of 40 real CelebA photos flagged), and coarse
colour alone no longer separates them once the renderer varies exposure, white balance and
backgrounds as photos do: 16 x 16 pooled RGB flagged 47% of 200 celeba-mini photos against
rendered faces; with the Laplacian's energy, where skin pores, hair strands and sensor noise sit,
73%, and 3% of the novel identities' rendered faces. The distance is probabilistic PCA's:
Mahalanobis in the leading axes plus the residual off them, with the threshold at the 99th
percentile of held-out base faces, so about 1% of in-domain photos are flagged whatever the face set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PCA_DIM = 8
POOLED = 8  # side of the pooled maps
TEXTURE_WEIGHT = 3.0
FEATURE = f"{POOLED}x{POOLED} pooled RGB and {TEXTURE_WEIGHT:g} x |Laplacian| of grey, PPCA-{PCA_DIM}"
LAPLACIAN = torch.tensor([[[[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]]])
QUANTILE = 0.99
MAX_FACES = 4000  # enough for these statistics; bounds the judges stage's extra time


def domain_features(faces_uint8: np.ndarray) -> np.ndarray:
    """N x S x S x 3 uint8 aligned faces -> N x (8*8*4) pooled colour in [0, 1] and texture energy."""
    x = torch.from_numpy(np.array(faces_uint8, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0
    texture = F.conv2d(x.mean(1, keepdim=True), LAPLACIAN, padding=1).abs() * TEXTURE_WEIGHT
    return F.adaptive_avg_pool2d(torch.cat([x, texture], 1), POOLED).flatten(1).numpy().astype(np.float64)


def fit_domain(train: np.ndarray, heldout: np.ndarray, dim: int = PCA_DIM, quantile: float = QUANTILE) -> dict:
    """Mean, principal axes and variances of the training features, residual variance, threshold."""
    x = np.asarray(train, np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    dim = max(1, min(dim, len(x) - 1, x.shape[1] - 1))
    eig = s ** 2 / max(len(x) - 1, 1)
    rest = eig[dim:].sum() / max(x.shape[1] - dim, 1)  # PPCA: mean variance off the leading axes
    stats = {"mean": mean.astype(np.float32), "axes": vt[:dim].astype(np.float32),
             "variances": (eig[:dim] + 1e-8).astype(np.float32), "residual_variance": float(rest + 1e-8),
             "quantile": float(quantile), "feature": FEATURE}
    stats["threshold"] = float(np.quantile(domain_distance(stats, heldout), quantile))
    return stats


def domain_distance(stats: dict, features: np.ndarray) -> np.ndarray:
    """Distance of each feature row from the training faces (in units where ~1 is typical)."""
    centred = np.asarray(features, np.float64) - np.asarray(stats["mean"], np.float64)
    axes = np.asarray(stats["axes"], np.float64)
    z = centred @ axes.T
    residual = np.sum(centred ** 2, axis=1) - np.sum(z ** 2, axis=1)
    d2 = np.sum(z ** 2 / np.asarray(stats["variances"], np.float64), axis=1) + residual / stats["residual_variance"]
    return np.sqrt(d2 / centred.shape[1])


def faces_domain(faces, train_index: np.ndarray, heldout_index: np.ndarray, seed: int = 0) -> dict:
    """Domain statistics of base training faces, threshold from held-out base faces."""
    rng = np.random.default_rng(seed)

    def features(index):
        index = np.sort(rng.choice(np.asarray(index), size=min(MAX_FACES, len(index)), replace=False))
        return domain_features(faces[index])

    return fit_domain(features(train_index), features(heldout_index))


def out_of_domain(stats: dict | None, face_uint8: np.ndarray) -> tuple[bool | None, float | None]:
    """(is the face out of domain, its distance / threshold); (None, None) without statistics or
    with a judges file's statistics of another feature (made by an older facegan)."""
    if not stats or stats.get("feature") != FEATURE:
        return None, None
    ratio = float(domain_distance(stats, domain_features(face_uint8))[0] / stats["threshold"])
    return ratio > 1.0, ratio
