"""Benchmark: an editor change judged on held-out base faces, across seeds, against the truth.

One GAN run says little: the same recipe with another seed moves an attribute's truth SSIM by a
few hundredths, as much as most changes do. So each arm (`--arm NAME key=value ...`, editor keys
over the pipeline's params; the first arm, `default`, is the params as they are) is trained once
per seed as train_editor trains it (base-train faces, the same monitor and select_best on
held-out base faces), and every run is scored on base-val faces the monitor does not see:

- judged: each attribute's edit success and `usable` (what select_best maximizes);
- truth (synthetic sets): SSIM of every planned edit against the renderer's true variant, whole
  face and over the edit region (facegan.editor.truth), per attribute and yaw target, doing
  nothing beside it; and kept minus rejected (do the judges keep the truer edits?).

With --gain, also what the pipeline would report on val identities: each run's editor goes through
`synthesize` as the pipeline runs it (its judges deciding what is kept; into a folder beside the run's,
reused while the editor file is the same) and the val identities' episodes are scored as `evaluate` scores
them (`lowshot.val`: `gain_gan_vs_real`, `gain_gan_probe_vs_real`, `gain_gan_both_vs_real` at every
shot count, means only; about a minute more a run).

Prints one JSON line per arm and figure: the mean over the seeds with each seed's value; for
every arm but the first, its paired difference from the first (same seed) with each seed's.
Base faces and val identities only: an editor change is chosen here, never on the novel identities
the pipeline reports.

    cd bench && python editor_arms.py --root .. --out /tmp/arms --seeds 0 1 2 \\
        --arm mask4 lambda_mask=4 [--arm prior yaw_prior=True ...]

Reads --root's params.yaml, data/prepared, models/recognizer.pt and judges.pt (run `dvc repro
train_judges` first; with --gain also models/translator.pt: `dvc repro train_translator`). Runs are
kept in --out (one checkpoint folder per arm and seed) and reused while their params, data and judges
are the same. About 3 minutes a run on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import statistics
from pathlib import Path

import numpy as np
import torch
from report import emit  # bench/report.py (scripts run from bench/)

from facegan.config import load_params
from facegan.data.store import open_prepared
from facegan.editor.edit import continuous_age, edit_faces, save_editor, source_attributes
from facegan.editor.evaluate import edit_plan, edit_success
from facegan.editor.stage import training_inputs
from facegan.editor.train import train_editor
from facegan.editor.truth import score_against_truth, synthetic_root, true_plan_variants
from facegan.evaluation.stage import val_gains
from facegan.judges.judges import load_judges
from facegan.recognition.embed import load_recognizer
from facegan.recognition.source import load_embedder
from facegan.synthesis.stage import synthesize_stage
from facegan.synthesis.store import open_variants

DEFAULT = "default"


def parse_arm(words: list[str]) -> tuple[str, dict]:
    """NAME key=value ... (editor keys, values as Python literals) -> (name, overrides)."""
    name, *pairs = words
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --arm {name}: {pair!r} is not key=value (an editor key, e.g. lambda_mask=4)")
        try:
            overrides[key.removeprefix("editor.")] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key.removeprefix("editor.")] = value  # a bare word, e.g. arch=stargan
    return name, overrides


def train_run(params, overrides: dict, seed: int, inputs, image_size: int, recognizer, judges, out: Path):
    """The editor of `params.editor` with `overrides`, trained on `inputs` (editor.stage.training_inputs
    with `seed`) as train_editor does, in the checkpoint folder `out`: a finished run of the same
    params, data and judges is reused, one of others is set aside (train_editor's fingerprint), so
    changed params never score a stale run."""
    p = params.editor.model_copy(update=overrides)
    p = type(p).model_validate(p.model_dump())  # an unknown key or a bad value fails here, named
    result = train_editor(p, inputs.source, inputs.attributes, recognizer, seed=seed, image_size=image_size,
                          checkpoint_dir=out, monitor=inputs.monitor, device=torch.device("cpu"),
                          continuous_age=inputs.continuous_age, monitored_by=judges.fingerprint())
    return result.generator


def scoring_rows(val_rows, n: int, monitored: list):
    """n of `val_rows` that no seed's monitor judged (`monitored`: each seed's monitor rows; select_best
    never saw these faces)."""
    seen = set().union(*(rows.index for rows in monitored))
    unseen = val_rows[~val_rows.index.isin(seen)]
    return unseen.sample(n=min(n, len(unseen)), random_state=0)


def figures(editor, faces, source, judges, truths) -> tuple[dict[str, float], dict[str, float]]:
    """One run's flat figures: judged success per attribute and usable; with truths, truth SSIM
    (whole, region) per attribute and yaw target and the judges' kept-minus-rejected. Beside them,
    doing nothing's truth figures (the same for every run)."""
    out = {f"judged_{k}": v for k, v in edit_success(editor, faces, source, judges).items()}
    if truths is None:
        return out, {}
    continuous = continuous_age(editor)
    edits = [edit_faces(editor, faces, targets, source) for _, targets in edit_plan(source, continuous)]
    truth = score_against_truth(edits, faces, truths, source, judges, continuous)
    floor = {}
    for group in ("by_attribute", "by_yaw_target"):
        for key, s in truth[group].items():
            for metric in ("ssim", "region_ssim"):
                out[f"truth_{metric}_{key}"], floor[f"truth_{metric}_{key}"] = s[metric], s[f"unedited_{metric}"]
    overall = truth["acceptance"]["overall"]
    if overall["kept"]["n"] and overall["rejected"]["n"]:
        out["kept_minus_rejected_ssim"] = overall["kept"]["ssim"] - overall["rejected"]["ssim"]
    return out, floor


