"""The variant store in data/synthetic_variants/: faces.npy (uint8, memory-mapped), variants.csv
(one row per generated face, with the judges' verdict) and synthesis.json (the report).

variants.csv columns: split (base|novel), identity, source_row (the visible store row whose
identity the variant must keep), input_row (the store row fed to the model:
the source, or its thermal twin for kind `thermal`), kind (eyeglasses|smiling|young|yaw|thermal),
target (0/1, yaw degrees, NaN for thermal), judged (judge probability or yaw), target_reached,
identity_similarity, quality (the quality critic's score), kept; targets (`normalize` jobs only: the probe's attributes set back to the
enrollment condition, e.g. "smiling=0 yaw=0").
judged.csv: row (store row), eyeglasses, smiling, young (judge probabilities), yaw (degrees) of
every visible photo of the identities low-shot episodes run on (novel, val).
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
JUDGED_FILE = "judged.csv"  # the judges' eyeglasses/smiling/young/yaw of every evaluated visible photo
ORACLE_REPORT = "oracle.json"  # the oracle store (stage render_oracle): same layout, true variants


@dataclass
class Variants:
    faces: np.ndarray  # read-only memmap; rows align with `table`
    table: pd.DataFrame
    report: dict
    judged: pd.DataFrame | None = None  # judged.csv, indexed by store row

    def kept(self, **where) -> pd.DataFrame:
        """Kept variants matching all column == value conditions."""
        return matching(self.table, self.table["kept"].to_numpy(bool), where)


def open_variants(path: str | Path) -> Variants:
    faces, table, report = read_face_store(Path(path), TABLE_FILE, REPORT_FILE, "generated variants", "synthesize")
    judged_path = Path(path) / JUDGED_FILE
    judged = pd.read_csv(judged_path, index_col="row") if judged_path.is_file() else None
    return Variants(faces=faces, table=table, report=report, judged=judged)


def open_oracle(path: str | Path) -> Variants:
    """The renderer's true variants of enrolled novel photos (empty when the data is not synthetic)."""
    faces, table, report = read_face_store(Path(path), TABLE_FILE, ORACLE_REPORT, "true variants", "render_oracle")
    return Variants(faces=faces, table=table, report=report)
