"""kill -9 in the middle of training, rerun: the run ends where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from facegan.model_file import read_model_file

REPO = Path(__file__).resolve().parents[1]
PARAMS = {"data": {"image_size": 32},
          "recognizer": {"width": 4, "embedding_dim": 16, "epochs": 8, "batch_size": 16, "checkpoint_every": 3}}


def stage(cwd: Path) -> subprocess.Popen:
    env = os.environ | {"OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    return subprocess.Popen([sys.executable, str(REPO / "pipeline/train_recognizer.py")], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def project(tiny_synthetic, root: Path):
    import yaml

    root.mkdir()
    shutil.copytree(tiny_synthetic / "data/prepared", root / "data/prepared")
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return root


def test_kill_9_mid_training_then_rerun_matches_an_uninterrupted_run(tiny_synthetic, tmp_path):
    whole = project(tiny_synthetic, tmp_path / "whole")
    killed = project(tiny_synthetic, tmp_path / "killed")
    assert stage(whole).wait(timeout=600) == 0

    proc = stage(killed)
    checkpoint = killed / "checkpoints/train_recognizer/last.pt"
    deadline = time.time() + 600
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "models/recognizer.pt").exists()
    assert stage(killed).wait(timeout=600) == 0

    a, b = (read_model_file(p / "models/recognizer.pt", "recognizer").state_dicts["backbone"] for p in (whole, killed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((p / "reports/recognizer.json").read_text()) for p in (whole, killed))
    for key in ("verification_acc", "tar_at_far_1e-3", "eer"):
        assert ra[key] == rb[key]
