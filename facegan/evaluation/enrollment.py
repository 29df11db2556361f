"""Enrollment conditions: what each novel identity's class mean is built from, and how probes are seen.

real           the k gallery photos
classical      + albumentations variants of them, as many per photo as `gan` adds
gan            + the kept GAN variants of them (attribute flips, yaw targets)
gan_classical  + both

In the `gan` conditions thermal probes are translated to visible by the
translator before embedding (TV-GAN's use: the thermal camera's photo is what
is generated from); the other conditions embed them as they are. An ablation
condition uses one kind of variant alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facegan.synthesis.plan import THERMAL


@dataclass(frozen=True)
class Condition:
    gan_kinds: tuple[str, ...] = ()  # variant kinds added to the gallery
    classical: bool = False  # add classical variants, as many per photo as the full GAN set adds
    translate_probes: bool = False  # thermal probes through the translator


def main_conditions(edit_kinds: tuple[str, ...], translate: bool) -> dict[str, Condition]:
    return {"real": Condition(), "classical": Condition(classical=True),
            "gan": Condition(edit_kinds, translate_probes=translate),
            "gan_classical": Condition(edit_kinds, classical=True, translate_probes=translate)}


def ablation_conditions(edit_kinds: tuple[str, ...], translate: bool) -> dict[str, Condition]:
    """One kind of variant alone; `thermal` = probe translation alone."""
    out = {kind: Condition((kind,)) for kind in edit_kinds}
    return out | ({THERMAL: Condition(translate_probes=True)} if translate else {})


class NovelVariants:
    """Kept GAN variants of novel photos by source row and kind, and translations by thermal row."""

    def __init__(self, table: pd.DataFrame):
        novel = table[table["split"] == "novel"]
        edits = novel[(novel["kind"] != THERMAL) & novel["kept"].astype(bool)]
        self.by_source: dict[int, tuple[np.ndarray, np.ndarray]] = {
            int(r): (g.index.to_numpy(np.int64), g["kind"].to_numpy()) for r, g in edits.groupby("source_row")}
        thermal = novel[novel["kind"] == THERMAL]
        # Every translation is used at test time: the judges' verdict needs the visible twin,
        # which a deployed system does not have.
        self.translation_of = dict(zip(thermal["input_row"].astype(int), thermal.index.astype(int)))
        self.edit_kinds = tuple(k for k in dict.fromkeys(novel["kind"]) if k != THERMAL)

    def kept(self, row: int, kinds: tuple[str, ...]) -> np.ndarray:
        """Variant-table rows of the kept variants of `row` of these kinds."""
        found = self.by_source.get(int(row))
        if found is None or not kinds:
            return np.zeros(0, np.int64)
        at, kind = found
        return at[np.isin(kind, kinds)]
