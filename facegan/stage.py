"""Running a pipeline stage: load params once, turn user errors into one line + exit code."""

from __future__ import annotations

import random
import sys
import time
from typing import Callable

import numpy as np

from facegan.config import Params, load_params
from facegan.errors import FaceganError

EXIT_USER_ERROR = 2


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:  # only seed torch where a stage already uses it
        sys.modules["torch"].manual_seed(seed)


def run_stage(name: str, body: Callable[[Params], None], params_path: str = "params.yaml") -> int:
    """Run `body(params)`; a FaceganError prints `error: ...` on one line and returns 2."""
    started = time.perf_counter()
    try:
        params = load_params(params_path)
        seed_everything(params.seed)
        body(params)
    except FaceganError as err:
        print(f"error: {name}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"{name}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
