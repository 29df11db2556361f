"""Stage `train_recognizer_aug`: the recognizer recipe on base faces plus the kept variants of
base faces. The variants are read here and passed in, so that recognition never imports synthesis
(which imports recognition)."""

from __future__ import annotations

from pathlib import Path

from facegan.config import Params
from facegan.paths import (PREPARED, RECOGNIZER_AUG, RECOGNIZER_AUG_CHECKPOINTS, RECOGNIZER_AUG_PLOTS,
                           RECOGNIZER_AUG_REPORT, RECOGNIZER_FORK, SYNTHETIC_VARIANTS)
from facegan.stage import print_report

DEPS = (PREPARED, SYNTHETIC_VARIANTS, RECOGNIZER_FORK)
OUTS = (RECOGNIZER_AUG, RECOGNIZER_AUG_CHECKPOINTS, RECOGNIZER_AUG_PLOTS, RECOGNIZER_AUG_REPORT)
DISTRIBUTED = True  # trains data-parallel under torchrun


def run(params: Params) -> None:
    """The recognizer recipe on base faces plus their kept variants."""
    print_report(train_recognizer_aug_stage(params, prepared_dir=PREPARED, variants_dir=SYNTHETIC_VARIANTS,
                                            model_path=RECOGNIZER_AUG, report_path=RECOGNIZER_AUG_REPORT,
                                            live_dir=RECOGNIZER_AUG_PLOTS, checkpoint_dir=RECOGNIZER_AUG_CHECKPOINTS,
                                            fork_path=RECOGNIZER_FORK))


def train_recognizer_aug_stage(params: Params, *, prepared_dir: Path, variants_dir: Path, model_path: Path,
                               report_path: Path, live_dir: Path | None, checkpoint_dir: Path,
                               fork_path: Path) -> dict:
    """The recognizer recipe, unchanged (same params, optimizer steps and seed), on base faces plus
    the kept variants of base faces (thermal translations only with recognizer_aug.thermal):
    the backbone comparison of the evaluate stage. It starts from the recognizer's training state
    at `fork_path` (train_recognizer's, after all but the last recognizer_aug.fork of the steps),
    so the two recognizers share every step before it and differ only by the variants after."""
    from facegan.recognition.stage import train_recognizer_stage
    from facegan.synthesis.plan import THERMAL
    from facegan.synthesis.store import open_variants

    variants = open_variants(variants_dir)
    kept = variants.kept(split="base")
    thermal = params.recognizer_aug.thermal
    if not thermal:  # the comparison is about visible-photo variants; translations are opt-in
        kept = kept[kept["kind"] != THERMAL]
    by_kind = {k: int(n) for k, n in kept["kind"].value_counts(sort=False).items()}
    return train_recognizer_stage(params, prepared_dir=prepared_dir, model_path=model_path, report_path=report_path,
                                  live_dir=live_dir, checkpoint_dir=checkpoint_dir,
                                  extra_train=(variants.faces, kept.index.to_numpy(), kept["identity"].to_numpy()),
                                  extra_report={"extra_by_kind": by_kind, "thermal_included": thermal},
                                  start_from=fork_path)
