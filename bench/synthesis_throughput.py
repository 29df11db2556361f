"""Benchmark: synthesis throughput (variants/s) and low-shot scoring speed (episodes/s), CPU.

Synthesis: the default-size editor, attribute/yaw judge and identity judge on
random 64-px faces, through `generate_variants` (edit, judge attributes, judge
identity against the source, write to a memmap): what the synthesize stage
does per variant. Scoring: nearest-class-mean episodes of the default
evaluation's shape (36 novel identities, ~1,400 probes, 7 variants per
gallery photo, 512-d embeddings), per enrollment condition. Prints one JSON
line per figure: {name, value, unit, target, meets_target}.

    python bench/synthesis_throughput.py [--image-size 64] [--variants 2048]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch

from report import emit  # bench/report.py (scripts run from bench/)

from facegan.config import EditorParams, JudgesParams
from facegan.editor.train import build_models
from facegan.evaluation.enrollment import VariantLookup, visible_conditions
from facegan.evaluation.lowshot_run import Embedded, EpisodeScorer
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.judges import Judges
from facegan.judges.quality import QualityCritic
from facegan.lowshot.episodes import draw_episodes
from facegan.recognition.backbone import build_backbone
from facegan.synthesis.generate import generate_variants

# The default run synthesizes ~8,500 variants; under a minute on 2 cores needs this rate.
TARGET_VARIANTS_PER_S = 150.0
# 4 conditions x 2 shot counts x 10 episodes + ablations: a few seconds at this rate.
TARGET_EPISODES_PER_S = 20.0


def synthesis_rate(image_size: int, n: int) -> float:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(n, image_size, image_size, 3), dtype=np.uint8)
    torch.manual_seed(0)
    editor = build_models(EditorParams(), image_size)[0].eval()
    j = JudgesParams()
    judges = Judges(AttributeYawNet(j.attribute_arch, image_size, ["eyeglasses", "smiling", "young"], j.width),
                    build_backbone(j.identity_arch, image_size, 512, j.width).eval(), 0.5, 1e-3,
                    QualityCritic(j.quality_arch, image_size, j.quality_width).eval(), 0.5, j.quality_pass)
    judges.attribute_net.eval()
    kinds = ["eyeglasses", "smiling", "young", "yaw"]
    jobs = pd.DataFrame({"source_row": np.arange(n), "input_row": np.arange(n),
                         "kind": [kinds[i % 4] for i in range(n)],
                         "target": [20.0 if i % 4 == 3 else 1.0 for i in range(n)]})
    attrs = pd.DataFrame({"eyeglasses": 0.0, "smiling": 0.0, "young": 1.0, "yaw": 0.0}, index=np.arange(n))
    out = np.empty_like(faces)
    started = time.perf_counter()
    generate_variants(jobs, faces, attrs, editor, None, judges, out, progress=False)
    return n / (time.perf_counter() - started)


def scoring_rate(identities: int = 36, per_identity: int = 19, dim: int = 512, episodes: int = 10) -> float:
    rng = np.random.default_rng(0)
    n_visible = identities * per_identity
    index = pd.DataFrame({
        "identity": np.tile(np.repeat(np.arange(identities), per_identity), 2),
        "domain": ["visible"] * n_visible + ["thermal"] * n_visible,
        "pair": np.concatenate([np.arange(n_visible) + n_visible, np.arange(n_visible)]),
        "eyeglasses": rng.integers(0, 2, 2 * n_visible), "smiling": rng.integers(0, 2, 2 * n_visible),
        "young": rng.integers(0, 2, 2 * n_visible), "yaw": rng.normal(0, 20, 2 * n_visible)})
    store = rng.normal(size=(len(index), dim)).astype(np.float32)
    kinds = ["eyeglasses", "smiling", "young", "yaw", "yaw", "yaw", "yaw", "thermal"]
    variants = pd.DataFrame({"split": "novel", "kind": kinds * n_visible, "kept": True,
                             "source_row": np.repeat(np.arange(n_visible), len(kinds)),
                             "input_row": np.repeat(np.arange(n_visible), len(kinds))})
    thermal = (variants["kind"] == "thermal").to_numpy()
    variants.loc[thermal, "input_row"] += n_visible
    nv = VariantLookup(variants)
    attributes = index[["eyeglasses", "smiling", "young", "yaw"]].to_numpy(np.float64)
    embedded = Embedded(store=store, attributes=attributes,
                        variant=rng.normal(size=(len(variants), dim)).astype(np.float32),
                        variant_attributes=attributes[variants["source_row"].to_numpy()])
    scorer = EpisodeScorer(index, embedded, nv, None, 10.0)
    drawn = draw_episodes(index, 5, episodes, "random", 10.0, seed=0)
    conditions = [c for c in visible_conditions(nv.edit_kinds, False).values() if not c.classical]
    started = time.perf_counter()
    for episode in drawn:
        for cond in conditions:
            scorer.score(episode, cond, "visible", "ncm")
    return len(drawn) * len(conditions) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--variants", type=int, default=2048)
    args = parser.parse_args()
    tag = f"{args.image_size}px_{os.cpu_count()}cpu"
    emit(f"synthesis_variants_per_s_{tag}", synthesis_rate(args.image_size, args.variants), "variants/s",
         TARGET_VARIANTS_PER_S)
    emit(f"evaluation_episode_conditions_per_s_{os.cpu_count()}cpu", scoring_rate(), "episodes/s",
         TARGET_EPISODES_PER_S)


if __name__ == "__main__":
    main()
