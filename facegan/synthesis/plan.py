"""Which variants to make of which faces.

A job is one variant: a source row of the prepared store, a kind (an attribute
flip, a yaw target, or `thermal` = the translation of the row's thermal twin)
and the target value. Novel gallery candidates get every kind (enrollment
picks from them); base training faces get `per_image` kinds drawn at random,
so the augmented recognizer sees a spread of variants without multiplying its
training set by the plan's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from facegan.attributes import YOUNG, flipped

THERMAL = "thermal"
NORMALIZE = "normalize"  # a probe edited back to the enrollment condition (recognition via generation)
CONDITION = "condition"  # a gallery photo edited into a probe's condition (condition-matched enrollment)
MULTI_TARGET = (NORMALIZE, CONDITION)  # kinds whose job sets several attributes at once (`targets`)
# An `old` condition's youth (1 - age) for an editor or renderer that takes ages: the mean age of
# the rendered set's old photos (0.79 on both novel and val identities).
OLD_YOUTH = 0.2
NEUTRAL = {"eyeglasses": 0.0, "smiling": 0.0, "young": 1.0, "yaw": 0.0}  # a typical enrollment photo
JOB_COLUMNS = ("source_row", "kind", "target", "targets")  # targets: a MULTI_TARGET job's, else NaN


def _options(attributes: Sequence[str], yaw_targets: Sequence[float], thermal: bool) -> list[tuple[str, float]]:
    """(kind, yaw target or NaN): the plan's entries; binary targets depend on the source."""
    options = [(name, np.nan) for name in attributes] + [("yaw", float(t)) for t in yaw_targets]
    return options + ([(THERMAL, np.nan)] if thermal else [])


def _jobs(source_rows: np.ndarray, options: list[list[tuple[str, float]]],
          labels: Mapping[str, np.ndarray], continuous_age: bool) -> pd.DataFrame:
    """One job per (source, one of its options); attribute targets flip the source label (a continuous
    youth is mirrored: facegan.attributes.flipped)."""
    rows, kind, target = [], [], []
    for position, row in enumerate(source_rows):
        for name, yaw_target in options[position]:
            rows.append(row)
            kind.append(name)
            if name == "yaw" or name == THERMAL:
                target.append(yaw_target)
            else:
                target.append(float(flipped(name, labels[name][position], continuous_age)))
    return pd.DataFrame({"source_row": np.asarray(rows, np.int64), "kind": kind,
                         "target": np.asarray(target, np.float64), "targets": np.nan})


def every_variant(source_rows: np.ndarray, labels: Mapping[str, np.ndarray], attributes: Sequence[str],
                  yaw_targets: Sequence[float], thermal: bool, continuous_age: bool = False) -> pd.DataFrame:
    """Every planned variant of each source (novel gallery candidates); `continuous_age`: labels'
    young is a youth (1 - age), for an editor trained so."""
    options = _options(attributes, yaw_targets, thermal)
    return _jobs(np.asarray(source_rows), [options] * len(source_rows), labels, continuous_age)


def sampled_variants(source_rows: np.ndarray, labels: Mapping[str, np.ndarray], attributes: Sequence[str],
                     yaw_targets: Sequence[float], has_thermal: np.ndarray, per_image: int,
                     seed: int, continuous_age: bool = False) -> pd.DataFrame:
    """`per_image` distinct planned variants of each source, drawn at random (base training faces);
    `thermal` is an option only where the source has a thermal twin."""
    rng = np.random.default_rng([seed, 7])
    with_thermal = _options(attributes, yaw_targets, True)
    without = _options(attributes, yaw_targets, False)
    chosen = []
    for twin in np.asarray(has_thermal, bool):
        options = with_thermal if twin else without
        picks = rng.permutation(len(options))[:per_image]
        chosen.append([options[i] for i in sorted(picks)])
    if not len(chosen):
        return pd.DataFrame({c: [] for c in JOB_COLUMNS})
    return _jobs(np.asarray(source_rows), chosen, labels, continuous_age)


def _off_neutral(reading: Mapping[str, np.ndarray], i: int, max_yaw: float) -> dict[str, bool]:
    """Which of face i's attributes a reading (probabilities or 0/1 labels, yaw in degrees) puts outside
    the enrollment condition: eyeglasses, smiling, old (each at 0.5), |yaw| > max_yaw. What probe
    normalization sets back and condition-matched enrollment puts a photo in."""
    return {"eyeglasses": reading["eyeglasses"][i] >= 0.5, "smiling": reading["smiling"][i] >= 0.5,
            "young": reading["young"][i] < 0.5, "yaw": abs(reading["yaw"][i]) > max_yaw}


