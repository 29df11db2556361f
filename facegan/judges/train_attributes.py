"""Training the attribute/yaw judge on base faces (BCE per attribute + smooth-L1 on yaw).

Reuses the recognizer's reproducible batching (order from (seed, epoch),
augmentation from (seed, epoch, step)) and its checkpoint format, so a killed
run resumes to the same weights.

Under torchrun each process takes its shard of every global batch and the
gradients are averaged over the processes before each step (as in the GAN
loops: one mechanism for every stage; the net is small, so DDP's overlap of
communication with backward would gain little). BatchNorm statistics stay
per process (rank 0's are saved).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from facegan import distributed
from facegan.judges.attribute_net import YAW_SCALE, AttributeYawNet
from facegan.train.device import amp_dtype, autocast, inference_batch
from facegan.train.checkpoint import (architecture, fingerprint, load_checkpoint, rng_states, save_checkpoint,
                                             set_rng_states)
from facegan.recognition.dataset import TrainBatches
from facegan.train.rng import epoch_batches

# Hflip mirrors yaw, so it is applied with the label fix below rather than by albumentations.
ATTRIBUTE_AUGMENT = ["brightness_contrast", "affine", "blur_noise"]
# Positive-class weights are capped: a handful of positives must not dominate the loss.
MAX_POS_WEIGHT = 10.0


def balanced_pos_weight(labels: np.ndarray) -> torch.Tensor:
    """n_negative / n_positive per attribute (N x A 0/1 labels), capped both ways. CelebA's attributes
    are skewed (6% eyeglasses, 78% young); unweighted BCE learns the majority answer, and a judge
    biased that way would call every edit towards the minority a failure."""
    positives = labels.mean(0).clip(1e-6, 1 - 1e-6)
    return torch.as_tensor((1 - positives) / positives, dtype=torch.float32).clamp(1 / MAX_POS_WEIGHT,
                                                                                   MAX_POS_WEIGHT)


def train_attribute_judge(net: AttributeYawNet, data: TrainBatches, targets: np.ndarray, *, epochs: int,
                          batch_size: int, lr: float, seed: int, checkpoint_dir: Path, checkpoint_every: int,
                          device: torch.device, max_steps: int | None = None) -> AttributeYawNet:
    """`data`'s labels index rows of `targets` (N x (A + 1): attributes 0/1, then yaw degrees)."""
    batch_size = min(batch_size, len(data))
    distributed.check_batch_size(batch_size, "judges.batch_size")
    steps_per_epoch = len(data) // batch_size
    total = epochs * steps_per_epoch
    run_id = fingerprint(kind="attribute_judge (balanced)", epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                         attributes=net.attributes, targets=targets, labels=data.labels,
                         architecture=architecture(net))
    net.to(device)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    distributed.broadcast_modules(net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    scaler = torch.amp.GradScaler(enabled=amp_dtype(device) == torch.float16)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    step = 0
    state = load_checkpoint(checkpoint_dir, run_id)
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        set_rng_states(state["rng"])

    def checkpoint() -> None:
        save_checkpoint(checkpoint_dir, {"fingerprint": run_id, "step": step, "model": net.state_dict(),
                                         "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                         "rng": rng_states()})

    targets_t = torch.as_tensor(targets, dtype=torch.float32)
    pos_weight = balanced_pos_weight(targets[np.asarray(data.labels), :-1]).to(device)
    stop = total if max_steps is None else min(total, max_steps)
    progress = tqdm(total=stop, initial=step, desc="train_judges/attributes", unit="step", leave=False,
                    disable=not distributed.is_main())
    net.train()
    while step < stop:
        epoch, first = divmod(step, steps_per_epoch)
        keys = [(epoch, first + i, distributed.shard(b)) for i, b in
                enumerate(epoch_batches(len(data), batch_size, seed, epoch)[first:][: stop - step])]
        for (_, key_step, _), (x, rows) in zip(keys, DataLoader(data, sampler=keys, batch_size=None)):
            y = targets_t[rows].to(device)
            # Flips for the whole global batch, cut like its faces: as in a one-process run.
            flip = torch.from_numpy(np.random.default_rng([seed, epoch, key_step, 7]).random(batch_size) < 0.5)
            flip = distributed.shard(flip)
            x = torch.where(flip[:, None, None, None], x.flip(3), x).to(device)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            yaw_target = torch.where(flip.to(device), -y[:, -1], y[:, -1])
            with autocast(device):
                logits, yaw = net(x)
                loss = (F.binary_cross_entropy_with_logits(logits.float(), y[:, :-1], pos_weight=pos_weight)
                        + F.smooth_l1_loss(yaw.float() / YAW_SCALE, yaw_target / YAW_SCALE, beta=0.1))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            distributed.average_gradients(net.parameters())
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            if step % checkpoint_every == 0:
                checkpoint()
    checkpoint()
    progress.close()
    return net.eval()


@torch.no_grad()
def predict(net: AttributeYawNet, x: torch.Tensor, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Attribute probabilities (N x A) and yaw degrees (N) for N x 3 x S x S inputs in [-1, 1]."""
    device = next(net.parameters()).device
    batch_size = batch_size or inference_batch(device)
    net.eval()
    probs, yaws = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        with autocast(device):
            logits, yaw = net(xb)
            # Test-time flip: mirrored yaw must agree with the original, attributes are mirror-invariant.
            logits_f, yaw_f = net(xb.flip(3))
        probs.append(torch.sigmoid((logits.float() + logits_f.float()) / 2).cpu())
        yaws.append(((yaw.float() - yaw_f.float()) / 2).cpu())
    return torch.cat(probs).numpy(), torch.cat(yaws).numpy()
