"""Stage `train_editor`."""

from __future__ import annotations

from facegan.config import Params
from facegan.stage import print_report


def run(params: Params) -> None:
    """Train the attribute editor GAN on base faces; judge its edits on novel faces."""
    from facegan.editor.stage import train_editor_stage

    print_report(train_editor_stage(params))
