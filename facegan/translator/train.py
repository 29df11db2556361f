"""Training loop of the thermal -> visible translator (TV-GAN).

Per step, on a batch of base-identity (thermal, visible) twins, both mirrored
together at random: the conditional PatchGAN learns real (thermal, visible)
vs (thermal, G(thermal)); G learns to fool it (least-squares GAN), to match
the twin pixel-wise (L1) and to keep the frozen recognizer's embedding of
the twin (identity loss; the judges never enter a loss).

With `lambda_cycle > 0` it is a CycleGAN: a second generator maps visible to
thermal, each domain gets an unconditional PatchGAN, visible reals come from
an independent draw (so adversarial and cycle terms never use the pairing),
and cycle L1 ties thermal -> visible -> thermal and visible -> thermal ->
visible. For truly unpaired data set lambda_l1 and lambda_id to 0.

Trained by facegan.train.loop.fit: batch order from (seed, epoch), flips from
the step's generator, so a resumed run ends with the same weights as an
uninterrupted one (CPU). Under torchrun each process takes its shard of every
global batch and the gradients are averaged (BatchNorm statistics stay per
process). It runs in channels_last, under autocast on CUDA and in fp32 on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facegan import distributed
from facegan.config import TranslatorParams
from facegan.gan.losses import d_adversarial, g_adversarial
from facegan.train.checkpoint import computing_params, first_weights, sample_rows
from facegan.train.device import autocast, default_device, to_input
from facegan.train.loop import Callback, LossLog, Trainer, fit, sample_name
from facegan.train.rng import step_batch
from facegan.translator.models import PatchDiscriminator, UNet

# Params that change how a run is executed or observed, not what it computes.
_EXECUTION_ONLY = {"checkpoint_every", "log_every", "monitor_every"}
ADAM_BETAS = (0.5, 0.999)  # pix2pix's setting
ADVERSARIAL = "lsgan"  # CycleGAN's choice; stable for both modes
UNPAIRED_SEED_OFFSET = 7919  # a second, independent batch order for the unpaired visible side


@dataclass
class PairedFaces:
    """Row-aligned thermal and visible uint8 faces (memmaps or arrays) and the store rows they come from."""

    faces: np.ndarray
    thermal_rows: np.ndarray
    visible_rows: np.ndarray

    def __len__(self) -> int:
        return len(self.thermal_rows)

    def read(self, positions: np.ndarray, side: str) -> np.ndarray:
        rows = (self.thermal_rows if side == "thermal" else self.visible_rows)[positions]
        order = np.argsort(rows, kind="stable")  # ascending reads are kinder to the page cache
        out = np.empty((len(rows), *self.faces.shape[1:]), np.uint8)
        out[order] = self.faces[rows[order]]
        return out


@dataclass
class TrainResult:
    generator: UNet  # thermal -> visible, in eval mode
    steps: int
    train_img_per_s: float  # over training steps only, across resumes
    run_id: str  # the training run's fingerprint (facegan.train.loop.Fit), saved with the model


def check_levels(levels: int, image_size: int) -> None:
    if image_size % 2 ** levels or image_size // 2 ** levels < 2:
        raise ValueError(f"translator.levels {levels} leaves less than 2 px of a {image_size} px face; lower it")


def _mirror(flip: torch.Tensor, *batches: torch.Tensor) -> list[torch.Tensor]:
    """The same horizontal flips applied to every batch (twins stay aligned)."""
    return [torch.where(flip[:, None, None, None], b.flip(3), b) for b in batches]


class TranslatorTrainer(Trainer):
    """Generators, discriminators and optimizers, trained on `pairs`: one D and one G update a step."""

    name = "train_translator"
    shown = ("g/l1",)

    def __init__(self, p: TranslatorParams, pairs: PairedFaces, recognizer: torch.nn.Module, seed: int,
                 image_size: int, device: torch.device):
        check_levels(p.levels, image_size)
        batch_size = min(p.batch_size, len(pairs))
        distributed.check_batch_size(batch_size, "translator.batch_size")
        super().__init__(seed, p.steps, batch_size, p.checkpoint_every, device)
        self.p, self.pairs, self.image_size, self.cycle = p, pairs, image_size, p.lambda_cycle > 0
        torch.manual_seed(seed)
        self.g = self._place(UNet(p.channels, p.levels))
        # pix2pix judges (thermal, visible) pairs; CycleGAN judges each domain alone (no pairs).
        self.d = self._place(PatchDiscriminator(p.d_channels, 3 if self.cycle else 6))
        self.nets = {"g": self.g, "d": self.d}
        if self.cycle:
            self.nets["g_back"] = self._place(UNet(p.channels, p.levels))  # visible -> thermal
            self.nets["d_back"] = self._place(PatchDiscriminator(p.d_channels, 3))
        distributed.broadcast_modules(*self.nets.values())
        self.recognizer = self._place(recognizer).eval().requires_grad_(False)
        self.g_params = [w for k, n in self.nets.items() if k.startswith("g") for w in n.parameters()]
        self.d_params = [w for k, n in self.nets.items() if k.startswith("d") for w in n.parameters()]
        self.opt_g = torch.optim.Adam(self.g_params, lr=p.lr_g, betas=ADAM_BETAS)
        self.opt_d = torch.optim.Adam(self.d_params, lr=p.lr_d, betas=ADAM_BETAS)
        self.parts = {"opt_g": self.opt_g, "opt_d": self.opt_d} | self.nets

    def fingerprint(self) -> dict:
        """Computing params, seed, size, data and recognizer samples."""
        sample = sample_rows(len(self.pairs))
        return dict(params=computing_params(self.p, _EXECUTION_ONLY), seed=self.seed, image_size=self.image_size,
                    thermal=self.pairs.read(sample, "thermal"), visible=self.pairs.read(sample, "visible"),
                    recognizer=first_weights(self.recognizer))

    def _place(self, x):
        """A module or batch on the device, channels_last: oneDNN's convolutions on CPU and tensor
        cores on CUDA are fastest in it."""
        return x.to(self.device, memory_format=torch.channels_last)

    def _judge(self, d, thermal: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return d(image) if self.cycle else d(torch.cat([thermal, image], 1))

    def _set_learning_rates(self) -> None:
        """pix2pix's schedule: constant, then linear decay to 0 from `lr_decay_start` of the steps on
        (a pure function of the step, so resuming needs no scheduler state)."""
        start = self.p.lr_decay_start * self.p.steps
        factor = min(1.0, max(0.0, (self.p.steps - self.step) / max(self.p.steps - start, 1.0)))
        for opt, lr in ((self.opt_g, self.p.lr_g), (self.opt_d, self.p.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def read(self, step: int, rng: torch.Generator) -> list[torch.Tensor]:
        """The step's (thermal, visible[, unpaired visible]) batches in [-1, 1], mirrored at random:
        this process's shard of the global batches, flipped as in a one-process run."""
        part = distributed.batch_shard(self.batch_size)
        indices = part.take(step_batch(len(self.pairs), self.batch_size, self.seed, step))
        batches = [to_input(self.pairs.read(indices, "thermal")), to_input(self.pairs.read(indices, "visible"))]
        if self.cycle:
            other = step_batch(len(self.pairs), self.batch_size, self.seed + UNPAIRED_SEED_OFFSET, step)
            batches.append(to_input(self.pairs.read(part.take(other), "visible")))
        return _mirror(part.take(torch.rand(self.batch_size, generator=rng) < 0.5), *batches)

    def train_step(self, step: int, rng: torch.Generator) -> dict[str, float]:
        """One D and one G update on the step's batches (cycle mode: plus an unpaired visible batch)."""
        self._set_learning_rates()
        thermal, visible, *other_visible = (self._place(b) for b in self.read(step, rng))
        real_visible = other_visible[0] if self.cycle else visible
        # The generators run once per step (pix2pix's order): D learns from their detached outputs,
        # then G from the same outputs through the updated D.
        with autocast(self.device):
            fake = self.g(thermal)
            fake_thermal = self.nets["g_back"](real_visible) if self.cycle else None
            d_loss = self._d_loss(thermal, real_visible, fake.detach(),
                                  fake_thermal.detach() if self.cycle else None)
        self.update(d_loss, self.opt_d, self.d_params)
        with autocast(self.device):
            g_loss, losses = self._g_loss(thermal, visible, real_visible, fake, fake_thermal)
        self.update(g_loss, self.opt_g, self.g_params)
        return losses | {"d/adversarial": d_loss.item()}

    def _d_loss(self, thermal: torch.Tensor, real_visible: torch.Tensor, fake: torch.Tensor,
                fake_thermal: torch.Tensor | None) -> torch.Tensor:
        for k in ("d", "d_back"):
            if k in self.nets:
                self.nets[k].requires_grad_(True)
        d_loss = d_adversarial(ADVERSARIAL, self._judge(self.d, thermal, real_visible),
                               self._judge(self.d, thermal, fake))
        if self.cycle:
            d_loss = d_loss + d_adversarial(ADVERSARIAL, self.nets["d_back"](thermal),
                                            self.nets["d_back"](fake_thermal))
        return d_loss

    def _g_loss(self, thermal: torch.Tensor, visible: torch.Tensor, real_visible: torch.Tensor, fake: torch.Tensor,
                fake_thermal: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, float]]:
        """The generators' loss and its terms; the discriminators' weights need no gradients here."""
        p = self.p
        for k in ("d", "d_back"):
            if k in self.nets:
                self.nets[k].requires_grad_(False)
        g_adv = g_adversarial(ADVERSARIAL, self._judge(self.d, thermal, fake))
        g_l1 = F.l1_loss(fake, visible)
        g_id = torch.zeros((), device=self.device)
        if p.lambda_id > 0:  # the recognizer pass is a large share of a step
            with torch.no_grad():
                anchor = F.normalize(self.recognizer(visible))
            g_id = (1 - (F.normalize(self.recognizer(fake)) * anchor).sum(1)).mean()
        g_loss = g_adv + p.lambda_l1 * g_l1 + p.lambda_id * g_id
        losses = {"g/adversarial": g_adv.item(), "g/l1": g_l1.item(), "g/identity": g_id.item()}
        if self.cycle:
            back = self.nets["g_back"]
            g_adv_back = g_adversarial(ADVERSARIAL, self.nets["d_back"](fake_thermal))
            g_cycle = F.l1_loss(back(fake), thermal) + F.l1_loss(self.g(fake_thermal), real_visible)
            g_loss = g_loss + g_adv_back + p.lambda_cycle * g_cycle
            losses |= {"g/adversarial_back": g_adv_back.item(), "g/cycle": g_cycle.item()}
        return g_loss, losses


