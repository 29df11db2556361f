"""The `facegan` command: `facegan <stage> [--params params.yaml]` runs one pipeline stage."""

from __future__ import annotations

import argparse
import sys

from facegan.stage import run_stage
from facegan.stages import STAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facegan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in STAGES.items():
        stage = sub.add_parser(name, help=(fn.__doc__ or f"run the {name} stage").strip().splitlines()[0])
        stage.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    args = parser.parse_args(argv)
    return run_stage(args.command, STAGES[args.command], args.params)


if __name__ == "__main__":
    sys.exit(main())
