"""The inputs params.yaml points at, checked before any stage runs.

DVC deletes a stage's outputs before it runs the stage, so a stage that finds a bad input
itself has already lost the user's previous results. The `validate` stage runs these checks
(and the params validation of facegan.config) first, upstream of every other stage, so a bad
value stops `dvc repro` with one line while every earlier output is still there.
"""

from __future__ import annotations

from pathlib import Path

from facegan.config import Params
from facegan.errors import FaceganError
from facegan.paths import RAW_SYNTHETIC as RENDERED  # where stage `render` writes the built-in set
# What prep reads from a CelebA-layout root (facegan.data.celeba); the partition file is optional.
CELEBA_REQUIRED = ("list_attr_celeba.txt", "identity_CelebA.txt", "list_landmarks_align_celeba.txt",
                   "img_align_celeba")


def check_inputs(params: Params) -> None:
    """Raise FaceganError naming the parameter whose path is wrong."""
    data, thermal = params.data, params.thermal
    root = Path(data.root)
    if data.source == "synthetic":
        if root != RENDERED and not root.is_dir():
            raise FaceganError(f"data.root: {root} does not exist; data.source synthetic reads the rendered set "
                               f"({RENDERED}, written by stage render) or a CelebA-layout copy of it")
    else:
        _check_photos("data", data.source, root)
    if params.novel.source != "same":
        _check_photos("novel", params.novel.source, Path(params.novel.root))
    if thermal.source == "paired":
        troot = Path(thermal.root)
        for side in ("visible", "thermal"):
            if not (troot / side).is_dir():
                raise FaceganError(f"thermal.root: {troot / side} does not exist; thermal.source paired needs "
                                   "visible/<id>/<n>.png and thermal/<id>/<n>.png there")
        if data.source != "folder" or root != troot:
            raise FaceganError("thermal.source paired: set data.source: folder and data.root to thermal.root "
                               f"({troot}) so DVC tracks the pairs")


def _check_photos(section: str, source: str, root: Path) -> None:
    """`section`.root must hold what `section`.source (celeba | folder) reads."""
    if not root.is_dir():
        what = "a CelebA-layout folder" if source == "celeba" else "a folder of identity folders"
        raise FaceganError(f"{section}.root: {root} does not exist; point it at {what} ({section}.source {source})")
    if source == "celeba":
        missing = [name for name in CELEBA_REQUIRED if not (root / name).exists()]
        if missing:
            raise FaceganError(f"{section}.root: {root} has no {missing[0]}; {section}.source celeba needs CelebA's "
                               f"official files there ({', '.join(CELEBA_REQUIRED)})")
    elif not any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir()):
        raise FaceganError(f"{section}.root: {root} has no identity folders; put each person's photos in "
                           f"{root}/<name>/ ({section}.source folder)")
