"""A finished default run in seconds: the real dvc.yaml, params.yaml and code, every stage output
a placeholder, and dvc.lock written by `dvc commit` as if `dvc repro` had run. Enough to see what
DVC reruns or deletes when params change (no stage body needs to run for that)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COPIED = ("dvc.yaml", "params.yaml", "pipeline", "facegan", ".dvcignore")


def dvc_env(home: Path) -> dict[str, str]:
    python_bin = Path(sys.executable).parent
    return {"PATH": f"{python_bin}:/usr/bin:/bin", "HOME": str(home), "NO_ALBUMENTATIONS_UPDATE": "1",
            "DVC_NO_ANALYTICS": "1"}


def dvc(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["dvc", *args], cwd=work, capture_output=True, text=True, env=dvc_env(work.parent),
                          check=check)


def stage_outputs(work: Path) -> dict[str, list[str]]:
    stages = yaml.safe_load((work / "dvc.yaml").read_text())["stages"]
    return {name: [next(iter(o)) if isinstance(o, dict) else o
                   for o in stage.get("outs", []) + stage.get("metrics", [])]
            for name, stage in stages.items()}


def make_finished_run(work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    for item in COPIED:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, work / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy(src, work / item)
    dvc(work, "init", "--no-scm", "-q")
    dvc(work, "config", "core.analytics", "false")
    dvc(work, "repro", "-s", "validate", "-q")  # cheap, and its output must be the real bytes
    for stage, outs in stage_outputs(work).items():
        for out in outs if stage != "validate" else []:
            path = work / out
            if path.suffix:  # a file
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("{}\n" if path.suffix == ".json" else f"placeholder {out}\n")
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / "placeholder.txt").write_text(f"placeholder {out}\n")
    dvc(work, "commit", "-f", "-q")
    return work


def snapshot(work: Path) -> dict[str, str]:
    """sha256 of every file a user's results live in."""
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
            for top in ("models", "reports", "data") for p in sorted((work / top).rglob("*")) if p.is_file()}
