"""The `facegan` command: `facegan <stage> [--params params.yaml]` runs one pipeline stage;
`facegan preset NAME` writes params.yaml from presets/NAME.yaml; `facegan params --write` writes
it from the defaults (facegan/config.py), comments included; `facegan results` and
`facegan seeds` report on reports/metrics.json (one run, or a `dvc exp` seed sweep);
`facegan summary` prints reports/summary.json (or compares experiments)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan import paths
from facegan.errors import FaceganError
from facegan.stage import EXIT_USER_ERROR, run_stage
from facegan.stages.registry import STAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facegan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in STAGES.items():
        stage = sub.add_parser(name, help=(module.run.__doc__ or f"run the {name} stage").strip().splitlines()[0])
        stage.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    edit = sub.add_parser("edit", help="edit one face photo with the trained editor")
    edit.add_argument("photo", type=Path)
    edit.add_argument("--set", action="append", default=[], metavar="ATTR=0|1",
                      help="eyeglasses, smiling or young; repeatable")
    edit.add_argument("--yaw", type=float, help="target head yaw in degrees (+ = nose to image right)")
    edit.add_argument("-o", "--out", type=Path, required=True)
    edit.add_argument("--model", type=Path, default=paths.EDITOR)
    edit.add_argument("--judges", type=Path, default=paths.JUDGES)
    edit.add_argument("--crop", action="store_true",
                      help="write the aligned face crop at the models' size instead of the whole photo")
    preset = sub.add_parser("preset", help="write a complete params.yaml from presets/NAME.yaml")
    preset.add_argument("name")
    preset.add_argument("--out", default="params.yaml", type=Path)
    defaults = sub.add_parser("params", help="print params.yaml as the defaults in facegan/config.py make it")
    defaults.add_argument("--write", action="store_true", help="write it to --out instead of printing it")
    defaults.add_argument("--out", default="params.yaml", type=Path)
    results = sub.add_parser("results", help="write a Markdown results page from reports/metrics.json")
    results.add_argument("--metrics", type=Path, default=paths.METRICS)
    results.add_argument("--out", type=Path, default=paths.RESULTS)
    seeds = sub.add_parser("seeds", help="headline gains across a `dvc exp` seed sweep: mean, sd, min/max")
    seeds.add_argument("--metrics", type=Path, nargs="+", metavar="FILE",
                       help="aggregate these metrics.json files (seed from a params.yaml beside each) "
                            "instead of the dvc experiments")
    seeds.add_argument("--rev", help="the commit the sweep was queued from "
                                     "(default HEAD; `dvc exp show -A` lists them)")
    seeds.add_argument("--out", type=Path, default=paths.SEEDS, help="also writes the .md beside it")
    summary = sub.add_parser("summary", help="the headline numbers of reports/summary.json, one per row")
    summary.add_argument("--file", type=Path, default=paths.SUMMARY)
    summary.add_argument("--exps", action="store_true",
                         help="compare the workspace, HEAD and the dvc experiments instead (one column each)")
    args = parser.parse_args(argv)
    if args.command in ("results", "seeds", "summary"):
        return _report(args)
    if args.command == "preset":
        return _write_preset(args.name, args.out)
    if args.command == "params":
        return _write_params(args.out if args.write else None)
    if args.command == "edit":
        return _edit(args)
    module = STAGES[args.command]
    return run_stage(args.command, module.run, args.params, distributed=module.DISTRIBUTED)


def _edit(args) -> int:
    import json

    from facegan.editor.edit import edit_image

    try:
        targets = _parse_targets(args.set, args.yaw)
        result = edit_image(args.photo, args.out, targets, args.model, args.judges, crop_only=args.crop)
    except FaceganError as err:
        print(f"error: edit: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    if result["in_domain"] is False:
        source = result["models_trained_on"].get("data", {}).get("source", "unknown")
        print(f"warning: edit: {args.photo} is unlike the faces the models were trained on (data.source {source}; "
              f"distance {result['domain_distance']}x the 99th percentile of held-out training faces): expect a "
              "wrong edit and unreliable judge readings", file=sys.stderr)
    print(json.dumps(result))
    return 0


def _parse_targets(settings: list[str], yaw: float | None) -> dict[str, float]:
    targets: dict[str, float] = {}
    for item in settings:
        name, _, value = item.partition("=")
        if name not in ("eyeglasses", "smiling", "young") or value not in ("0", "1"):
            raise FaceganError(f"--set {item}: expected eyeglasses|smiling|young=0|1")
        targets[name] = float(value)
    if yaw is not None:
        if not -45 <= yaw <= 45:
            raise FaceganError(f"--yaw {yaw}: the editor is trained for -45..45 degrees")
        targets["yaw"] = yaw
    if not targets:
        raise FaceganError("nothing to edit: give --set ATTR=0|1 and/or --yaw DEGREES")
    return targets


def _report(args) -> int:
    from facegan.results import write_results, write_seeds
    from facegan.summary import experiments_table, read_summary, summary_table

    try:
        if args.command == "summary":
            print(experiments_table() if args.exps else summary_table(read_summary(args.file)), end="")
        elif args.command == "results":
            print(f"wrote {write_results(args.metrics, args.out)}", file=sys.stderr)
        else:
            print(write_seeds(args.metrics, out_path=args.out, rev=args.rev), end="")
            print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    except FaceganError as err:
        print(f"error: {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def _write_preset(name: str, out: Path) -> int:
    from facegan.presets import expand_preset

    try:
        expand_preset(name, out)
    except FaceganError as err:
        print(f"error: preset: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"wrote {out} from presets/{name}.yaml; run `dvc repro`", file=sys.stderr)
    return 0


def _write_params(out: Path | None) -> int:
    from facegan.io import atomic_write_bytes
    from facegan.params_file import params_text

    if out is None:
        print(params_text(), end="")
    else:
        atomic_write_bytes(out, params_text().encode())
        print(f"wrote {out} from the defaults in facegan/config.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
