"""What training a judge's net shares (attribute/yaw judge, quality critic): AdamW with a cosine
schedule over the run, batches of base faces keyed by (seed, epoch, step), mirror flips drawn for
the whole global batch and cut like its faces, so a one-process run and a torchrun run draw alike."""

from __future__ import annotations

import math

import numpy as np
import torch

from facegan import distributed
from facegan.recognition.dataset import TrainBatches
from facegan.train.loop import Trainer
from facegan.train.rng import keyed_batches


class JudgeNetTrainer(Trainer):
    """One judge net trained for `epochs` over `data`; subclasses add the loss (`train_step`)."""

    progress_unit = "step"
    shown = ("loss",)

    def __init__(self, net: torch.nn.Module, data: TrainBatches, *, epochs: int, batch_size: int, lr: float,
                 seed: int, checkpoint_every: int, device: torch.device):
        batch_size = min(batch_size, len(data))
        distributed.check_batch_size(batch_size, "judges.batch_size")
        super().__init__(seed, epochs * (len(data) // batch_size), batch_size, checkpoint_every, device)
        self.net, self.data, self.epochs, self.lr = net, data, epochs, lr
        net.to(device)
        if device.type == "cuda":
            net.to(memory_format=torch.channels_last)
        distributed.broadcast_modules(net)
        self.optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / self.steps)))
        self.nets = {"model": net}
        self.parts = {"model": net, "optimizer": self.optimizer, "scheduler": self.scheduler}

    def batches(self, start: int, stop: int):
        return keyed_batches(self.data, self.batch_size, self.seed, start, stop, global_seed_at_epoch_start=True)

    def flips(self, epoch: int, step: int) -> torch.Tensor:
        """Which faces of this process's shard to mirror (bool)."""
        flip = torch.from_numpy(np.random.default_rng([self.seed, epoch, step, 7]).random(self.batch_size) < 0.5)
        return distributed.shard(flip)

    @staticmethod
    def mirrored(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        return torch.where(flip[:, None, None, None], x.flip(3), x)

    def on_device(self, x: torch.Tensor) -> torch.Tensor:
        """A batch on the device, in its fast layout."""
        x = x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.device.type == "cuda" else x

    def optimize(self, loss: torch.Tensor) -> None:
        self.update(loss, self.optimizer, self.net.parameters())
        self.scheduler.step()
