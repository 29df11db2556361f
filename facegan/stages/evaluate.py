"""Stage `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

from facegan.config import Params


def run(params: Params) -> None:
    """The low-shot protocol on novel identities; reports/metrics.json and figures."""
    from facegan.evaluation.stage import evaluate_stage
    from facegan.results import write_results
    from facegan.summary import write_summary

    metrics = evaluate_stage(params)
    write_results(Path("reports/metrics.json"), Path("reports/results.md"))  # the README links this page
    write_summary(Path("reports/metrics.json"), Path("reports/summary.json"))  # what dvc metrics show prints
    visible = metrics["lowshot"]["visible"]
    print(json.dumps({k: {key: visible[k][key] for key in ("gain_gan_vs_real", "gain_oracle_vs_real",
                                                           "gain_gan_probe_vs_real") if key in visible[k]}
                      for k in visible if k[1:].isdigit()}))
