import numpy as np
import pandas as pd
import pytest

from facegan.lowshot.episodes import draw_episodes, neutral_mask, probe_conditions
from facegan.lowshot.scoring import coverage_at_precision, mean_ci95, nearest_class_mean


def novel_index(n_ids=5, per_id=6, thermal=True) -> pd.DataFrame:
    rows = []
    for ident in range(n_ids):
        for j in range(per_id):
            rows.append(dict(identity=ident, domain="visible", eyeglasses=int(j == 1), smiling=int(j == 2),
                             young=int(j != 3), yaw=30.0 if j == 4 else 0.0))
    index = pd.DataFrame(rows)
    index["pair"] = -1
    if thermal:
        twins = index.copy()
        twins["domain"] = "thermal"
        twins["pair"] = np.arange(len(index))
        index["pair"] = np.arange(len(index)) + len(index)
        index = pd.concat([index, twins], ignore_index=True)
    # store rows need not start at 0; `pair` holds store rows too
    index["pair"] = np.where(index["pair"] >= 0, index["pair"] + 100, -1)
    return index.set_index(index.index + 100)


def test_neutral_galleries_and_probes_exclude_gallery_twins():
    index = novel_index()
    for ep in draw_episodes(index, k=2, episodes=3, gallery="neutral", max_yaw=10, seed=0):
        assert len(ep.gallery) == 5
        used = np.concatenate(list(ep.gallery.values()))
        assert neutral_mask(index.loc[used], 10).all()
        twins = index.loc[used, "pair"].to_numpy()
        assert not set(ep.probes) & (set(used) | set(twins))
        assert len(ep.probes) == 5 * (12 - 4)


def test_gallery_falls_back_to_random_when_too_few_neutral_photos():
    index = novel_index(thermal=False)
    ep = draw_episodes(index, k=4, episodes=1, gallery="neutral", max_yaw=10, seed=0)[0]
    for ident, rows in ep.gallery.items():
        assert len(rows) == 4 and neutral_mask(index.loc[rows], 10).sum() == 2


def test_identities_without_a_probe_are_left_out():
    index = novel_index(per_id=3, thermal=False)
    assert draw_episodes(index, k=3, episodes=1, gallery="random", max_yaw=10, seed=0) == []


def test_episodes_differ_but_are_reproducible():
    index = novel_index()
    a = draw_episodes(index, k=1, episodes=4, gallery="random", max_yaw=10, seed=0)
    b = draw_episodes(index, k=1, episodes=4, gallery="random", max_yaw=10, seed=0)
    assert [e.gallery[0].tolist() for e in a] == [e.gallery[0].tolist() for e in b]
    assert len({tuple(e.gallery[0]) for e in a}) > 1


def test_probe_conditions():
    masks = probe_conditions(novel_index(), 10)
    assert masks["thermal"].sum() == 30 and masks["eyeglasses"].sum() == 5
    assert masks["neutral"].sum() == 10  # photos 0 and 5 of each identity


def test_nearest_class_mean():
    enrolled = {7: np.array([[1.0, 0.0], [0.9, 0.1]]), 9: np.array([[0.0, 1.0]])}
    pred, score = nearest_class_mean(enrolled, np.array([[2.0, 0.1], [0.1, 3.0]]))
    assert pred.tolist() == [7, 9] and np.all(score > 0.9)


def test_coverage_at_precision():
    correct = np.array([1, 1, 1, 0, 1, 0], dtype=bool)
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert coverage_at_precision(correct, confidence, 0.99) == pytest.approx(0.5)
    assert coverage_at_precision(correct, confidence, 0.75) == pytest.approx(5 / 6)
    assert coverage_at_precision(~correct, confidence, 0.99) == 0.0


def test_mean_ci95():
    mean, half = mean_ci95([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6) and half == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-3)
    assert mean_ci95([0.3]) == (0.3, 0.0)
