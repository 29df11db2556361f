"""Bootstrap intervals over identities and episodes: they cover a null effect at about their
nominal rate, find a planted gain, and would fail if they ignored which identities were drawn."""

from __future__ import annotations

import numpy as np

from facegan.lowshot.bootstrap import IdentityBootstrap

N_ID, N_EP, N_PROBES = 36, 10, 12


def draw(rng, gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One evaluation's (correct_a, correct_b, probes) tables, episodes x identities, from a
    population of identities: each has its own accuracy and its own response to condition b
    (mean `gain` over the population), each episode's gallery draw shifts both a little, and
    a and b are scored on the same probes (paired: one latent difficulty per probe)."""
    p = rng.beta(6, 3, N_ID)
    response = gain + rng.normal(0, 0.08, N_ID)  # identities differ in what b does for them
    episode = rng.normal(0, 0.05, (N_EP, N_ID))
    z = rng.uniform(size=(N_EP, N_ID, N_PROBES))
    correct_a = (z < np.clip(p + episode, 0, 1)[..., None]).sum(-1)
    correct_b = (z < np.clip(p + episode + response, 0, 1)[..., None]).sum(-1)
    return correct_a.astype(float), correct_b.astype(float), np.full((N_EP, N_ID), float(N_PROBES))


def coverage(gain: float, draws: int, fixed_identities: bool = False, seed: int = 0) -> tuple[float, float]:
    """Share of draws whose 95% interval of b - a covers 0, and share whose low end is above 0."""
    rng = np.random.default_rng(seed)
    covers, above = 0, 0
    for i in range(draws):
        a, b, n = draw(rng, gain)
        bs = IdentityBootstrap(N_EP, N_ID, 1000, seed=i)
        if fixed_identities:  # resample episodes only, as a t-interval over episodes does
            bs.identities = np.ones_like(bs.identities)
        low, high = bs.gain(b, a, n)["ci95"]
        covers += low <= 0 <= high
        above += low > 0
    return covers / draws, above / draws


def test_null_effect_is_covered_at_about_the_nominal_rate():
    covered, _ = coverage(gain=0.0, draws=200)
    assert 0.90 <= covered <= 0.99, covered


def test_intervals_over_episodes_alone_would_fail_the_coverage_check():
    # The plant that shows the check can fail: with the identities held fixed, the identity-level
    # spread of the effect is ignored and "significant" null effects appear far too often.
    covered, _ = coverage(gain=0.0, draws=200, fixed_identities=True)
    assert covered < 0.8, covered


def test_a_planted_gain_is_found():
    _, found = coverage(gain=0.06, draws=60, seed=1)
    assert found >= 0.9, found


def test_gain_is_paired_and_top1_pools_probes():
    a = np.array([[3.0, 1.0], [2.0, 0.0]])
    n = np.array([[4.0, 2.0], [4.0, 2.0]])
    bs = IdentityBootstrap(2, 2, 500, seed=0)
    assert bs.interval(a, n)["mean"] == 6 / 12
    same = bs.gain(a, a, n)
    assert same["mean"] == 0 and same["ci95"] == [0.0, 0.0]  # identical arms: no spread at all
    shifted = bs.gain(a + 1, a, n)  # one more hit per episode and identity on 12 probes: +4/12
    assert np.isclose(shifted["mean"], 4 / 12) and shifted["ci95"][0] > 0
