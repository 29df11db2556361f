"""DVC reruns what a params change affects, and a bad params.yaml deletes nothing.

On a finished run (tests/finished_run.py: the real dvc.yaml with placeholder outputs), a bad value
must stop `dvc repro` in the `validate` stage with our one line, before DVC removes any stage's
outputs; a valid change of `lowshot.episodes` must leave every stage but `evaluate` up to date.
The declared params of each stage must cover the keys its code reads (recorded while the stages
run, slow test).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from facegan import config
from finished_run import dvc, make_finished_run, snapshot

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return make_finished_run(tmp_path_factory.mktemp("finished") / "project")


@pytest.fixture
def run(finished, tmp_path) -> Path:
    work = tmp_path / "project"
    shutil.copytree(finished, work, symlinks=True)
    return work


def edit_params(work: Path, old: str, new: str) -> None:
    path = work / "params.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def changed_stages(work: Path) -> set[str]:
    status = json.loads(dvc(work, "status", "--json").stdout or "{}")
    return {name.rpartition(":")[2] for name in status}


BAD = {  # case: (params.yaml edits, what the one line must say)
    "misspelled key": ([("  epochs: 60\n", "  epoch: 60\n")], "unknown parameter 'recognizer.epoch'"),
    "misspelled section": ([("\nlowshot:", "\nlowshott:")], "unknown parameter 'lowshott'"),
    "out of range": ([("  episodes: 10 ", "  episodes: -3 ")], "parameter 'lowshot.episodes' is invalid"),
    "missing data.root": ([("  source: synthetic ", "  source: celeba "),
                           ("  root: data/raw/synthetic ", "  root: /no/such/celeba ")],
                          "data.root: /no/such/celeba does not exist"),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_params_value_stops_repro_in_validate_and_deletes_nothing(run, case):
    edits, message = BAD[case]
    for old, new in edits:
        edit_params(run, old, new)
    before = snapshot(run)
    result = dvc(run, "repro", check=False)
    assert result.returncode != 0
    ours = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error: ")]
    assert len(ours) == 1 and ours[0].startswith("error: validate: ") and message in ours[0], ours
    assert "Running stage 'validate'" in result.stdout and result.stdout.count("Running stage") == 1
    assert snapshot(run) == before  # models/, reports/ and data/: every file still there, unchanged


def test_changing_lowshot_episodes_reruns_only_evaluate(run):
    edit_params(run, "  episodes: 10 ", "  episodes: 5 ")
    assert changed_stages(run) == {"validate", "evaluate"}
    validated = (run / "reports/validated.json").read_bytes()
    dvc(run, "repro", "validate")  # the check passes and writes the same bytes...
    assert (run / "reports/validated.json").read_bytes() == validated
    assert changed_stages(run) == {"evaluate"}  # ...so nothing downstream of it reruns


def test_changing_an_editor_param_reruns_the_editor(run):
    edit_params(run, "  lambda_id: 2.0 ", "  lambda_id: 3.0 ")
    assert changed_stages(run) == {"validate", "train_editor"}  # and what its new model changes, on repro


# ---- the keys each stage reads are the keys it declares


def declared_params(dvc_yaml: Path) -> dict[str, set[str]]:
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    declared = {}
    for name, stage in stages.items():
        keys = {entry for entry in stage.get("params", []) if isinstance(entry, str)}
        if "params.yaml" in stage.get("deps", []):
            keys.add("")  # the whole file
        declared[name] = keys
    return declared


def undeclared(reads: set[str], declared: set[str]) -> list[str]:
    """Keys read that no declared key (the key itself or a section above it) covers."""
    def covered(key: str) -> bool:
        return "" in declared or any(key == d or key.startswith(f"{d}.") for d in declared)
    return sorted(k for k in reads if not covered(k))


def test_reads_are_recorded_through_sections_copies_and_dumps():
    params = config.parse_params({})
    reads = config.record_reads()
    try:
        section = params.editor
        _ = section.steps, params.lowshot.shots, params.seed
        params.recognizer.model_copy(update={"arch": "mobilefacenet"}).epochs
        params.translator.model_dump()
    finally:
        config._reads = None
    assert {"editor.steps", "lowshot.shots", "seed", "recognizer.epochs", "translator.lr_g"} <= reads
    assert "editor" not in reads and "lowshot.episodes" not in reads


def test_keys_a_copy_sets_are_not_read_from_params():
    """The identity judge copies the recognizer recipe with its own arch and crop: those are not reads."""
    params = config.parse_params({})
    reads = config.record_reads()
    try:
        judge = params.recognizer.model_copy(update={"crop": 1.0})
        _ = judge.crop, judge.epochs, judge.model_copy(update={"arch": "mobilefacenet"}).crop
        judge.model_dump()
    finally:
        config._reads = None
    assert "recognizer.epochs" in reads and "recognizer.lr" in reads
    assert "recognizer.crop" not in reads


def test_a_dump_that_excludes_keys_does_not_read_them():
    """A training fingerprint leaves out keys that train nothing (recognizer.source and its
    torchscript keys): the stage does not read them, so changing them must not rerun it."""
    from facegan.recognition.train import _EXECUTION_ONLY
    from facegan.train.checkpoint import computing_params

    params = config.parse_params({})
    reads = config.record_reads()
    try:
        computing_params(params.recognizer, _EXECUTION_ONLY)
    finally:
        config._reads = None
    assert "recognizer.arch" in reads and "recognizer.epochs" in reads
    assert not reads & {f"recognizer.{k}" for k in _EXECUTION_ONLY}


def test_an_undeclared_read_is_found():
    declared = declared_params(REPO / "dvc.yaml")
    assert undeclared({"lowshot.shots", "seed"}, declared["evaluate"]) == []
    # Planted: the editor reading a lowshot key it does not declare would not rerun on a change.
    assert undeclared({"editor.steps", "lowshot.episodes"}, declared["train_editor"]) == ["lowshot.episodes"]
    assert "lowshot.episodes" not in declared["synthesize"] | declared["render_oracle"] | declared["train_translator"]


@pytest.mark.slow
def test_every_stage_declares_the_params_it_reads(tmp_path):
    """The tiny pipeline under `dvc repro`, each stage writing the keys it read (~2 min)."""
    from test_kill_repro import environment, project

    root = project(tmp_path / "project")
    env = environment(root) | {"FACEGAN_PARAMS_READ": str(root / "reads")}
    result = subprocess.run(["dvc", "repro"], cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    declared = declared_params(root / "dvc.yaml")
    reads = {p.stem: set(json.loads(p.read_text())) for p in (root / "reads").glob("*.json")}
    assert set(reads) == set(declared)
    assert {stage: undeclared(keys, declared[stage]) for stage, keys in reads.items()} == \
        {stage: [] for stage in reads}


def test_the_finished_run_is_up_to_date(finished):
    assert "up to date" in dvc(finished, "status").stdout.lower()
