"""WCCN: the recognizer's embeddings whitened by its training identities' within-class covariance."""

from __future__ import annotations

import numpy as np
import pytest

from facegan.lowshot.scoring import match_scores
from facegan.recognition.embed import embed_faces, load_recognizer, save_recognizer
from facegan.recognition.backbone import build_backbone
from facegan.recognition.source import TrainedEmbedder
from facegan.recognition.whiten import fit_wccn, whiten, within_class_covariance


def nuisance_world(n_ids: int, photos: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Identity in 8 weak directions, a strong shared within-person nuisance in 8 others (lighting,
    pose): cosine matching follows the nuisance unless it is scaled down."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.0, (n_ids, 8))
    ids = np.repeat(np.arange(n_ids), photos)
    identity = centres[ids] + rng.normal(0, 0.15, (len(ids), 8))
    nuisance = rng.normal(0, 3.0, (len(ids), 8))
    return np.concatenate([identity, nuisance], axis=1).astype(np.float32), ids


def top1(gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray, probe_ids: np.ndarray) -> float:
    scores = match_scores("ncm", [gallery[gallery_ids == i] for i in np.unique(gallery_ids)], probes)
    return float((np.unique(gallery_ids)[scores.argmax(axis=1)] == probe_ids).mean())


def test_a_planted_within_class_nuisance_is_whitened_away_for_unseen_identities():
    train, train_ids = nuisance_world(60, 6, seed=0)
    matrix = fit_wccn(train, train_ids, shrink=0.03)
    novel, novel_ids = nuisance_world(40, 4, seed=1)  # other people, the same kind of nuisance
    first = np.r_[True, novel_ids[1:] != novel_ids[:-1]]  # one photo enrolled per person (k = 1)
    raw = top1(novel[first], novel_ids[first], novel[~first], novel_ids[~first])
    white = whiten(novel, matrix)
    whitened = top1(white[first], novel_ids[first], white[~first], novel_ids[~first])
    assert raw < 0.3 and whitened > 0.8, (raw, whitened)


def test_wccn_is_the_inverse_square_root_of_the_shrunk_within_class_covariance():
    train, ids = nuisance_world(30, 5, seed=2)
    matrix = fit_wccn(train, ids, shrink=0.1).astype(np.float64)
    s = within_class_covariance(train, ids)
    shrunk = s + 0.1 * np.trace(s) / len(s) * np.eye(len(s))
    product = matrix @ shrunk @ matrix  # proportional to the identity for S^(-1/2)
    np.testing.assert_allclose(product / product[0, 0], np.eye(len(s)), atol=1e-4)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)


def test_one_photo_per_identity_leaves_embeddings_as_they_are():
    one, ids = nuisance_world(10, 1, seed=3)
    np.testing.assert_array_equal(fit_wccn(one, ids, 0.03), np.eye(one.shape[1], dtype=np.float32))
    with pytest.raises(ValueError, match="shrink"):
        fit_wccn(one, ids, 0.0)


@pytest.mark.parametrize("whitened", [False, True])
def test_the_trained_embedder_applies_the_saved_whitening_and_the_network_stays_raw(tmp_path, whitened):
    model = build_backbone("mobilefacenet", 32, 16, 8).eval()
    matrix = np.diag(np.linspace(0.2, 3.0, 16)).astype(np.float32) if whitened else None
    save_recognizer(tmp_path / "r.pt", model, arch="mobilefacenet", image_size=32, embedding_dim=16, width=8,
                    identity_names=["a", "b"], whitening=matrix)
    faces = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    loaded = load_recognizer(tmp_path / "r.pt")
    raw = embed_faces(loaded, faces)
    np.testing.assert_allclose(raw, embed_faces(model, faces), atol=1e-6)  # the GANs' identity losses
    got = TrainedEmbedder(tmp_path / "r.pt").embed(faces)
    np.testing.assert_allclose(got, whiten(raw, matrix) if whitened else raw, atol=1e-6)
    assert (loaded.whitening is not None) == whitened
    if whitened:
        assert not np.allclose(got, raw, atol=1e-3)
