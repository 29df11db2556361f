"""Stage `render`."""

from __future__ import annotations

import json
import time

from facegan.config import Params
from facegan.paths import RAW_SYNTHETIC, RENDER_TIMING, SYNTHETIC_GRID, VALIDATED

DEPS = (VALIDATED,)
OUTS = (RAW_SYNTHETIC, SYNTHETIC_GRID, RENDER_TIMING)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """Render the built-in synthetic face set (CelebA layout + thermal twins); with another
    data.source nothing reads it, so only a note is written (a minute and ~60 MB saved)."""
    from facegan.io import atomic_write_json
    from facegan.render.dataset import render_dataset, write_not_rendered
    from facegan.render.grid import save_render_grid

    started = time.perf_counter()
    if params.data.source == "synthetic":
        p = params.synthetic
        summary = render_dataset(RAW_SYNTHETIC, n_identities=p.n_identities,
                                 images_per_identity=tuple(p.images_per_identity),
                                 partition_fractions=tuple(p.partition_fractions), jpeg_quality=tuple(p.jpeg_quality),
                                 thermal=p.thermal, difficulty=p.difficulty, seed=params.seed, workers=p.workers)
        printed = {k: summary[k] for k in ("images", "identities")}
    else:
        write_not_rendered(RAW_SYNTHETIC, params.data.source)
        printed = {"images": 0, "rendered": False, "data_source": params.data.source}
    save_render_grid(SYNTHETIC_GRID, seed=params.seed)
    atomic_write_json(RENDER_TIMING, {"seconds": round(time.perf_counter() - started, 2)})
    print(json.dumps(printed))
