"""The whole default pipeline under `dvc repro`, checked against the metric paths of docs/design.md#metrics.

Slow (about 10-15 minutes on 2 CPU cores): run with `pytest -m slow tests/test_pipeline.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facegan.config import load_params
from facegan.evaluation.schema import missing_paths, required_paths

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_default_pipeline_reproduces_and_reports_every_metric_path(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    for item in ("dvc.yaml", "params.yaml", "pipeline", "facegan"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=work, check=True)
    subprocess.run(["dvc", "config", "core.analytics", "false"], cwd=work, check=True)
    env_python = Path(sys.executable).parent
    run = subprocess.run(["dvc", "repro"], cwd=work, capture_output=True, text=True,
                         env={"PATH": f"{env_python}:/usr/bin:/bin", "NO_ALBUMENTATIONS_UPDATE": "1",
                              "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]

    metrics = json.loads((work / "reports/metrics.json").read_text())
    params = load_params(work / "params.yaml")
    assert missing_paths(metrics, required_paths(params.lowshot.shots)) == []
    lowshot = metrics["lowshot"]
    for k in params.lowshot.shots:
        visible, thermal = lowshot["visible"][f"k{k}"], lowshot["thermal"][f"k{k}"]
        assert visible["n_identities"] == thermal["n_identities"] == lowshot["n_novel_identities"]
        # The two tasks split the probes: visible ones only in one, thermal ones only in the other.
        assert visible["n_probes"] > 0 and thermal["n_probes"] > 0 and "thermal" not in visible["real"]["by_probe"]
    for name in ("editor_grid", "thermal_grid", "accuracy_vs_shots", "by_probe", "ablation_k1"):
        assert (work / "reports/figures" / f"{name}.png").is_file()
    status = subprocess.run(["dvc", "status"], cwd=work, capture_output=True, text=True,
                            env={"PATH": f"{env_python}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert "up to date" in status.stdout.lower(), status.stdout
