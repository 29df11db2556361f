"""Stage `train_recognizer_aug`: the recognizer recipe on base faces plus the kept variants of
base faces. The variants are read here and passed in, so that recognition never imports synthesis
(which imports recognition)."""

from __future__ import annotations

from pathlib import Path

from facegan.config import Params
from facegan.stage import print_report


def run(params: Params) -> None:
    """The recognizer recipe on base faces plus their kept variants."""
    print_report(train_recognizer_aug_stage(params))


def train_recognizer_aug_stage(params: Params, prepared_dir: Path = Path("data/prepared"),
                               variants_dir: Path = Path("data/synthetic_variants"),
                               model_path: Path = Path("models/recognizer_aug.pt"),
                               report_path: Path = Path("reports/recognizer_aug.json"),
                               live_dir: Path | None = Path("reports/plots/train_recognizer_aug"),
                               checkpoint_dir: Path = Path("checkpoints/train_recognizer_aug")) -> dict:
    """The recognizer recipe, unchanged (same params, optimizer steps and seed), on base faces plus
    the kept variants of base faces (thermal translations only with recognizer_aug.thermal):
    the backbone comparison of the evaluate stage."""
    from facegan.recognition.stage import train_recognizer_stage
    from facegan.synthesis.plan import THERMAL
    from facegan.synthesis.store import open_variants

    variants = open_variants(variants_dir)
    kept = variants.kept(split="base")
    thermal = params.recognizer_aug.thermal
    if not thermal:  # the comparison is about visible-photo variants; translations are opt-in
        kept = kept[kept["kind"] != THERMAL]
    by_kind = {k: int(n) for k, n in kept["kind"].value_counts(sort=False).items()}
    return train_recognizer_stage(params, prepared_dir, model_path, report_path, live_dir, checkpoint_dir,
                                  extra_train=(variants.faces, kept.index.to_numpy(), kept["identity"].to_numpy()),
                                  extra_report={"extra_by_kind": by_kind, "thermal_included": thermal})
