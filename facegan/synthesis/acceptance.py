"""When the judges agree that a variant is what it claims to be.

The rules are the judges' (facegan.judges.acceptance): the attribute judge
reads the target, and the identity judge's similarity to the source is at least
its threshold. A thermal translation has no attribute target; its identity is
checked against the visible twin.
"""

from __future__ import annotations

import numpy as np

from facegan.judges.acceptance import attribute_reached
from facegan.synthesis.plan import THERMAL


def judged_value(kind: str, probs: dict[str, np.ndarray], yaw: np.ndarray) -> np.ndarray:
    """What the attribute judge reads for an edit of this kind: a probability, or degrees."""
    return np.asarray(yaw if kind == "yaw" else probs[kind], np.float64)


def target_reached(kind: str, target: np.ndarray, judged: np.ndarray) -> np.ndarray:
    if kind == THERMAL:
        return np.ones(len(judged), bool)
    return attribute_reached(kind, target, judged)


def targets_reached(wanted: list[dict[str, float]], probs: dict[str, np.ndarray], yaw: np.ndarray) -> np.ndarray:
    """Per face, the share of its several targets ({attribute: target}) the attribute judge reads."""
    out = np.ones(len(wanted))
    for i, targets in enumerate(wanted):
        if targets:
            out[i] = np.mean([target_reached(k, np.array([t]), judged_value(k, probs, yaw)[i:i + 1])[0]
                              for k, t in targets.items()])
    return out
