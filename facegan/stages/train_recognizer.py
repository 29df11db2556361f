"""Stage `train_recognizer`."""

from __future__ import annotations

from facegan.config import Params
from facegan.stage import print_report


def run(params: Params) -> None:
    """Train the ArcFace recognizer on base identities; score it on novel-identity pairs."""
    from facegan.recognition.stage import train_recognizer_stage

    print_report(train_recognizer_stage(params))
