"""Evaluation: the arms of both tasks, matching rules, symmetric baselines, planted gains, and the
evaluate stage's metrics.json paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facegan.evaluation.enrollment import (Condition, VariantLookup, ablation_conditions, claimed_attributes,
                                           conditioned_conditions, missing_probe_baselines, thermal_conditions,
                                           visible_conditions)
from facegan.evaluation.lowshot_run import Embedded, EpisodeScore, EpisodeScorer, TaskResults, simplest_within_noise
from facegan.evaluation.schema import lowshot_paths, missing_paths, required_paths
from facegan.lowshot.episodes import Episode, draw_episodes
from facegan.lowshot.scoring import hull_distance, match_scores
from facegan.synthesis.plan import condition_keys, condition_targets
from tests.conftest import recognizer_fork

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ATTRS = ["eyeglasses", "smiling", "young", "yaw"]


def unit(*v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def toy_world():
    """Two identities, each enrolled from a neutral photo (rows 0, 1). Smiling probes (2, 3) look
    like their identity's smiling variant, but 0's is nearer 1's photo; neutral probes (4, 5);
    a thermal probe of 0 (6, twin of 4) looks like 1's photo unless translated."""
    index = pd.DataFrame({
        "identity": [0, 1, 0, 1, 0, 1, 0], "domain": ["visible"] * 6 + ["thermal"],
        "pair": [-1, -1, -1, -1, 6, -1, 4], "eyeglasses": [0] * 7, "smiling": [0, 0, 1, 1, 0, 0, 0],
        "young": [1] * 7, "yaw": [0.0] * 7})
    store = np.stack([unit(1, 0.10, 0), unit(1, -0.10, 0), unit(0.5, -0.2, 1), unit(0.5, -1, 0),
                      unit(1, 0.12, 0), unit(1, -0.12, 0), unit(0.5, -1, 0.1)])
    variants = pd.DataFrame({"split": ["novel"] * 4, "kind": ["smiling", "smiling", "thermal", "normalize"],
                             "kept": [True, True, False, True], "source_row": [0, 1, 4, 2],
                             "input_row": [0, 1, 6, 2], "target": [1.0, 1.0, np.nan, np.nan],
                             "targets": [np.nan, np.nan, np.nan, "smiling=0"]})
    variant_emb = np.stack([unit(0, 0, 1), unit(0, -1, 0), unit(1, 0.5, 0.3), unit(1, 0.2, 0)])
    judged = pd.DataFrame(index[ATTRS].to_numpy(float), columns=ATTRS)
    embedded = Embedded(store=store, attributes=judged.to_numpy(), variant=variant_emb,
                        variant_attributes=claimed_attributes(variants, judged), clahe=store[::-1].copy())
    return index, embedded, VariantLookup(variants)


EPISODE = Episode(gallery={0: np.array([0]), 1: np.array([1])}, probes=np.array([2, 3, 4, 5, 6]))


def test_gan_arms_change_the_answer_and_each_task_sees_only_its_probes():
    index, embedded, lookup = toy_world()
    assert lookup.edit_kinds == ("smiling",) and lookup.translation_of == {6: 2} and lookup.normalized_of == {2: 3}
    scorer = EpisodeScorer(index, embedded, lookup, None, max_yaw=10)
    vis = visible_conditions(lookup.edit_kinds, oracle=False)
    real, gan, probe = (scorer.score(EPISODE, vis[c], "visible", "ncm") for c in ("real", "gan", "gan_probe"))
    assert list(real.probe_rows) == [2, 3, 4, 5]  # no thermal probe in the visible task
    assert real.correct.tolist() == [False, True, True, True] and gan.correct.all()
    assert probe.correct.all() and probe.enrolled_per_identity == 1  # the normalized smiling probe of 0
    assert gan.enrolled_per_identity == 2
    th = thermal_conditions(translate=True)
    raw, translated, twin = (scorer.score(EPISODE, th[c], "thermal", "ncm") for c in ("raw", "translated", "oracle"))
    assert list(raw.probe_rows) == [6] and not raw.correct[0] and translated.correct[0] and twin.correct[0]


