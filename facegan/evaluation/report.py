"""Assembling reports/metrics.json from the stages' own reports (the paths of docs/design.md#metrics)."""

from __future__ import annotations

import json
import math
from pathlib import Path


def read_report(path: Path) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _pick(report: dict | None, keys: tuple[str, ...]) -> dict | None:
    return None if report is None else {k: report[k] for k in keys if k in report}


def rounded(obj, digits: int = 6):
    """Floats rounded for reading; NaN becomes null (JSON has no NaN)."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else round(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def data_section(prep: dict) -> dict:
    thermal = prep.get("thermal_source") or ("synthetic" if prep.get("n_thermal") and prep["source"] == "synthetic"
                                             else "none")
    return {"source": prep["source"], "image_size": prep["image_size"], "n_images": prep["n_images"],
            "n_thermal_images": prep.get("n_thermal", 0),
            "n_identities": {"base": prep["n_base_identities"], "val": prep.get("n_val_identities", 0),
                             "novel": prep["n_novel_identities"]},
            "split_by": prep.get("split_by"), "thermal_source": thermal,
            "novel": prep.get("novel") or {"source": "same", "root": None},
            "n_skipped": prep.get("n_skipped", 0), "skipped_by_reason": prep.get("skipped_by_reason", {})}


def model_sections(reports: dict[str, dict | None]) -> dict:
    return {
        "judges": _pick(reports["train_judges"], ("attr_acc", "attr_balanced_acc", "yaw_mae_deg", "age_mae",
                                                  "identity_eer", "identity_judge", "identity_threshold",
                                                  "identity_far", "quality_auc", "quality_threshold", "quality_pass")),
        "recognizer": _pick(reports["train_recognizer"], ("verification_acc", "tar_at_far_1e-3", "far_achieved",
                                                          "eer", "roc_auc")),
        "editor": _pick(reports["train_editor"], ("edit_success", "quality_pass_rate", "identity", "recon_psnr", "recon_ssim", "kid",
                                                  "kid_features", "age_edits", "truth")),
        "translator": _pick(reports["train_translator"], ("thermal_rank1_raw", "thermal_rank1_translated", "ssim",
                                                          "psnr", "by_k", "thermal_source")),
        "synthesis": _pick(reports["synthesize"], ("generated", "kept", "kept_rate", "target_reached_rate",
                                                   "identity_preserved_rate", "quality_pass_rate", "by_split")),
    }


def timing(reports: dict[str, dict | None], evaluate_seconds: float, render: dict | None) -> dict:
    """Seconds of each stage's last run (a run that resumed a finished checkpoint is short);
    `render`: render's report, None when the faces are not the rendered set."""
    out = {}
    if render is not None and "seconds" in render:
        out["render"] = render["seconds"]
    out |= {stage: r["seconds"] for stage, r in reports.items() if r is not None and "seconds" in r}
    out["evaluate"] = evaluate_seconds
    out["total"] = sum(out.values())
    return out
