"""Stage `synthesize`."""

from __future__ import annotations

import json

from facegan.config import Params
from facegan.paths import EDITOR, JUDGES, PREPARED, SYNTHESIS_REPORT, SYNTHETIC_VARIANTS, TRANSLATOR

DEPS = (PREPARED, EDITOR, TRANSLATOR, JUDGES)
OUTS = (SYNTHETIC_VARIANTS, SYNTHESIS_REPORT)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """Variants of novel and base faces by the editor and translator, kept where the judges agree."""
    from facegan.synthesis.stage import synthesize_stage

    report = synthesize_stage(params, prepared_dir=PREPARED, editor_path=EDITOR, translator_path=TRANSLATOR,
                              judges_path=JUDGES, out_dir=SYNTHETIC_VARIANTS, report_path=SYNTHESIS_REPORT)
    print(json.dumps({k: report[k] for k in ("generated", "kept", "kept_rate")}))