def test_a_normalized_probe_is_weighed_against_its_probe_and_a_translation_replaces_its_probe():
    """lowshot.probe_weight: a probe edited back to the enrollment condition is matched as the weighted mean
    of its own embedding and its edit's (1: the edit alone). Planted: a probe of 0 that its own photo
    matches, edited a little towards 1's photo: alone the edit answers 1, weighed with the probe 0."""
    index, embedded, lookup = toy_world()
    embedded.store[2], embedded.variant[3] = unit(1, 0.5, 0.5), unit(1, -0.3, 0.2)
    vis, th = visible_conditions(lookup.edit_kinds, oracle=False), thermal_conditions(translate=True)
    probe, edit = unit(*embedded.store[2]), unit(*embedded.variant[3])
    for weight, right in ((1.0, False), (0.5, True)):
        scorer = EpisodeScorer(index, embedded, lookup, None, max_yaw=10, probe_weight=weight)
        matched, _ = scorer._probes(np.array([2, 3]), vis["gan_probe"])
        assert np.allclose(matched[0], edit if weight == 1 else (1 - weight) * probe + weight * edit)
        assert np.allclose(matched[1], embedded.store[3])  # no kept normalization: the probe as it is
        assert scorer.score(EPISODE, vis["gan_probe"], "visible", "ncm").correct[0] == right
        translated, _ = scorer._probes(np.array([6]), th["translated"])
        assert np.allclose(translated[0], embedded.variant[2])  # whatever the weight


def test_matchers_compare_a_smiling_probe_with_the_smiling_variant():
    # Identity 0: a neutral photo and a smiling variant; identity 1: a neutral photo nearer the probe.
    gallery = [np.stack([unit(1, 0, 0), unit(0, 1, 0)]), np.stack([unit(0.3, 1, 0.5)])]
    attrs = [np.array([[0, 0, 1, 0], [0, 1, 1, 0]], float), np.array([[0, 0, 1, 0]], float)]
    probe, probe_attrs = unit(0.05, 1, 0)[None], np.array([[0, 1, 1, 0]], float)
    ncm, nn, matched = (match_scores(rule, gallery, probe, attrs, probe_attrs)[0] for rule in ("ncm", "nn", "matched"))
    assert ncm.argmax() == 1 and nn.argmax() == 0 and matched.argmax() == 0
    neutral_probe = np.array([[0, 0, 1, 0]], float)  # the same probe read as neutral: matched weighs the photo
    assert match_scores("matched", gallery, probe, attrs, neutral_probe)[0, 0] < 0.2
    one = [g[:1] for g in gallery]  # with one enrolled image per identity every rule agrees
    assert np.allclose(match_scores("nn", one, probe), match_scores("ncm", one, probe))


def test_hull_matches_a_probe_its_variant_explains_that_the_class_mean_averages_away():
    # Identity 0: a photo and a variant along one direction; the probe goes twice as far along it.
    # Identity 1: one photo a little nearer the probe than 0's class mean, not on 0's line.
    photo, variant = unit(1, 0, 0, 0), unit(1, 0, 1, 0)
    probe = unit(*(photo + 2 * (variant - photo)))
    other = 0.66 * probe + np.sqrt(1 - 0.66 ** 2) * np.array([0, 1, 0, 0], np.float32)
    gallery = [np.stack([photo, variant]), other[None]]
    ncm, hull = (match_scores(rule, gallery, probe[None])[0] for rule in ("ncm", "hull"))
    assert ncm.argmax() == 1 and hull.argmax() == 0
    assert hull_distance(probe[None], gallery[0])[0] < 0.5 * hull_distance(probe[None], gallery[1])[0]
    # One image each: the distance to the hull is the distance to the image, so hull ranks as ncm does.
    rng = np.random.default_rng(0)
    one = [unit(*rng.normal(size=4))[None] for _ in range(6)]
    probes = np.stack([unit(*rng.normal(size=4)) for _ in range(20)])
    assert (match_scores("hull", one, probes).argmax(1) == match_scores("ncm", one, probes).argmax(1)).all()


