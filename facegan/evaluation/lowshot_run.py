"""Scoring episodes of the two tasks under each arm, and summarizing them with bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facegan.evaluation.classical import ClassicalVariants
from facegan.evaluation.enrollment import Condition, VariantLookup
from facegan.lowshot.bootstrap import IdentityBootstrap, summarize
from facegan.lowshot.episodes import VISIBLE_PROBES, Episode, probe_conditions
from facegan.lowshot.scoring import coverage_at_precision, l2_normalize, match_scores, weigh_edit


@dataclass
class Embedded:
    """Everything one backbone embedded for the evaluation, with the attributes `matched` compares."""
    store: np.ndarray  # (store rows, d); rows outside the evaluated identities are zero
    attributes: np.ndarray  # (store rows, 4) judged eyeglasses/smiling/young/yaw; NaN when unknown
    variant: np.ndarray  # (variant rows, d)
    variant_attributes: np.ndarray  # (variant rows, 4) what each variant claims
    clahe: np.ndarray | None = None  # (store rows, d) grey + CLAHE of gallery photos and thermal probes
    oracle: np.ndarray | None = None  # (oracle rows, d)
    oracle_attributes: np.ndarray | None = None
    classical: ClassicalVariants | None = None


@dataclass(frozen=True)
class EpisodeScore:
    correct: np.ndarray  # per probe
    confidence: np.ndarray  # per probe: the winning identity's score
    identity: np.ndarray  # per probe: index of its true identity among the episode's identities
    probe_rows: np.ndarray
    enrolled_per_identity: float

    def counts(self, n_identities: int) -> tuple[np.ndarray, np.ndarray]:
        """(correct, probes) per identity."""
        return (np.bincount(self.identity, weights=self.correct, minlength=n_identities),
                np.bincount(self.identity, minlength=n_identities).astype(np.float64))


class EpisodeScorer:
    """Scores episodes of one set of identities (novel, or val) with one backbone's embeddings.
    `keys`: for the condition-matched arms, each store row's condition key (condition_keys) as the
    judges read it (`gan`) and as its labels say (`oracle`)."""

    def __init__(self, index: pd.DataFrame, embedded: Embedded, variants: VariantLookup,
                 oracle: VariantLookup | None, max_yaw: float, keys: dict[str, np.ndarray] | None = None,
                 probe_weight: float = 1.0):
        self.index, self.e, self.variants, self.oracle = index, embedded, variants, oracle
        self.probe_weight = probe_weight  # lowshot.probe_weight: a normalized probe's share of what is matched
        self.keys = keys or {}
        n = len(embedded.store)
        rows = index.index.to_numpy()
        self.identity = np.full(n, -1, np.int64)
        self.identity[rows] = index["identity"].to_numpy()
        self.is_thermal = np.zeros(n, bool)
        self.is_thermal[rows] = (index["domain"] == "thermal").to_numpy()
        self.pair = np.full(n, -1, np.int64)
        self.pair[rows] = index["pair"].to_numpy()
        self.masks = {}
        for name, mask in probe_conditions(index, max_yaw).items():
            self.masks[name] = np.zeros(n, bool)
            self.masks[name][rows] = mask

    def _enrolled(self, rows: np.ndarray, cond: Condition) -> tuple[np.ndarray, np.ndarray]:
        e = self.e
        parts = [(e.clahe if cond.gallery_clahe else e.store)[rows]]
        attrs = [e.attributes[rows]]
        gan = np.concatenate([self.variants.kept(r, cond.gan_kinds) for r in rows])
        if len(gan):
            parts.append(e.variant[gan])
            attrs.append(e.variant_attributes[gan])
        if cond.oracle_kinds and self.oracle is not None:
            true = np.concatenate([self.oracle.kept(r, cond.oracle_kinds) for r in rows])
            if len(true):
                parts.append(e.oracle[true])
                attrs.append(e.oracle_attributes[true])
        if cond.classical and e.classical is not None:
            wanted = [(int(r), j) for r in rows for j in range(len(self.variants.kept(r, self.variants.edit_kinds)))]
            if wanted:
                parts.append(e.classical.embeddings(wanted))
                attrs.append(e.attributes[[r for r, _ in wanted]])
        return np.concatenate(parts), np.concatenate(attrs)

    def _probes(self, probes: np.ndarray, cond: Condition) -> tuple[np.ndarray, np.ndarray]:
        e = self.e
        if cond.probes == "clahe":
            return e.clahe[probes], e.attributes[probes]
        if cond.probes == "twin":
            return e.store[self.pair[probes]], e.attributes[self.pair[probes]]
        emb, attrs = e.store[probes].copy(), e.attributes[probes].copy()
        # A translation replaces its thermal probe; a normalization is weighed against the probe it edits.
        swap = {"translated": (self.variants.translation_of, e.variant, e.variant_attributes, 1.0),
                "normalized": (self.variants.normalized_of, e.variant, e.variant_attributes, self.probe_weight),
                "true_normalized": (self.oracle.normalized_of if self.oracle else {}, e.oracle,
                                    e.oracle_attributes, self.probe_weight)}.get(cond.probes)
        if swap:  # a probe without a (kept) generated version is used as it is
            lookup, embeddings, claimed, weight = swap
            for i, row in enumerate(probes):
                at = lookup.get(int(row))
                if at is not None:
                    emb[i] = weigh_edit(emb[i], embeddings[at], weight)
                    attrs[i] = claimed[at]
        return emb, attrs

    def task_probes(self, episode: Episode, task: str) -> np.ndarray:
        thermal = self.is_thermal[episode.probes]
        return episode.probes[thermal if task == "thermal" else ~thermal]

    def _conditioned(self, episode: Episode, cond: Condition, task: str) -> EpisodeScore:
        """Each probe against every identity's photos and their variants in the probe's condition (key),
        by the class mean; photos alone where no kept variant has that key, and for neutral probes."""
        lookup, vectors = ((self.variants.conditioned, self.e.variant) if cond.conditioned == "gan" else
                           (self.oracle.conditioned, self.e.oracle))
        ids = np.array(sorted(episode.gallery))
        probes = self.task_probes(episode, task)
        keys = self.keys[cond.conditioned][probes]
        p = l2_normalize(self.e.store[probes])
        scores = np.empty((len(probes), len(ids)))
        enrolled = np.empty(len(probes))
        for key in np.unique(keys):
            at = np.flatnonzero(keys == key)
            means, sizes = [], []
            for i in ids:
                photos = episode.gallery[i]
                made = [lookup[(int(r), key)] for r in photos if (int(r), key) in lookup] if key else []
                parts = l2_normalize(np.concatenate([self.e.store[photos], vectors[made]]))
                means.append(parts.mean(axis=0))
                sizes.append(len(parts))
            scores[at] = p[at] @ l2_normalize(np.stack(means)).T
            enrolled[at] = np.mean(sizes)
        best = scores.argmax(axis=1)
        truth = np.searchsorted(ids, self.identity[probes])
        return EpisodeScore(correct=best == truth, confidence=scores[np.arange(len(best)), best], identity=truth,
                            probe_rows=probes, enrolled_per_identity=float(enrolled.mean()))

    def score(self, episode: Episode, cond: Condition, task: str, matcher: str) -> EpisodeScore:
        if cond.conditioned:  # the class mean of two images: a rule of its own, not the chosen matcher
            return self._conditioned(episode, cond, task)
        ids = np.array(sorted(episode.gallery))
        enrolled = [self._enrolled(episode.gallery[i], cond) for i in ids]
        probes = self.task_probes(episode, task)
        emb, attrs = self._probes(probes, cond)
        scores = match_scores(matcher, [g for g, _ in enrolled], emb, [a for _, a in enrolled], attrs)
        best = scores.argmax(axis=1)
        truth = np.searchsorted(ids, self.identity[probes])
        return EpisodeScore(correct=best == truth, confidence=scores[np.arange(len(best)), best], identity=truth,
                            probe_rows=probes, enrolled_per_identity=float(np.mean([len(g) for g, _ in enrolled])))


class TaskResults:
    """The scores of every arm on the same episodes of one task and shot count."""

    def __init__(self, scores: dict[str, list[EpisodeScore]], n_identities: int, resamples: int, seed: int):
        self.scores = scores
        first = next(iter(scores.values()))
        self.bootstrap = IdentityBootstrap(len(first), n_identities, resamples, seed)
        tables = {name: [s.counts(n_identities) for s in eps] for name, eps in scores.items()}
        self.correct = {name: np.stack([c for c, _ in t]) for name, t in tables.items()}
        self.probes = np.stack([n for _, n in next(iter(tables.values()))])

    def top1(self, name: str) -> dict:
        return self.bootstrap.interval(self.correct[name], self.probes)

    def resampled_top1(self, name: str) -> np.ndarray:
        """One top-1 per bootstrap resample (the same resamples for every arm)."""
        return self.bootstrap.top1(self.correct[name], self.probes)

    def gain(self, a: str, b: str) -> dict:
        return self.bootstrap.gain(self.correct[a], self.correct[b], self.probes)

    def summary(self, name: str, masks: dict[str, np.ndarray] | None = None) -> dict:
        eps = self.scores[name]
        out = {"top1": self.top1(name),
               "coverage_at_p99": float(np.nanmean([coverage_at_precision(s.correct, s.confidence) for s in eps])),
               "enrolled_per_identity": float(np.mean([s.enrolled_per_identity for s in eps]))}
        if masks is not None:
            out["by_probe"] = by_probe(eps, masks)
        return out


def simplest_within_noise(results: list[TaskResults], names: tuple[str, ...]) -> tuple[str, str, dict, dict]:
    """Choose among arms scored on the same episodes (one TaskResults per shot count, each holding
    every name in `names`, simplest first) by their top-1 averaged over the shot counts: the
    simplest whose shortfall from the best is within the paired bootstrap interval (its lower
    bound <= 0). A few val identities (36 by default) separate rules that differ by less than their
    noise; the highest score alone would then follow the draw of val people, not the rules (the
    one-standard-error rule of choosing a tree's size by cross-validation).
    -> (chosen, best, {name: mean top-1}, {name: the best's lead over it, {"mean", "ci95"}})."""
    mean = {n: float(np.mean([r.top1(n)["mean"] for r in results])) for n in names}
    resampled = {n: np.mean([r.resampled_top1(n) for r in results], axis=0) for n in names}
    best = max(names, key=lambda n: (mean[n], -names.index(n)))  # ties: the simpler
    gaps = {n: summarize(mean[best] - mean[n], resampled[best] - resampled[n]) for n in names}
    chosen = next(n for n in names if not gaps[n]["ci95"][0] > 0)  # the best's own lead is 0
    return chosen, best, mean, gaps


def by_probe(scores: list[EpisodeScore], masks: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Top-1 over all episodes' probes of each probe condition (None where there are none)."""
    out = {}
    for name in VISIBLE_PROBES:
        hits = [s.correct[masks[name][s.probe_rows]] for s in scores]
        n = sum(len(h) for h in hits)
        out[name] = float(sum(h.sum() for h in hits) / n) if n else None
    return out
