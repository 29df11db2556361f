"""One JSON line per benchmark figure: {name, value, unit, target, meets_target}."""

from __future__ import annotations

import json


def emit(name: str, value: float, unit: str, target: float | None = None, higher_is_better: bool = True) -> None:
    meets = target is None or (value >= target if higher_is_better else value <= target)
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit, "target": target, "meets_target": meets}))