def test_every_probe_transform_of_a_gan_arm_is_measured_alone():
    arms = visible_conditions(("smiling", "yaw"), oracle=True) | thermal_conditions(translate=True)
    assert missing_probe_baselines(arms) == []
    # The plant: a GAN arm with normalized probes and no plain-gallery arm with them.
    unfair = {"real": Condition(), "gan_both": Condition(("smiling",), probes="normalized")}
    assert missing_probe_baselines(unfair) == ["gan_both"]


def planted_world(seed: int, n_ids: int = 30, per_id: int = 12, dim: int = 24):
    """Identities whose eyeglasses probes move along a shared direction; variants that add that
    direction to the gallery photo help, variants along a random direction do not."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_ids, dim))
    glasses = rng.normal(size=dim) * 1.6
    rows = []
    for i in range(n_ids):
        for j in range(per_id):
            rows.append({"identity": i, "domain": "visible", "pair": -1, "eyeglasses": int(j >= 4), "smiling": 0,
                         "young": 1, "yaw": 0.0})
    index = pd.DataFrame(rows)
    store = centre[index["identity"]] + glasses * index["eyeglasses"].to_numpy()[:, None] + rng.normal(
        0, 1.3, (len(index), dim))
    sources = index.index[index["eyeglasses"] == 0].to_numpy()
    helpful = store[sources] + glasses
    useless = store[sources] + rng.normal(size=(len(sources), dim)) * 1.6 / np.sqrt(dim) * np.linalg.norm(glasses)
    variants = pd.DataFrame({"split": "novel", "kind": ["eyeglasses"] * len(sources) + ["smiling"] * len(sources),
                             "kept": True, "source_row": np.tile(sources, 2), "input_row": np.tile(sources, 2),
                             "target": 1.0, "targets": np.nan})
    judged = pd.DataFrame(index[ATTRS].to_numpy(float), columns=ATTRS)
    embedded = Embedded(store=store.astype(np.float32), attributes=judged.to_numpy(),
                        variant=np.concatenate([helpful, useless]).astype(np.float32),
                        variant_attributes=claimed_attributes(variants, judged))
    return index, embedded, VariantLookup(variants)


def test_a_planted_gain_is_found_and_a_useless_variant_is_not_called_one():
    index, embedded, lookup = planted_world(seed=0)
    scorer = EpisodeScorer(index, embedded, lookup, None, max_yaw=10)
    episodes = draw_episodes(index, 1, 6, "neutral", 10, seed=0)
    arms = {"real": Condition()} | ablation_conditions(("eyeglasses", "smiling"))
    results = TaskResults({name: [scorer.score(e, c, "visible", "ncm") for e in episodes] for name, c in arms.items()},
                          len(episodes[0].gallery), 2000, seed=0)
    helps, null = results.gain("eyeglasses", "real"), results.gain("smiling", "real")
    assert helps["ci95"][0] > 0, helps
    assert null["ci95"][0] <= 0 < helps["ci95"][0], null  # random-direction variants are no gain


def test_a_probe_condition_is_quantized_to_the_edit_that_puts_a_neutral_photo_in_it():
    reading = {"eyeglasses": np.array([0.2, 0.9, 0.0, np.nan]), "smiling": np.array([0.1, 0.6, 1.0, np.nan]),
               "young": np.array([0.9, 0.3, 1.0, np.nan]), "yaw": np.array([9.0, -33.0, 52.0, np.nan])}
    targets = condition_targets(reading, max_yaw=10, yaw_targets=[-40, -20, 20, 40])
    assert targets == [{}, {"eyeglasses": 1.0, "smiling": 1.0, "young": 0.0, "yaw": -40.0},
                       {"smiling": 1.0, "yaw": 40.0}, {}]  # frontal and neutral (or unread): the photo itself serves
    assert list(condition_keys(reading, 10, [-40, -20, 20, 40])) == [
        "", "eyeglasses=1 smiling=1 young=0 yaw=-40", "smiling=1 yaw=40", ""]


def conditioned_world():
    """Identity 0's photo (row 0) and 1's (row 1); a smiling probe of 0 (row 2) nearer 1's photo, and a
    neutral probe of 1 (row 3). Photo 0 edited to smile looks like the probe; in glasses, unlike it.
    The renderer's truth (the oracle store) has the same smiling variant of photo 0."""
    index = pd.DataFrame({"identity": [0, 1, 0, 1], "domain": "visible", "pair": -1, "eyeglasses": [0, 0, 0, 0],
                          "smiling": [0, 0, 1, 0], "young": 1, "yaw": 0.0})
    store = np.stack([unit(1, 0.1, 0), unit(1, -0.1, 0), unit(0.5, -1, 0.2), unit(1, -0.12, 0)])
    variants = pd.DataFrame({"split": "novel", "kind": "condition", "kept": [True, True, True, False],
                             "source_row": [0, 0, 1, 1], "input_row": [0, 0, 1, 1], "target": np.nan,
                             "targets": ["smiling=1", "eyeglasses=1", "smiling=1", "eyeglasses=1"]})
    made = np.stack([unit(0.1, -1, 0.2), unit(0, 1, 0), unit(0, 0, 1), unit(0.5, -1, 0.2)])
    judged = pd.DataFrame(index[ATTRS].to_numpy(float), columns=ATTRS)
    oracle = variants.iloc[[0]].reset_index(drop=True)
    embedded = Embedded(store=store, attributes=judged.to_numpy(), variant=made,
                        variant_attributes=claimed_attributes(variants, judged), oracle=made[[0]],
                        oracle_attributes=claimed_attributes(oracle, judged))
    keys = condition_keys({c: judged[c].to_numpy() for c in ATTRS}, 10, [-20, 20])
    scorer = EpisodeScorer(index, embedded, VariantLookup(variants), VariantLookup(oracle, ("novel",)), 10,
                           {"gan": keys, "oracle": keys})
    return scorer, Episode(gallery={0: np.array([0]), 1: np.array([1])}, probes=np.array([2, 3]))


