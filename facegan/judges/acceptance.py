"""When the judges read an edit as what it claims to be: the rules the editor's scores, the kept
variants of synthesis and `facegan edit` all share.

Attribute: the attribute judge's probability is on the target's side of 0.5 (a continuous age:
within AGE_TOLERANCE of it); yaw: the judged
degrees are within YAW_TOLERANCE of the target. Identity: the identity judge's cosine similarity
to the source is at least its threshold (the similarity at which it falsely accepts
`judges.identity_far` of base impostor pairs). Quality: the quality critic's score is at least its
threshold (the score `judges.quality_pass` of held-out real base faces reach): an edit that reads as
its target and as the same person can still be a ghosted double face or a smear.
"""

from __future__ import annotations

import numpy as np

from facegan.attributes import YOUNG

YAW_TOLERANCE = 10.0  # degrees
# Youth (1 - age) units: the renderer's young and old ages sit 0.05..0.35 and 0.65..0.95, so 0.15
# is half a group's width, about as closely as the judge reads ages (judges' report: age_mae).
AGE_TOLERANCE = 0.15


def attribute_reached(kind: str, target, judged):
    """Per face, whether the attribute judge reads `target` for an attribute (a probability) or yaw
    (degrees). A young target strictly between 0 and 1 is a continuous youth (1 - age, what a
    `continuous_age` editor is asked for): reached within AGE_TOLERANCE of it."""
    if kind == "yaw":
        return np.abs(judged - target) <= YAW_TOLERANCE
    judged, target = np.asarray(judged), np.asarray(target)
    side = (judged >= 0.5) == (target >= 0.5)
    if kind != YOUNG:
        return side
    return np.where((target > 0) & (target < 1), np.abs(judged - target) <= AGE_TOLERANCE, side)


def identity_kept(similarity, threshold: float):
    """Per pair, whether the identity judge reads the same person."""
    return similarity >= threshold


def quality_passed(score, threshold: float):
    """Per face, whether the quality critic reads a clean face."""
    return score >= threshold


def accepted(reached, similarity, quality, judges):
    """Per variant, whether synthesis keeps it: target `reached`, identity `similarity` to the source at
    least the identity threshold, `quality` score at least the critic's threshold."""
    return (np.asarray(reached, bool) & identity_kept(np.asarray(similarity), judges.identity_threshold)
            & quality_passed(np.asarray(quality), judges.quality_threshold))
