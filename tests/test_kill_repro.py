"""kill -9 of `dvc repro` mid-training (recognizer, then editor), rerun `dvc repro`: the low-shot
numbers match an uninterrupted run. Slow (tiny params, three pipeline runs, ~5 min on 2 cores)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from facegan.presets import expand_preset

REPO = Path(__file__).resolve().parents[1]
TINY = {
    "synthetic": {"n_identities": 12, "images_per_identity": [8, 10], "workers": 1},
    "data": {"image_size": 32, "workers": 1},
    "split": {"min_images": 4, "val_fraction": 0.2},
    "lowshot": {"episodes": 3},
    "recognizer": {"width": 4, "embedding_dim": 16, "epochs": 6, "batch_size": 16, "checkpoint_every": 4},
    "judges": {"width": 4, "epochs": 1, "identity_epochs": 1, "batch_size": 32},
    "editor": {"steps": 80, "batch_size": 8, "channels": 4, "levels": 2, "d_channels": 4, "warmup_steps": 5,
               "heads_pretrain_steps": 5, "checkpoint_every": 10, "monitor_every": 40, "log_every": 10},
    "translator": {"steps": 4, "batch_size": 8, "channels": 4, "levels": 2, "d_channels": 4},
}


def project(root: Path) -> Path:
    root.mkdir()
    for item in ("dvc.yaml", "pipeline", "facegan"):
        (shutil.copytree if (REPO / item).is_dir() else shutil.copy)(REPO / item, root / item)
    (root / "presets").mkdir()
    (root / "presets/tiny.yaml").write_text(yaml.safe_dump(TINY))
    expand_preset("tiny", root / "params.yaml", root / "presets")
    for args in (["init", "--no-scm", "-q"], ["config", "core.analytics", "false"]):
        subprocess.run(["dvc", *args], cwd=root, check=True, env=environment(root))
    return root


def environment(root: Path) -> dict:
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(root),
            "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}


def repro(root: Path, kill_when: Path | None = None) -> int:
    """`dvc repro`; with `kill_when`, SIGKILL its whole process group as soon as that file exists."""
    proc = subprocess.Popen(["dvc", "repro"], cwd=root, env=environment(root), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_when is None:
        return proc.wait(timeout=1200)
    deadline = time.time() + 1200
    while not kill_when.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"dvc repro ended before {kill_when.name} appeared: {proc.stderr.read()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return -signal.SIGKILL


def top1(root: Path) -> dict[str, float]:
    lowshot = json.loads((root / "reports/metrics.json").read_text())["lowshot"]
    return {f"{task}/{k}/{cond}": block[cond]["top1"]["mean"] for task in ("visible", "thermal")
            for k, block in lowshot[task].items() if k[1:].isdigit() for cond in block
            if isinstance(block[cond], dict) and "top1" in block[cond]}


@pytest.mark.slow
def test_kill_9_of_dvc_repro_mid_training_then_repro_matches_an_uninterrupted_run(tmp_path):
    whole, killed = project(tmp_path / "whole"), project(tmp_path / "killed")
    assert repro(whole) == 0

    repro(killed, kill_when=killed / "checkpoints/train_recognizer/last.pt")
    assert not (killed / "models/recognizer.pt").exists()
    repro(killed, kill_when=killed / "checkpoints/train_editor/last.pt")
    assert not (killed / "models/editor.pt").exists()
    assert repro(killed) == 0

    expected, got = top1(whole), top1(killed)
    assert expected.keys() == got.keys() and len(got) >= 8
    for key in expected:
        assert abs(got[key] - expected[key]) <= 0.005, (key, got[key], expected[key])
