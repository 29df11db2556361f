"""`facegan results` and `facegan seeds`: the page says what metrics.json says, verdicts follow the
intervals, a seed sweep's spread is right, bad input gets one line and exit 2."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from facegan import results
from facegan.cli import main
from facegan.results import aggregate_runs, results_markdown, verdict


def iv(mean, low, high):
    return {"mean": mean, "ci95": [low, high]}


def condition(top1, coverage, enrolled=None):
    out = {"top1": top1, "coverage_at_p99": coverage}
    if enrolled is not None:
        out |= {"enrolled_per_identity": enrolled,
                "by_probe": {"eyeglasses": 0.93, "smiling": 0.9301, "old": 0.889, "posed": 0.908, "neutral": None}}
    return out


def visible_k(offset):
    """One k{K} section; `offset` keeps k1's and k5's numbers apart so a test can tell them apart."""
    return {
        "real": condition(iv(0.569 + offset, 0.559 + offset, 0.579 + offset), 0.385, 1.0),
        "classical": condition(iv(0.564 + offset, 0.553 + offset, 0.575 + offset), 0.386, 7.619),
        "gan": condition(iv(0.734 + offset, 0.729 + offset, 0.738 + offset), 0.342, 7.619),
        "gan_probe": condition(iv(0.538 + offset, 0.52 + offset, 0.55 + offset), 0.3, 1.0),
        "oracle": condition(iv(0.77 + offset, 0.76 + offset, 0.78 + offset), 0.4, 7.0),
        "gain_gan_vs_real": iv(0.164 + offset, 0.155 + offset, 0.174 + offset),  # excludes 0: a gain
        "gain_gan_vs_classical": iv(0.012, -0.004, 0.027),                      # straddles 0
        "gain_gan_probe_vs_real": iv(-0.031 - offset, -0.045 - offset, -0.018 - offset),  # below 0: a loss
        "gain_oracle_vs_real": iv(0.2, 0.19, 0.21),
        "gan_share_of_oracle": 0.82,
        "n_identities": 36, "n_probes": 1322,
    }


@pytest.fixture
def metrics():
    k5 = visible_k(0.1)
    k5 |= {"gain_oracle_vs_real": iv(0.01, -0.005, 0.025), "gan_share_of_oracle": None}
    return {
        "data": {"source": "synthetic", "image_size": 64, "n_identities": {"base": 84, "val": 10, "novel": 36},
                 "thermal_source": "synthetic"},
        "recognizer": {"verification_acc": 0.95915, "tar_at_far_1e-3": 0.607999},
        "backbone": {"recognizer": {"verification_acc": 0.95915, "tar_at_far_1e-3": 0.608,
                                    "lowshot_top1": {"k1": {"real": iv(0.569, 0.55, 0.59),
                                                            "gan": iv(0.57, 0.55, 0.59)}}},
                     "recognizer_aug": {"verification_acc": 0.963, "tar_at_far_1e-3": 0.622,
                                        "lowshot_top1": {"k1": {"real": iv(0.552, 0.53, 0.57),
                                                                "gan": iv(0.58, 0.56, 0.60)}}},
                     "gain_aug_vs_recognizer": {"k1": {"real": iv(-0.017, -0.03, -0.004),
                                                       "gan": iv(0.01, -0.01, 0.03)}}},
        "timing_s": {"total": 601.4},
        "lowshot": {
            "interval_method": "paired percentile bootstrap over novel identities and episodes, 2000 resamples",
            "n_novel_identities": 36, "episodes": 10, "matcher": "ncm",
            "matcher_chosen_on": "base-val identities, by top-1 of the gan condition at k=1.",
            "matchers": {
                "ncm": {"val_top1_gan": 0.81, "visible_k1": {"real": iv(0.569, 0.559, 0.579),
                                                             "gan": iv(0.734, 0.729, 0.738),
                                                             "gain_gan_vs_real": iv(0.164, 0.155, 0.174)}},
                "nn": {"val_top1_gan": 0.77, "val_gap_to_best": iv(0.04, 0.01, 0.07),
                       "visible_k1": {"real": iv(0.5, 0.49, 0.51), "gan": iv(0.505, 0.49, 0.52),
                                      "gain_gan_vs_real": iv(0.005, -0.01, 0.02)}},
            },
            "visible": {
                "k1": visible_k(0.0), "k5": k5,
                "ablation_k1": {"eyeglasses": iv(0.021, 0.011, 0.031), "smiling": iv(-0.002, -0.01, 0.006),
                                "young": iv(0.004, -0.001, 0.009), "yaw": iv(-0.012, -0.02, -0.004)},
                "oracle_ablation_k1": {"eyeglasses": iv(0.03, 0.02, 0.04), "smiling": iv(0.0, -0.006, 0.006),
                                       "young": iv(0.01, 0.002, 0.018), "yaw": iv(0.05, 0.04, 0.06)},
            },
            "thermal": {f"k{k}": {
                "raw": condition(iv(0.183, 0.17, 0.196), 0.05), "classical": condition(iv(0.176, 0.16, 0.19), 0.04),
                "translated": condition(iv(0.533, 0.52, 0.546), 0.2), "oracle": condition(iv(0.6, 0.59, 0.61), 0.3),
                "gain_translated_vs_raw": iv(0.35 + k / 100, 0.33 + k / 100, 0.37 + k / 100),
                "gain_translated_vs_classical": iv(0.357, 0.34, 0.374),
                "gain_oracle_vs_raw": iv(0.417, 0.4, 0.43), "n_identities": 36, "n_probes": 661} for k in (1, 5)},
        },
    }


@pytest.fixture
def real_data_metrics(metrics):
    """CelebA-like: no renderer (no oracle anywhere), no thermal photos."""
    m = copy.deepcopy(metrics)
    lowshot = m["lowshot"]
    del lowshot["thermal"], lowshot["visible"]["oracle_ablation_k1"]
    for k in ("k1", "k5"):
        section = lowshot["visible"][k]
        del section["oracle"]
        section |= {"gain_oracle_vs_real": None, "gan_share_of_oracle": None}
    m["data"] |= {"source": "celeba", "thermal_source": None}
    return m


def section_of(markdown, title):
    """The text from heading `title` to the next heading of the same or a higher level."""
    level = title.split(" ")[0]
    start = markdown.index(title + "\n")
    rest = markdown[start + len(title):]
    ends = [i for i in (rest.find(f"\n{level} "), rest.find("\n## ")) if i >= 0]
    return rest[:min(ends)] if ends else rest


@pytest.mark.parametrize("interval, expected", [
    (iv(0.1, 0.05, 0.15), "gain"), (iv(0.01, -0.01, 0.03), "no clear effect"), (iv(-0.1, -0.15, -0.05), "loss"),
    (iv(0.02, 0.0, 0.04), "no clear effect"),  # an interval that touches 0 does not exclude it
    ({"mean": 0.1, "ci95": None}, "no interval"), (None, "no interval"),
])
def test_verdict_follows_the_interval(interval, expected):
    assert verdict(interval) == expected


def test_visible_tables_carry_the_numbers_and_verdicts(metrics):
    k1 = section_of(results_markdown(metrics), "### k=1 (36 identities, 1322 probes)")
    assert "| real | 0.569 | [0.559, 0.579] | 0.385 | 1.000 |" in k1
    assert "| gan | 0.734 | [0.729, 0.738] | 0.342 | 7.619 |" in k1
    assert "| gan vs real | +0.164 | [0.155, 0.174] | gain |" in k1
    assert "| gan vs classical | +0.012 | [-0.004, 0.027] | no clear effect |" in k1
    assert "| gan_probe vs real | -0.031 | [-0.045, -0.018] | loss |" in k1
    assert "| real | 0.930 | 0.930 | 0.889 | 0.908 | — |" in k1  # by probe; a null is a dash, not 0
    k5 = section_of(results_markdown(metrics), "### k=5 (36 identities, 1322 probes)")
    assert "| gan vs real | +0.264 | [0.255, 0.274] | gain |" in k5


def test_oracle_line_gives_the_share_or_why_not(metrics, real_data_metrics):
    page = results_markdown(metrics)
    k1 = section_of(page, "### k=1 (36 identities, 1322 probes)")
    assert "GAN variants reach 0.820 of the oracle's gain (+0.164 of +0.200)." in k1
    k5 = section_of(page, "### k=5 (36 identities, 1322 probes)")
    assert "not reported: the oracle's gain interval [-0.005, 0.025] covers 0." in k5
    assert "reach" not in k5
    assert "No oracle here" in results_markdown(real_data_metrics)


def test_ablation_thermal_matchers_and_method(metrics):
    page = results_markdown(metrics)
    ablation = section_of(page, "### Ablation at k=1: one kind of GAN variant alone")
    assert "| eyeglasses alone vs real | +0.021 | [0.011, 0.031] | gain |" in ablation
    assert "| yaw alone vs real | -0.012 | [-0.020, -0.004] | loss |" in ablation
    oracle = section_of(page, "### Ablation at k=1: one kind of the renderer's true variant alone")
    assert "| yaw alone vs real | +0.050 | [0.040, 0.060] | gain |" in oracle
    thermal = section_of(page, "## Thermal probes")
    assert "| translated | 0.533 | [0.520, 0.546] | 0.200 |" in thermal
    thermal_k1 = section_of(thermal, "### k=1 (36 identities, 661 probes)")
    assert "| translated vs raw | +0.360 | [0.340, 0.380] | gain |" in thermal_k1
    matchers = section_of(page, "## Matchers")
    assert ("| nn | 0.770 | +0.040 [0.010, 0.070] | 0.500 | 0.505 | +0.005 | [-0.010, 0.020] | no clear effect |"
            in matchers)
    assert "Rule used for every table: **ncm**, chosen on base-val identities, by top-1" in matchers
    assert "paired percentile bootstrap over novel identities and episodes, 2000 resamples" in page
    assert "84 base, 10 val, 36 novel" in page


def test_backbone_rows_and_the_paired_aug_gain(metrics):
    page = results_markdown(metrics)
    assert "| recognizer_aug | 0.963 | 0.622 | 0.552 [0.530, 0.570] | 0.580 [0.560, 0.600] |" in page
    assert "| k1 real, recognizer_aug vs recognizer | -0.017 | [-0.030, -0.004] | loss |" in page
    assert "| k1 gan, recognizer_aug vs recognizer | +0.010 | [-0.010, 0.030] | no clear effect |" in page


def test_where_list_is_sorted_by_verdict(metrics):
    where = section_of(results_markdown(metrics), "## Where gains are and are not")
    gains, rest = where.split("**No clear effect", 1)
    unclear, losses = rest.split("**Losses", 1)
    assert "- visible k=1, gan vs real: +0.164 [0.155, 0.174]" in gains
    assert "- thermal k=5, translated vs raw: +0.400 [0.380, 0.420]" in gains
    assert "- visible k=1, gan vs classical: +0.012 [-0.004, 0.027]" in unclear
    assert "- ablation k=1, smiling alone vs real" in unclear
    assert "- visible k=1, gan_probe vs real: -0.031" in losses
    assert "gan_probe" not in gains + unclear and "gan vs real" not in unclear + losses


def test_missing_sections_do_not_crash(real_data_metrics):
    page = results_markdown(real_data_metrics)
    assert "no lowshot.thermal k{K} sections" in page and "one kind of the renderer's" not in page
    assert "| gan vs real | +0.164 | [0.155, 0.174] | gain |" in page
    assert "| oracle vs real | — | — | no interval |" in page
    for sparse in ({}, {"lowshot": None, "data": None}, {"lowshot": {"visible": {"k1": {}}, "matchers": {"ncm": None}}},
                   {"lowshot": {"visible": {"k1": {"real": {"top1": None}, "gain_gan_vs_real": None}}}}):
        assert results_markdown(sparse).startswith("# Results")


def run_with(gain, share=None, thermal=None):
    m = {"lowshot": {"visible": {"k1": {"gain_gan_vs_real": iv(gain, gain - 0.01, gain + 0.01),
                                        "gan_share_of_oracle": share}}}}
    if thermal is not None:
        m["lowshot"]["thermal"] = {"k1": {"gain_translated_vs_raw": iv(thermal, 0, 1)}}
    return m


def test_aggregate_runs_mean_sd_and_a_repeated_seed(metrics):
    runs = [(1, run_with(0.20, share=0.7)), (0, run_with(0.10, share=0.5, thermal=0.3)),
            (1.0, run_with(0.99)),  # exp_show's workspace row repeats a run, with the seed as a float
            (2, run_with(0.30, thermal=0.5))]
    summary = aggregate_runs(runs)
    assert summary["n_runs"] == 3 and summary["seeds"] == [0, 1, 2] and summary["repeated_seeds_dropped"] == [1]
    gain = summary["metrics"]["visible.k1.gain_gan_vs_real"]
    assert gain["mean"] == pytest.approx(0.2) and gain["sd"] == pytest.approx(0.1)
    assert (gain["min"], gain["max"], gain["n"]) == (pytest.approx(0.1), pytest.approx(0.3), 3)
    assert [r["seed"] for r in gain["runs"]] == [0, 1, 2]
    share = summary["metrics"]["visible.k1.gan_share_of_oracle"]  # null in seed 2: left out, not a 0
    assert share["n"] == 2 and share["mean"] == pytest.approx(0.6)
    thermal = summary["metrics"]["thermal.k1.gain_translated_vs_raw"]
    assert thermal["mean"] == pytest.approx(0.4) and thermal["sd"] == pytest.approx(0.02 ** 0.5)


def test_a_claim_across_seeds_counts_each_seeds_own_interval():
    """A mean across seeds can sit above zero while single seeds do not: the sweep says in how many
    seeds the gain's own interval is above zero, across it or below it."""
    runs = [(0, run_with(0.011)), (1, run_with(-0.005)), (2, run_with(0.02))]
    runs[1][1]["lowshot"]["visible"]["k1"]["gain_gan_vs_real"]["ci95"] = [-0.017, 0.007]
    runs[2][1]["lowshot"]["visible"]["k1"]["gain_gan_vs_real"]["ci95"] = [-0.04, -0.001]  # a planted odd one
    gain = aggregate_runs(runs)["metrics"]["visible.k1.gain_gan_vs_real"]
    assert gain["verdicts"] == {"gain": 1, "no clear effect": 1, "loss": 1}
    assert [r["ci95"] for r in gain["runs"]] == [pytest.approx([0.001, 0.021]), [-0.017, 0.007], [-0.04, -0.001]]
    table = results.seeds_markdown(aggregate_runs(runs))
    assert ("| gain 1, no clear effect 1, loss 1 | 0: +0.011 [+0.001, +0.021], 1: -0.005 [-0.017, +0.007], "
            "2: +0.020 [-0.040, -0.001] |") in table
    no_interval = aggregate_runs([(0, {"lowshot": {"visible": {"k1": {"gan_share_of_oracle": 0.3}}}})])
    assert "verdicts" not in no_interval["metrics"]["visible.k1.gan_share_of_oracle"]  # a share has none


