"""Stage `render_oracle`."""

from __future__ import annotations

import json
from pathlib import Path

from facegan.config import Params
from facegan.stage import TIMING

PREPARED = Path("data/prepared")
ORACLE = Path("data/oracle_variants")


def run(params: Params) -> None:
    """The renderer's true variants of the enrolled novel photos (synthetic data; only evaluate reads them)."""
    from facegan.io import atomic_write_json
    from facegan.render.truth import write_oracle

    report = write_oracle(params, PREPARED, ORACLE)
    atomic_write_json(TIMING / "render_oracle.json", {"seconds": report["seconds"]})
    print(json.dumps(report))
