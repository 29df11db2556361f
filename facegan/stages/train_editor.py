"""Stage `train_editor`."""

from __future__ import annotations

from facegan.config import Params
from facegan.paths import (EDITOR, EDITOR_CHECKPOINTS, EDITOR_GRID, EDITOR_PLOTS, EDITOR_REPORT, JUDGES, PREPARED,
                           RECOGNIZER)
from facegan.stage import print_report

DEPS = (PREPARED, RECOGNIZER, JUDGES)  # and ${data.root}: yaw truth re-renders synthetic faces
OUTS = (EDITOR, EDITOR_CHECKPOINTS, EDITOR_PLOTS, EDITOR_GRID, EDITOR_REPORT)
DISTRIBUTED = True  # trains data-parallel under torchrun


def run(params: Params) -> None:
    """Train the attribute editor GAN on base faces; judge its edits on novel faces."""
    from facegan.editor.stage import train_editor_stage

    print_report(train_editor_stage(params, prepared_dir=PREPARED, recognizer_path=RECOGNIZER, judges_path=JUDGES,
                                    model_path=EDITOR, report_path=EDITOR_REPORT, grid_path=EDITOR_GRID,
                                    live_dir=EDITOR_PLOTS, checkpoint_dir=EDITOR_CHECKPOINTS))
