"""Identity-disjoint base/val/novel split and per-image roles.

Every model trains on base identities only; novel identities exist solely
for the final low-shot report. Val identities (`split.val_identities`) are
held out from every model too: evaluation choices (the matcher) are made on
them, so that no choice is made by looking at novel identities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from facegan.config import SplitParams
from facegan.errors import FaceganError

MIN_IDENTITIES = 2  # per side: fewer cannot train a classifier or run an episode


def novel_identities(table: pd.DataFrame, params: SplitParams, seed: int) -> set[int]:
    """`table` holds one row per visible image with `identity` and `partition`."""
    counts = table.groupby("identity").size()
    if params.by == "partition":
        if (table["partition"] < 0).any():
            raise FaceganError("split.by=partition needs list_eval_partition.txt in data.root; add it or use split.by: random")
        per_id = table.groupby("identity")["partition"].agg(["min", "max"])
        mixed = per_id.index[(per_id["min"] == 2) != (per_id["max"] == 2)]
        if len(mixed):
            raise FaceganError(
                f"list_eval_partition.txt: identity {mixed[0]} is in the test partition and in train/val; "
                "partitions must be identity-disjoint for split.by=partition (or use split.by: random)"
            )
        novel = set(per_id.index[per_id["min"] == 2].tolist())
        if not novel:
            raise FaceganError(
                "split.by=partition: list_eval_partition.txt has no test (2) identities; use split.by: random"
            )
    else:
        eligible = np.array(sorted(counts.index[counts >= params.min_images]))
        n_novel = int(round(params.novel_fraction * len(eligible)))
        if n_novel < MIN_IDENTITIES:
            raise FaceganError(
                f"split: only {len(eligible)} identities have >= split.min_images={params.min_images} images, "
                f"giving {n_novel} novel identities; lower split.min_images or raise split.novel_fraction"
            )
        rng = np.random.default_rng(seed)
        novel = set(rng.choice(eligible, size=n_novel, replace=False).tolist())
    n_base = len(counts) - len(novel)
    if n_base < MIN_IDENTITIES:
        raise FaceganError(
            f"split: {n_base} base identities left to train on; lower split.novel_fraction or add identities"
        )
    return novel


def val_identities(table: pd.DataFrame, params: SplitParams, novel: set[int], seed: int) -> set[int]:
    """Identities held out from all training for evaluation choices: CelebA's val partition
    (split.by partition), else `split.val_identities` of the eligible non-novel identities.
    Fewer than two would choose nothing: then there are none."""
    if params.val_identities == 0:
        return set()
    counts = table.groupby("identity").size()
    if params.by == "partition":
        per_id = table.groupby("identity")["partition"].max()
        chosen = set(per_id.index[per_id == 1].tolist()) - novel
    else:
        eligible = np.array(sorted(set(counts.index[counts >= params.min_images]) - novel))
        n_val = int(round(params.val_identities * (len(eligible) + len(novel))))
        # Its own generator: the novel draw stays what it was without val identities.
        rng = np.random.default_rng([seed, 11])
        chosen = set(rng.choice(eligible, size=min(n_val, len(eligible)), replace=False).tolist())
    if len(chosen) < MIN_IDENTITIES or len(counts) - len(novel) - len(chosen) < MIN_IDENTITIES:
        return set()
    return chosen


def assign_roles(table: pd.DataFrame, novel: set[int], val_fraction: float, seed: int,
                 val_ids: set[int] = frozenset()) -> pd.DataFrame:
    """Adds `split` (base|val|novel) and `role` (train|val|novel) to visible rows.

    Role `val` holds out a share of each base identity's images (never its last
    train image) to score the judges and recognizer on unseen photos; every
    photo of a val identity has role `val` too.
    """
    out = table.copy()
    is_novel = out["identity"].isin(novel).to_numpy()
    is_val = out["identity"].isin(val_ids).to_numpy() & ~is_novel
    out["split"] = np.where(is_novel, "novel", np.where(is_val, "val", "base"))
    role = np.where(is_novel, "novel", np.where(is_val, "val", "train")).astype(object)
    rng = np.random.default_rng(seed + 1)
    base = ~is_novel & ~is_val
    for _, rows in out.index[base].to_series().groupby(out["identity"][base]):
        n_val = min(int(round(val_fraction * len(rows))), len(rows) - 1)
        if n_val > 0:
            role[out.index.get_indexer(rng.choice(rows.to_numpy(), size=n_val, replace=False))] = "val"
    out["role"] = role
    return out
