"""The metric paths reports/metrics.json must carry (docs/design.md#metrics), for tests and users' checks."""

from __future__ import annotations

from collections.abc import Iterable

from facegan.lowshot.episodes import CONDITIONED_K, VISIBLE_PROBES
from facegan.lowshot.scoring import MATCHERS

VISIBLE_CONDITIONS = ("real", "classical", "gan", "gan_classical", "gan_probe", "gan_both")
VISIBLE_GAINS = ("gain_gan_vs_real", "gain_gan_vs_classical", "gain_gan_probe_vs_real", "gain_gan_both_vs_real")
VAL_GAINS = ("gain_gan_vs_real", "gain_gan_probe_vs_real", "gain_gan_both_vs_real")
THERMAL_CONDITIONS = ("raw", "classical", "translated")
THERMAL_GAINS = ("gain_translated_vs_raw", "gain_translated_vs_classical")


def _interval(path: str) -> list[str]:
    return [f"{path}.mean", f"{path}.ci95"]


def lowshot_paths(shots: Iterable[int], attributes: Iterable[str] = ("eyeglasses", "smiling", "young", "yaw"),
                  oracle: bool = True, thermal: bool = True, conditioned: bool = False, val: bool = True) -> list[str]:
    """The lowshot paths of the evaluation issue: two tasks, oracle (synthetic), matchers, intervals;
    `conditioned`: the condition-matched arms (lowshot.conditioned); `val`: the editor's arms on val
    identities (absent when split.val_identities is 0)."""
    shots = list(shots)
    paths = ["lowshot.interval_method", "lowshot.n_novel_identities", "lowshot.episodes", "lowshot.matcher",
             "lowshot.matcher_chosen_on"]
    paths += [p for m in MATCHERS for p in _interval(f"lowshot.matchers.{m}.visible_k1.gan")]
    conditions = VISIBLE_CONDITIONS + (("oracle",) if oracle else ())
    gains = VISIBLE_GAINS + (("gain_oracle_vs_real",) if oracle else ())
    for k in shots:
        block = f"lowshot.visible.k{k}"
        matched = conditioned and k == CONDITIONED_K  # condition-matched enrollment: one shot count
        for c in conditions + ((("gan_cond", "oracle_cond") if oracle else ("gan_cond",)) if matched else ()):
            paths += _interval(f"{block}.{c}.top1") + [f"{block}.{c}.coverage_at_p99"]
            paths += [f"{block}.{c}.by_probe.{p}" for p in VISIBLE_PROBES]
        paths += [p for g in gains for p in _interval(f"{block}.{g}")]
        paths += [f"{block}.gan_share_of_oracle"] if oracle else []
        if matched:
            paths += [p for g in ("gain_gan_cond_vs_real", "gain_gan_cond_vs_classical")
                      + (("gain_oracle_cond_vs_real",) if oracle else ()) for p in _interval(f"{block}.{g}")]
            paths += [f"{block}.gan_cond_share_of_oracle_cond"] if oracle else []
        if thermal:
            th = f"lowshot.thermal.k{k}"
            arms = THERMAL_CONDITIONS + (("oracle",) if oracle else ())
            paths += [p for c in arms for p in _interval(f"{th}.{c}.top1")]
            paths += [p for g in THERMAL_GAINS for p in _interval(f"{th}.{g}")]
    paths += [p for a in attributes for p in _interval(f"lowshot.visible.ablation_k1.{a}")]
    if val:
        paths += [p for k in shots for g in VAL_GAINS for p in _interval(f"lowshot.val.k{k}.{g}")]
        paths += _interval(f"lowshot.val.k{CONDITIONED_K}.gain_gan_cond_vs_real") if conditioned else []
    return paths


def required_paths(shots: Iterable[int], attributes: Iterable[str] = ("eyeglasses", "smiling", "young", "yaw"),
                   stages: Iterable[str] = ("prep", "render_oracle", "train_recognizer", "train_judges",
                                            "train_editor", "train_translator", "synthesize",
                                            "train_recognizer_aug", "evaluate"),
                   oracle: bool = True, thermal: bool = True) -> list[str]:
    shots = list(shots)
    paths = ["data.source", "data.image_size", "data.n_images", "data.n_identities.base",
             "data.n_identities.novel", "data.thermal_source",
             *(f"judges.attr_acc.{a}" for a in ("eyeglasses", "smiling", "young")),
             "judges.yaw_mae_deg", "judges.identity_eer", "recognizer.verification_acc",
             "recognizer.tar_at_far_1e-3",
             *(f"editor.edit_success.{a}" for a in ("eyeglasses", "smiling", "young", "yaw")),
             "editor.identity.mean_similarity", "editor.identity.preserved_rate", "editor.recon_psnr",
             "editor.recon_ssim", "editor.kid", "translator.thermal_rank1_raw",
             "translator.thermal_rank1_translated", "translator.ssim", "synthesis.generated", "synthesis.kept",
             *(f"synthesis.kept_rate.{a}" for a in ("eyeglasses", "smiling", "young", "yaw")),
             *(f"timing_s.{s}" for s in stages)]
    paths += lowshot_paths(shots, attributes, oracle, thermal)
    for k in shots:
        for model in ("recognizer", "recognizer_aug"):
            paths += [p for c in ("real", "gan") for p in _interval(f"backbone.{model}.lowshot_top1.k{k}.{c}")]
    paths += [f"backbone.{m}.{v}" for m in ("recognizer", "recognizer_aug") for v in ("verification_acc",
                                                                                      "tar_at_far_1e-3")]
    return paths


def missing_paths(metrics: dict, paths: Iterable[str]) -> list[str]:
    """The paths absent from `metrics` (a value of null counts as present: e.g. no thermal probes)."""
    missing = []
    for path in paths:
        node = metrics
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                missing.append(path)
                break
            node = node[key]
    return missing
