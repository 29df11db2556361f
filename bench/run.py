"""Run every benchmark; one JSON line per figure: {name, value, unit, target, meets_target}.

    python bench/run.py            # exit code 1 when a figure misses its target

Each benchmark runs in its own process (a clean allocator and thread pool), one
after another: on a shared machine the figures are only as good as the machine
is idle. Targets and their reasoning: bench/README.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("prep_throughput.py", "recognizer_throughput.py", "editor_throughput.py",
              "translator_throughput.py", "synthesis_throughput.py", "shortcut.py", "attribute_spread.py")


def main() -> int:
    missed = 0
    for script in BENCHMARKS:
        if not (HERE / script).is_file():
            print(json.dumps({"name": script, "error": "benchmark script missing"}))
            missed += 1
            continue
        run = subprocess.run([sys.executable, script], cwd=HERE, capture_output=True, text=True)
        lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
        for line in lines:
            print(line, flush=True)
            missed += not json.loads(line).get("meets_target", True)
        if run.returncode != 0 or not lines:
            tail = run.stderr.strip().splitlines()[-1:] or ["no output"]
            print(json.dumps({"name": script, "error": tail[0]}), flush=True)
            missed += 1
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