def test_a_photo_in_the_probes_condition_finds_whom_the_photo_alone_misses():
    scorer, episode = conditioned_world()
    arms = conditioned_conditions(oracle=True)
    real = scorer.score(episode, Condition(), "visible", "ncm")
    gan, oracle = (scorer.score(episode, arms[a], "visible", "ncm") for a in ("gan_cond", "oracle_cond"))
    assert real.correct.tolist() == [False, True]
    assert gan.correct.tolist() == [True, True] and oracle.correct.tolist() == [True, True]
    # The smiling probe was matched with both photos' smiling variants; the neutral one with photos alone.
    assert gan.enrolled_per_identity == (2 + 1) / 2 and oracle.enrolled_per_identity == (1.5 + 1) / 2
    # In the wrong condition (glasses) the variant misleads: keys decide which variant is enrolled.
    scorer.keys["gan"] = np.array(["", "", "eyeglasses=1", ""], dtype=object)
    assert not scorer.score(episode, arms["gan_cond"], "visible", "ncm").correct[0]
    assert arms["gan_cond"].generated and not arms["oracle_cond"].generated


def planted_rules(lead: int, noise: float, seed: int = 0) -> list[TaskResults]:
    """Two shot counts of 8 episodes x 36 identities x 10 probes, 78% right under `ncm`. `noisy`
    answers anew on a `noise` share of the probes, better for some identities and worse for others
    (as a matcher suits some faces), no better on the whole; `better` is ncm with `lead` more right
    answers per episode."""
    rng = np.random.default_rng(seed)
    suits = np.repeat(np.clip(0.78 + rng.normal(0, 0.15, 36), 0, 1), 10)  # noisy's rate per identity
    out = []
    for _ in range(2):
        scores = {"ncm": [], "noisy": [], "better": []}
        for _ in range(8):
            identity = np.repeat(np.arange(36), 10)
            correct = rng.random(len(identity)) < 0.78
            noisy = np.where(rng.random(len(correct)) < noise, rng.random(len(correct)) < suits, correct)
            better = correct.copy()
            better[rng.choice(np.flatnonzero(~correct), lead, replace=False)] = True
            for name, c in (("ncm", correct), ("noisy", noisy), ("better", better)):
                scores[name].append(EpisodeScore(c, c.astype(float), identity, np.arange(len(c)), 1.0))
        out.append(TaskResults(scores, 36, 2000, seed=0))
    return out