def test_the_training_side_gain_is_a_seeds_headline_from_files_and_from_exp_show(metrics):
    """recognizer_aug against the recognizer (backbone) is a claim of the pipeline too: summary.json
    carries it with its interval, so a sweep read from dvc exp show judges it seed by seed."""
    from facegan.summary import build_summary

    summary = build_summary(metrics)
    assert summary["backbone"] == {"gain_aug_vs_recognizer": {"k1": {
        "real": {"mean": -0.017, "lo": -0.03, "hi": -0.004}, "gan": {"mean": 0.01, "lo": -0.01, "hi": 0.03}}}}
    row = {"State": None, "seed": 1.0} | {
        f"reports/summary.json:backbone.gain_aug_vs_recognizer.k1.real.{leaf}": v
        for leaf, v in (("mean", 0.02), ("lo", 0.01), ("hi", 0.03))} | {
        "reports/metrics.json:backbone.gain_aug_vs_recognizer.k1.real.mean": 0.02,
        "reports/metrics.json:backbone.recognizer.verification_acc": 0.9}  # not a headline: left out
    nested = results._metrics_from_row(row)
    assert nested == {"backbone": {"gain_aug_vs_recognizer": {"k1": {"real": {"mean": 0.02, "lo": 0.01, "hi": 0.03}}}}}
    gain = aggregate_runs([(0, metrics), (1, nested)])["metrics"]["backbone.k1.gain_aug_vs_recognizer.real"]
    assert [r["value"] for r in gain["runs"]] == [-0.017, 0.02] and gain["verdicts"] == {"gain": 1, "loss": 1}


