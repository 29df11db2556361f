"""Every stage of the pipeline runs with the network blocked (tiny params, 32 px)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = ("render", "prep", "train_recognizer", "train_judges", "train_editor", "train_translator", "synthesize",
          "train_recognizer_aug", "evaluate")
TINY = {
    "synthetic": {"n_identities": 12, "images_per_identity": [8, 10], "workers": 1},
    "data": {"image_size": 32, "workers": 1},
    "split": {"min_images": 4, "val_fraction": 0.2},
    "lowshot": {"episodes": 2},
    "recognizer": {"width": 4, "embedding_dim": 16, "epochs": 1, "batch_size": 32},
    "judges": {"width": 4, "epochs": 1, "identity_epochs": 1, "batch_size": 32},
    "editor": {"steps": 2, "batch_size": 8, "channels": 4, "levels": 2, "d_channels": 4, "warmup_steps": 1},
    "translator": {"steps": 2, "batch_size": 8, "channels": 4, "levels": 2, "d_channels": 4},
}
# Imported first by every Python process started with this folder on PYTHONPATH: any attempt
# to open a network connection fails loudly.
BLOCK = '''
import socket
_connect = socket.socket.connect
def _blocked(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network access attempted during an offline test: " + repr(address))
    return _connect(self, address)
socket.socket.connect = _blocked  # socket.create_connection and urllib go through it
_getaddrinfo = socket.getaddrinfo
def _no_lookup(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1"):
        raise OSError("network access attempted during an offline test: lookup of " + repr(host))
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _no_lookup
'''


@pytest.mark.slow
def test_every_stage_runs_with_the_network_blocked(tmp_path):
    blocker = tmp_path / "offline"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK)
    work = tmp_path / "project"
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(TINY))
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}  # facegan must set it
    env |= {"PYTHONPATH": str(blocker), "OMP_NUM_THREADS": "1"}
    for name in STAGES:
        run = subprocess.run([sys.executable, str(REPO / "pipeline" / f"{name}.py")], cwd=work, env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, f"{name}: {run.stderr[-2000:]}"
        assert "network access attempted" not in run.stderr, name
    metrics = json.loads((work / "reports/metrics.json").read_text())
    assert metrics["data"]["source"] == "synthetic" and "k1" in metrics["lowshot"]["visible"]
