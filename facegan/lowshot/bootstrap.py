"""Paired 95% intervals from a bootstrap over identities and episodes.

An episode's top-1 varies with the gallery draw, but most of the uncertainty
of a low-shot result is which identities happen to be the novel ones: some
are easy, some are hard, and that does not change between episodes. So each
resample draws the identities (with replacement) and the episodes (with
replacement) and recomputes top-1 over the probes of the drawn pairs. Every
condition and every gain of one task and shot count uses the same resamples,
which makes gains paired: identity and episode effects cancel in them.
"""

from __future__ import annotations

import numpy as np

METHOD = "paired percentile bootstrap over novel identities and episodes"


class IdentityBootstrap:
    """Fixed resampling weights for `n_episodes` x `n_identities` count tables."""

    def __init__(self, n_episodes: int, n_identities: int, resamples: int, seed: int):
        rng = np.random.default_rng([seed, 53, n_episodes, n_identities])
        # Multinomial counts = how often each episode / identity is drawn in a resample.
        self.episodes = rng.multinomial(n_episodes, np.full(n_episodes, 1 / n_episodes), size=resamples)
        self.identities = rng.multinomial(n_identities, np.full(n_identities, 1 / n_identities), size=resamples)
        self.resamples = resamples

    def _resampled(self, table: np.ndarray) -> np.ndarray:
        """sum over drawn (episode, identity) pairs of `table`, one value per resample."""
        return np.einsum("be,ei,bi->b", self.episodes, np.asarray(table, np.float64), self.identities)

    def top1(self, correct: np.ndarray, probes: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._resampled(correct) / self._resampled(probes)

    def interval(self, correct: np.ndarray, probes: np.ndarray) -> dict:
        """Top-1 (all probes pooled) and its 95% interval."""
        return summarize(_ratio(correct, probes), self.top1(correct, probes))

    def gain(self, correct_a: np.ndarray, correct_b: np.ndarray, probes: np.ndarray) -> dict:
        """Top-1 of a minus top-1 of b on the same probes, with its paired 95% interval."""
        return summarize(_ratio(correct_a, probes) - _ratio(correct_b, probes),
                         self.top1(correct_a, probes) - self.top1(correct_b, probes))


def _ratio(correct: np.ndarray, probes: np.ndarray) -> float:
    total = float(np.sum(probes))
    return float(np.sum(correct)) / total if total else float("nan")


def summarize(point: float, resampled: np.ndarray) -> dict:
    """{"mean": point, "ci95": the 2.5 and 97.5 percentiles of the finite resampled values}."""
    resampled = resampled[np.isfinite(resampled)]
    if not np.isfinite(point) or not len(resampled):
        return {"mean": float("nan"), "ci95": [float("nan"), float("nan")]}
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {"mean": point, "ci95": [float(low), float(high)]}