def test_the_summary_carries_the_editors_val_gains_without_their_top1(metrics):
    """dvc exp show lists summary.json: the val identities' gains are what editor settings are compared by."""
    from facegan.summary import build_summary, summary_table

    assert "val" not in build_summary(metrics)  # null or absent: no val identities, no section
    val = {"real": {"top1": iv(0.8, 0.75, 0.85)}, "gan": {"top1": iv(0.82, 0.77, 0.87)},
           "gain_gan_vs_real": iv(0.02, -0.004, 0.041), "gain_gan_probe_vs_real": iv(-0.01, -0.03, 0.01),
           "n_identities": 36}
    summary = build_summary(metrics | {"lowshot": metrics["lowshot"] | {"val": {"k1": val}}})
    assert summary["val"] == {"k1": {"gain_gan_vs_real": {"mean": 0.02, "lo": -0.004, "hi": 0.041},
                                     "gain_gan_probe_vs_real": {"mean": -0.01, "lo": -0.03, "hi": 0.01}}}
    line = next(r for r in summary_table(summary).splitlines() if r.startswith("val.k1.gain_gan_vs_real "))
    assert line.endswith(" +0.020  [-0.004, +0.041]")
    page = results.results_markdown(metrics | {"lowshot": metrics["lowshot"] | {"val": {"k1": val}}})
    section = section_of(page, "## Val identities (to choose settings by)")
    assert "| gan vs real | +0.020 | [-0.004, 0.041] | no clear effect |" in section
    assert "val identities (to choose" not in results.results_markdown(metrics).lower()
    # The report's list of gains is the novel identities' alone.
    assert "gan vs real: +0.020" not in section_of(page, "## Where gains are and are not")


