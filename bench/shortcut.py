"""Benchmark: the shortcut check, on the synthetic set and on real photos (celeba-mini).

Low-shot top-1 at k = 1 on novel identities from the pixels outside the inner face alone (hair,
clothing, background), as a multiple of chance at a common gallery size
(facegan.evaluation.shortcut). Real photos set the bar, since hair does identify people somewhat:
the synthetic set's multiple should be no higher than celeba-mini's.

Prints one JSON line per figure: {name, value, unit, target, meets_target}, more keys for the
reader after them. The synthetic set is the prepared store of a default run (`dvc repro prep`,
data/prepared); celeba-mini is prepared here, into a temporary folder, at 64 px with the
celeba-mini-cpu preset's split. Either missing: a `skipped` line says so.

    python bench/shortcut.py [--synthetic data/prepared] [--celeba-mini ../shared/data/celeba-mini]
                             [--identities 36] [--episodes 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml
from report import emit  # bench/report.py (scripts run from bench/)

from facegan.config import parse_params
from facegan.data.prep import prepare
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.evaluation.shortcut import shortcut_check

REPO = Path(__file__).resolve().parents[1]
PRESET = REPO / "presets" / "celeba-mini-cpu.yaml"


def skipped(name: str, why: str) -> None:
    print(json.dumps({"name": name, "skipped": why}), flush=True)


def synthetic_store(path: Path):
    """The synthetic set's prepared store, or None (with a `skipped` line) when it is not one."""
    try:
        data = open_prepared(path)
    except FaceganError as err:
        skipped("shortcut_synthetic", f"{err} (from the repository root, with the default params)")
        return None
    if data.report.get("source") != "synthetic":
        skipped("shortcut_synthetic", f"{path}: prepared from source {data.report.get('source')!r}, not synthetic; "
                                      "pass --synthetic with a synthetic set's prepared store")
        return None
    return data


def celeba_mini_store(root: Path, into: Path):
    """celeba-mini prepared at 64 px with the preset's split, visible photos only (thermal twins
    play no part here), or None (with a `skipped` line) when it is absent."""
    if not (root / "list_attr_celeba.txt").is_file():
        skipped("shortcut_celeba_mini", f"{root}: celeba-mini not found; pass --celeba-mini with its folder")
        return None
    raw = yaml.safe_load(PRESET.read_text())
    raw["data"] |= {"root": str(root), "image_size": 64, "workers": 1}
    raw["thermal"] = {"source": "none"}
    prepare(parse_params(raw, str(PRESET)), into)
    return open_prepared(into)


def checked(data, path: Path, **check) -> dict:
    try:
        return shortcut_check(data, **check)
    except ValueError as err:  # too few novel or base identities
        raise SystemExit(f"{path}: {err}; pass a prepared store with more identities") from None


def report(tag: str, result: dict, identities: int) -> float:
    """The set's lines; returns its outside multiple of chance at the common gallery size."""
    for region in ("outside", "full_face"):
        view = result[region]["strongest"]
        common, everyone = result[region]["views"][view], result[region]["strongest_all"]
        detail = {"top1": round(common["top1"], 4), "ci95": [round(v, 2) for v in common["multiple_ci95"]],
                  "n_identities": common["n_identities"], "n_probes": common["n_probes"], "view": view,
                  "views": {v: round(s["multiple"], 2) for v, s in result[region]["views"].items()}}
        emit(f"shortcut_{tag}_{region}_x_chance_{identities}ids", common["multiple"], "x chance", digits=2, **detail)
        emit(f"shortcut_{tag}_{region}_x_chance_all_ids", everyone["multiple"], "x chance", digits=2,
             top1=round(everyone["top1"], 4), ci95=[round(v, 2) for v in everyone["multiple_ci95"]],
             n_identities=everyone["n_identities"], n_probes=everyone["n_probes"])
    outside = result["outside"]
    return outside["views"][outside["strongest"]]["multiple"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=Path, default=REPO / "data" / "prepared")
    parser.add_argument("--celeba-mini", type=Path, default=REPO.parent / "shared" / "data" / "celeba-mini")
    parser.add_argument("--identities", type=int, default=36, help="common gallery size (under both sets' novel counts)")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    check = dict(episodes=args.episodes, identities=args.identities, seed=args.seed)
    multiples = {}
    data = synthetic_store(args.synthetic)
    if data is not None:
        multiples["synthetic"] = report("synthetic", checked(data, args.synthetic, **check), args.identities)
    with tempfile.TemporaryDirectory() as tmp:
        data = celeba_mini_store(args.celeba_mini.resolve(), Path(tmp) / "prepared")
        if data is not None:
            result = checked(data, args.celeba_mini, **check)
            multiples["celeba_mini"] = report("celeba_mini", result, args.identities)
            del data  # the memmap, before its folder goes
    name = f"shortcut_synthetic_vs_celeba_mini_outside_x_chance_{args.identities}ids"
    if len(multiples) < 2:
        skipped(name, "needs both sets")
        return
    # The bar: the synthetic set's outside identifies no better than real photos' (value <= target).
    emit(name, multiples["synthetic"], "x chance", round(multiples["celeba_mini"], 2), higher_is_better=False,
         digits=2)


if __name__ == "__main__":
    main()
