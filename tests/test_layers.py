"""The import layers (docs/design.md#layout): concept packages use each other's models and helpers,
never each other's training loops or stages; shared GAN pieces sit below the concepts; package
`__init__` files import nothing, so importing one module never loads a whole package.

Read with ast (lazy imports inside functions count: they run too).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from test_dvc_deps import PACKAGE, REPO, imported_names

CONCEPTS = ("recognition", "judges", "editor", "translator", "synthesis", "evaluation", "lowshot", "render", "data",
            "gallery")
SHARED = ("gan", "train")  # below every concept

# (importing file, imported module) still to go: none.
PENDING: set[tuple[str, str]] = set()
# Concept pairs that still import each other: none.
PENDING_CYCLES: set[tuple[str, str]] = set()


def package_files(name: str) -> list[Path]:
    return sorted((REPO / PACKAGE / name).rglob("*.py"))


def concept_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 and parts[1] in CONCEPTS + SHARED else None


def is_train_or_stage(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 2 and (parts[2] == "stage" or parts[2].startswith("train"))


def cross_imports(files: list[Path], own: str, root: Path = REPO) -> set[tuple[str, str]]:
    """(file, module) for each import of another concept's train or stage module."""
    return {(f.relative_to(root).as_posix(), ".".join(name.split(".")[:3]))
            for f in files for name in imported_names(f, root)
            if concept_of(name) not in (None, own) and is_train_or_stage(name)}


def test_no_concept_imports_another_concepts_train_or_stage_module():
    found = set().union(*(cross_imports(package_files(c), c) for c in CONCEPTS + SHARED))
    assert found - PENDING == set(), "import another concept's model or helper module instead"
    assert PENDING - found == set(), "no longer imported: remove it from PENDING"


def test_the_check_finds_a_planted_import(tmp_path):
    planted = tmp_path / PACKAGE / "editor" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from facegan.editor import train\nfrom . import stage\nfrom facegan.judges.judges import Judges\n"
                       "def f():\n    from facegan.recognition import train\n    from ..judges.stage import x\n")
    assert cross_imports([planted], "editor", tmp_path) == {("facegan/editor/planted.py", "facegan.recognition.train"),
                                                            ("facegan/editor/planted.py", "facegan.judges.stage")}


def test_shared_gan_code_imports_no_concept():
    used = {(f.relative_to(REPO).as_posix(), name) for s in SHARED for f in package_files(s)
            for name in imported_names(f, REPO) if concept_of(name) in CONCEPTS}
    assert used == set()


def test_no_two_concepts_import_each_other():
    uses = {c: {concept_of(n) for f in package_files(c) for n in imported_names(f, REPO)} - {None, c}
            for c in CONCEPTS}
    cycles = {(a, b) for a, b in itertools.combinations(sorted(CONCEPTS), 2) if b in uses[a] and a in uses[b]}
    assert cycles == PENDING_CYCLES


def test_package_inits_import_nothing():
    inits = sorted((REPO / PACKAGE).rglob("__init__.py"))
    assert len(inits) > len(CONCEPTS)
    importing = [p.relative_to(REPO).as_posix() for p in inits
                 if any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(ast.parse(p.read_text())))]
    assert importing == []
