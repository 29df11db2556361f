"""Stage `render_oracle`."""

from __future__ import annotations

import json

from facegan.config import Params
from facegan.paths import ORACLE_VARIANTS, PREPARED, RAW_SYNTHETIC, RENDER_ORACLE_TIMING

DEPS = (PREPARED, RAW_SYNTHETIC)  # RAW_SYNTHETIC: the rendered set it redraws photos from (data.root by default)
OUTS = (ORACLE_VARIANTS, RENDER_ORACLE_TIMING)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """The renderer's true variants of the enrolled novel photos (synthetic data; only evaluate reads them)."""
    from facegan.io import atomic_write_json
    from facegan.synthesis.oracle import write_oracle

    report = write_oracle(params, PREPARED, ORACLE_VARIANTS)
    atomic_write_json(RENDER_ORACLE_TIMING, {"seconds": report["seconds"]})
    print(json.dumps(report))
