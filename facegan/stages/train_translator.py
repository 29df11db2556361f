"""Stage `train_translator`."""

from __future__ import annotations

from facegan.config import Params
from facegan.stage import print_report


def run(params: Params) -> None:
    """Train the thermal->visible translator on base twins; score thermal probes of novel identities."""
    from facegan.translator.stage import train_translator_stage

    print_report(train_translator_stage(params))
