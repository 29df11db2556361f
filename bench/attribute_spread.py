"""Benchmark: how attributes spread within and across people, in a training set's identities.

A recognizer learns to ignore glasses, age or a turned head only from people it sees both ways. In
real training sets few are: most people never wear glasses in their photos, and a person's age
hardly changes across them. This prints, per attribute, the share of photos with it, the shares
of identities that never, sometimes and always show it, and the within-identity share of its
variance (mean within-identity variance / total variance), on celeba-mini and on the synthetic
set's train partition (the people the recognizer and the GANs learn from), from the CelebA-layout
annotation files alone. "posed" is the nose's offset from the eyes' midpoint, as a share of the
eye distance, beyond 0.25 (about 26 degrees of yaw on the renderer's faces).

    python bench/attribute_spread.py [--synthetic data/raw/synthetic] [--celeba-mini ../shared/data/celeba-mini]

The synthetic set's figures carry celeba-mini's as their target (within 0.15 on each share).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from report import emit  # bench/report.py (scripts run from bench/)

ATTRIBUTES = ("Eyeglasses", "Young", "Smiling", "posed")
POSED_OFFSET = 0.25
TOLERANCE = 0.15


def annotations(root: Path, train_only: bool) -> pd.DataFrame:
    """One row per photo: identity and 0/1 per attribute."""
    def table(name, **kw):
        return pd.read_csv(root / name, sep=r"\s+", **kw)

    attrs = table("list_attr_celeba.txt", skiprows=1)
    ids = table("identity_CelebA.txt", header=None, names=["image_id", "identity"]).set_index("image_id")
    lm = table("list_landmarks_align_celeba.txt", skiprows=1)
    out = attrs.join(ids, how="inner").join(lm, how="inner")
    if train_only:
        part = table("list_eval_partition.txt", header=None, names=["image_id", "p"]).set_index("image_id")
        out = out[part.loc[out.index, "p"].to_numpy() == 0]
    eyes = out["righteye_x"] - out["lefteye_x"]
    offset = (out["nose_x"] - (out["lefteye_x"] + out["righteye_x"]) / 2) / eyes
    table_out = pd.DataFrame({"identity": out["identity"], "posed": (offset.abs() > POSED_OFFSET).astype(float)})
    for a in ATTRIBUTES[:-1]:
        table_out[a] = (out[a] > 0).astype(float)
    return table_out


def spread(photos: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for a in ATTRIBUTES:
        x = photos[a]
        rate = x.groupby(photos["identity"]).mean()
        within = x.groupby(photos["identity"]).var(ddof=0).mean() / max(x.var(ddof=0), 1e-12)
        out[a] = {"photo_rate": x.mean(), "ids_never": (rate == 0).mean(), "ids_mixed": ((rate > 0) & (rate < 1)).mean(),
                  "ids_always": (rate == 1).mean(), "within_share": within}
    return out


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=Path, default=repo / "data/raw/synthetic")
    ap.add_argument("--celeba-mini", type=Path, default=repo.parent / "shared/data/celeba-mini")
    args = ap.parse_args()
    real = None
    if (args.celeba_mini / "list_attr_celeba.txt").is_file():
        real = spread(annotations(args.celeba_mini, train_only=False))
        for a, figures in real.items():
            for k, v in figures.items():
                emit(f"celeba_mini_{a.lower()}_{k}", float(v), "share", digits=3)
    else:
        print(json.dumps({"name": "celeba_mini", "skipped": f"{args.celeba_mini}: celeba-mini not found"}))
    if not (args.synthetic / "list_eval_partition.txt").is_file():
        print(json.dumps({"name": "synthetic", "skipped": f"{args.synthetic}: no rendered set (dvc repro render)"}))
        return
    for a, figures in spread(annotations(args.synthetic, train_only=True)).items():
        for k, v in figures.items():
            # a two-sided target (celeba-mini's share, within TOLERANCE), which emit does not state
            target = None if real is None else round(float(real[a][k]), 3)
            print(json.dumps({"name": f"synthetic_train_{a.lower()}_{k}", "value": round(float(v), 3),
                              "unit": "share", "target": target, "tolerance": TOLERANCE,
                              "meets_target": bool(target is None or abs(v - target) <= TOLERANCE)}))


if __name__ == "__main__":
    main()
