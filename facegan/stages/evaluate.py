"""Stage `evaluate`."""

from __future__ import annotations

import json

from facegan.config import Params
from facegan.paths import (ABLATION_K1, ACCURACY_VS_SHOTS, BY_PROBE, EDITOR_REPORT, JUDGES_REPORT, METRICS,
                           ORACLE_VARIANTS, PREP_TIMING, PREPARED, RECOGNIZER, RECOGNIZER_AUG, RECOGNIZER_AUG_REPORT,
                           RECOGNIZER_REPORT, RENDER_ORACLE_TIMING, RENDER_TIMING, RESULTS, SUMMARY, SYNTHESIS_REPORT,
                           SYNTHETIC_VARIANTS, TRANSLATOR_REPORT)

# stage -> the report it writes (its `seconds` is that stage's last run); evaluate copies numbers from them.
STAGE_REPORTS = {"prep": PREP_TIMING, "render_oracle": RENDER_ORACLE_TIMING, "train_recognizer": RECOGNIZER_REPORT,
                 "train_judges": JUDGES_REPORT, "train_editor": EDITOR_REPORT, "train_translator": TRANSLATOR_REPORT,
                 "synthesize": SYNTHESIS_REPORT, "train_recognizer_aug": RECOGNIZER_AUG_REPORT}
DEPS = (PREPARED, SYNTHETIC_VARIANTS, ORACLE_VARIANTS, RECOGNIZER, RECOGNIZER_AUG, RENDER_TIMING,
        *STAGE_REPORTS.values())
OUTS = (RESULTS, ACCURACY_VS_SHOTS, BY_PROBE, ABLATION_K1, METRICS, SUMMARY)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """The low-shot protocol on novel identities; reports/metrics.json and figures."""
    from facegan.evaluation.stage import evaluate_stage
    from facegan.results import write_results
    from facegan.summary import write_summary

    metrics = evaluate_stage(params, prepared_dir=PREPARED, variants_dir=SYNTHETIC_VARIANTS,
                             oracle_dir=ORACLE_VARIANTS, recognizer_path=RECOGNIZER,
                             recognizer_aug_path=RECOGNIZER_AUG, stage_reports=STAGE_REPORTS,
                             render_report=RENDER_TIMING, metrics_path=METRICS,
                             accuracy_vs_shots_path=ACCURACY_VS_SHOTS, by_probe_path=BY_PROBE,
                             ablation_path=ABLATION_K1)
    write_results(METRICS, RESULTS)
    write_summary(METRICS, SUMMARY)
    visible = metrics["lowshot"]["visible"]
    print(json.dumps({k: {key: visible[k][key] for key in ("gain_gan_vs_real", "gain_oracle_vs_real",
                                                           "gain_gan_probe_vs_real") if key in visible[k]}
                      for k in visible if k[1:].isdigit()}))
