"""What each DVC stage does, as functions of the params (pipeline/ scripts and the CLI call these)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from facegan.config import Params
from facegan.io import atomic_write_json

RAW_SYNTHETIC = Path("data/raw/synthetic")
TIMING = Path("reports/timing")  # render's and prep's seconds: kept out of their data folders
PREPARED = Path("data/prepared")
FIGURES = Path("reports/figures")
ORACLE = Path("data/oracle_variants")
VALIDATED = Path("reports/validated.json")


def validate(params: Params) -> None:
    """Check params.yaml and the inputs it names before any stage deletes its outputs."""
    from facegan.inputs import check_inputs

    check_inputs(params)  # params themselves were validated when run_stage loaded them
    # Always the same bytes: a valid change of params reruns this stage and nothing through it.
    atomic_write_json(VALIDATED, {"params.yaml": "valid", "inputs": "found"})


def render(params: Params) -> None:
    """Render the built-in synthetic face set (CelebA layout + thermal twins); with another
    data.source nothing reads it, so only a note is written (a minute and ~60 MB saved)."""
    from facegan.render.dataset import render_dataset, write_not_rendered
    from facegan.render.grid import save_render_grid

    started = time.perf_counter()
    if params.data.source == "synthetic":
        p = params.synthetic
        summary = render_dataset(RAW_SYNTHETIC, n_identities=p.n_identities,
                                 images_per_identity=tuple(p.images_per_identity),
                                 partition_fractions=tuple(p.partition_fractions), jpeg_quality=tuple(p.jpeg_quality),
                                 thermal=p.thermal, difficulty=p.difficulty, seed=params.seed, workers=p.workers)
        printed = {k: summary[k] for k in ("images", "identities")}
    else:
        write_not_rendered(RAW_SYNTHETIC, params.data.source)
        printed = {"images": 0, "rendered": False, "data_source": params.data.source}
    save_render_grid(FIGURES / "synthetic_grid.png", seed=params.seed)
    atomic_write_json(TIMING / "render.json", {"seconds": round(time.perf_counter() - started, 2)})
    print(json.dumps(printed))


def prep(params: Params) -> None:
    """Decode, align, split and index the configured source into data/prepared/."""
    from facegan.data.prep import TIMING_KEYS, prepare

    report = prepare(params, PREPARED)
    atomic_write_json(TIMING / "prep.json", {k: report[k] for k in TIMING_KEYS})
    summary = {k: report[k] for k in ("source", "n_images", "n_thermal", "n_identities", "n_base_identities",
                                      "n_novel_identities", "n_skipped", "images_per_second")}
    print(json.dumps(summary))


def train_recognizer(params: Params) -> None:
    """Train the ArcFace recognizer on base identities; score it on novel-identity pairs."""
    from facegan.recognition.stage import train_recognizer_stage

    _print_report(train_recognizer_stage(params))


def _print_report(report: dict) -> None:
    if report:  # under torchrun only rank 0 reports
        print(json.dumps(report))


def train_judges(params: Params) -> None:
    """Train the attribute/yaw judge and the independent identity judge."""
    from facegan.judges.stage import train_judges_stage

    _print_report(train_judges_stage(params))


def train_editor(params: Params) -> None:
    """Train the attribute editor GAN on base faces; judge its edits on novel faces."""
    from facegan.editor.stage import train_editor_stage

    _print_report(train_editor_stage(params))


def train_translator(params: Params) -> None:
    """Train the thermal->visible translator on base twins; score thermal probes of novel identities."""
    from facegan.translator.stage import train_translator_stage

    _print_report(train_translator_stage(params))


def render_oracle(params: Params) -> None:
    """The renderer's true variants of the enrolled novel photos (synthetic data; only evaluate reads them)."""
    from facegan.render.truth import write_oracle

    report = write_oracle(params, PREPARED, ORACLE)
    atomic_write_json(TIMING / "render_oracle.json", {"seconds": report["seconds"]})
    print(json.dumps(report))


def synthesize(params: Params) -> None:
    """Variants of novel and base faces by the editor and translator, kept where the judges agree."""
    from facegan.synthesis.stage import synthesize_stage

    report = synthesize_stage(params)
    print(json.dumps({k: report[k] for k in ("generated", "kept", "kept_rate")}))


def train_recognizer_aug(params: Params) -> None:
    """The recognizer recipe on base faces plus their kept variants."""
    from facegan.recognition.stage import train_recognizer_aug_stage

    _print_report(train_recognizer_aug_stage(params))


def evaluate(params: Params) -> None:
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


# Stages that train data-parallel under `torchrun --nproc_per_node=N`; the others run on rank 0 alone.
DISTRIBUTED_STAGES = {"train_recognizer", "train_judges", "train_editor", "train_translator", "train_recognizer_aug"}

STAGES = {"validate": validate, "render": render, "prep": prep, "render_oracle": render_oracle, "train_recognizer": train_recognizer,
          "train_judges": train_judges, "train_editor": train_editor, "train_translator": train_translator,
          "synthesize": synthesize, "train_recognizer_aug": train_recognizer_aug, "evaluate": evaluate}
