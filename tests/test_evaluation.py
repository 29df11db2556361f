"""Evaluation: enrollment conditions, paired gains, the evaluate stage and metrics.json's paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facegan.evaluation.enrollment import Condition, NovelVariants, ablation_conditions, main_conditions
from facegan.evaluation.lowshot_run import EpisodeScorer, paired_gain, summarize_condition
from facegan.evaluation.schema import missing_paths, required_paths
from facegan.lowshot.episodes import Episode

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def unit(*v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def toy_world():
    """Two identities. Each enrolls from a neutral photo; its smiling probes look like its smiling
    variant, and both identities' neutral photos look alike, so only the variant separates them.
    A thermal probe of identity 0 looks like identity 1 unless translated."""
    index = pd.DataFrame({
        "identity": [0, 1, 0, 1, 0, 1, 0],
        "domain": ["visible"] * 6 + ["thermal"],
        "eyeglasses": [0] * 7, "smiling": [0, 0, 1, 1, 0, 0, 0], "young": [1] * 7,
        "yaw": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    })
    store = np.stack([unit(1, 0.10, 0), unit(1, -0.10, 0),  # gallery photos: nearly the same
                      unit(0.5, -0.2, 1), unit(0.5, -1, 0),  # smiling probes; 0's is nearer 1's photo
                      unit(1, 0.12, 0), unit(1, -0.12, 0),  # neutral probes
                      unit(0.5, -1, 0.1)])  # thermal probe of 0, nearer 1's photo
    variants = pd.DataFrame({"split": ["novel"] * 3, "kind": ["smiling", "smiling", "thermal"],
                             "kept": [True, True, False], "source_row": [0, 1, 0], "input_row": [0, 1, 6]})
    variant_emb = np.stack([unit(0, 0, 1), unit(0, -1, 0), unit(1, 0.5, 0.3)])
    return index, store, variants, variant_emb


def test_gan_variants_and_probe_translation_change_the_answer_and_classical_matches_their_count():
    index, store, variants, variant_emb = toy_world()
    nv = NovelVariants(variants)
    assert nv.edit_kinds == ("smiling",) and nv.translation_of == {6: 2}
    assert list(nv.kept(0, ("smiling",))) == [0] and len(nv.kept(0, ("eyeglasses",))) == 0

    class Classical:  # a stand-in: each classical variant is the photo itself
        def embeddings(self, wanted):
            return np.stack([store[row] for row, _ in wanted])

    scorer = EpisodeScorer(index, store, variant_emb, nv, Classical(), max_yaw=10)
    episode = Episode(gallery={0: np.array([0]), 1: np.array([1])}, probes=np.array([2, 3, 4, 5, 6]))
    conds = main_conditions(nv.edit_kinds, translate=True)
    real, classical, gan = (scorer.score(episode, conds[c]) for c in ("real", "classical", "gan"))
    assert real.by_probe["smiling"] == 0.5 and gan.by_probe["smiling"] == 1.0
    assert real.by_probe["thermal"] == 0.0 and gan.by_probe["thermal"] == 1.0
    assert gan.top1 > real.top1 and gan.visible_top1 == 1.0
    assert classical.enrolled_per_identity == gan.enrolled_per_identity == 2
    only_thermal = scorer.score(episode, ablation_conditions(nv.edit_kinds, True)["thermal"])
    assert only_thermal.by_probe["thermal"] == 1.0 and only_thermal.enrolled_per_identity == 1
    assert scorer.score(episode, Condition()).top1 == real.top1


def test_paired_gain_is_over_the_same_episodes():
    index, store, variants, variant_emb = toy_world()
    scorer = EpisodeScorer(index, store, variant_emb, NovelVariants(variants), None, max_yaw=10)
    episode = Episode(gallery={0: np.array([0]), 1: np.array([1])}, probes=np.array([2, 3, 4, 5, 6]))
    same = [scorer.score(episode, Condition())] * 3
    gain = paired_gain(same, same)
    assert gain["mean"] == 0 and gain["ci95"] == [0, 0]
    summary = summarize_condition(same)
    assert summary["top1"]["ci95"][0] <= summary["top1"]["mean"] <= summary["top1"]["ci95"][1]


def test_missing_paths_names_what_is_absent():
    metrics = {"data": {"source": "synthetic", "thermal_source": None}}
    missing = missing_paths(metrics, ["data.source", "data.thermal_source", "data.image_size", "lowshot.k1.gan"])
    assert missing == ["data.image_size", "lowshot.k1.gan"]
    assert "lowshot.k5.gain_gan_vs_classical.ci95" in required_paths([1, 5])


def without_timing(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "timing_s"}


def test_evaluate_stage_writes_every_lowshot_path_and_the_figures(synthesized, tmp_path):
    from facegan.evaluation.stage import evaluate_stage
    from facegan.recognition.stage import train_recognizer_aug_stage

    params, paths, _ = synthesized
    models = tmp_path / "models"
    tiny = params.model_copy(update={"recognizer": params.recognizer.model_copy(
        update={"width": 4, "embedding_dim": 16, "epochs": 1, "batch_size": 32})})
    train_recognizer_aug_stage(tiny, paths["prepared_dir"], paths["out_dir"], models / "recognizer_aug.pt",
                               tmp_path / "reports/recognizer_aug.json", None, tmp_path / "ckpt")
    lowshot = tiny.lowshot.model_copy(update={"episodes": 3})
    tiny = tiny.model_copy(update={"lowshot": lowshot})
    reports = {"synthesize": paths["report_path"], "train_recognizer_aug": tmp_path / "reports/recognizer_aug.json"}
    def evaluate():
        return evaluate_stage(tiny, paths["prepared_dir"], paths["out_dir"], models / "recognizer.pt",
                              models / "recognizer_aug.pt", tmp_path / "reports/metrics.json", tmp_path / "fig",
                              stage_reports={k: reports.get(k, tmp_path / "absent.json") for k in (
                                  "prep", "train_recognizer", "train_judges", "train_editor", "train_translator",
                                  "synthesize", "train_recognizer_aug")})

    metrics = evaluate()
    assert json.loads((tmp_path / "reports/metrics.json").read_text()) == metrics
    assert without_timing(evaluate()) == without_timing(metrics)  # deterministic on CPU
    wanted = [p for p in required_paths([1, 5]) if p.split(".")[0] in ("data", "lowshot", "synthesis")]
    wanted = [p for p in wanted if not p.startswith("backbone.") or "lowshot_top1" in p]
    assert missing_paths(metrics, wanted) == []
    k1 = metrics["lowshot"]["k1"]
    assert k1["n_episodes"] == 3
    for cond in ("real", "classical", "gan", "gan_classical"):
        lo, hi = k1[cond]["top1"]["ci95"]
        assert lo <= k1[cond]["top1"]["mean"] <= hi and 0 <= k1[cond]["coverage_at_p99"] <= 1
    assert metrics["backbone"]["recognizer_aug"]["lowshot_top1"]["k5"]["real"] is not None
    assert metrics["data"]["thermal_source"] == "synthetic" and "evaluate" in metrics["timing_s"]
    for name in ("accuracy_vs_shots", "by_probe", "ablation_k1"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 1000
