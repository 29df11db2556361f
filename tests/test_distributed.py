"""torchrun: the recognizer stage trains with DDP on 2 CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from facegan.distributed import shard

REPO = Path(__file__).resolve().parents[1]


def test_shards_split_a_global_batch_without_overlap():
    batch = np.arange(10)
    parts = [shard(batch, 3, r) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    assert shard(batch).tolist() == batch.tolist()  # one process: the whole batch


def test_recognizer_stage_under_torchrun_with_two_processes(tiny_synthetic, workdir):
    shutil.copytree(tiny_synthetic / "data/prepared", workdir / "data/prepared")
    workdir.write_params(data={"image_size": 32},
                         recognizer={"width": 4, "embedding_dim": 16, "epochs": 2, "batch_size": 16,
                                     "checkpoint_every": 5})
    torchrun = Path(sys.executable).parent / "torchrun"
    env = os.environ | {"OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    run = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2",
                          str(REPO / "pipeline/train_recognizer.py")],
                         cwd=workdir, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((workdir / "reports/recognizer.json").read_text())
    assert report["processes"] == 2 and 0 <= report["verification_acc"] <= 1
    assert (workdir / "models/recognizer.pt").is_file()
    assert (workdir / "checkpoints/train_recognizer/last.pt").is_file()
    assert run.stdout.count('"processes": 2') == 1  # rank 0 alone reports

    # A stage without DDP runs on rank 0 alone; the other rank stands down.
    again = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", str(REPO / "pipeline/prep.py")],
                           cwd=workdir, capture_output=True, text=True, env=env, timeout=600)
    assert "rank 1 stands down" in again.stderr
