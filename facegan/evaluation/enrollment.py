"""What each arm of the two low-shot tasks enrolls and how it sees the probes.

Visible task (enrollment augmentation; visible probes only):
real           the k gallery photos
classical      + albumentations variants of them, as many per photo as `gan` adds
gan            + the kept GAN variants of them (attribute flips, yaw targets)
gan_classical  + both
gan_probe      the k photos; each probe edited back to the enrollment condition first
               (recognition via generation), where the judges kept that edit
gan_both       gan's gallery and gan_probe's probes
oracle         + the renderer's true variants of the same photos (synthetic data only):
               what perfect edits would add
oracle_probe   the k photos; each probe replaced by its true version in the enrollment
               condition (synthetic data only): what perfect probe normalization would add
gan_cond       (k = 1) condition-matched enrollment: for each probe, every identity's photo and the
               editor's edit of it into the probe's condition as the judges read it (glasses,
               smile, old, yaw quantized to the plan's yaw targets), where the judges kept that edit;
               matched by the class mean of the two
oracle_cond    (k = 1, synthetic data only) the same with the renderer's truth in the probe's true
               condition (a generic pair of glasses): what perfect edits into the probe's condition add

Thermal task (thermal probes against a visible gallery of the k photos):
raw            the thermal probe as it is
classical      gallery photos and probes both to grey with CLAHE (a non-learned cross-spectral baseline)
translated     the probe translated to visible by the translator
oracle         the probe's true visible twin

Every probe-side transform a GAN arm gets is also an arm of its own on the
plain gallery (`gan_probe`, `translated`), so no arm wins by a step its
baseline was denied (`missing_probe_baselines` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facegan.synthesis.plan import CONDITION, MULTI_TARGET, NORMALIZE, THERMAL, parse_targets

ATTRIBUTE_COLUMNS = ("eyeglasses", "smiling", "young", "yaw")  # what `matched` compares


@dataclass(frozen=True)
class Condition:
    gan_kinds: tuple[str, ...] = ()  # GAN variant kinds added to the gallery
    classical: bool = False  # + classical variants, as many per photo as the full GAN set adds
    oracle_kinds: tuple[str, ...] = ()  # + the renderer's true variants of these kinds
    probes: str = "as_is"  # visible: as_is | normalized | true_normalized; thermal: raw | clahe | translated | twin
    gallery_clahe: bool = False  # gallery photos to grey + CLAHE
    conditioned: str = ""  # gan | oracle: each photo with its variant in the probe's condition (k = 1)

    @property
    def plain_gallery(self) -> bool:
        return not (self.gan_kinds or self.classical or self.oracle_kinds or self.gallery_clahe or self.conditioned)

    @property
    def generated(self) -> bool:
        """An arm that uses generated images (in the gallery or as probes)."""
        return bool(self.gan_kinds) or self.probes in ("normalized", "translated") or self.conditioned == "gan"


PLAIN_PROBES = ("as_is", "raw")


def visible_conditions(edit_kinds: tuple[str, ...], oracle: bool) -> dict[str, Condition]:
    out = {"real": Condition(), "classical": Condition(classical=True), "gan": Condition(edit_kinds),
           "gan_classical": Condition(edit_kinds, classical=True), "gan_probe": Condition(probes="normalized"),
           "gan_both": Condition(edit_kinds, probes="normalized")}
    return out | ({"oracle": Condition(oracle_kinds=edit_kinds), "oracle_probe": Condition(probes="true_normalized")}
                  if oracle else {})


def conditioned_conditions(oracle: bool) -> dict[str, Condition]:
    """The condition-matched arms (k = 1 episodes only: their photos are the ones edited)."""
    return {"gan_cond": Condition(conditioned="gan")} | (
        {"oracle_cond": Condition(conditioned="oracle")} if oracle else {})


def thermal_conditions(translate: bool) -> dict[str, Condition]:
    out = {"raw": Condition(probes="raw"), "classical": Condition(probes="clahe", gallery_clahe=True)}
    return out | ({"translated": Condition(probes="translated")} if translate else {}) | {
        "oracle": Condition(probes="twin")}


def ablation_conditions(edit_kinds: tuple[str, ...], oracle: bool = False) -> dict[str, Condition]:
    """One kind of variant alone (GAN's, or the oracle's true ones)."""
    return {kind: Condition(oracle_kinds=(kind,)) if oracle else Condition((kind,)) for kind in edit_kinds}


def missing_probe_baselines(conditions: dict[str, Condition]) -> list[str]:
    """GAN arms whose probe transform is not also measured alone on the plain gallery."""
    alone = {c.probes for c in conditions.values() if c.plain_gallery}
    return [name for name, c in conditions.items()
            if c.generated and c.probes not in PLAIN_PROBES and c.probes not in alone]


def claimed_attributes(table: pd.DataFrame, judged: pd.DataFrame) -> np.ndarray:
    """(variants, 4) eyeglasses/smiling/young/yaw each variant claims: its source as the judges
    read it, with the edit's target(s) set (NaN rows for translations)."""
    out = np.full((len(table), len(ATTRIBUTE_COLUMNS)), np.nan)
    known = table["source_row"].isin(judged.index).to_numpy() & (table["kind"] != THERMAL).to_numpy()
    out[known] = judged.loc[table["source_row"][known], list(ATTRIBUTE_COLUMNS)].to_numpy()
    column = {c: i for i, c in enumerate(ATTRIBUTE_COLUMNS)}
    for at in np.flatnonzero(known):
        kind = table["kind"].iat[at]
        targets = parse_targets(table["targets"].iat[at]) if kind in MULTI_TARGET else {kind: table["target"].iat[at]}
        for name, value in targets.items():
            out[at, column[name]] = value
    return out


