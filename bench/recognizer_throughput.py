"""Benchmark: recognizer training throughput (img/s) on CPU with the default params.

Times whole training steps (augmentation, forward, margin head, backward,
optimizer) on random faces, batch 128, at 64 px unless told otherwise, and
embedding (inference, with flip averaging). Prints one JSON line per figure:
{name, value, unit, target, meets_target}.

    python bench/recognizer_throughput.py [--image-size 64] [--batch-size 128] [--steps 10]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from report import emit, steady_rate  # bench/report.py (scripts run from bench/)

from facegan.config import RecognizerParams
from facegan.recognition.backbone import build_backbone
from facegan.recognition.dataset import FaceSource, TrainBatches
from facegan.recognition.embed import embed_faces
from facegan.recognition.margin import build_head

# ~1,700 faces x default epochs in about 90 s on 2 cores needs about this rate.
TARGET_TRAIN_IMG_PER_S = 300.0
TARGET_EMBED_IMG_PER_S = 1000.0


def train_rate(p: RecognizerParams, image_size: int, batch_size: int, steps: int, classes: int = 85) -> float:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(batch_size * 4, image_size, image_size, 3), dtype=np.uint8)
    data = TrainBatches([FaceSource(faces, np.arange(len(faces)), np.arange(len(faces)) % classes)],
                        p.augment, seed=0)
    torch.manual_seed(0)
    model = build_backbone(p.arch, image_size, p.embedding_dim, p.width, p.dropout).train()
    head = build_head(p.head, p.embedding_dim, classes, p.scale, p.margin)
    opt = torch.optim.SGD([*model.parameters(), *head.parameters()], lr=0.01, momentum=0.9)
    done = [0]

    def run() -> int:  # `steps` training steps
        for _ in range(steps):
            step = done[0]
            x, y = data[(0, step, np.arange(step, step + batch_size) % len(faces))]
            loss = torch.nn.functional.cross_entropy(head(model(x), y), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done[0] += 1
        return steps * batch_size

    return steady_rate(run)


def embed_rate(p: RecognizerParams, image_size: int, n: int = 1024) -> float:
    model = build_backbone(p.arch, image_size, p.embedding_dim, p.width)
    faces = np.random.default_rng(0).integers(0, 256, size=(n, image_size, image_size, 3), dtype=np.uint8)
    return steady_rate(lambda: len(embed_faces(model, faces, flip=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    p = RecognizerParams()
    tag = f"{p.arch}{p.width}_{args.image_size}px_{os.cpu_count()}cpu"
    emit(f"recognizer_train_img_per_s_{tag}", train_rate(p, args.image_size, args.batch_size, args.steps),
         "img/s", TARGET_TRAIN_IMG_PER_S)
    emit(f"recognizer_embed_flip_img_per_s_{tag}", embed_rate(p, args.image_size), "img/s",
         TARGET_EMBED_IMG_PER_S)


if __name__ == "__main__":
    main()
