"""Within-class covariance normalization (WCCN) of a recognizer's embeddings.

A margin-trained embedding of a few hundred identities still spreads one person's photos along
directions that lighting, pose, expression and age move them (the training loss only asks that they
stay nearer their own class centre than others'). WCCN (Hatch, Kajarekar & Stolcke, ICSLP 2006)
measures that spread on the training identities and scales the embedding by its inverse square
root, so cosine scores weigh the directions that separate people over those that vary within one.
The covariance is shrunk towards a multiple of the identity by a fixed share (`recognizer.wccn`):
a few hundred identities do not pin down every direction of a 512-d embedding, and the directions
they barely vary in would otherwise be scaled up the most.
"""

from __future__ import annotations

import numpy as np

from facegan.lowshot.scoring import l2_normalize
from facegan.recognition.embed import embed_faces


def within_class_covariance(embeddings: np.ndarray, identities: np.ndarray) -> np.ndarray:
    """(d, d) covariance of L2-normalized embeddings around their identity's mean, pooled over
    photos (an identity with one photo adds nothing)."""
    e = l2_normalize(np.asarray(embeddings, np.float64))
    identities = np.asarray(identities)
    _, inverse = np.unique(identities, return_inverse=True)
    sums = np.zeros((inverse.max() + 1, e.shape[1]))
    np.add.at(sums, inverse, e)
    counts = np.bincount(inverse)
    deviations = e - (sums / counts[:, None])[inverse]
    return deviations.T @ deviations / len(e)


def fit_wccn(embeddings: np.ndarray, identities: np.ndarray, shrink: float) -> np.ndarray:
    """The (d, d) symmetric matrix (S + shrink * mean eigenvalue * I)^(-1/2) of the within-class
    covariance S; the identity matrix where S is zero (every identity has one photo)."""
    if shrink <= 0:
        raise ValueError("shrink must be > 0: the raw within-class covariance is not invertible in general")
    s = within_class_covariance(embeddings, identities)
    d = s.shape[0]
    scale = np.trace(s) / d
    if not scale > 0:
        return np.eye(d, dtype=np.float32)
    values, vectors = np.linalg.eigh(s + shrink * scale * np.eye(d))
    # Scaled so the mean gain is 1; cosine scores do not depend on the overall scale.
    root = (vectors * np.maximum(values, 1e-12) ** -0.5) @ vectors.T
    return (root * (d / np.trace(root))).astype(np.float32)


def whiten(embeddings: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """L2-normalized embeddings -> L2-normalized whitened ones (`matrix` from fit_wccn)."""
    return l2_normalize(np.asarray(embeddings, np.float32) @ matrix).astype(np.float32)


def matching_embeddings(model, faces_uint8: np.ndarray, whitening: np.ndarray | None, device) -> np.ndarray:
    """What matching compares (low-shot evaluation, enroll/identify, the recognizer's verification
    report): the network's flip-averaged embeddings, whitened where the recognizer has a WCCN matrix."""
    emb = embed_faces(model, faces_uint8, device=device, flip=True)
    return emb if whitening is None else whiten(emb, whitening)
