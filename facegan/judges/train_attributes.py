"""Training the attribute/yaw judge on base faces (BCE per attribute, or L1 for a continuous one such
as the youth where true ages are known; smooth-L1 on yaw).

Trained by facegan.train.loop.fit on the recognizer's reproducible batches
(order from (seed, epoch), augmentation from (seed, epoch, step)), so a killed
run resumes to the same weights.

Under torchrun each process takes its shard of every global batch and the
gradients are averaged over the processes before each step (Trainer.update,
as for every model). BatchNorm statistics stay per process (rank 0's are saved).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facegan.attributes import REGRESSION_WEIGHT, attribute_loss
from facegan.judges.attribute_net import YAW_SCALE, AttributeYawNet
from facegan.recognition.dataset import TrainBatches
from facegan.train.checkpoint import sample_rows
from facegan.train.device import autocast, full_precision, inference_batch
from facegan.judges.train_judge_net import JudgeNetTrainer
from facegan.train.loop import fit

# Hflip mirrors yaw, so it is applied with the label fix below rather than by albumentations.
ATTRIBUTE_AUGMENT = ["brightness_contrast", "affine", "blur_noise"]
# Positive-class weights are capped: a handful of positives must not dominate the loss.
MAX_POS_WEIGHT = 10.0


def balanced_pos_weight(labels: np.ndarray) -> torch.Tensor:
    """n_negative / n_positive per attribute (N x A labels: 0/1, or soft in [0, 1], counted by their side
    of 0.5), capped both ways. CelebA's attributes are skewed (6% eyeglasses, 78% young); unweighted BCE
    learns the majority answer, and a judge biased that way would call every edit towards the minority
    a failure."""
    positives = (labels >= 0.5).mean(0).clip(1e-6, 1 - 1e-6)
    return torch.as_tensor((1 - positives) / positives, dtype=torch.float32).clamp(1 / MAX_POS_WEIGHT,
                                                                                   MAX_POS_WEIGHT)


class AttributeJudgeTrainer(JudgeNetTrainer):
    """The attribute/yaw net trained on `data` (labels index `targets`); the attributes `regressed` marks
    (a continuous target, e.g. the youth 1 - age) are learnt by L1 of the probability to the target, not BCE."""

    name = "train_judges/attributes"

    def __init__(self, net: AttributeYawNet, data: TrainBatches, targets: np.ndarray, *, epochs: int,
                 batch_size: int, lr: float, seed: int, checkpoint_every: int, device: torch.device,
                 regressed: Sequence[bool] | None = None):
        super().__init__(net, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                         checkpoint_every=checkpoint_every, device=device)
        self.targets = targets
        self.targets_t = torch.as_tensor(targets, dtype=torch.float32)
        self.pos_weight = balanced_pos_weight(targets[np.asarray(data.labels), :-1]).to(device)
        n_attributes = targets.shape[1] - 1
        self.regressed = torch.zeros(n_attributes, dtype=torch.bool) if regressed is None else torch.as_tensor(
            np.asarray(regressed, bool))
        if self.regressed.shape != (n_attributes,):
            raise ValueError(f"regressed: {len(self.regressed)} flags for {n_attributes} attributes")
        self.regressed = self.regressed.to(device)

    def fingerprint(self) -> dict:
        regressed = self.regressed.tolist()
        return dict(kind="attribute_judge (side-balanced sample weights)", epochs=self.epochs,
                    batch_size=self.batch_size, lr=self.lr,
                    seed=self.seed, attributes=self.net.attributes, targets=self.targets, labels=self.data.labels,
                    pixels=self.data.read(sample_rows(len(self.data))),
                    **({"regressed": regressed, "regression_weight": REGRESSION_WEIGHT} if any(regressed) else {}))

    def balance(self, labels: torch.Tensor) -> torch.Tensor:
        """Per label, pos_weight on the positive side of 0.5, else 1. For 0/1 labels this is BCE's own
        pos_weight; for a soft target (youth, 1 - age) weighting the whole sample keeps the loss least
        where the sigmoid equals the target, as pos_weight on its positive term alone would not."""
        return torch.where(labels >= 0.5, self.pos_weight, torch.ones_like(labels))

    def train_step(self, batch, rng: torch.Generator) -> dict[str, float]:
        (epoch, step, _), (x, rows) = batch
        y = self.targets_t[rows].to(self.device)
        flip = self.flips(epoch, step)
        x = self.on_device(self.mirrored(x, flip))
        yaw_target = torch.where(flip.to(self.device), -y[:, -1], y[:, -1])
        with autocast(self.device):
            logits, yaw = self.net(x)
            loss = (attribute_loss(logits.float(), y[:, :-1], self.regressed, self.balance(y[:, :-1]))
                    + F.smooth_l1_loss(yaw.float() / YAW_SCALE, yaw_target / YAW_SCALE, beta=0.1))
        self.optimize(loss)
        return {"loss": loss.item()}


def train_attribute_judge(net: AttributeYawNet, data: TrainBatches, targets: np.ndarray, *, epochs: int,
                          batch_size: int, lr: float, seed: int, checkpoint_dir: Path, checkpoint_every: int,
                          device: torch.device, max_steps: int | None = None,
                          regressed: Sequence[bool] | None = None) -> tuple[AttributeYawNet, str]:
    """`data`'s labels index rows of `targets` (N x (A + 1): attributes 0/1, or continuous where
    `regressed`, then yaw degrees). Returns the net (eval mode) and its training run's fingerprint."""
    trainer = AttributeJudgeTrainer(net, data, targets, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                    checkpoint_every=checkpoint_every, device=device, regressed=regressed)
    run = fit(trainer, checkpoint_dir, max_steps=max_steps)
    return net.eval(), run.run_id


@torch.no_grad()
def predict(net: AttributeYawNet, x: torch.Tensor, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Attribute probabilities (N x A) and yaw degrees (N) for N x 3 x S x S inputs in [-1, 1]."""
    device = next(net.parameters()).device
    batch_size = batch_size or inference_batch(device)
    net.eval()
    probs, yaws = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        with full_precision(device):  # see facegan.judges.judges
            logits, yaw = net(xb)
            # Test-time flip: mirrored yaw must agree with the original, attributes are mirror-invariant.
            logits_f, yaw_f = net(xb.flip(3))
        probs.append(torch.sigmoid((logits + logits_f) / 2).cpu())
        yaws.append(((yaw - yaw_f) / 2).cpu())
    return torch.cat(probs).numpy(), torch.cat(yaws).numpy()
