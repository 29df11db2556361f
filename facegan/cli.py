"""The `facegan` command: `facegan <stage> [--params params.yaml]` runs one pipeline stage;
`facegan preset NAME` writes params.yaml from presets/NAME.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan.errors import FaceganError
from facegan.stage import EXIT_USER_ERROR, run_stage
from facegan.stages import STAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facegan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in STAGES.items():
        stage = sub.add_parser(name, help=(fn.__doc__ or f"run the {name} stage").strip().splitlines()[0])
        stage.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    preset = sub.add_parser("preset", help="write a complete params.yaml from presets/NAME.yaml")
    preset.add_argument("name")
    preset.add_argument("--out", default="params.yaml", type=Path)
    args = parser.parse_args(argv)
    if args.command == "preset":
        return _write_preset(args.name, args.out)
    return run_stage(args.command, STAGES[args.command], args.params)


def _write_preset(name: str, out: Path) -> int:
    from facegan.presets import expand_preset

    try:
        expand_preset(name, out)
    except FaceganError as err:
        print(f"error: preset: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"wrote {out} from presets/{name}.yaml; run `dvc repro`", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
