"""Benchmark: where probe normalization's room is, and how much of it the editor reaches, on val identities.

`gan_probe` edits each probe the judges read as off-neutral back to the enrollment condition in
every attribute at once; `oracle_probe` does it with the renderer's truth. This splits both by what
is set back: all attributes, one attribute at a time, and yaw alone for turns in bands of |yaw|
(`--bands`). For each part, the editor's edit (used where the judges keep it, and weighed against
the probe by `lowshot.probe_weight`, as `gan_probe` uses it) and, on the synthetic set, the renderer's
probe with that part set back from its labels (weighed alike), each scored as `evaluate` scores the
visible task (ncm; paired gain over `real`, with its bootstrap
interval) on the val identities' episodes, never the novel ones. One JSON line per figure.

    cd bench && python probe_normalization.py [--root ..] [--editor FILE] [--bands 10 25 40 90]

Reads --root's params.yaml, data/prepared, data/synthetic_variants (the judges' reading of each
probe), models/recognizer.pt, judges.pt and editor.pt (or --editor: an arm's). About a minute on
2 cores, most of it the renderer.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pandas as pd
from report import emit  # bench/report.py (scripts run from bench/)

from facegan.attributes import ages_known, store_labels
from facegan.config import load_params
from facegan.data.decode import load_face
from facegan.data.store import open_prepared, rendered_root
from facegan.editor.conditioning import NAMES
from facegan.editor.edit import continuous_age, load_editor
from facegan.evaluation.enrollment import Condition, VariantLookup
from facegan.evaluation.lowshot_run import Embedded, EpisodeScorer, TaskResults
from facegan.judges.judges import load_judges
from facegan.lowshot.conditions import with_conditions
from facegan.lowshot.episodes import draw_protocol
from facegan.recognition.dataset import RowView
from facegan.recognition.source import load_embedder
from facegan.render.truth import planned_edits, true_variants
from facegan.synthesis.generate import generate_variants
from facegan.synthesis.plan import NORMALIZE, format_targets, normalization_targets
from facegan.synthesis.store import open_variants

SPLIT = "val"
ARMS = {"real": Condition(), "normalized": Condition(probes="normalized")}


def parts(bands: list[float]) -> dict[str, tuple[tuple[str, ...], tuple[float, float]]]:
    """name -> (attributes set back, (low, high] band of |yaw| the probe must be read in)."""
    every = (0.0, float("inf"))
    out = {"all": (NAMES, every)} | {name: ((name,), every) for name in NAMES}
    return out | {f"yaw_{lo:g}_{hi:g}": (("yaw",), (lo, hi)) for lo, hi in zip(bands, bands[1:])}


def restricted(targets: list[dict[str, float]], keep: tuple[str, ...], band: tuple[float, float],
               yaw: np.ndarray) -> list[dict[str, float]]:
    """Each probe's normalization targets, only those in `keep`, and only for probes whose |yaw| is in
    `band` ({} = the probe is used as it is)."""
    low, high = band
    return [{k: v for k, v in t.items() if k in keep} if low < abs(y) <= high else {} for t, y in zip(targets, yaw)]


def _jobs(rows: np.ndarray, identity: np.ndarray, targets: list[dict[str, float]]) -> tuple[pd.DataFrame, list]:
    at = [i for i, t in enumerate(targets) if t]
    jobs = pd.DataFrame({"split": SPLIT, "identity": identity[rows[at]], "source_row": rows[at], "input_row": rows[at],
                         "kind": NORMALIZE, "target": np.nan, "targets": [format_targets(targets[i]) for i in at]})
    return jobs, [targets[i] for i in at]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(".."), help="a run's folder (default: the repository)")
    parser.add_argument("--editor", type=Path, help="an editor file (default: ROOT/models/editor.pt)")
    parser.add_argument("--bands", type=float, nargs="+", default=[10.0, 25.0, 40.0, 90.0],
                        help="edges of the |yaw| bands (degrees) for yaw alone")
    args = parser.parse_args()
    root = args.root
    params = load_params(root / "params.yaml")
    lp = params.lowshot
    data = open_prepared(root / "data/prepared")
    variants = open_variants(root / "data/synthetic_variants")
    judged = variants.judged
    index, _ = with_conditions(data.index, judged)
    split = index[index["split"] == SPLIT]
    episodes = draw_protocol(split, lp.shots, lp.episodes, lp.gallery, lp.neutral_max_yaw, params.seed)
    rows = judged.index[index.loc[judged.index, "split"].to_numpy() == SPLIT].to_numpy()
    editor = load_editor(args.editor or root / "models/editor.pt")
    judges = load_judges(root / "models/judges.pt")
    recognizer = load_embedder(params, root / "models/recognizer.pt", "cpu")
    identity = index["identity"].to_numpy()

    store = np.zeros((len(index), recognizer.dim), np.float32)
    visible = split.index[split["domain"] == "visible"].to_numpy()
    store[visible] = recognizer.embed(RowView(data.faces, visible))
    unknown = np.full((len(index), 4), np.nan)  # ncm reads no attributes
    reading = {c: judged.loc[rows, c].to_numpy() for c in NAMES}
    sides = {"editor": (normalization_targets(reading, lp.neutral_max_yaw, continuous_age(editor)), reading["yaw"])}
    synthetic = rendered_root(data.report, SPLIT) is not None
    if synthetic:  # the truth: the labels' reading, targets as the renderer takes them
        labels = store_labels(index.loc[rows], NAMES)
        base = index[(index["split"] == "base") & (index["role"] == "train")]
        sides["truth"] = (normalization_targets(labels, lp.neutral_max_yaw, ages_known(base)), labels["yaw"])
    render_root = Path(data.report["root"]) if synthetic else None
    if render_root is not None and not render_root.is_absolute():
        render_root = root / render_root

    for name, (keep, band) in parts(args.bands).items():
        for side, (targets, yaw) in sides.items():
            jobs, wanted = _jobs(rows, identity, restricted(targets, keep, band, yaw))
            if side == "editor":
                faces = np.zeros((len(jobs), data.image_size, data.image_size, 3), np.uint8)
                table = generate_variants(jobs, data.faces, judged, editor, None, judges, faces, progress=False,
                                          judged_attributes=judged)
            else:
                names = [Path(n).name for n in index.loc[jobs["source_row"], "source_path"]]
                made = true_variants(render_root, names, planned_edits(render_root, [NORMALIZE] * len(jobs), wanted),
                                     params.data.workers)
                faces = np.stack([load_face(io.BytesIO(f), data.image_size) for f in made]) if made else np.zeros(
                    (0, data.image_size, data.image_size, 3), np.uint8)
                table = jobs.assign(kept=True)
            made_emb = recognizer.embed(faces) if len(faces) else np.zeros((0, recognizer.dim), np.float32)
            embedded = Embedded(store=store, attributes=unknown, variant=made_emb,
                                variant_attributes=np.full((len(made_emb), 4), np.nan))
            scorer = EpisodeScorer(split, embedded, VariantLookup(table.reset_index(drop=True), (SPLIT,)), None,
                                   lp.neutral_max_yaw, probe_weight=lp.probe_weight)
            for k in lp.shots:
                results = TaskResults({arm: [scorer.score(e, c, "visible", "ncm") for e in episodes[k]]
                                       for arm, c in ARMS.items()}, len(episodes[k][0].gallery), lp.resamples,
                                      params.seed)
                gain = results.gain("normalized", "real")
                emit(f"probe_normalization_gain_k{k}_{name}_{side}", gain["mean"], "top-1", digits=3,
                     ci95=[round(x, 3) for x in gain["ci95"]], edited=int(len(jobs)),
                     kept=round(float(table["kept"].mean()), 3) if len(table) else None, split=SPLIT)


if __name__ == "__main__":
    main()