class SampleGrid(Callback):
    """The sample grid `monitor(generator)` every `every` steps, from the generator in eval mode
    (BatchNorm running statistics, as the saved model will use them)."""

    def __init__(self, monitor: Callable[[UNet], object], every: int):
        self.monitor, self.every = monitor, every

    def on_step(self, trainer, losses, logs):
        if not logs or trainer.step % self.every:
            return None
        image = self.monitor(trainer.g.eval())
        trainer.g.train()
        return {sample_name(trainer.step): image}


def train_translator(p: TranslatorParams, pairs: PairedFaces, recognizer: torch.nn.Module, *, seed: int,
                     image_size: int, checkpoint_dir: Path, live=None,
                     monitor: Callable[[UNet], object] | None = None, max_steps: int | None = None,
                     device: torch.device | None = None) -> TrainResult:
    """Train (or resume) the translator on `pairs` (facegan.train.loop.fit).

    `live` is a dvclive factory `live(checkpoint)` (facegan.live): mean losses every `log_every`
    steps and, with `monitor(generator)` (a PIL sample grid), a grid every `monitor_every` steps.
    `max_steps` stops early (as if killed) after checkpointing.
    """
    trainer = TranslatorTrainer(p, pairs, recognizer, seed, image_size, device or default_device())
    callbacks = [LossLog(p.log_every)] + ([SampleGrid(monitor, p.monitor_every)] if monitor is not None else [])
    run = fit(trainer, checkpoint_dir, max_steps=max_steps, callbacks=callbacks, live=live)
    return TrainResult(trainer.g.eval(), run.steps, run.train_img_per_s, run.run_id)
