"""Benchmark: the facegan editor against the StarGAN baseline, each trained for the same wall-clock budget.

Both train (facegan.editor.train.train_editor, `editor.arch` facegan and stargan, every other
key at its default) on the same prepared store's base-train faces, with the same monitor and
selection (judged edits on held-out base faces) as the train_editor stage, then are scored alike
on novel faces: the judges' edit success per attribute and the identity judge's kept rate, whose
product is the first figure, and SSIM of every planned edit against the renderer's true variant
(facegan.editor.truth; synthetic sets only), mean over the attributes (yaw pooled over its
targets), the second. Prints one JSON line per editor and figure, and the ratio facegan / stargan
of each figure, whose target is > 1 (the project's editor should beat the baseline).

The budget is a step count, not a clock inside training: a timing run measures each editor's
seconds per step (each phase of its schedule: facegan's D-heads-only steps and its GAN steps,
StarGAN's cycle of N_CRITIC D steps with one G step), and the step count that fills `--seconds`
sets `editor.steps`, so each recipe's schedules (facegan's pretraining, noise decay and
selection at the last step) run to their end. The seconds each run really trained are printed
beside it: on a shared machine they drift from the budget.

    cd bench && python editor_race.py --prepared /work/main/data/prepared --models /work/main/models \
        [--seconds 150] [--judged-sources 256] [--truth-sources 64]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from report import emit  # bench/report.py (scripts run from bench/)

from facegan.config import EditorParams
from facegan.data.store import open_prepared
from facegan.editor.edit import continuous_age, edit_faces, source_attributes
from facegan.editor.evaluate import edit_plan, evaluate_editor
from facegan.editor.stage import training_inputs
from facegan.editor.train import editor_trainer, train_editor
from facegan.editor.train_stargan import N_CRITIC
from facegan.editor.truth import score_against_truth, synthetic_root, true_plan_variants
from facegan.judges.judges import load_judges
from facegan.recognition.dataset import FaceSource
from facegan.recognition.embed import load_recognizer
from facegan.train.rng import step_generator

ARCHS = ("facegan", "stargan")
TIMED_STEPS = 2 * N_CRITIC  # per phase: a whole number of StarGAN's D/G cycles


def phases(p: EditorParams, steps: int) -> list[int]:
    """First steps of the phases of `p`'s schedule, run for `steps`, whose steps cost alike (the last
    runs to the end): facegan's D-heads-only steps (at most half of them, as FaceganTrainer has it),
    then its GAN steps; StarGAN's steps are one phase."""
    if p.arch != "facegan" or not p.heads_pretrain_steps:
        return [0]
    return [0, min(p.heads_pretrain_steps, steps // 2)]


def steps_within(seconds: float, p: EditorParams, source: FaceSource, attributes: np.ndarray, recognizer,
                 seed: int, image_size: int, continuous_age: bool = False) -> tuple[int, list[float]]:
    """The most steps whose training fits in `seconds`, and the measured seconds per step of each phase."""
    trainer = editor_trainer(p.model_copy(update={"steps": 10 ** 6}), source, attributes, recognizer, seed,
                             image_size, torch.device("cpu"), continuous_age)
    per_step = []
    for start in phases(p, 10 ** 6):
        trainer.train_step(start, step_generator(seed, start))  # untimed: oneDNN builds its kernels
        began = time.perf_counter()
        for step in range(start + 1, start + 1 + TIMED_STEPS):
            trainer.train_step(step, step_generator(seed, step))
        per_step.append((time.perf_counter() - began) / TIMED_STEPS)

    def cost(steps: int) -> float:
        starts = phases(p, steps)
        return sum((end - start) * s for start, end, s in zip(starts, [*starts[1:], steps], per_step))

    low, high = 2, 4
    while cost(high) <= seconds:
        low, high = high, 2 * high
    while high - low > 1:  # cost grows with the steps: bisect for the last that fits
        middle = (low + high) // 2
        low, high = (middle, high) if cost(middle) <= seconds else (low, middle)
    return low, per_step


def race_figures(editor, judged: tuple[np.ndarray, dict], truth: tuple[np.ndarray, dict, list[np.ndarray]],
                 judges) -> dict:
    """An editor's figures: `judged` = (faces, their source attributes) for the judges' scores,
    `truth` = (faces, source attributes, per edit of edit_plan the true variants) for SSIM."""
    report = evaluate_editor(editor, *judged, judges)
    success, kept = report["edit_success"], report["identity"]["preserved_rate"]
    faces, source, truths = truth
    continuous = continuous_age(editor)
    edits = [edit_faces(editor, faces, targets, source) for _, targets in edit_plan(source, continuous)]
    against = score_against_truth(edits, faces, truths, source, judges, continuous)
    return {"success_x_kept": statistics.mean(success.values()) * kept,
            "truth_ssim": statistics.mean(s["ssim"] for s in against["by_attribute"].values()),
            "edit_success": success, "identity_kept": kept, "recon_psnr": report["recon_psnr"],
            "truth_ssim_by_attribute": {k: s["ssim"] for k, s in against["by_attribute"].items()},
            "truth_ssim_by_yaw_target": {k: s["ssim"] for k, s in against["by_yaw_target"].items()},
            "unedited_ssim_by_attribute": {k: s["unedited_ssim"] for k, s in against["by_attribute"].items()}}


FLOOR = 1e-4  # the figures' printed precision: a baseline at 0 counts as this, so its ratio reads "at least"


def ratios(figures: dict[str, dict]) -> dict[str, float]:
    """facegan / stargan of each headline figure (the denominator at least FLOOR)."""
    return {name: figures["facegan"][name] / max(figures["stargan"][name], FLOOR)
            for name in ("success_x_kept", "truth_ssim")}


def _rounded(value):
    return {k: _rounded(v) for k, v in value.items()} if isinstance(value, dict) else round(value, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="training budget per editor")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--models", type=Path, default=Path("models"), help="holds recognizer.pt and judges.pt")
    parser.add_argument("--raw", type=Path, default=None,
                        help="the rendered set (default: the store's data.root, relative to the project of --prepared)")
    parser.add_argument("--judged-sources", type=int, default=256, help="novel faces the judges score")
    parser.add_argument("--truth-sources", type=int, default=64, help="novel faces scored against true variants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes rendering the true variants")
    args = parser.parse_args()

    data = open_prepared(args.prepared)
    root = args.raw or synthetic_root(data.report)
    if root is None:
        raise SystemExit(f"{args.prepared}: not a synthetic set; the truth figure needs the renderer")
    if not root.is_absolute() and args.raw is None:
        root = args.prepared.resolve().parents[1] / root  # data.root is relative to its project
    judges = load_judges(args.models / "judges.pt", "cpu")
    recognizer = load_recognizer(args.models / "recognizer.pt", "cpu")
    visible = {"domain": "visible"}
    novel = data.rows(split="novel", **visible)
    inputs = training_inputs(data, data.rows(split="base", role="train", **visible),
                             data.rows(split="base", role="val", **visible), judges, args.seed)
    source, attributes, continuous = inputs.source, inputs.attributes, inputs.continuous_age

    def sample(n: int) -> tuple[np.ndarray, dict, object]:
        rows = novel.sample(n=min(n, len(novel)), random_state=args.seed)
        return data.faces[rows.index.to_numpy()], source_attributes(data.faces, rows, judges), rows

    judged = sample(args.judged_sources)[:2]
    truth_faces, truth_source, truth_rows = sample(args.truth_sources)
    truths = true_plan_variants(truth_rows, truth_source, root, data.image_size, args.workers, continuous)

    figures = {}
    for arch in ARCHS:
        p = EditorParams(arch=arch)
        steps, per_step = steps_within(args.seconds, p, source, attributes, recognizer, args.seed, data.image_size,
                                       continuous)
        with tempfile.TemporaryDirectory() as checkpoints:
            result = train_editor(p.model_copy(update={"steps": steps}), source, attributes, recognizer,
                                  seed=args.seed, image_size=data.image_size, checkpoint_dir=Path(checkpoints),
                                  monitor=inputs.monitor, device=torch.device("cpu"), continuous_age=continuous)
        figures[arch] = race_figures(result.generator, judged, (truth_faces, truth_source, truths), judges)
        run = {"steps": steps, "selected_step": result.selected_step,
               "train_seconds": round(steps * p.batch_size / result.train_img_per_s, 1),
               "timed_s_per_step": [round(s, 3) for s in per_step], "budget_seconds": args.seconds}
        detail = _rounded({k: v for k, v in figures[arch].items() if k not in ("success_x_kept", "truth_ssim")})
        emit(f"editor_race_{arch}_success_x_kept", figures[arch]["success_x_kept"], "share", digits=4,
             **run, edit_success=detail["edit_success"], identity_kept=detail["identity_kept"],
             recon_psnr=detail["recon_psnr"], n_sources=len(judged[0]))
        emit(f"editor_race_{arch}_truth_ssim", figures[arch]["truth_ssim"], "ssim", digits=4,
             by_attribute=detail["truth_ssim_by_attribute"], by_yaw_target=detail["truth_ssim_by_yaw_target"],
             unedited_by_attribute=detail["unedited_ssim_by_attribute"], n_sources=len(truth_faces))
    for name, ratio in ratios(figures).items():
        emit(f"editor_race_{name}_ratio_facegan_over_stargan", ratio, "ratio", target=1.0, digits=3,
             stargan_floored=figures["stargan"][name] < FLOOR)


if __name__ == "__main__":
    main()
