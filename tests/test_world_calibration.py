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
