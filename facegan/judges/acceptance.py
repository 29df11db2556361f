"""When the judges read an edit as what it claims to be: the rules the editor's scores, the kept
variants of synthesis and `facegan edit` all share.

Attribute: the attribute judge's probability is on the target's side of 0.5; yaw: the judged
degrees are within YAW_TOLERANCE of the target. Identity: the identity judge's cosine similarity
to the source is at least its threshold (the similarity at which it falsely accepts
`judges.identity_far` of base impostor pairs). Quality: the quality critic's score is at least its
threshold (the score `judges.quality_pass` of held-out real base faces reach): an edit that reads as
its target and as the same person can still be a ghosted double face or a smear.
"""

from __future__ import annotations

import numpy as np

YAW_TOLERANCE = 10.0  # degrees


def attribute_reached(kind: str, target, judged):
    """Per face, whether the attribute judge reads `target` for an attribute (a probability) or yaw (degrees)."""
    if kind == "yaw":
        return np.abs(judged - target) <= YAW_TOLERANCE
    return (judged >= 0.5) == (target >= 0.5)


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
