"""Training loop of the attribute editor (G, D, EMA G).

The first `heads_pretrain_steps` train only D's attribute and yaw heads on
real faces. Then per step: D learns real vs fake, the attributes and yaw of
real faces, and (weight `heads_on_edits`) that G's edits still show their
source attributes, so a pattern that fools its heads once stops working; G
learns to fool D, to make D's heads read the target attributes on its edits,
to reconstruct the input when nothing is to change, and to keep the frozen
recognizer's embedding (the judges never enter a loss). D sees every image
through DiffAugment. Adversarial and attribute terms ramp up over
`warmup_steps`: the identity mapping comes first.

Trained by facegan.train.loop.fit: batch order from (seed, epoch), everything
random within a step (flips, targets, augmentation, instance noise,
interpolates) from the step's generator, so a resumed run ends with the same
weights as an uninterrupted one (CPU).

`editor.arch` picks the trainer (TRAINERS): this module's FaceganTrainer, or the StarGAN
baseline (facegan.editor.train_stargan); what they share is facegan.editor.trainer.EditorTrainer.
G's BatchNorm keeps per-process statistics under torchrun (rank 0's are saved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facegan import distributed
from facegan.config import EditorParams
from facegan.editor.augment import diff_augment
from facegan.editor.conditioning import BINARY, NAMES, YAW_RANGE, YAW_SCALE, sample_targets
from facegan.editor.discriminator import Discriminator
from facegan.editor.ema import update_ema
from facegan.editor.generator import Generator, prior_turn
from facegan.editor.train_stargan import StarGANTrainer
from facegan.editor.trainer import EditorTrainer, heads_loss
from facegan.gan.losses import blend_partiality, d_adversarial, g_adversarial, gradient_penalty, r1_penalty
from facegan.recognition.dataset import FaceSource
from facegan.train.device import default_device
from facegan.train.loop import Callback, LossLog, fit, sample_name

SELECTION_METRIC = "usable"  # the monitor's share of edits the judges would keep (select_best)


@dataclass
class TrainResult:
    generator: torch.nn.Module  # the EMA copy, in eval mode (the selected step's with select_best)
    steps: int
    train_img_per_s: float  # over training steps only (not monitoring), across resumes
    selected_step: int  # the step whose EMA generator this is
    selection: dict[int, float]  # monitor step -> SELECTION_METRIC (empty without select_best)
    run_id: str  # the training run's fingerprint (facegan.train.loop.Fit), saved with the model


class FaceganTrainer(EditorTrainer):
    """This project's editor (editor.arch facegan): the module docstring's steps."""

    arch = "facegan"
    shown = ("g/reconstruction", "d/attributes")

    def __init__(self, p: EditorParams, *args, **kwargs):
        super().__init__(p, *args, **kwargs)
        self.pretrain_steps = min(p.heads_pretrain_steps, p.steps // 2)  # D's heads alone, first
        # Round trips turned away by the EMA generator: it then runs in training, not only for sampling.
        self.trips_from_ema = p.round_trip > 0 and p.round_trip_away == "editor"

    @staticmethod
    def build(p: EditorParams, image_size: int) -> tuple[Generator, Discriminator]:
        if image_size % 2 ** p.levels or image_size // 2 ** p.levels < 4:
            raise ValueError(f"editor.levels {p.levels} leaves less than 4 px of a {image_size} px face; lower it")
        return (Generator(len(NAMES), p.channels, p.levels, p.res_blocks, p.blur, p.yaw_prior, p.limb_falloff),
                Discriminator(image_size, len(BINARY), p.d_channels))

    def _noise_std(self, gan_step: int) -> float:
        decay_steps = self.p.noise_decay * (self.p.steps - self.pretrain_steps)
        return self.p.instance_noise * max(0.0, 1.0 - gan_step / decay_steps) if decay_steps > 0 else 0.0

    def _heads_step(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator,
                    part: distributed.Shard) -> dict[str, float]:
        """D's attribute and yaw heads alone, on (augmented) real faces: they know the attributes
        before G starts learning from them, so G's first edits chase attributes, not noise."""
        _, attr, yaw = self.d(diff_augment(x, self.p.augment, rng, part))
        d_attr, d_yaw = heads_loss(attr, yaw, source)
        self.update(d_attr + d_yaw, self.opt_d, self.d.parameters())
        return {"d/attributes": d_attr.item(), "d/yaw": d_yaw.item()}

    def step_on(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator, part: distributed.Shard,
                step: int) -> dict[str, float]:
        if step < self.pretrain_steps:
            return self._heads_step(x, source, rng, part)
        return self._gan_step(x, source, rng, part, step - self.pretrain_steps)

    def _round_trips(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator,
                     part: distributed.Shard) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The last `round_trip` share of the faces (the reconstructions take the first) turned away to a
        random yaw in the training range (`round_trip_away`: by the yaw prior's warp, or by the EMA editor's own
        edit, whose turn reads as the turn asked for), the conditions that turn them back (nothing else
        changes), and their targets: those faces."""
        n = max(1, round(self.p.round_trip * len(x)))
        away = part.take((torch.rand(part.size, generator=rng) * 2 - 1) * YAW_RANGE)[-n:].to(x.device)
        back = source[-n:, -1] * YAW_SCALE - away  # degrees
        cond = torch.zeros_like(source[-n:])
        cond[:, -1] = back / YAW_SCALE
        with torch.no_grad():
            turned = self.ema(x[-n:], -cond) if self.trips_from_ema else prior_turn(x[-n:], -back, self.p.limb_falloff)
        return turned, cond, x[-n:]

    def _gan_step(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator, part: distributed.Shard,
                  gan_step: int) -> dict[str, float]:
        """D learns real vs fake and the heads, then G learns from D (see the module's docstring)."""
        p, dev = self.p, self.device
        target = sample_targets(source.cpu(), rng, part, self.continuous_age).to(dev)
        cond = target - source
        std = self._noise_std(gan_step)
        real_noise, fake_noise = (part.take(noise).to(dev)
                                  for noise in std * torch.randn(2, part.size, *x.shape[1:], generator=rng))
        ramp = min(1.0, (gan_step + 1) / p.warmup_steps) if p.warmup_steps else 1.0

        # G's edit, (the first `recon_share` of the batch) reconstruction and (the last `round_trip` share)
        # round trips in one pass (one BatchNorm batch); D's step reuses the edit.
        n_recon = max(1, round(p.recon_share * len(x)))
        rec_in, rec_cond, rec_target = x[:n_recon], torch.zeros_like(cond[:n_recon]), x[:n_recon]
        if p.round_trip > 0:  # draws only then: runs without round trips compute what they always did
            trips = self._round_trips(x, source, rng, part)
            rec_in, rec_cond, rec_target = (torch.cat(pair) for pair in zip((rec_in, rec_cond, rec_target), trips))
        out, mask = self.g(torch.cat([x, rec_in]), torch.cat([cond, rec_cond]), with_mask=True)
        fake, recon = out[:len(x)], out[len(x):]

        def d_input(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
            return diff_augment(images, p.augment, rng, part) + noise

        # Discriminator.
        self.d.requires_grad_(True)
        regularize = p.penalty_weight > 0 and gan_step % p.penalty_every == 0
        real_in = d_input(x, real_noise).requires_grad_(regularize and p.penalty == "r1")
        fake_in = d_input(fake.detach(), fake_noise)
        real_adv, real_attr, real_yaw = self.d(real_in)
        fake_adv, fake_attr, fake_yaw = self.d(fake_in)
        d_adv = d_adversarial(p.adversarial_loss, real_adv, fake_adv, p.label_smoothing)
        d_attr, d_yaw = heads_loss(real_attr, real_yaw, source)
        d_loss = d_adv + d_attr + d_yaw
        if p.heads_on_edits > 0:  # edits still show their source attributes, as far as D's heads can tell
            d_loss = d_loss + p.heads_on_edits * sum(heads_loss(fake_attr, fake_yaw, source))
        if regularize:
            penalty = (r1_penalty(real_adv, real_in) / 2 if p.penalty == "r1" else
                       gradient_penalty(lambda t: self.d(t)[0], real_in, fake_in, rng, part))
            d_loss = d_loss + p.penalty_weight * p.penalty_every * penalty
        self.update(d_loss, self.opt_d, self.d.parameters())

        # Generator: D's weights need no gradients here.
        self.d.requires_grad_(False)
        fake_adv, fake_attr, fake_yaw = self.d(d_input(fake, fake_noise))
        g_adv = g_adversarial(p.adversarial_loss, fake_adv)
        g_attr, g_yaw = heads_loss(fake_attr, fake_yaw, target)
        g_rec = F.l1_loss(recon, rec_target)
        with torch.no_grad():
            anchor = F.normalize(self.recognizer(x))
        g_id = (1 - (F.normalize(self.recognizer(fake)) * anchor).sum(1)).mean()
        g_mask = blend_partiality(mask[:len(x)])  # the edits' masks (reconstructions copy)
        g_cycle = F.l1_loss(self.g(fake, -cond), x) if p.lambda_cycle > 0 else torch.zeros((), device=dev)
        g_loss = (ramp * (g_adv + p.lambda_attr * g_attr + p.lambda_yaw * g_yaw)
                  + p.lambda_rec * g_rec + p.lambda_id * g_id + p.lambda_mask * g_mask + p.lambda_cycle * g_cycle)
        self.update(g_loss, self.opt_g, self.g.parameters())
        update_ema(self.ema, self.g, p.ema_decay, gan_step)
        if self.trips_from_ema:  # every process's EMA computes with rank 0's statistics, as a resume restores
            distributed.broadcast_buffers(self.ema)
        return {"d/adversarial": d_adv.item(), "d/attributes": d_attr.item(), "d/yaw": d_yaw.item(),
                "g/adversarial": g_adv.item(), "g/attributes": g_attr.item(), "g/yaw": g_yaw.item(),
                "g/reconstruction": g_rec.item(), "g/identity": g_id.item(), "g/mask_partiality": g_mask.item(),
                "g/cycle": g_cycle.item(),
                "noise_std": std}


TRAINERS: dict[str, type[EditorTrainer]] = {t.arch: t for t in (FaceganTrainer, StarGANTrainer)}


def build_models(p: EditorParams, image_size: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(G, D) of `editor.arch`, untrained."""
    return TRAINERS[p.arch].build(p, image_size)


def editor_trainer(p: EditorParams, source: FaceSource, attributes: np.ndarray, recognizer: torch.nn.Module,
                   seed: int, image_size: int, device: torch.device, continuous_age: bool = False) -> EditorTrainer:
    """The trainer of `editor.arch`."""
    return TRAINERS[p.arch](p, source, attributes, recognizer, seed, image_size, device, continuous_age)


class JudgedEdits(Callback):
    """`monitor(ema_generator, step)` -> (metrics, PIL grid) every `monitor_every` steps and, when
    selecting, at the last step; its SELECTION_METRIC is the select_best score. Rank 0 alone
    monitors: it alone selects and saves."""

    def __init__(self, monitor: Callable[[torch.nn.Module, int], tuple[dict, object]], p: EditorParams):
        self.monitor, self.p = monitor, p

    def on_step(self, trainer, losses, logs):
        p, step = self.p, trainer.step
        if not distributed.is_main() or not (step % p.monitor_every == 0 or (step == p.steps and p.select_best)):
            return None
        metrics, image = self.monitor(trainer.ema, step)
        if p.select_best:
            trainer.consider(metrics[SELECTION_METRIC])
        return {f"monitor/{key}": value for key, value in metrics.items()} | {sample_name(step): image}


def train_editor(p: EditorParams, source: FaceSource, attributes: np.ndarray, recognizer: torch.nn.Module, *,
                 seed: int, image_size: int, checkpoint_dir: Path, live=None,
                 monitor: Callable[[torch.nn.Module, int], tuple[dict, object]] | None = None,
                 max_steps: int | None = None, device: torch.device | None = None,
                 continuous_age: bool = False, monitored_by: str | None = None) -> TrainResult:
    """Train (or resume) the editor on `source` faces with `attributes` (N x 4 vectors, row-aligned;
    young a youth 1 - age where `continuous_age`) (facegan.train.loop.fit).

    `live` is a dvclive factory `live(checkpoint)` (facegan.live): mean losses every `log_every`
    steps and, with `monitor(ema_generator, step)` returning (metrics, PIL image), judged success
    and a grid every `monitor_every` steps; `monitored_by` names what the monitor judges with (it
    joins the run's fingerprint). `max_steps` stops early (as if killed) after checkpointing.
    """
    trainer = editor_trainer(p, source, attributes, recognizer, seed, image_size, device or default_device(),
                             continuous_age)
    trainer.monitored_by = monitored_by if monitor is not None else None
    callbacks = [LossLog(p.log_every)] + ([JudgedEdits(monitor, p)] if monitor is not None else [])
    run = fit(trainer, checkpoint_dir, max_steps=max_steps, callbacks=callbacks, live=live)
    generator, selected_step = trainer.selected() if trainer.step == p.steps else (trainer.ema.eval(), trainer.step)
    return TrainResult(generator, run.steps, run.train_img_per_s, selected_step, dict(trainer.scores), run.run_id)
