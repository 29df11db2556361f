"""The prepared store in data/prepared/: faces.npy (N x S x S x 3 uint8, memory-mapped),
index.csv (one row per face) and prep.json (the prep report).

Index columns: name, identity (int), identity_name, split (base|novel), role
(train|val|novel), domain (visible|thermal), pair (row of the other-domain twin
or -1), yaw (degrees, + = nose to image right), age (0..1, NaN when unknown),
one 0/1 column per attribute (lower-case CelebA names), the five landmarks in
prepared-image pixels (lefteye_x ... rightmouth_y), partition, source_path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.errors import FaceganError

FACES_FILE = "faces.npy"
INDEX_FILE = "index.csv"
REPORT_FILE = "prep.json"


@dataclass
class PreparedData:
    faces: np.ndarray  # read-only memmap; rows align with `index`
    index: pd.DataFrame
    report: dict

    @property
    def image_size(self) -> int:
        return int(self.faces.shape[1])

    def rows(self, **where) -> pd.DataFrame:
        """Index rows matching all column == value conditions, e.g. rows(split="base", domain="visible")."""
        return matching(self.index, np.ones(len(self.index), dtype=bool), where)


def rendered_root(report: dict, split: str = "novel") -> Path | None:
    """The rendered set behind the store's `split` faces (prep.json `report`), or None when they are
    photos: a real data set, or novel identities from novel.root beside a synthetic base."""
    if report.get("source") != "synthetic":
        return None
    if split == "novel" and (report.get("novel") or {}).get("source", "same") != "same":
        return None
    return Path(report["root"])


def matching(table: pd.DataFrame, mask: np.ndarray, where: dict) -> pd.DataFrame:
    """Rows of `table` within `mask` where every column == value condition of `where` holds."""
    mask = np.array(mask, dtype=bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    return table[mask]


def one_per_identity(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to n rows of distinct identities (the first n of a seeded shuffle): grid and monitor faces."""
    return rows.sample(frac=1.0, random_state=seed).drop_duplicates("identity").head(n)


def read_face_store(path: Path, table_file: str, report_file: str, what: str,
                    stage: str) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """faces.npy (memory-mapped), the table and the report of a face store, or one clear line
    naming the missing file and the stage that writes it."""
    path = Path(path)
    missing = [f for f in (FACES_FILE, table_file, report_file) if not (path / f).is_file()]
    if missing:
        raise FaceganError(f"{path / missing[0]}: {what} missing; run `dvc repro {stage}` first")
    faces = np.load(path / FACES_FILE, mmap_mode="r")
    table = pd.read_csv(path / table_file, keep_default_na=True, dtype={"name": str, "identity_name": str})
    if len(table) != len(faces):
        raise FaceganError(f"{path}: {table_file} has {len(table)} rows but {FACES_FILE} {len(faces)}; "
                           f"rerun `dvc repro {stage}`")
    return faces, table, json.loads((path / report_file).read_text())


def open_prepared(path: str | Path) -> PreparedData:
    faces, index, report = read_face_store(Path(path), INDEX_FILE, REPORT_FILE, "prepared data", "prep")
    return PreparedData(faces=faces, index=index, report=report)
