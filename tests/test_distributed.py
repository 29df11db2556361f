"""torchrun: the training stages run on 2 CPU processes (gloo); shards draw the randomness of a one-process run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facegan import distributed
from facegan.distributed import Shard, shard
from facegan.editor.augment import diff_augment
from facegan.editor.conditioning import sample_targets
from facegan.errors import FaceganError

REPO = Path(__file__).resolve().parents[1]
TORCHRUN = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node=2"]
# PYTHONPATH: the processes import this checkout's facegan, whichever one is installed (and what
# the caller's PYTHONPATH adds). CUDA_VISIBLE_DEVICES: these are gloo checks on the CPU, also on a
# machine with GPUs.
PATH = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
ENV = os.environ | {"OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": PATH,
                    "CUDA_VISIBLE_DEVICES": ""}


@pytest.mark.bad_input
def test_more_processes_than_gpus_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: pytest.fail("set_device reached"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(FaceganError, match="nproc_per_node=2: this machine has 1 GPU"):
        distributed.setup()


def test_shards_split_a_global_batch_without_overlap():
    batch = np.arange(10)
    parts = [shard(batch, 3, r) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    assert shard(batch).tolist() == batch.tolist()  # one process: the whole batch


def test_a_shard_draws_what_its_rows_draw_in_a_one_process_run():
    x = torch.rand(7, 3, 16, 16)
    source = torch.rand(7, 4)
    whole_x = diff_augment(x, ["translation", "cutout"], torch.Generator().manual_seed(0))
    whole_targets = sample_targets(source, torch.Generator().manual_seed(0))
    for index in range(3):
        part = Shard(7, index, 3)
        assert torch.equal(diff_augment(part.take(x), ["translation", "cutout"], torch.Generator().manual_seed(0),
                                        part), part.take(whole_x))
        assert torch.equal(sample_targets(part.take(source), torch.Generator().manual_seed(0), part),
                           part.take(whole_targets))


@pytest.mark.bad_input
def test_a_batch_too_small_for_the_processes_is_named(monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 4)
    with pytest.raises(FaceganError, match="editor.batch_size 6 leaves fewer than 2 faces"):
        distributed.check_batch_size(6, "editor.batch_size")
    distributed.check_batch_size(8, "editor.batch_size")


def test_gradients_are_averaged_and_gan_runs_resume_exactly_on_two_processes(tmp_path, one_torch_thread):
    from test_editor import train_tiny
    from torchrun_checks import HEADS_ONLY

    run = subprocess.run([*TORCHRUN, str(REPO / "tests/torchrun_checks.py"), str(tmp_path)], capture_output=True,
                         text=True, env=ENV | {"PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{PATH}"},
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    # Without BatchNorm, two processes that each take half of every batch (and its random draws)
    # and average their gradients take the steps of one process, up to float rounding.
    train_tiny(tmp_path, "one-process", max_steps=2, **HEADS_ONLY)
    two, one = (torch.load(tmp_path / f"{name}/last.pt", weights_only=True)["d"]
                for name in ("heads-only", "one-process"))
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-6)


def test_recognizer_stage_under_torchrun_with_two_processes(tiny_synthetic, workdir):
    shutil.copytree(tiny_synthetic / "data/prepared", workdir / "data/prepared")
    workdir.write_params(data={"image_size": 32},
                         recognizer={"width": 4, "embedding_dim": 16, "epochs": 2, "batch_size": 16,
                                     "checkpoint_every": 5})
    run = subprocess.run([*TORCHRUN, str(REPO / "pipeline/train_recognizer.py")],
                         cwd=workdir, capture_output=True, text=True, env=ENV, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((workdir / "reports/recognizer.json").read_text())
    assert report["processes"] == 2 and 0 <= report["verification_acc"] <= 1
    assert (workdir / "models/recognizer.pt").is_file()
    assert (workdir / "models/recognizer_fork.pt").is_file()  # rank 0 writes it; every rank waited for it
    assert (workdir / "checkpoints/train_recognizer/last.pt").is_file()
    assert run.stdout.count('"processes": 2') == 1  # rank 0 alone reports

    # A stage without DDP runs on rank 0 alone; the other rank stands down.
    again = subprocess.run([*TORCHRUN, str(REPO / "pipeline/prep.py")],
                           cwd=workdir, capture_output=True, text=True, env=ENV, timeout=600)
    assert "rank 1 stands down" in again.stderr


TINY_GANS = {"channels": 4, "levels": 2, "d_channels": 4, "batch_size": 8, "steps": 4, "log_every": 2,
             "monitor_every": 2, "checkpoint_every": 2}


@pytest.mark.parametrize("stage, model, report", [("train_judges", "judges", "judges"),
                                                  ("train_editor", "editor", "editor"),
                                                  ("train_translator", "translator", "translator")])
def test_training_stage_under_torchrun_with_two_processes(tiny_synthetic, workdir, stage, model, report):
    from conftest import write_models

    shutil.copytree(tiny_synthetic / "data/prepared", workdir / "data/prepared")
    write_models(workdir / "models")  # the recognizer and judges the GANs need
    (workdir / f"models/{model}.pt").unlink(missing_ok=True)
    workdir.write_params(data={"image_size": 32},
                         recognizer={"width": 4, "embedding_dim": 16, "batch_size": 16},
                         judges={"width": 4, "epochs": 1, "identity_epochs": 1, "batch_size": 16,
                                 "checkpoint_every": 2},
                         editor=TINY_GANS | {"res_blocks": 1, "warmup_steps": 1, "heads_pretrain_steps": 1,
                                             "penalty_every": 2},
                         translator=TINY_GANS | {"lambda_id": 0.5})
    run = subprocess.run([*TORCHRUN, str(REPO / f"pipeline/{stage}.py")], cwd=workdir, capture_output=True,
                         text=True, env=ENV, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((workdir / f"reports/{report}.json").read_text())["processes"] == 2
    assert (workdir / f"models/{model}.pt").is_file()
    assert list((workdir / f"checkpoints/{stage}").glob("**/last.pt"))
    assert run.stdout.count('"processes": 2') == 1  # rank 0 alone reports
