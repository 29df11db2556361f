"""Training the quality critic on base faces: each batch's real faces (label 1) beside degraded
copies of the same faces (label 0, facegan.judges.degrade), binary cross-entropy.

The real faces get the attribute judge's classical augmentation (brightness, small affine, blur or
noise) and the degradations are drawn on top of it, so the only difference between the two halves
of a batch is the degradation: a soft or noisy but clean face is no cue. Degradations come from the
step's generator (a pure function of (seed, step)), so a resumed run draws the same ones; under
torchrun every process draws the same sequence for its own shard's faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from facegan.judges.degrade import KINDS, degrade
from facegan.judges.quality import QualityCritic, quality_scores
from facegan.judges.train_judge_net import JudgeNetTrainer
from facegan.recognition.dataset import TrainBatches
from facegan.train.checkpoint import sample_rows
from facegan.train.device import autocast, to_input
from facegan.train.loop import fit


class QualityCriticTrainer(JudgeNetTrainer):
    name = "train_judges/quality"

    def __init__(self, net: QualityCritic, data: TrainBatches, *, kinds: tuple[str, ...] = KINDS, **training):
        super().__init__(net, data, **training)
        self.kinds = tuple(kinds)

    def fingerprint(self) -> dict:
        return dict(kind="quality_critic (real vs degraded)", epochs=self.epochs, batch_size=self.batch_size,
                    lr=self.lr, seed=self.seed, kinds=self.kinds, pixels=self.data.read(sample_rows(len(self.data))))

    def train_step(self, batch, rng: torch.Generator) -> dict[str, float]:
        (epoch, step, _), (x, _) = batch
        x = self.mirrored(x, self.flips(epoch, step))
        bad, _, _ = degrade(x, rng, self.kinds)
        inputs = self.on_device(torch.cat([x, bad]))
        labels = torch.cat([torch.ones(len(x)), torch.zeros(len(bad))]).to(self.device)
        with autocast(self.device):
            loss = F.binary_cross_entropy_with_logits(self.net(inputs).float(), labels)
        self.optimize(loss)
        return {"loss": loss.item()}


def train_quality_critic(net: QualityCritic, data: TrainBatches, *, epochs: int, batch_size: int, lr: float,
                         seed: int, checkpoint_dir: Path, checkpoint_every: int, device: torch.device,
                         kinds: tuple[str, ...] = KINDS, max_steps: int | None = None) -> tuple[QualityCritic, str]:
    """The critic trained on `data`'s (real) faces against copies degraded by `kinds`; returns it (eval
    mode) and its run's fingerprint."""
    trainer = QualityCriticTrainer(net, data, kinds=kinds, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                   checkpoint_every=checkpoint_every, device=device)
    run = fit(trainer, checkpoint_dir, max_steps=max_steps)
    return net.eval(), run.run_id


def degradation_auc(net: QualityCritic, faces: np.ndarray, real_scores: np.ndarray, seed: int) -> dict[str, float]:
    """Per degradation kind, the ROC AUC of the critic telling these held-out real faces (`real_scores`:
    their scores) from degraded copies of them (severity drawn over the whole range, as in training)."""
    rng = torch.Generator().manual_seed(seed)
    out = {}
    for kind in KINDS:
        bad, _, _ = degrade(to_input(faces), rng, (kind,))
        scores = quality_scores(net, bad.add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy())
        out[kind] = float(roc_auc_score(np.r_[np.ones(len(real_scores)), np.zeros(len(scores))],
                                        np.r_[real_scores, scores]))
    return out
