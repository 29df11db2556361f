"""The variant store in data/synthetic_variants/: faces.npy (uint8, memory-mapped), variants.csv
(one row per generated face, with the judges' verdict) and synthesis.json (the report).

variants.csv columns: split (base|novel), identity, source_row (the visible store row whose
identity the variant must keep), input_row (the store row fed to the model:
the source, or its thermal twin for kind `thermal`), kind (eyeglasses|smiling|young|yaw|thermal),
target (0/1, yaw degrees, NaN for thermal), judged (judge probability or yaw), target_reached,
identity_similarity, kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.data.store import matching, read_face_store

FACES_FILE = "faces.npy"
TABLE_FILE = "variants.csv"
REPORT_FILE = "synthesis.json"


@dataclass
class Variants:
    faces: np.ndarray  # read-only memmap; rows align with `table`
    table: pd.DataFrame
    report: dict

    def kept(self, **where) -> pd.DataFrame:
        """Kept variants matching all column == value conditions."""
        return matching(self.table, self.table["kept"].to_numpy(bool), where)


def open_variants(path: str | Path = "data/synthetic_variants") -> Variants:
    faces, table, report = read_face_store(Path(path), TABLE_FILE, REPORT_FILE, "generated variants", "synthesize")
    return Variants(faces=faces, table=table, report=report)