def test_aggregate_runs_keeps_every_unknown_seed_and_all_headlines(metrics):
    summary = aggregate_runs([(None, run_with(0.1)), (None, run_with(0.3)), (5, metrics)])
    assert summary["n_runs"] == 3 and summary["repeated_seeds_dropped"] == []
    assert summary["metrics"]["visible.k1.gain_gan_vs_real"]["mean"] == pytest.approx((0.1 + 0.3 + 0.164) / 3)
    assert summary["metrics"]["visible.k5.gain_oracle_vs_real"] == {
        "runs": [{"seed": 5, "value": 0.01, "ci95": [-0.005, 0.025]}], "n": 1, "mean": 0.01, "sd": None,
        "min": 0.01, "max": 0.01, "verdicts": {"no clear effect": 1}}
    assert "visible.k5.gan_share_of_oracle" not in summary["metrics"]
    assert len([n for n in summary["metrics"] if n.startswith("thermal.")]) == 6  # 3 gains x 2 shots


# Rows as dvc.api.exp_show() gives them (DVC 3.67): flat columns, numbers as floats, lists and
# nulls dropped, None for a queued experiment, '!' where the metrics file could not be read; a
# running experiment shows the metrics its copy of the workspace started with (the commit's).
EXP_ROWS = [
    {"Experiment": None, "rev": "workspace", "typ": "baseline", "State": None, "seed": 0.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": 0.1, "lowshot.visible.k1.n_probes": 1322.0,
     "visible.k1.gain_gan_vs_real.lo": 0.05, "visible.k1.gain_gan_vs_real.hi": 0.15,  # summary.json's
     "reports/metrics.json:judges.identity_eer": 0.05, "facegan/evaluation": "4d98cbba85d3e9a67ad615fa1d887bd7"},
    {"Experiment": None, "rev": "main", "typ": "baseline", "State": None, "seed": 0.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": 0.1},
    {"Experiment": "dormy-dean", "rev": "e8acb97", "typ": "branch_commit", "State": None, "params.yaml:seed": 1.0,
     "reports/metrics.json:lowshot.visible.k1.gain_gan_vs_real.mean": 0.2,
     "reports/summary.json:visible.k1.gain_gan_vs_real.lo": -0.1,
     "reports/summary.json:visible.k1.gain_gan_vs_real.hi": 0.5,
     "reports/other.json:lowshot.visible.k1.gain_gan_vs_real.mean": 9.0},
    {"Experiment": "riled-stob", "rev": "2d6919a", "typ": "branch_base", "State": "Queued", "seed": 2.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": None},
    {"Experiment": "misty-curs", "rev": "575b992", "typ": "branch_base", "State": None, "seed": 3.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": "!"},
    {"Experiment": "zesty-cwms", "rev": "8d6ce75", "typ": "branch_commit", "State": "Running", "seed": 4.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": 0.1},
    {"Experiment": "lurid-sham", "rev": "db6ed22", "typ": "branch_base", "State": "Failed", "seed": 5.0,
     "lowshot.visible.k1.gain_gan_vs_real.mean": 0.1},
]


def test_experiment_rows_become_runs(monkeypatch):
    import dvc.api

    monkeypatch.setattr(dvc.api, "exp_show", lambda repo=None, revs=None: copy.deepcopy(EXP_ROWS))
    runs = results.runs_from_experiments()
    # The queued and the unreadable rows have no metrics; the running and the failed ones show the commit's.
    assert [seed for seed, _ in runs] == [0, 0, 1]
    assert runs[0][1] == {"lowshot": {"visible": {"k1": {"gain_gan_vs_real": {"mean": 0.1, "lo": 0.05, "hi": 0.15},
                                                         "n_probes": 1322.0}}}}
    assert runs[2][1]["lowshot"]["visible"]["k1"]["gain_gan_vs_real"]["mean"] == 0.2  # not other.json's
    summary = aggregate_runs(runs)
    assert summary["seeds"] == [0, 1]
    assert summary["metrics"]["visible.k1.gain_gan_vs_real"]["mean"] == pytest.approx(0.15)
    assert summary["metrics"]["visible.k1.gain_gan_vs_real"]["verdicts"] == {"gain": 1, "no clear effect": 1}
    assert json.dumps(summary["seeds"]) == "[0, 1]"  # exp_show's 1.0 is written as seed 1


def test_a_sweep_of_an_earlier_commit_is_read_with_rev_and_one_run_warns(monkeypatch, tmp_path, capsys):
    import dvc.api

    asked = []
    monkeypatch.setattr(dvc.api, "exp_show", lambda repo=None, revs=None: asked.append(revs) or copy.deepcopy(
        EXP_ROWS[:2] if revs is None else EXP_ROWS))
    results.write_seeds(out_path=tmp_path / "seeds.json")
    assert "only one run found for HEAD" in capsys.readouterr().err and asked == [None]
    results.write_seeds(out_path=tmp_path / "seeds.json", rev="a710067")
    assert asked[-1] == "a710067" and json.loads((tmp_path / "seeds.json").read_text())["seeds"] == [0, 1]


def test_experiments_table_shows_the_summary_not_the_params(monkeypatch):
    """`facegan summary --exps`: exp_show names a column by its file only where two files share the
    name, so params.yaml's bare `editor.steps` must not pass for a number of summary.json's."""
    import dvc.api

    from facegan.summary import experiments_table

    rows = [{"Experiment": None, "rev": "workspace", "State": None, "seed": 0.0, "editor.steps": 600.0,
             "synthesis.base_variants_per_image": 2.0, "editor.edit_success.eyeglasses": 0.9,
             "visible.k1.gain_gan_vs_real.mean": 0.1, "visible.k1.gain_gan_vs_real.lo": 0.05,
             "visible.k1.gain_gan_vs_real.hi": 0.15, "backbone.gain_aug_vs_recognizer.k5.real.mean": 0.025,
             "reports/summary.json:minutes.total": 12.2, "reports/metrics.json:minutes.total": 999.0}]
    monkeypatch.setattr(dvc.api, "exp_show", lambda repo=None, revs=None: copy.deepcopy(rows))
    table = experiments_table()
    names = [line.split()[0] for line in table.splitlines()[1:]]
    assert names == ["editor.edit_success.eyeglasses", "visible.k1.gain_gan_vs_real",
                     "backbone.gain_aug_vs_recognizer.k5.real", "minutes.total"]
    assert "+0.025" in table and "12.200" in table and "999" not in table


@pytest.mark.bad_input
def test_results_without_metrics_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["results"]) == 2
    assert capsys.readouterr().err == "error: results: reports/metrics.json not found; run dvc repro\n"
    assert not (tmp_path / "reports" / "results.md").exists()


@pytest.mark.bad_input
def test_seeds_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    for name in ("missing.json", "bad.json"):
        assert main(["seeds", "--metrics", str(tmp_path / name), "--out", str(tmp_path / "seeds.json")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: seeds: ") and err.count("\n") == 1
    assert not (tmp_path / "seeds.json").exists()


def test_results_command_writes_the_page(tmp_path, metrics, capsys):
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "r" / "results.md"
    assert main(["results", "--metrics", str(tmp_path / "metrics.json"), "--out", str(out)]) == 0
    assert out.read_text() == results_markdown(metrics)


def test_seeds_command_reads_each_files_seed(tmp_path, capsys):
    paths = []
    for name, seed, gain in (("a", 0, 0.1), ("b", 1, 0.3), ("c", None, 0.5)):
        (tmp_path / name).mkdir()
        if seed is not None:
            (tmp_path / name / "params.yaml").write_text(yaml.safe_dump({"seed": seed, "data": {"source": "x"}}))
        (tmp_path / name / "metrics.json").write_text(json.dumps(run_with(gain)))
        paths.append(str(tmp_path / name / "metrics.json"))
    assert main(["seeds", "--metrics", *paths, "--out", str(tmp_path / "out" / "seeds.json")]) == 0
    summary = json.loads((tmp_path / "out" / "seeds.json").read_text())
    assert summary["seeds"] == [0, 1, None]
    assert summary["metrics"]["visible.k1.gain_gan_vs_real"]["mean"] == pytest.approx(0.3)
    row = ("| visible.k1.gain_gan_vs_real | 3 | +0.300 | 0.200 | +0.100 | +0.500 | gain 3 | "
           "0: +0.100 [+0.090, +0.110], 1: +0.300 [+0.290, +0.310], None: +0.500 [+0.490, +0.510] |")
    assert row in capsys.readouterr().out
    assert row in (tmp_path / "out" / "seeds.md").read_text()


@pytest.mark.slow
def test_seeds_over_a_real_dvc_exp_sweep(tmp_path):
    """The exp_show row format as the installed DVC really gives it (a few seconds of `dvc exp run`)."""
    env = os.environ | {"DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def sh(*cmd):
        return subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout

    sh("git", "init", "-q")
    sh("git", "config", "user.email", "t@t")
    sh("git", "config", "user.name", "t")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "params.yaml").write_text("seed: 0\n")
    (tmp_path / "make.py").write_text(
        "import json, os, yaml\nseed = yaml.safe_load(open('params.yaml'))['seed']\n"
        "os.makedirs('reports', exist_ok=True)\n"
        "json.dump({'lowshot': {'visible': {'k1': {'gain_gan_vs_real': {'mean': seed / 10, 'ci95': [0, 1]},"
        " 'gan_share_of_oracle': None}}}}, open('reports/metrics.json', 'w'))\n")
    (tmp_path / "dvc.yaml").write_text(
        f"stages:\n  make:\n    cmd: {sys.executable} make.py\n    deps: [make.py]\n    params: [seed]\n"
        "    metrics:\n      - reports/metrics.json:\n          cache: false\n")
    sh(sys.executable, "-m", "dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "base")
    for seed in (1, 2):
        sh(sys.executable, "-m", "dvc", "exp", "run", "-q", "-S", f"seed={seed}")
    out = sh(sys.executable, "-m", "facegan.cli", "seeds")
    summary = json.loads((tmp_path / "reports" / "seeds.json").read_text())
    assert summary["seeds"] == [0, 1, 2] and summary["repeated_seeds_dropped"] == [2]  # workspace = last exp
    assert summary["metrics"]["visible.k1.gain_gan_vs_real"]["mean"] == pytest.approx(0.1)
    assert "| visible.k1.gain_gan_vs_real | 3 |" in out
