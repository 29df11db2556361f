"""Stage `train_translator`."""

from __future__ import annotations

from facegan.config import Params
from facegan.paths import (PREPARED, RECOGNIZER, THERMAL_GRID, TRANSLATOR, TRANSLATOR_CHECKPOINTS, TRANSLATOR_PLOTS,
                           TRANSLATOR_REPORT)
from facegan.stage import print_report

DEPS = (PREPARED, RECOGNIZER)
OUTS = (TRANSLATOR, TRANSLATOR_CHECKPOINTS, TRANSLATOR_PLOTS, THERMAL_GRID, TRANSLATOR_REPORT)
DISTRIBUTED = True  # trains data-parallel under torchrun


def run(params: Params) -> None:
    """Train the thermal->visible translator on base twins; score thermal probes of novel identities."""
    from facegan.translator.stage import train_translator_stage

    print_report(train_translator_stage(params, prepared_dir=PREPARED, recognizer_path=RECOGNIZER,
                                        model_path=TRANSLATOR, report_path=TRANSLATOR_REPORT, grid_path=THERMAL_GRID,
                                        live_dir=TRANSLATOR_PLOTS, checkpoint_dir=TRANSLATOR_CHECKPOINTS))
