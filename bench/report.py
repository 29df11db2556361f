"""One JSON line per benchmark figure: {name, value, unit, target, meets_target}."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

REPEATS = 3


def steady_rate(run: Callable[[], int], repeats: int = REPEATS) -> float:
    """Items per second of `run()` (which returns how many it did): one untimed pass to warm up
    (oneDNN builds its kernels per shape on first use), then the median of `repeats` timed passes,
    so one hiccup of a shared machine does not decide the figure."""
    run()
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = run()
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates)


def emit(name: str, value: float, unit: str, target: float | None = None, higher_is_better: bool = True,
         digits: int = 1, **detail) -> None:
    """`detail`: more keys for the reader, after the five every line has."""
    meets = target is None or (value >= target if higher_is_better else value <= target)
    print(json.dumps({"name": name, "value": round(value, digits), "unit": unit, "target": target,
                      "meets_target": meets} | detail))
