"""Stage `prep`."""

from __future__ import annotations

import json

from facegan.config import Params
from facegan.paths import PREP_TIMING, PREPARED, VALIDATED

DEPS = (VALIDATED,)  # and ${data.root}, which params name
OUTS = (PREPARED, PREP_TIMING)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """Decode, align, split and index the configured source into data/prepared/."""
    from facegan.data.prep import TIMING_KEYS, prepare
    from facegan.io import atomic_write_json

    report = prepare(params, PREPARED)
    atomic_write_json(PREP_TIMING, {k: report[k] for k in TIMING_KEYS})
    summary = {k: report[k] for k in ("source", "n_images", "n_thermal", "n_identities", "n_base_identities",
                                      "n_novel_identities", "n_skipped", "images_per_second")}
    print(json.dumps(summary))
