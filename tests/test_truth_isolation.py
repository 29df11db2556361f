"""True variants are never an input to any training stage.

The renderer's true variants are what perfect edits would be: a model trained on them, or on
anything made from them, would learn from the answers. Read from dvc.yaml and the code (ast, as
tests/test_dvc_deps.py does): the oracle store and every other output of `render_oracle` are
deps of `evaluate` alone, and no stage that is or feeds a training stage imports the true-variant
code, with one exception: train_editor's scoring module (facegan/editor/truth.py) draws true
variants to score the saved editor on novel faces after training has ended; what it returns goes
into the report only, never a loss or a checkpoint choice.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from facegan.paths import ORACLE_VARIANTS
from test_dvc_deps import REPO, closure, covers, stage_scripts

ORACLE_STAGE = "render_oracle"
TRUTH_CODE = {"facegan/render/truth.py", "facegan/synthesis/oracle.py"}
SCORING = frozenset({("facegan/editor/truth.py", "facegan/render/truth.py")})  # scoring, not input: see above


def deps(stage: dict, params: dict) -> list[str]:
    """The stage's deps, `${a.b}` templates filled in from params.yaml as DVC does."""
    def value(match: re.Match) -> str:
        found = params
        for key in match[1].split("."):
            found = found[key]
        return str(found)

    return [re.sub(r"\$\{([\w.]+)\}", value, d) for d in stage.get("deps", [])]


def outs(stage: dict) -> list[str]:
    return [o if isinstance(o, str) else next(iter(o)) for o in stage.get("outs", [])]


def overlaps(a: str, b: str) -> bool:
    return covers(a, b) or covers(b, a)


def training_side(stages: dict, params: dict) -> set[str]:
    """The train_* stages and every stage whose outputs reach one of them through deps."""
    side, todo = set(), [name for name in stages if name.startswith("train_")]
    while todo:
        name = todo.pop()
        if name in side:
            continue
        side.add(name)
        needs = deps(stages[name], params)
        todo += [up for up, stage in stages.items() if any(overlaps(out, dep) for out in outs(stage) for dep in needs)]
    return side


def oracle_readers(stages: dict, params: dict) -> set[str]:
    """Stages with a dep on an output of the oracle stage."""
    made = outs(stages[ORACLE_STAGE])
    return {name for name, stage in stages.items()
            if any(overlaps(out, dep) for out in made for dep in deps(stage, params))}


def truth_reached(stages: dict, names: set[str], root: Path = REPO) -> dict[str, list[str]]:
    """Per stage of `names`: the true-variant code its script imports, the scoring import cut."""
    scripts = stage_scripts({n: stages[n] for n in names})
    reached = {name: sorted(closure(root / script, root, SCORING) & TRUTH_CODE) for name, script in scripts.items()}
    return {name: files for name, files in reached.items() if files}


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_only_evaluate_reads_the_oracle_store(stages, params):
    assert ORACLE_VARIANTS.as_posix() in outs(stages[ORACLE_STAGE])
    assert oracle_readers(stages, params) == {"evaluate"}
    assert not training_side(stages, params) & {ORACLE_STAGE, "evaluate"}


def test_no_training_stage_imports_the_true_variants(stages, params):
    side = training_side(stages, params)
    assert {"render", "prep", "synthesize", "train_editor", "train_recognizer_aug"} <= side
    assert truth_reached(stages, side) == {}
    editor_script = REPO / stage_scripts(stages)["train_editor"]
    assert "facegan/render/truth.py" in closure(editor_script)  # the scoring module's import is the one cut


# ---- the checks find planted mistakes


def test_a_training_stage_listing_the_oracle_store_is_flagged(stages, params):
    planted = copy.deepcopy(stages)
    planted["train_recognizer_aug"]["deps"].append(ORACLE_VARIANTS.as_posix())
    assert oracle_readers(planted, params) == {"evaluate", "train_recognizer_aug"}
    assert ORACLE_STAGE in training_side(planted, params)


def test_true_variant_code_reached_past_the_scoring_module_is_flagged(tmp_path):
    def write(path: str, text: str = "") -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)

    for package in ("facegan", "facegan/editor", "facegan/render", "facegan/synthesis", "facegan/judges"):
        write(f"{package}/__init__.py")
    write("facegan/render/truth.py")
    write("facegan/synthesis/oracle.py", "from facegan.render.truth import true_variants\n")
    write("facegan/editor/truth.py", "from facegan.render.truth import true_variants\n")
    write("facegan/judges/train.py", "def f():\n    from facegan.synthesis import oracle\n")
    write("pipeline/train_editor.py", "from facegan.editor import truth\n")
    write("pipeline/train_judges.py", "import facegan.judges.train\n")
    planted = {"train_editor": {"cmd": "python pipeline/train_editor.py"},
               "train_judges": {"cmd": "python pipeline/train_judges.py"}}
    assert truth_reached(planted, set(planted), tmp_path) == {"train_judges": sorted(TRUTH_CODE)}