def normalization_targets(judged: Mapping[str, np.ndarray], max_yaw: float,
                          continuous_age: bool = False) -> list[dict[str, float]]:
    """Per face, the attributes the judges read as other than the enrollment condition (eyeglasses,
    smiling, old, |yaw| > max_yaw) with their neutral targets; {} = already neutral. With
    `continuous_age` an old face's target is its youth mirrored (flipped), not youth 1 = age 0."""
    out = []
    for i in range(len(judged["yaw"])):
        neutral = NEUTRAL | ({YOUNG: float(flipped(YOUNG, judged[YOUNG][i], True))} if continuous_age else {})
        out.append({name: neutral[name] for name, off in _off_neutral(judged, i, max_yaw).items() if off})
    return out


def format_targets(targets: Mapping[str, float]) -> str:
    """The `targets` column of a normalization job, e.g. "eyeglasses=0 yaw=0"."""
    return " ".join(f"{k}={v:.4g}" for k, v in targets.items())


def parse_targets(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in str(text).split())}


def normalization_jobs(rows: np.ndarray, judged: Mapping[str, np.ndarray], max_yaw: float,
                       continuous_age: bool = False) -> pd.DataFrame:
    """One `normalize` job per face the judges read as not neutral."""
    targets = normalization_targets(judged, max_yaw, continuous_age)
    keep = [i for i, t in enumerate(targets) if t]
    return pd.DataFrame({"source_row": np.asarray(rows, np.int64)[keep], "kind": NORMALIZE,
                         "target": np.nan, "targets": [format_targets(targets[i]) for i in keep]})


def condition_targets(reading: Mapping[str, np.ndarray], max_yaw: float,
                      yaw_targets: Sequence[float]) -> list[dict[str, float]]:
    """Per face, the condition it shows as the edit that puts a neutral photo in it: eyeglasses=1,
    smiling=1 and young=0 where read (probabilities or 0/1 labels at 0.5), and, where |yaw| > max_yaw,
    the nearest of the plan's yaw targets; {} = neutral. One quantized condition is shared by many
    probes, so one edit per (gallery photo, condition) serves them all. The same reading gives the
    same targets in synthesis (the judges') and in evaluation, where they select the variant."""
    targets = np.asarray(sorted(t for t in yaw_targets if abs(t) > max_yaw), np.float64)
    shown = {"eyeglasses": 1.0, "smiling": 1.0, "young": 0.0}  # the attribute as the probe shows it
    out = []
    for i in range(len(reading["yaw"])):
        off = _off_neutral(reading, i, max_yaw)
        wanted = {name: value for name, value in shown.items() if off[name]}
        if off["yaw"] and len(targets):
            wanted["yaw"] = float(targets[np.argmin(np.abs(targets - float(reading["yaw"][i])))])
        out.append(wanted)
    return out


def condition_keys(reading: Mapping[str, np.ndarray], max_yaw: float, yaw_targets: Sequence[float]) -> np.ndarray:
    """condition_targets as `targets` strings ("" = neutral), the key a conditioned variant is stored under."""
    return np.array([format_targets(t) for t in condition_targets(reading, max_yaw, yaw_targets)], dtype=object)


def conditioned_jobs(episodes, keys: Mapping[int, str]) -> pd.DataFrame:
    """One `condition` job per (gallery photo, condition) the episodes need: each gallery photo of an
    episode in the condition of each of the episode's probes that has a key (`keys`: store row ->
    condition_keys string; "" = neutral, which the photo itself serves)."""
    pairs = set()
    for episode in episodes:
        wanted = {keys[int(p)] for p in episode.probes if int(p) in keys} - {""}
        photos = np.concatenate(list(episode.gallery.values())) if episode.gallery else []
        pairs |= {(int(r), key) for r in photos for key in wanted}
    rows, targets = zip(*sorted(pairs)) if pairs else ((), ())
    return pd.DataFrame({"source_row": np.asarray(rows, np.int64), "kind": CONDITION, "target": np.nan,
                         "targets": list(targets)})


def edit_targets(targets: Mapping[str, float], continuous_age: bool) -> dict[str, float]:
    """A condition's targets as an editor or renderer takes them: `young=0` is OLD_YOUTH where ages are
    continuous (a youth of 0 would be the oldest face it can draw)."""
    out = dict(targets)
    if continuous_age and out.get(YOUNG) == 0.0:
        out[YOUNG] = OLD_YOUTH
    return out
