"""Drawing low-shot episodes: a gallery of k photos per novel identity, the rest as probes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Visible-probe conditions reported separately (a probe can fall in several); thermal probes are
# a task of their own.
VISIBLE_PROBES = ("eyeglasses", "smiling", "old", "posed", "neutral")


@dataclass(frozen=True)
class Episode:
    gallery: dict[int, np.ndarray]  # identity -> row indices into the prepared store
    probes: np.ndarray  # row indices (visible and thermal)


def neutral_mask(index: pd.DataFrame, max_yaw: float) -> np.ndarray:
    """A typical enrollment photo: no eyeglasses, not smiling, young, near-frontal, visible."""
    return (
        (index["eyeglasses"] == 0) & (index["smiling"] == 0) & (index["young"] == 1)
        & (index["yaw"].abs() <= max_yaw) & (index["domain"] == "visible")
    ).to_numpy()


def probe_conditions(index: pd.DataFrame, max_yaw: float) -> dict[str, np.ndarray]:
    """Boolean mask per probe condition over the rows of `index`."""
    thermal = (index["domain"] == "thermal").to_numpy()
    masks = {
        "eyeglasses": (index["eyeglasses"] == 1).to_numpy() & ~thermal,
        "smiling": (index["smiling"] == 1).to_numpy() & ~thermal,
        "old": (index["young"] == 0).to_numpy() & ~thermal,
        "posed": (index["yaw"].abs() > max_yaw).to_numpy() & ~thermal,
        "thermal": thermal,
    }
    masks["neutral"] = ~np.any(list(masks.values()), axis=0)
    return masks


def draw_episodes(index: pd.DataFrame, k: int, episodes: int, gallery: str, max_yaw: float,
                  seed: int) -> list[Episode]:
    """`index`: the novel rows of the prepared index (row labels = store rows).

    Identities with no more than k visible photos are left out of every episode
    (nothing would remain to recognize). A gallery photo's thermal twin is not
    a probe: it is the same moment, which would flatter the result.
    """
    rng = np.random.default_rng([seed, k])
    visible = index[index["domain"] == "visible"]
    neutral = pd.Series(neutral_mask(visible, max_yaw), index=visible.index)
    rows_by_id = {i: rows.to_numpy() for i, rows in visible.groupby("identity").groups.items()}
    eligible = sorted(i for i, rows in rows_by_id.items() if len(rows) > k)
    if not eligible:
        return []
    pair = index["pair"]
    out = []
    for _ in range(episodes):
        chosen: dict[int, np.ndarray] = {}
        for ident in eligible:
            rows = rows_by_id[ident]
            preferred = rows[neutral[rows].to_numpy()] if gallery == "neutral" else rows
            take = rng.permutation(preferred)[:k]
            if len(take) < k:  # too few neutral photos: fill at random from the rest
                rest = np.setdiff1d(rows, take)
                take = np.concatenate([take, rng.permutation(rest)[: k - len(take)]])
            chosen[ident] = np.sort(take)
        used = np.concatenate(list(chosen.values()))
        twins = pair[used].to_numpy()
        excluded = set(used.tolist()) | set(twins[twins >= 0].tolist())
        probes = np.array([r for r in index.index[index["identity"].isin(eligible)] if r not in excluded])
        out.append(Episode(gallery=chosen, probes=probes))
    return out


def draw_protocol(index: pd.DataFrame, shots, episodes: int, gallery: str, max_yaw: float,
                  seed: int) -> dict[int, list[Episode]]:
    """The episodes of every shot count the evaluation uses (`shots`, plus k = 1 for the ablation).
    (enrollable_rows names every photo any of them can enroll.)"""
    return {k: draw_episodes(index, k, episodes, gallery, max_yaw, seed) for k in sorted(set(shots) | {1})}


CONDITIONED_K = 1  # the shot count whose episodes get condition-matched enrollment (`gan_cond`, `oracle_cond`)


def conditioned_episodes(index: pd.DataFrame, lowshot, seed: int, split: str = "novel") -> list[Episode]:
    """The first `lowshot.conditioned` k = CONDITIONED_K episodes of `split` (`index`: every photo with
    its condition, facegan.lowshot.conditions.with_conditions), whose gallery photos synthesis and the
    oracle edit into their probes' conditions. Draws are sequential, so evaluation's first
    `lowshot.episodes` (no more: LowshotParams checks it) are the same episodes."""
    return draw_episodes(index[index["split"] == split], CONDITIONED_K, lowshot.conditioned, lowshot.gallery,
                         lowshot.neutral_max_yaw, seed)


def gallery_rows(episodes_by_k: dict[int, list[Episode]]) -> np.ndarray:
    """Every store row that is a gallery photo in some episode."""
    rows = [r for eps in episodes_by_k.values() for e in eps for r in e.gallery.values()]
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)


def enrollable_rows(index: pd.DataFrame, split: str, lowshot) -> np.ndarray:
    """Every store row of `split`'s identities (novel, or val) that an episode can enroll, however
    many episodes are drawn and with whatever seed: the photos synthesis edits and the oracle renders
    true variants of in the plan's ways. So `lowshot.episodes` is read by evaluation alone, and
    changing it reruns nothing but `evaluate`. (Condition-matched enrollment edits only the photos
    of the first `lowshot.conditioned` k = 1 episodes, conditioned_episodes: there are far more
    conditions than planned edits.)

    draw_episodes takes a gallery from the neutral photos and fills it from the others when an
    identity has fewer than k of them, so for such identities (at the largest k) every visible
    photo can be enrolled; with `gallery: random` every visible photo can.
    """
    rows = index[(index["split"] == split) & (index["domain"] == "visible")]
    neutral = pd.Series(neutral_mask(rows, lowshot.neutral_max_yaw), index=rows.index)
    largest = max(set(lowshot.shots) | {1})
    out = []
    for _, group in rows.groupby("identity").groups.items():
        group = group.to_numpy()
        if len(group) <= 1:  # left out of every episode: nothing would remain to recognize
            continue
        mine = neutral[group].to_numpy()
        out.append(group[mine] if lowshot.gallery == "neutral" and mine.sum() >= largest else group)
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)