class VariantLookup:
    """Variants of evaluated photos by source row and kind (kept ones only), translations by
    thermal row, normalized probes by visible row, and photos in a probe's condition by (source
    row, condition key: facegan.synthesis.plan.condition_keys)."""

    def __init__(self, table: pd.DataFrame, splits: tuple[str, ...] = ("novel", "val")):
        table = table[table["split"].isin(splits)]
        kept = table["kept"].astype(bool)
        edits = table[~table["kind"].isin([THERMAL, *MULTI_TARGET]) & kept]
        self.by_source: dict[int, tuple[np.ndarray, np.ndarray]] = {
            int(r): (g.index.to_numpy(np.int64), g["kind"].to_numpy()) for r, g in edits.groupby("source_row")}
        thermal = table[table["kind"] == THERMAL]
        # Every translation is used at test time: the judges' verdict needs the visible twin,
        # which a deployed system does not have.
        self.translation_of = dict(zip(thermal["input_row"].astype(int), thermal.index.astype(int)))
        normalized = table[(table["kind"] == NORMALIZE) & kept]
        self.normalized_of = dict(zip(normalized["source_row"].astype(int), normalized.index.astype(int)))
        conditioned = table[(table["kind"] == CONDITION) & kept]
        self.conditioned = dict(zip(zip(conditioned["source_row"].astype(int), conditioned["targets"]),
                                    conditioned.index.astype(int)))
        self.edit_kinds = tuple(k for k in dict.fromkeys(table["kind"]) if k not in (THERMAL, *MULTI_TARGET))

    def kept(self, row: int, kinds: tuple[str, ...]) -> np.ndarray:
        """Variant-table rows of the kept variants of `row` of these kinds."""
        found = self.by_source.get(int(row))
        if found is None or not kinds:
            return np.zeros(0, np.int64)
        at, kind = found
        return at[np.isin(kind, kinds)]

    def needed(self, gallery: np.ndarray, conditioned: bool = True) -> np.ndarray:
        """Every variant row an evaluation with these gallery rows can use (`conditioned`: with the
        photos in probes' conditions, which only the condition-matched arms use)."""
        rows = [self.kept(r, self.edit_kinds) for r in gallery]
        rows += [np.fromiter(self.translation_of.values(), np.int64),
                 np.fromiter(self.normalized_of.values(), np.int64)]
        if conditioned:
            rows.append(np.fromiter(self.conditioned.values(), np.int64))
        return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