def unit(figure: str) -> str:
    return "share" if figure.startswith("judged") else "top-1" if figure.startswith("val_") else "ssim"


def val_figures(params, root: Path, editor, data, embedder, run: Path) -> dict[str, float]:
    """The run's lowshot.val gains (means), its editor through the pipeline's synthesis into `run`."""
    editor_path = run / "editor.pt"
    save_editor(editor_path, editor, data.image_size)
    made_by = run / "synthesis" / "editor.sha256"
    digest = hashlib.sha256(editor_path.read_bytes()).hexdigest()
    if not (made_by.is_file() and made_by.read_text() == digest):
        synthesize_stage(params, prepared_dir=root / "data/prepared", editor_path=editor_path,
                         translator_path=root / "models/translator.pt", judges_path=root / "models/judges.pt",
                         out_dir=run / "synthesis/variants", report_path=run / "synthesis/report.json")
        made_by.write_text(digest)
    val = val_gains(params, data, open_variants(run / "synthesis/variants"), embedder) or {}
    return {f"val_{k}_{gain}": block[gain]["mean"] for k, block in val.items() for gain in block
            if gain.startswith("gain_")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(".."), help="the pipeline (params, data, models)")
    parser.add_argument("--out", type=Path, required=True, help="where the runs are kept (reused)")
    parser.add_argument("--arm", nargs="+", action="append", default=[], metavar="NAME [key=value]",
                        help="an arm: its name, then editor keys it changes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sources", type=int, default=150, help="held-out base faces scored")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering the true variants")
    parser.add_argument("--gain", action="store_true", help="also each run's lowshot.val gains (its own synthesis)")
    args = parser.parse_args()

    arms = dict([(DEFAULT, {})] + [parse_arm(words) for words in args.arm])
    params = load_params(args.root / "params.yaml")
    data = open_prepared(args.root / "data/prepared")
    judges = load_judges(args.root / "models/judges.pt", "cpu")
    recognizer = load_recognizer(args.root / "models/recognizer.pt", "cpu")
    train_rows, val_rows = (data.rows(split="base", role=role, domain="visible") for role in ("train", "val"))
    embedder = load_embedder(params, args.root / "models/recognizer.pt", torch.device("cpu")) if args.gain else None
    inputs = {seed: training_inputs(data, train_rows, val_rows, judges, seed) for seed in args.seeds}
    rows = scoring_rows(val_rows, args.sources, [i.monitor_rows for i in inputs.values()])
    faces = data.faces[rows.index.to_numpy()]
    source = source_attributes(data.faces, rows, judges)
    root = synthetic_root(data.report)
    if root is not None and not root.is_absolute():
        root = args.root / root  # the report's paths are the pipeline's
    truths = None if root is None else true_plan_variants(rows, source, root, data.image_size, args.workers,
                                                          inputs[args.seeds[0]].continuous_age)
    runs, floor = {}, {}
    for name, overrides in arms.items():
        runs[name] = {}
        for seed in args.seeds:
            editor = train_run(params, overrides, seed, inputs[seed], data.image_size, recognizer, judges,
                               args.out / name / f"seed{seed}")
            runs[name][seed], floor = figures(editor, faces, source, judges, truths)
            if args.gain:
                runs[name][seed] |= val_figures(params, args.root, editor, data, embedder,
                                                args.out / name / f"seed{seed}-val")
    first = runs[DEFAULT]
    for name, by_seed in runs.items():
        for figure in by_seed[args.seeds[0]]:
            values = [by_seed[s].get(figure, float("nan")) for s in args.seeds]
            detail = {"arm": name, "overrides": arms[name], "by_seed": [round(v, 4) for v in values],
                      "n_sources": len(faces)}
            if figure in floor:
                detail["doing_nothing"] = round(floor[figure], 4)
            if name != DEFAULT:
                diffs = [by_seed[s].get(figure, np.nan) - first[s].get(figure, np.nan) for s in args.seeds]
                detail |= {"minus_default": round(statistics.mean(diffs), 4),
                           "minus_default_by_seed": [round(d, 4) for d in diffs]}
            emit(f"editor_arms_{name}_{figure}", statistics.mean(values), unit(figure),
                 digits=4, **detail)


if __name__ == "__main__":
    main()
