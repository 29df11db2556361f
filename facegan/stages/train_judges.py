"""Stage `train_judges`."""

from __future__ import annotations

from facegan.config import Params
from facegan.stage import print_report


def run(params: Params) -> None:
    """Train the attribute/yaw judge and the independent identity judge."""
    from facegan.judges.stage import train_judges_stage
    from facegan.recognition.train import train_recognizer

    # The identity judge is the recognizer recipe (another architecture and seed): passed in
    # here, so that the judges never import the recognizer's training code themselves.
    print_report(train_judges_stage(params, train_identity=train_recognizer))
