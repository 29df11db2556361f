"""Stage `synthesize`."""

from __future__ import annotations

import json

from facegan.config import Params


def run(params: Params) -> None:
    """Variants of novel and base faces by the editor and translator, kept where the judges agree."""
    from facegan.synthesis.stage import synthesize_stage

    report = synthesize_stage(params)
    print(json.dumps({k: report[k] for k in ("generated", "kept", "kept_rate")}))
