"""Benchmark: thermal -> visible translator training throughput (img/s) and bulk translation, CPU.

Times whole training steps of the default model (PatchGAN step, U-Net step
with L1 and the identity loss through a default-size recognizer) on random
face pairs at 64 px with the default batch, and `translate_faces`
(inference, what synthesis calls). Prints one JSON line per figure:
{name, value, unit, target, meets_target}.

    python bench/translator_throughput.py [--image-size 64] [--batch-size 16] [--steps 12]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from report import emit, steady_rate  # bench/report.py (scripts run from bench/)

from facegan.config import RecognizerParams, TranslatorParams
from facegan.recognition.backbone import build_backbone
from facegan.train.rng import step_generator
from facegan.translator.train import PairedFaces, TranslatorTrainer
from facegan.translator.translate import translate_faces

# train_translator's default steps must fit ~70 s of an idle 2-core CPU (the stage's budget is ~90 s).
TARGET_TRAIN_IMG_PER_S = TranslatorParams().steps * TranslatorParams().batch_size / 70
TARGET_TRANSLATE_IMG_PER_S = 500.0  # synthesis translates every thermal twin it uses (~2,400) in ~5 s


def random_pairs(n: int, image_size: int) -> PairedFaces:
    faces = np.random.default_rng(0).integers(0, 256, size=(2 * n, image_size, image_size, 3), dtype=np.uint8)
    return PairedFaces(faces, np.arange(n), np.arange(n, 2 * n))


def train_rate(p: TranslatorParams, image_size: int, steps: int) -> float:
    pairs = random_pairs(p.batch_size * 4, image_size)
    r = RecognizerParams()
    trainer = TranslatorTrainer(p, pairs, build_backbone(r.arch, image_size, r.embedding_dim, r.width),
                                seed=0, image_size=image_size, device=torch.device("cpu"))

    def run() -> int:  # `steps` training steps
        for _ in range(steps):
            trainer.train_step(trainer.step, step_generator(0, trainer.step))
            trainer.step += 1
        return steps * p.batch_size

    return steady_rate(run)


def translate_rate(p: TranslatorParams, image_size: int, n: int = 1024) -> float:
    pairs = random_pairs(n, image_size)
    trainer = TranslatorTrainer(p, pairs, build_backbone("iresnet", image_size, 16, 4), 0, image_size,
                                torch.device("cpu"))
    faces = pairs.faces[:n]
    return steady_rate(lambda: len(translate_faces(trainer.g, faces)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=TranslatorParams().batch_size)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    p = TranslatorParams(batch_size=args.batch_size)
    tag = f"g{p.channels}x{p.levels}_d{p.d_channels}_{args.image_size}px_b{args.batch_size}_{os.cpu_count()}cpu"
    emit(f"translator_train_img_per_s_{tag}", train_rate(p, args.image_size, args.steps), "img/s",
         TARGET_TRAIN_IMG_PER_S)
    emit(f"translator_translate_img_per_s_{tag}", translate_rate(p, args.image_size), "img/s",
         TARGET_TRANSLATE_IMG_PER_S)


if __name__ == "__main__":
    main()
