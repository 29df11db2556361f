"""dvc.yaml's code deps follow the code: each stage lists every file of `facegan/` its
`pipeline/<stage>.py` imports, directly or through other modules, lazy imports inside functions
included (they run too). A file left out is a code change DVC would not rerun the stage for; a
listed path the stage never imports reruns it for nothing.

Read with ast, not by importing: a module counts when any line of the reachable code imports it.
Package `__init__.py` files are not asked for: they are docstrings only (tests/test_layers.py).
"""

from __future__ import annotations

import ast
import copy
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "facegan"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str, root: Path) -> Path | None:
    """The file of a module inside the package (a module or a package's __init__), else None."""
    if name.split(".")[0] != PACKAGE:
        return None
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_names(path: Path, root: Path) -> set[str]:
    """Every module name an import statement anywhere in the file may load: `import a.b`,
    `from a.b import c` (a.b, and a.b.c in case c is a submodule), relative forms resolved."""
    names = set()
    package = module_name(path, root).split(".") if path.name == "__init__.py" else \
        module_name(path, root).split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def closure(script: Path, root: Path = REPO, cut: frozenset[tuple[str, str]] = frozenset()) -> set[str]:
    """Paths (relative, posix) of the script and every package file it imports, transitively;
    importing a.b.c also runs the __init__ of a and a.b. `cut`: (importing file, imported file)
    pairs, as relative paths, not followed."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path, root):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:i]), root)
                if found is not None and found not in seen and \
                        (path.relative_to(root).as_posix(), found.relative_to(root).as_posix()) not in cut:
                    todo.append(found)
    return {p.relative_to(root).as_posix() for p in seen}


def stage_scripts(stages: dict) -> dict[str, str]:
    """stage -> the pipeline script its cmd runs."""
    return {name: next(word for word in shlex.split(stage["cmd"]) if word.endswith(".py"))
            for name, stage in stages.items()}


def required(files: set[str], script: str) -> set[str]:
    return {f for f in files if f == script or (f.startswith(f"{PACKAGE}/") and not f.endswith("/__init__.py"))}


def covers(dep: str, file: str) -> bool:
    return file == dep or file.startswith(dep.rstrip("/") + "/")


def code_deps(stage: dict) -> list[str]:
    """The deps that are code: the package and the pipeline scripts."""
    return [d for d in stage.get("deps", []) if d.split("/")[0] in (PACKAGE, "pipeline")]


def audit(stages: dict, root: Path = REPO) -> tuple[dict, dict, dict]:
    """Per stage: (files imported but not listed, listed paths nothing imported is under, files under a
    listed folder that are not imported)."""
    missing, unused, idle = {}, {}, {}
    for name, script in stage_scripts(stages).items():
        files = required(closure(root / script, root), script)
        deps = code_deps(stages[name])
        missing[name] = sorted(f for f in files if not any(covers(d, f) for d in deps))
        unused[name] = sorted(d for d in deps if not any(covers(d, f) for f in files))
        idle[name] = sorted(p.relative_to(root).as_posix() for d in deps if (root / d).is_dir()
                            for p in (root / d).rglob("*.py")
                            if p.name != "__init__.py" and p.relative_to(root).as_posix() not in files)
    return ({k: v for k, v in missing.items() if v}, {k: v for k, v in unused.items() if v},
            {k: v for k, v in idle.items() if v})


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_every_stage_lists_the_code_it_imports(stages):
    missing, _, _ = audit(stages)
    assert missing == {}, "dvc.yaml deps miss files the stage imports (stage: files): " + "; ".join(
        f"{stage}: {', '.join(files)}" for stage, files in missing.items())


def test_every_listed_code_path_is_imported_by_its_stage(stages):
    _, unused, idle = audit(stages)
    for stage, files in idle.items():  # a folder dep: a change to these reruns the stage for nothing
        print(f"{stage}: listed folder holds files the stage does not import: {', '.join(files)}")
    assert unused == {}, "dvc.yaml deps list code the stage never imports (stage: paths): " + "; ".join(
        f"{stage}: {', '.join(paths)}" for stage, paths in unused.items())


def test_every_pipeline_script_is_a_stage(stages):
    assert sorted(stage_scripts(stages).values()) == sorted(p.relative_to(REPO).as_posix()
                                                            for p in (REPO / "pipeline").glob("*.py"))


# ---- the audit itself finds planted mistakes


REMOVED = {  # stage, dep taken out of a copy of dvc.yaml: the files then missing
    "a file": ("synthesize", "facegan/judges/train_attributes.py", ["facegan/judges/train_attributes.py"]),
    "a folder": ("train_translator", "facegan/gan", ["facegan/gan/grid.py", "facegan/gan/losses.py"]),
    "the stage module": ("render", "facegan/stages/render.py", ["facegan/stages/render.py"]),
}


@pytest.mark.parametrize("case", sorted(REMOVED))
def test_a_removed_dep_is_named_with_its_stage(stages, case):
    stage, dep, files = REMOVED[case]
    planted = copy.deepcopy(stages)
    planted[stage]["deps"].remove(dep)
    missing, _, _ = audit(planted)
    assert missing == {stage: files}


def test_a_dep_nothing_imports_is_named(stages):
    planted = copy.deepcopy(stages)
    planted["evaluate"]["deps"].append("facegan/render/grid.py")
    _, unused, _ = audit(planted)
    assert unused == {"evaluate": ["facegan/render/grid.py"]}


def test_lazy_relative_and_submodule_imports_are_followed(tmp_path):
    def write(path: str, text: str) -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)

    write("pipeline/run.py", "from facegan.a import b\nimport os\n")
    write(f"{PACKAGE}/__init__.py", "")
    write(f"{PACKAGE}/a/__init__.py", "")
    write(f"{PACKAGE}/a/b.py", "def f():\n    from .c import g\n    return g\n")  # lazy and relative
    write(f"{PACKAGE}/a/c.py", "from .. import d\ng = 1\n")  # up a level, a submodule by name
    write(f"{PACKAGE}/d.py", "import facegan.e.f as ef\n")
    write(f"{PACKAGE}/e/__init__.py", "")
    write(f"{PACKAGE}/e/f.py", "")
    write(f"{PACKAGE}/unused.py", "")
    assert required(closure(tmp_path / "pipeline/run.py", tmp_path), "pipeline/run.py") == {
        "pipeline/run.py", f"{PACKAGE}/a/b.py", f"{PACKAGE}/a/c.py", f"{PACKAGE}/d.py", f"{PACKAGE}/e/f.py"}
