"""Stage `train_judges`."""

from __future__ import annotations

from facegan.config import Params
from facegan.paths import JUDGES, JUDGES_CHECKPOINTS, JUDGES_REPORT, PREPARED
from facegan.stage import print_report

DEPS = (PREPARED,)
OUTS = (JUDGES, JUDGES_CHECKPOINTS, JUDGES_REPORT)
DISTRIBUTED = True  # trains data-parallel under torchrun


def run(params: Params) -> None:
    """Train the attribute/yaw judge and the independent identity judge."""
    from facegan.judges.stage import train_judges_stage
    from facegan.recognition.train import train_recognizer

    # The identity judge is the recognizer recipe (another architecture and seed): passed in
    # here, so that the judges never import the recognizer's training code themselves.
    print_report(train_judges_stage(params, prepared_dir=PREPARED, model_path=JUDGES, report_path=JUDGES_REPORT,
                                    checkpoint_dir=JUDGES_CHECKPOINTS, train_identity=train_recognizer))
