"""bench/world_calibration.py's room figures."""

import importlib
from pathlib import Path

import numpy as np
import pytest

from facegan.evaluation.lowshot_run import EpisodeScore, TaskResults

REPO = Path(__file__).resolve().parents[1]


def test_the_ceiling_is_the_shifted_share_times_their_gap_to_neutral_probes(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    bench = importlib.import_module("world_calibration")
    # 4 identities, 8 probes each (rows 8 i .. 8 i + 7): 2 neutral, all right; 6 shifted (2 eyeglasses,
    # 2 posed, 2 smiling and old), half of them right: ceiling = 6/8 * (1 - 1/2).
    rows = np.arange(32)
    masks = {c: np.zeros(32, bool) for c in ("neutral", "eyeglasses", "smiling", "old", "posed")}
    within = rows % 8
    masks["neutral"][within < 2] = True
    masks["eyeglasses"][(within == 2) | (within == 3)] = True
    masks["posed"][(within == 4) | (within == 5)] = True
    masks["smiling"][within >= 6] = True
    masks["old"][within >= 6] = True
    correct = (within < 2) | (within % 2 == 0)
    episode = EpisodeScore(correct=correct, confidence=np.ones(32), identity=rows // 8, probe_rows=rows,
                           enrolled_per_identity=1.0)
    results = TaskResults({"real": [episode, episode]}, 4, 200, 0)

    ceiling = bench.gain_ceiling(results, masks)
    assert ceiling["shifted_share"] == pytest.approx(0.75)
    assert (ceiling["real_neutral"], ceiling["real_shifted"]) == pytest.approx((1.0, 0.5))
    assert ceiling["gain"] == pytest.approx(0.375)


def test_a_probe_its_identity_explains_only_in_its_condition_is_found_by_the_condition_matched_variant(monkeypatch):
    from facegan.lowshot.episodes import Episode
    from facegan.lowshot.scoring import l2_normalize

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    bench = importlib.import_module("world_calibration")
    # Rows 0-2: the gallery photos of identities 0-2. Row 3: identity 0 in glasses, a direction g that
    # identity 2's photo happens to share, so the photos alone name identity 2. Row 4: identity 1, neutral.
    e0, e1, e2, g = np.eye(4)
    store = l2_normalize(np.stack([e0, e1, 0.7 * e2 + 0.7 * g, 0.5 * e0 + g, e1]))
    identity = np.array([0, 1, 2, 0, 1])
    # each photo as it would look in each probe's condition: in glasses for row 3, as it is for row 4
    at, rows = {}, []
    for probe, shift in ((3, g), (4, 0 * g)):
        for photo in range(3):
            at[(probe, photo)] = len(rows)
            rows.append(store[photo] + shift)
    variants = {"truth": l2_normalize(np.stack(rows))}
    episode = Episode(gallery={i: np.array([i]) for i in range(3)}, probes=np.array([3, 4]))
    masks = {"eyeglasses": np.array([0, 0, 0, 1, 0], bool), "neutral": np.array([0, 0, 0, 0, 1], bool)}

    correct, probes = bench.condition_matched_tables(store, identity, variants, at, [episode], masks, 3)
    assert probes["eyeglasses"][0].tolist() == [1, 0, 0] and probes["neutral"][0].tolist() == [0, 1, 0]
    assert correct["photo"]["eyeglasses"][0, 0] == 0  # the photos alone name identity 2
    assert correct["truth"]["eyeglasses"][0, 0] == 1 and correct["truth+photo"]["eyeglasses"][0, 0] == 1
    assert all(correct[arm]["neutral"][0, 1] == 1 for arm in ("photo", "truth", "truth+photo"))
