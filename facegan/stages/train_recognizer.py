"""Stage `train_recognizer`."""

from __future__ import annotations

from facegan.config import Params
from facegan.paths import (PREPARED, RECOGNIZER, RECOGNIZER_CHECKPOINTS, RECOGNIZER_FORK, RECOGNIZER_PLOTS,
                           RECOGNIZER_REPORT)
from facegan.stage import print_report

DEPS = (PREPARED,)
OUTS = (RECOGNIZER, RECOGNIZER_FORK, RECOGNIZER_CHECKPOINTS, RECOGNIZER_PLOTS, RECOGNIZER_REPORT)
DISTRIBUTED = True  # trains data-parallel under torchrun


def run(params: Params) -> None:
    """Train the ArcFace recognizer on base identities; score it on novel-identity pairs. Its state
    before the last `recognizer_aug.fork` of the steps is where train_recognizer_aug starts."""
    from facegan.recognition.stage import train_recognizer_stage

    print_report(train_recognizer_stage(params, prepared_dir=PREPARED, model_path=RECOGNIZER,
                                        report_path=RECOGNIZER_REPORT, live_dir=RECOGNIZER_PLOTS,
                                        checkpoint_dir=RECOGNIZER_CHECKPOINTS, fork_path=RECOGNIZER_FORK))
