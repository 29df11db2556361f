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
        mask = np.ones(len(self.index), dtype=bool)
        for column, value in where.items():
            mask &= (self.index[column] == value).to_numpy()
        return self.index[mask]


def open_prepared(path: str | Path = "data/prepared") -> PreparedData:
    path = Path(path)
    missing = [f for f in (FACES_FILE, INDEX_FILE, REPORT_FILE) if not (path / f).is_file()]
    if missing:
        raise FaceganError(f"{path / missing[0]}: prepared data missing; run `dvc repro prep` first")
    faces = np.load(path / FACES_FILE, mmap_mode="r")
    index = pd.read_csv(path / INDEX_FILE, keep_default_na=True, dtype={"name": str, "identity_name": str})
    if len(index) != len(faces):
        raise FaceganError(f"{path}: index.csv has {len(index)} rows but faces.npy {len(faces)}; rerun `dvc repro prep`")
    return PreparedData(faces=faces, index=index, report=json.loads((path / REPORT_FILE).read_text()))