def test_a_rule_is_chosen_over_a_simpler_one_only_beyond_val_noise():
    # `noisy` tops ncm by about what separated nn from ncm on 36 val identities, but differs from it
    # on half the probes: the highest score, not a better rule, so the simpler one stays.
    chosen, best, mean, gaps = simplest_within_noise(planted_rules(lead=0, noise=0.5, seed=1), ("ncm", "noisy"))
    assert best == "noisy" and 0 < mean["noisy"] - mean["ncm"] < 0.03 and chosen == "ncm", gaps
    assert gaps["ncm"]["ci95"][0] <= 0 < gaps["ncm"]["mean"] and gaps["noisy"] == {"mean": 0.0, "ci95": [0.0, 0.0]}
    # A lead the resamples agree on is taken, however small: 4 more right of 360 per episode.
    chosen, best, mean, gaps = simplest_within_noise(planted_rules(lead=4, noise=0.5, seed=1), ("ncm", "better"))
    assert (chosen, best) == ("better", "better") and gaps["ncm"]["ci95"][0] > 0, gaps


def test_lowshot_paths_name_both_tasks_and_the_oracle():
    paths = required_paths([1, 5])
    for p in ("lowshot.visible.k1.oracle.top1.ci95", "lowshot.visible.k5.gan_share_of_oracle",
              "lowshot.thermal.k1.translated.top1.mean", "lowshot.matchers.matched.visible_k1.gan.mean",
              "lowshot.interval_method", "lowshot.visible.ablation_k1.yaw.ci95"):
        assert p in paths, p
    assert not [p for p in lowshot_paths([1], oracle=False) if "oracle" in p]
    metrics = {"data": {"source": "synthetic", "thermal_source": None}}
    assert missing_paths(metrics, ["data.source", "data.thermal_source", "data.image_size"]) == ["data.image_size"]


def without_timing(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "timing_s"}


