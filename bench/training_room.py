"""Benchmark: how much of the training-side room the pipeline's GAN variants reach, on val identities.

train_recognizer_aug trains the recognizer recipe on base faces plus the kept GAN variants of them,
from train_recognizer's state before the last `recognizer_aug.fork` of the steps (the two share every
step before it). Here the same is done again with the renderer's true variants of the same
planned edits: of every planned edit (`truth_all`: a perfect editor whose every edit is kept) and of
the kept ones only (`truth_kept`: the judges' selection, perfectly drawn). Each recognizer's real arm
(one photo enrolled per identity, the pipeline's ncm: world_calibration.real_arm_results) is scored on
the val identities' episodes, paired with the plain recognizer's, overall and by probe condition;
`share` is the GAN-trained gain over the truth-trained one. Val only (held out from all
training): a change to the editor or the judges is judged here, never on the novel identities.

    cd bench && python training_room.py --root .. --out /tmp/room [--seeds 0 1 2]

A recognizer trained again on a slightly different set moves by a few hundredths on 36 val
identities, so a claim needs seeds: `--seeds` trains every arm (plain and gan too) with each other
recognizer seed, on the same episodes, and prints the mean gain over the seeds beside each seed's.

Reads the pipeline's outputs under --root (params.yaml, data/prepared, data/synthetic_variants,
models/recognizer.pt, recognizer_fork.pt and recognizer_aug.pt: run `dvc repro train_recognizer_aug`
first; synthetic data only). Renders and trains into --out, reusing what is there when the pipeline's
variants are unchanged; about 3 minutes on 2 cores, 4 more per extra seed. One JSON line per figure.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from report import emit  # bench/report.py (scripts run from bench/)
from world_calibration import SPLIT, _condition_top1, _rounded, _val_store, real_arm_results

from facegan.config import load_params
from facegan.data.decode import load_face
from facegan.data.store import open_prepared
from facegan.editor.truth import synthetic_root
from facegan.lowshot.episodes import VISIBLE_PROBES, draw_episodes
from facegan.recognition.embed import load_recognizer
from facegan.recognition.stage import train_recognizer_stage
from facegan.render.truth import planned_edits, true_variants
from facegan.synthesis.plan import THERMAL
from facegan.synthesis.store import open_variants

def base_jobs(variants) -> pd.DataFrame:
    """The planned edits of base faces that train_recognizer_aug draws from (visible kinds only)."""
    table = variants.table
    return table[(table["split"] == "base") & (table["kind"] != THERMAL)]


def true_faces(data, jobs, workers: int, cache: Path, pipeline: Path) -> np.ndarray:
    """The renderer's true variant of every job's source photo, decoded as prep does (cached in `cache`)."""
    if cache.is_file():
        return np.load(cache)
    root = synthetic_root(data.report)
    if root is None:
        raise SystemExit("error: training_room needs the synthetic set (data.source synthetic): "
                         "only the renderer can draw true variants")
    root = root if root.is_absolute() else pipeline / root  # the report's paths are the pipeline's
    names = [Path(p).name for p in data.index.loc[jobs["source_row"], "source_path"]]
    made = true_variants(root, names, planned_edits(root, jobs["kind"].tolist(), jobs["target"].astype(float).tolist()),
                         workers)
    faces = np.stack([load_face(io.BytesIO(f), data.image_size) for f in made])
    np.save(cache, faces)
    return faces


def train_plain(params, prepared: Path, out: Path) -> tuple[Path, Path]:
    """The recognizer recipe (params.seed) on base faces, as train_recognizer runs it, into out/plain.pt:
    the model and the training state the other arms start from (out/plain_fork.pt)."""
    fork = out / "plain_fork.pt"
    train_recognizer_stage(params, prepared_dir=prepared, model_path=out / "plain.pt", report_path=out / "plain.json",
                           live_dir=None, checkpoint_dir=out / "checkpoints_plain", fork_path=fork)
    return out / "plain.pt", fork


def train_on(params, prepared: Path, out: Path, name: str, fork: Path, faces: np.ndarray,
             identities: np.ndarray) -> Path:
    """The recognizer recipe (params.seed) on base faces plus `faces` (of `identities`), as
    train_recognizer_aug runs it (from the plain run's `fork`), into out/name.pt."""
    model = out / f"{name}.pt"
    train_recognizer_stage(params, prepared_dir=prepared, model_path=model, report_path=out / f"{name}.json",
                           live_dir=None, checkpoint_dir=out / f"checkpoints_{name}",
                           extra_train=(faces, np.arange(len(faces)), identities), start_from=fork)
    return model


def gains(data, params, variants_table, recognizers: dict[str, Path]) -> dict:
    """{k: {"plain": top-1, "gain": {arm: paired gain over plain}, "by_probe": {condition: {arm: gain}}}}:
    the real arm of each recognizer on the same val episodes (drawn with params.seed)."""
    index = data.index
    lp = params.lowshot
    stores = {name: _val_store(load_recognizer(path), data) for name, path in recognizers.items()}
    out = {}
    for k in lp.shots:
        episodes = draw_episodes(index[index["split"] == SPLIT], k, lp.episodes, lp.gallery, lp.neutral_max_yaw,
                                 params.seed)
        results, masks = real_arm_results(data, params, stores, episodes, variants_table.iloc[:0])
        arms = [name for name in stores if name != "plain"]
        by_probe = {}
        for c in VISIBLE_PROBES:
            plain = _condition_top1(results, "plain", masks[c])["mean"]
            by_probe[c] = {"plain": plain} | {name: _condition_top1(results, name, masks[c])["mean"] - plain
                                              for name in arms}
        out[k] = {"plain": results.top1("plain")["mean"], "gain": {name: results.gain(name, "plain") for name in arms},
                  "by_probe": by_probe, "n_identities": len(episodes[0].gallery)}
    return out


def report(per_seed: dict[int, dict]) -> None:
    """One line per figure: each arm's gain over plain averaged over the seeds (each seed's value, and the
    first seed's bootstrap interval over identities and episodes), GAN's share of truth_all, by probe."""
    seeds = list(per_seed)
    first = per_seed[seeds[0]]
    for k in first:
        detail = dict(split=SPLIT, n_identities=first[k]["n_identities"], shots=k, seeds=seeds)
        mean = {arm: float(np.mean([per_seed[s][k]["gain"][arm]["mean"] for s in seeds])) for arm in first[k]["gain"]}
        for arm, value in mean.items():
            emit(f"room_gain_{arm}_vs_plain_k{k}", value, "top-1", None, digits=3,
                 by_seed=[round(per_seed[s][k]["gain"][arm]["mean"], 3) for s in seeds],
                 ci95_first_seed=_rounded(first[k]["gain"][arm]["ci95"]),
                 plain=round(float(np.mean([per_seed[s][k]["plain"] for s in seeds])), 3), **detail)
        if "truth_all" in mean and "gan" in mean:
            room = mean["truth_all"]
            emit(f"room_gan_share_of_truth_k{k}", mean["gan"] / room if abs(room) > 1e-9 else float("nan"),
                 "share", None, digits=2, **detail)
        for c in VISIBLE_PROBES:
            rows = [per_seed[s][k]["by_probe"][c] for s in seeds]
            emit(f"room_by_probe_k{k}_{c}", float(np.mean([r["plain"] for r in rows])), "top-1", None, digits=3,
                 **{f"{arm}_gain": round(float(np.mean([r[arm] for r in rows])), 3) for arm in mean}, **detail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(".."), help="the pipeline's folder (default ..)")
    parser.add_argument("--out", type=Path, required=True, help="work folder (reused by a rerun)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="recognizer seeds (default: the pipeline's seed alone, its own recognizers reused); "
                             "every other seed trains all four arms, about 6 minutes each on 2 cores")
    args = parser.parse_args()
    root = args.root
    params = load_params(root / "params.yaml")
    prepared = root / "data/prepared"
    data = open_prepared(prepared)
    variants = open_variants(root / "data/synthetic_variants")
    jobs = base_jobs(variants)
    # A work folder of other variants (another editor run) starts again: its truths are of other jobs.
    key = hashlib.sha256(jobs[["source_row", "kind", "target"]].to_csv().encode()).hexdigest()[:16]
    out = args.out / key
    out.mkdir(parents=True, exist_ok=True)
    faces = true_faces(data, jobs, params.data.workers, out / "truth_faces.npy", root)
    identities = jobs["identity"].to_numpy()
    kept = jobs["kept"].to_numpy(bool)
    emit("room_base_variants", len(jobs), "images", None, kept=int(kept.sum()),
         by_kind={k: int(n) for k, n in jobs["kind"].value_counts(sort=False).items()})
    per_seed = {}
    for seed in args.seeds or [params.seed]:
        seeded = params.model_copy(update={"seed": seed})
        if seed == params.seed:  # the pipeline's own recognizers are this seed's plain and gan arms
            at, fork = out, root / "models/recognizer_fork.pt"
            arms = {"plain": root / "models/recognizer.pt", "gan": root / "models/recognizer_aug.pt"}
        else:
            at = out / f"seed{seed}"
            at.mkdir(exist_ok=True)
            gan = jobs.index.to_numpy()[kept]
            plain, fork = train_plain(seeded, prepared, at)
            arms = {"plain": plain, "gan": train_on(seeded, prepared, at, "gan", fork, variants.faces[gan],
                                                    identities[kept])}
        recognizers = arms | {"truth_all": train_on(seeded, prepared, at, "truth_all", fork, faces, identities),
                              "truth_kept": train_on(seeded, prepared, at, "truth_kept", fork, faces[kept],
                                                     identities[kept])}
        per_seed[seed] = gains(data, params, variants.table, recognizers)
    report(per_seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
