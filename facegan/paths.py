"""Where the pipeline's files live: one constant per artifact, relative to the repository root
(where DVC runs every stage). dvc.yaml names the same paths as deps and outs; each
facegan/stages/<stage>.py declares its own from these (DEPS, OUTS) and passes them to the
library, which takes every path as an argument. tests/test_stage_paths.py holds the two to one list.
"""

from __future__ import annotations

from pathlib import Path

# ---- data
RAW_SYNTHETIC = Path("data/raw/synthetic")  # render's built-in face set (data.root's default)
PREPARED = Path("data/prepared")
ORACLE_VARIANTS = Path("data/oracle_variants")
SYNTHETIC_VARIANTS = Path("data/synthetic_variants")

# ---- models
MODELS = Path("models")
RECOGNIZER = MODELS / "recognizer.pt"
RECOGNIZER_FORK = MODELS / "recognizer_fork.pt"  # its training state where train_recognizer_aug starts
JUDGES = MODELS / "judges.pt"
EDITOR = MODELS / "editor.pt"
TRANSLATOR = MODELS / "translator.pt"
RECOGNIZER_AUG = MODELS / "recognizer_aug.pt"

# ---- checkpoints (persist: true), one folder per training stage
CHECKPOINTS = Path("checkpoints")
RECOGNIZER_CHECKPOINTS = CHECKPOINTS / "train_recognizer"
JUDGES_CHECKPOINTS = CHECKPOINTS / "train_judges"
EDITOR_CHECKPOINTS = CHECKPOINTS / "train_editor"
TRANSLATOR_CHECKPOINTS = CHECKPOINTS / "train_translator"
RECOGNIZER_AUG_CHECKPOINTS = CHECKPOINTS / "train_recognizer_aug"

# ---- reports
REPORTS = Path("reports")
VALIDATED = REPORTS / "validated.json"
RECOGNIZER_REPORT = REPORTS / "recognizer.json"
JUDGES_REPORT = REPORTS / "judges.json"
EDITOR_REPORT = REPORTS / "editor.json"
TRANSLATOR_REPORT = REPORTS / "translator.json"
SYNTHESIS_REPORT = REPORTS / "synthesis.json"
RECOGNIZER_AUG_REPORT = REPORTS / "recognizer_aug.json"
METRICS = REPORTS / "metrics.json"  # every number evaluate measures
SUMMARY = REPORTS / "summary.json"  # what `dvc metrics show` prints
RESULTS = REPORTS / "results.md"  # the README links this page
SEEDS = REPORTS / "seeds.json"  # `facegan seeds` (outside the pipeline)

# Seconds of the data stages: kept out of their data folders, so identical data hashes the same.
TIMING = REPORTS / "timing"
RENDER_TIMING = TIMING / "render.json"
PREP_TIMING = TIMING / "prep.json"
RENDER_ORACLE_TIMING = TIMING / "render_oracle.json"

FIGURES = REPORTS / "figures"
SYNTHETIC_GRID = FIGURES / "synthetic_grid.png"
EDITOR_GRID = FIGURES / "editor_grid.png"
THERMAL_GRID = FIGURES / "thermal_grid.png"
ACCURACY_VS_SHOTS = FIGURES / "accuracy_vs_shots.png"
BY_PROBE = FIGURES / "by_probe.png"
ABLATION_K1 = FIGURES / "ablation_k1.png"

# dvclive folders of the training stages that log curves
PLOTS = REPORTS / "plots"
RECOGNIZER_PLOTS = PLOTS / "train_recognizer"
EDITOR_PLOTS = PLOTS / "train_editor"
TRANSLATOR_PLOTS = PLOTS / "train_translator"
RECOGNIZER_AUG_PLOTS = PLOTS / "train_recognizer_aug"