def test_evaluate_stage_writes_every_lowshot_path_and_the_figures(synthesized, tmp_path):
    import torch

    from facegan.data.store import open_prepared
    from facegan.evaluation.report import rounded
    from facegan.evaluation.stage import evaluate_stage, val_gains
    from facegan.recognition.source import load_embedder
    from facegan.stages.train_recognizer_aug import train_recognizer_aug_stage
    from facegan.synthesis.oracle import write_oracle
    from facegan.synthesis.store import open_variants

    params, paths, _ = synthesized
    models = tmp_path / "models"
    tiny = params.model_copy(update={"recognizer": params.recognizer.model_copy(
        update={"width": 4, "embedding_dim": 16, "epochs": 1, "batch_size": 32})})
    train_recognizer_aug_stage(tiny, prepared_dir=paths["prepared_dir"], variants_dir=paths["out_dir"],
                               model_path=models / "recognizer_aug.pt",
                               report_path=tmp_path / "reports/recognizer_aug.json", live_dir=None,
                               checkpoint_dir=tmp_path / "ckpt",
                               fork_path=recognizer_fork(tiny, paths["prepared_dir"], tmp_path / "plain"))
    tiny = tiny.model_copy(update={"lowshot": tiny.lowshot.model_copy(update={"episodes": 3, "resamples": 300})})
    oracle = write_oracle(tiny, paths["prepared_dir"], tmp_path / "oracle")
    assert oracle["rendered"] and oracle["variants"] > 0
    reports = {"synthesize": paths["report_path"], "train_recognizer_aug": tmp_path / "reports/recognizer_aug.json"}

    def evaluate():
        return evaluate_stage(tiny, prepared_dir=paths["prepared_dir"], variants_dir=paths["out_dir"],
                              oracle_dir=tmp_path / "oracle", recognizer_path=models / "recognizer.pt",
                              recognizer_aug_path=models / "recognizer_aug.pt",
                              stage_reports={k: reports.get(k, tmp_path / "absent.json") for k in (
                                  "prep", "train_recognizer", "train_judges", "train_editor", "train_translator",
                                  "synthesize", "train_recognizer_aug")},
                              render_report=tmp_path / "absent.json", metrics_path=tmp_path / "reports/metrics.json",
                              accuracy_vs_shots_path=tmp_path / "fig/accuracy_vs_shots.png",
                              by_probe_path=tmp_path / "fig/by_probe.png",
                              ablation_path=tmp_path / "fig/ablation_k1.png")

    metrics = evaluate()
    assert json.loads((tmp_path / "reports/metrics.json").read_text()) == metrics
    assert without_timing(evaluate()) == without_timing(metrics)  # deterministic on CPU
    assert missing_paths(metrics, lowshot_paths([1, 5], conditioned=True)) == []
    lowshot = metrics["lowshot"]
    assert lowshot["interval_method"].startswith("paired percentile bootstrap over novel identities")
    assert lowshot["matcher"] in ("ncm", "nn", "matched") and "val identities" in lowshot["matcher_chosen_on"]
    k1 = lowshot["visible"]["k1"]
    assert k1["n_episodes"] == 3 and k1["n_identities"] == lowshot["n_novel_identities"]
    # The oracle enrolls the true variants of the same photos: as many per photo as were planned.
    assert k1["oracle"]["enrolled_per_identity"] == 1 + 5 and k1["oracle_probe"]["enrolled_per_identity"] == 1
    # Condition-matched enrollment (k = 1 only): a photo and at most one variant per identity and probe.
    assert 1 < k1["oracle_cond"]["enrolled_per_identity"] <= 2 and 1 <= k1["gan_cond"]["enrolled_per_identity"] <= 2
    assert "gan_cond" not in lowshot["visible"]["k5"] and "gain_gan_cond_vs_real" not in lowshot["visible"]["k5"]
    val = lowshot["val"]  # the editor's arms on val identities, to choose settings by
    assert val["k1"]["n_identities"] == lowshot["n_val_identities"]
    assert set(val["k1"]) >= {"real", "gan", "gan_probe", "gan_both", "gan_cond"} and "gan_cond" not in val["k5"]
    for k, arm in (("k1", "gan_cond"), ("k1", "gan"), ("k5", "gan_both")):
        assert val[k][f"gain_{arm}_vs_real"]["mean"] == pytest.approx(
            val[k][arm]["top1"]["mean"] - val[k]["real"]["top1"]["mean"], abs=1e-9)
    assert metrics["backbone"]["recognizer_aug"]["lowshot_top1"]["k5"]["real"]["ci95"] is not None
    assert metrics["data"]["thermal_source"] == "synthetic" and "evaluate" in metrics["timing_s"]
    for name in ("accuracy_vs_shots", "by_probe", "ablation_k1"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 1000
    # Without lowshot.conditioned (the default) the opt-in arms are absent, whatever the stores hold.
    tiny = tiny.model_copy(update={"lowshot": tiny.lowshot.model_copy(update={"conditioned": 0})})
    off = evaluate()["lowshot"]
    assert "gan_cond" not in off["visible"]["k1"] and "gan_cond" not in off["val"]["k1"]
    assert off["val"]["k1"]["gan"] == val["k1"]["gan"]
    # A bench's own synthesis run is scored on val exactly as evaluate scores the pipeline's.
    assert rounded(val_gains(tiny, open_prepared(paths["prepared_dir"]), open_variants(paths["out_dir"]),
                             load_embedder(tiny, models / "recognizer.pt", torch.device("cpu")))) == off["val"]
    assert off["visible"]["k1"]["real"] == k1["real"]
