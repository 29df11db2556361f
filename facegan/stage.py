"""Running a pipeline stage: load params once, turn user errors into one line + exit code."""

from __future__ import annotations

import errno
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from facegan.config import Params, load_params, record_reads
from facegan.errors import FaceganError

EXIT_USER_ERROR = 2
# Storage problems a user fixes outside facegan: one line, like a bad input.
_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


# A folder: each stage run writes <stage>.json there, the params keys it read (tests check them
# against dvc.yaml's params).
READS_ENV = "FACEGAN_PARAMS_READ"


def _write_reads(name: str, reads: set[str]) -> None:
    from facegan.io import atomic_write_json

    if int(os.environ.get("RANK", "0")) == 0:
        atomic_write_json(Path(os.environ[READS_ENV]) / f"{name}.json", sorted(reads))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:  # only seed torch where a stage already uses it
        sys.modules["torch"].manual_seed(seed)


def _one_process_under_torchrun(name: str, distributed: bool) -> bool:
    """For a stage that does not train data-parallel, launched by torchrun: rank 0 runs it alone, the others stand down.
    True when this process has nothing to do."""
    from facegan.distributed import launched_by_torchrun

    if not launched_by_torchrun() or distributed:
        return False
    if int(os.environ.get("RANK", "0")) != 0:
        print(f"{name}: runs on one process; rank {os.environ['RANK']} stands down", file=sys.stderr)
        return True
    os.environ["WORLD_SIZE"] = "1"  # nothing inside may wait for the other ranks
    return False


def print_report(report: dict) -> None:
    if report:  # under torchrun only rank 0 reports
        print(json.dumps(report))


def run_stage(name: str, body: Callable[[Params], None], params_path: str = "params.yaml", *,
              distributed: bool = False) -> int:
    """Run `body(params)`; a FaceganError prints `error: ...` on one line and returns 2.
    `distributed`: the stage trains data-parallel under `torchrun --nproc_per_node=N` (its module's
    DISTRIBUTED); otherwise rank 0 runs it alone."""
    from facegan.distributed import cleanup

    started = time.perf_counter()
    if _one_process_under_torchrun(name, distributed):
        return 0
    try:
        params = load_params(params_path)
        seed_everything(params.seed)
        reads = record_reads() if os.environ.get(READS_ENV) else None
        body(params)
        if reads is not None:
            _write_reads(name, reads)
    except FaceganError as err:
        print(f"error: {name}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:
        if err.errno not in _STORAGE_ERRORS:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {name}: {where}{err.strerror or err}; free space or fix permissions and rerun "
              "(outputs are written atomically: the previous ones are intact)", file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        cleanup()
    print(f"{name}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
