"""bench/probe_normalization.py's split of probe normalization into parts."""

import importlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def test_a_part_sets_back_only_its_attributes_and_only_for_probes_turned_within_its_band(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    bench = importlib.import_module("probe_normalization")
    parts = bench.parts([10, 25, 40, 90])
    assert list(parts) == ["all", "eyeglasses", "smiling", "young", "yaw", "yaw_10_25", "yaw_25_40", "yaw_40_90"]
    targets = [{"eyeglasses": 0.0, "yaw": 0.0}, {"smiling": 0.0, "yaw": 0.0}, {"yaw": 0.0}, {"eyeglasses": 0.0}]
    yaw = np.array([-45.0, 30.0, 12.0, 3.0])
    assert bench.restricted(targets, *parts["all"], yaw) == targets
    assert bench.restricted(targets, *parts["eyeglasses"], yaw) == [{"eyeglasses": 0.0}, {}, {}, {"eyeglasses": 0.0}]
    # A turn of -45 degrees is in the 40-90 band by its size; the others are not.
    assert bench.restricted(targets, *parts["yaw_40_90"], yaw) == [{"yaw": 0.0}, {}, {}, {}]
    assert bench.restricted(targets, *parts["yaw_25_40"], yaw) == [{}, {"yaw": 0.0}, {}, {}]
    assert bench.restricted(targets, *parts["yaw_10_25"], yaw) == [{}, {}, {"yaw": 0.0}, {}]
