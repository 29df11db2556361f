"""Where a stage reads and writes is named once: dvc.yaml's data, model and report deps and outs
of each stage are exactly the paths its module facegan/stages/<stage>.py declares (DEPS, OUTS),
and those are constants of facegan.paths, which the module passes to the library. A path
renamed on one side only would have DVC track one file while the stage writes another.

Code deps (facegan/..., pipeline/...: tests/test_dvc_deps.py), params.yaml and `${...}`
(a path params name) are not declared by the stage module.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path

import pytest
import yaml

from facegan import paths
from test_dvc_deps import PACKAGE, REPO


def entry_path(entry) -> str:
    """An entry with options (`- reports/x.json: {cache: false}`) is a one-key mapping."""
    return next(iter(entry)) if isinstance(entry, dict) else entry


def is_artifact(path: str) -> bool:
    return path.split("/")[0] not in (PACKAGE, "pipeline") and path != "params.yaml" and not path.startswith("${")


def listed(stage: dict) -> dict[str, set[str]]:
    """The data, model and report paths dvc.yaml lists for a stage: deps, and outs (metrics included)."""
    return {"deps": {p for p in map(entry_path, stage.get("deps", [])) if is_artifact(p)},
            "outs": {entry_path(e) for e in stage.get("outs", []) + stage.get("metrics", [])}}


def stage_module(name: str):
    return importlib.import_module(f"{PACKAGE}.stages.{name}")


def declared(name: str) -> dict[str, set[str]]:
    module = stage_module(name)
    return {"deps": {Path(p).as_posix() for p in module.DEPS}, "outs": {Path(p).as_posix() for p in module.OUTS}}


def mismatches(stages: dict) -> dict[str, dict[str, list[str]]]:
    """Per stage that differs: what only dvc.yaml lists and what only the stage module declares."""
    found = {}
    for name, stage in stages.items():
        dvc, module = listed(stage), declared(name)
        diff = {f"{kind} only in {where}": sorted(a[kind] - b[kind])
                for kind in ("deps", "outs") for where, a, b in (("dvc.yaml", dvc, module), ("the module", module, dvc))}
        diff = {k: v for k, v in diff.items() if v}
        if diff:
            found[name] = diff
    return found


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_every_stage_module_declares_the_paths_dvc_yaml_lists(stages):
    assert mismatches(stages) == {}


def test_declared_paths_are_constants_of_facegan_paths(stages):
    constants = {v for v in vars(paths).values() if isinstance(v, Path)}
    for name in stages:
        module = stage_module(name)
        assert [p for p in module.DEPS + module.OUTS if p not in constants] == [], name


RENAMED = {  # case: (stage, section, path in dvc.yaml, renamed to)
    "a dep": ("synthesize", "deps", "models/judges.pt", "models/judge.pt"),
    "an out": ("train_recognizer", "outs", "models/recognizer.pt", "models/recognizer_v2.pt"),
    "an out with options": ("train_editor", "outs", "reports/figures/editor_grid.png", "reports/figures/grid.png"),
    "a metric": ("evaluate", "metrics", "reports/summary.json", "reports/headline.json"),
}


@pytest.mark.parametrize("case", sorted(RENAMED))
def test_a_path_renamed_in_dvc_yaml_is_named_with_its_stage(stages, case):
    stage, section, old, new = RENAMED[case]
    planted = copy.deepcopy(stages)
    entries = planted[stage][section]
    i = [entry_path(e) for e in entries].index(old)
    entries[i] = {new: entries[i][old]} if isinstance(entries[i], dict) else new
    kind = "deps" if section == "deps" else "outs"
    assert mismatches(planted) == {stage: {f"{kind} only in dvc.yaml": [new], f"{kind} only in the module": [old]}}
