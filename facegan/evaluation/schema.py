"""The metric paths reports/metrics.json must carry (DESIGN §4), for tests and users' checks."""

from __future__ import annotations

from collections.abc import Iterable

from facegan.lowshot.episodes import PROBE_CONDITIONS

CONDITIONS = ("real", "classical", "gan", "gan_classical")


def required_paths(shots: Iterable[int], attributes: Iterable[str] = ("eyeglasses", "smiling", "young", "yaw"),
                   stages: Iterable[str] = ("prep", "train_recognizer", "train_judges", "train_editor",
                                            "train_translator", "synthesize", "train_recognizer_aug",
                                            "evaluate")) -> list[str]:
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
    for k in shots:
        for c in CONDITIONS:
            paths += [f"lowshot.k{k}.{c}.top1.mean", f"lowshot.k{k}.{c}.top1.ci95", f"lowshot.k{k}.{c}.coverage_at_p99"]
            paths += [f"lowshot.k{k}.by_probe.{c}.{p}" for p in PROBE_CONDITIONS]
        for gain in ("gain_gan_vs_real", "gain_gan_vs_classical"):
            paths += [f"lowshot.k{k}.{gain}.mean", f"lowshot.k{k}.{gain}.ci95"]
        for model in ("recognizer", "recognizer_aug"):
            paths += [f"backbone.{model}.lowshot_top1.k{k}.real", f"backbone.{model}.lowshot_top1.k{k}.gan"]
    paths += [f"lowshot.ablation_k1.{a}.mean" for a in attributes]
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
