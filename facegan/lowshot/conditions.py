"""Where a photo's condition (eyeglasses, smiling, young, yaw) comes from: the data set's labels,
or, for photos without them (a novel set of identity folders), the judges' reading.

The conditions decide which photos are neutral enough to enroll (lowshot.gallery: neutral) and
which probe falls in which by-probe group, so synthesis and evaluation must read them the same way:
both go through `with_conditions`, with the judges' reading synthesis writes (judged.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONDITIONS = ("eyeglasses", "smiling", "young")  # binary; yaw is the fourth
JUDGED_AT = 0.5  # a judged probability at or above this counts as the attribute present


def unlabelled(index: pd.DataFrame) -> np.ndarray:
    """Rows whose data set gives no label for some condition."""
    missing = [c for c in CONDITIONS if c not in index.columns]
    if missing:
        return np.ones(len(index), bool)
    return index[list(CONDITIONS)].isna().any(axis=1).to_numpy()


def with_conditions(index: pd.DataFrame, judged: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """`index` with the conditions of its unlabelled visible rows read from `judged` (rows = store
    rows; eyeglasses/smiling/young probabilities and yaw in degrees), and where the evaluated
    conditions came from: `labels` or `judges`. Thermal rows take their visible twin's reading.
    Rows the judges did not read stay unknown (they are never neutral and fall in no condition)."""
    todo = unlabelled(index)
    if not todo.any():
        return index, "labels"
    out = index.copy()
    for c in CONDITIONS:
        if c not in out.columns:
            out[c] = np.nan
    if judged is None or not len(judged):
        return out, "judges"
    visible = todo & (out["domain"] == "visible").to_numpy()
    read = out.index[visible].intersection(judged.index)
    for c in CONDITIONS:
        out.loc[read, c] = (judged.loc[read, c].to_numpy() >= JUDGED_AT).astype(np.float64)
    out.loc[read, "yaw"] = judged.loc[read, "yaw"].to_numpy(np.float32)
    thermal = np.flatnonzero(todo & (out["domain"] == "thermal").to_numpy() & (out["pair"] >= 0).to_numpy())
    twins = out["pair"].to_numpy()[thermal]
    for c in (*CONDITIONS, "yaw"):
        out.iloc[thermal, out.columns.get_loc(c)] = out[c].to_numpy()[twins]
    return out, "judges"
