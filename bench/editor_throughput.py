"""Benchmark: attribute editor training throughput (img/s) and bulk editing throughput, CPU.

Times whole training steps of the default model (D step with its lazy
penalty, G step with edit and reconstruction passes, identity loss through a
default-size recognizer, EMA update) on random faces at 64 px, batch 32, and
`edit_faces` (inference, what synthesis calls). Prints one JSON line per
figure: {name, value, unit, target, meets_target}.

    python bench/editor_throughput.py [--image-size 64] [--batch-size 32] [--steps 12]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from report import emit, steady_rate  # bench/report.py (scripts run from bench/)

from facegan.config import EditorParams, RecognizerParams
from facegan.editor.conditioning import attribute_vectors
from facegan.editor.edit import edit_faces
from facegan.editor.train import editor_trainer
from facegan.train.rng import step_generator
from facegan.recognition.backbone import build_backbone
from facegan.recognition.dataset import FaceSource

# The default run gets ~2-3 minutes of a 2-core CPU for its training steps.
TARGET_TRAIN_IMG_PER_S = 100.0
TARGET_EDIT_IMG_PER_S = 1000.0


def random_attributes(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"eyeglasses": rng.integers(0, 2, n), "smiling": rng.integers(0, 2, n), "young": rng.integers(0, 2, n),
            "yaw": rng.uniform(-45, 45, n)}


def train_rate(p: EditorParams, image_size: int, batch_size: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(batch_size * 4, image_size, image_size, 3), dtype=np.uint8)
    source = FaceSource(faces, np.arange(len(faces)), np.zeros(len(faces)))
    attributes = attribute_vectors(random_attributes(len(faces), rng))
    r = RecognizerParams()
    recognizer = build_backbone(r.arch, image_size, r.embedding_dim, r.width)
    trainer = editor_trainer(p, source, attributes, recognizer, seed=0, image_size=image_size,
                            device=torch.device("cpu"))

    def run() -> int:  # `steps` training steps
        for _ in range(steps):
            trainer.train_step(trainer.step, step_generator(0, trainer.step))
            trainer.step += 1
        return steps * batch_size

    return steady_rate(run)


def edit_rate(p: EditorParams, image_size: int, n: int = 1024) -> float:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(n, image_size, image_size, 3), dtype=np.uint8)
    source = random_attributes(n, rng)
    trainer = editor_trainer(p, FaceSource(faces, np.arange(n), np.zeros(n)), attribute_vectors(source),
                            build_backbone("iresnet", image_size, 16, 4), 0, image_size, torch.device("cpu"))
    return steady_rate(lambda: len(edit_faces(trainer.ema, faces, {"yaw": 20.0}, source)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    # Full GAN steps: the default run's first steps train D's heads alone and are far cheaper.
    p = EditorParams(batch_size=args.batch_size, heads_pretrain_steps=0)
    tag = f"g{p.channels}x{p.levels}_d{p.d_channels}_{args.image_size}px_b{args.batch_size}_{os.cpu_count()}cpu"
    emit(f"editor_train_img_per_s_{tag}", train_rate(p, args.image_size, args.batch_size, args.steps), "img/s",
         TARGET_TRAIN_IMG_PER_S)
    emit(f"editor_edit_img_per_s_{tag}", edit_rate(p, args.image_size), "img/s", TARGET_EDIT_IMG_PER_S)


if __name__ == "__main__":
    main()
