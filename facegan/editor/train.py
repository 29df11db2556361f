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

Reproducible like the recognizer's loop: batch order from (seed, epoch),
everything random within a step (flips, targets, augmentation, instance
noise, interpolates) from a generator seeded by (seed, step), so a resumed
run ends with the same weights as an uninterrupted one (CPU).

Under torchrun each process takes its shard of every global batch; the step's
random draws are made for the whole batch and cut the same way, and gradients
are averaged over the processes before each optimizer step. The models are
not wrapped in DistributedDataParallel: a step runs D three times (real, fake,
fake for G) and R1 differentiates D's gradient, which its reducer does not
follow. G's BatchNorm keeps per-process statistics (rank 0's are saved). No
autocast on CUDA: R1's double backward under a GradScaler needs manual
unscaling, and the models are small enough for fp32.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from facegan import distributed
from facegan.config import EditorParams
from facegan.editor.augment import diff_augment
from facegan.editor.conditioning import BINARY, NAMES, sample_targets
from facegan.editor.discriminator import Discriminator
from facegan.editor.ema import make_ema, update_ema
from facegan.editor.generator import Generator
from facegan.editor.losses import d_adversarial, g_adversarial, gradient_penalty, r1_penalty
from facegan.live import HISTORY_KEY, logged
from facegan.train.device import default_device, to_input
from facegan.train.checkpoint import (architecture, fingerprint, load_checkpoint, rng_states, save_checkpoint,
                                             set_rng_states)
from facegan.recognition.dataset import FaceSource
from facegan.train.rng import epoch_batches, step_generator

# Params that change how a run is executed or observed, not what it computes.
_EXECUTION_ONLY = {"checkpoint_every", "log_every"}
SELECTION_METRIC = "usable"  # the monitor's share of edits the judges would keep (select_best)
CHANNELS_LAST = torch.channels_last
ADAM_BETAS = (0.5, 0.99)  # the usual GAN setting: little momentum, so G and D can react to each other


@dataclass
class TrainResult:
    generator: Generator  # the EMA copy, in eval mode (the selected step's with select_best)
    steps: int
    train_img_per_s: float  # over training steps only (not monitoring), across resumes
    selected_step: int  # the step whose EMA generator this is
    selection: dict[int, float]  # monitor step -> SELECTION_METRIC (empty without select_best)


def build_models(p: EditorParams, image_size: int) -> tuple[Generator, Discriminator]:
    if image_size % 2 ** p.levels or image_size // 2 ** p.levels < 4:
        raise ValueError(f"editor.levels {p.levels} leaves less than 4 px of a {image_size} px face; lower it")
    return (Generator(len(NAMES), p.channels, p.levels, p.res_blocks, p.blur),
            Discriminator(image_size, len(BINARY), p.d_channels))


def read_batch(source: FaceSource, attributes: np.ndarray, indices: np.ndarray, rng: torch.Generator,
               part: distributed.Shard | None = None):
    """Faces in [-1, 1] and their attribute vectors, half of them mirrored (which negates yaw):
    `part`'s share of the batch `indices` (all of it by default)."""
    part = part or distributed.Shard(len(indices))
    flip = part.take(torch.rand(part.size, generator=rng) < 0.5)
    indices = part.take(indices)
    x, a = to_input(source.read(indices)), torch.from_numpy(attributes[indices])
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    a[:, -1] = torch.where(flip, -a[:, -1], a[:, -1])
    return x, a


def _heads_loss(attr_logits: torch.Tensor, yaw: torch.Tensor, target: torch.Tensor):
    """Attribute BCE and yaw smooth-L1 (in YAW_SCALE units) against target vectors; returns both terms."""
    return (F.binary_cross_entropy_with_logits(attr_logits, target[:, :len(BINARY)]),
            F.smooth_l1_loss(yaw, target[:, -1], beta=0.1))


class EditorTrainer:
    """G, D, EMA and optimizers, with one `step` of training and plain-dict state for checkpoints."""

    def __init__(self, p: EditorParams, image_size: int, recognizer: torch.nn.Module, seed: int,
                 device: torch.device):
        self.p, self.seed, self.device = p, seed, device
        torch.manual_seed(seed)
        g, d = build_models(p, image_size)
        # channels_last: oneDNN's convolutions (and their backward) run about twice as fast on CPU.
        self.g, self.d = g.to(device, memory_format=CHANNELS_LAST), d.to(device, memory_format=CHANNELS_LAST)
        distributed.broadcast_modules(self.g, self.d)
        self.ema = make_ema(self.g)
        self.recognizer = recognizer.to(device, memory_format=CHANNELS_LAST).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=p.lr_g, betas=ADAM_BETAS)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=p.lr_d, betas=ADAM_BETAS)
        self.step = 0
        # select_best: every monitored step's score, and the best step's EMA weights {"step", "ema"}.
        self.best: dict | None = None
        self.scores: dict[int, float] = {}
        self.pretrain_steps = min(p.heads_pretrain_steps, p.steps // 2)  # D's heads alone, first

    def state(self) -> dict:
        return {"step": self.step, "g": self.g.state_dict(), "d": self.d.state_dict(), "ema": self.ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "best": self.best,
                "scores": dict(self.scores)}

    def load(self, state: dict) -> None:
        self.step, self.best, self.scores = state["step"], state["best"], dict(state["scores"])
        for name in ("g", "d", "ema", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name])

    def consider(self, score: float) -> None:
        """Remember the current EMA generator if its monitored score is the best so far (ties: the earlier)."""
        best_so_far = max(self.scores.values(), default=None)
        self.scores[self.step] = score
        if best_so_far is None or score > best_so_far:
            self.best = {"step": self.step, "ema": {k: v.detach().clone() for k, v in self.ema.state_dict().items()}}

    def selected(self) -> tuple[Generator, int]:
        """The best remembered EMA generator and its step, else the current one."""
        if self.best is None:
            return self.ema.eval(), self.step
        self.ema.load_state_dict(self.best["ema"])
        return self.ema.eval(), self.best["step"]

    def _noise_std(self, gan_step: int) -> float:
        decay_steps = self.p.noise_decay * (self.p.steps - self.pretrain_steps)
        return self.p.instance_noise * max(0.0, 1.0 - gan_step / decay_steps) if decay_steps > 0 else 0.0

    def _heads_step(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator,
                    part: distributed.Shard) -> dict[str, float]:
        """D's attribute and yaw heads alone, on (augmented) real faces: they know the attributes
        before G starts learning from them, so G's first edits chase attributes, not noise."""
        _, attr, yaw = self.d(diff_augment(x, self.p.augment, rng, part))
        d_attr, d_yaw = _heads_loss(attr, yaw, source)
        self.opt_d.zero_grad(set_to_none=True)
        (d_attr + d_yaw).backward()
        distributed.average_gradients(self.d.parameters())
        self.opt_d.step()
        self.step += 1
        return {"d/attributes": d_attr.item(), "d/yaw": d_yaw.item()}

    def train_step(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator,
                   part: distributed.Shard | None = None) -> dict[str, float]:
        """One step on faces `x` with attribute vectors `source`: `part`'s share of the global batch
        (all of it by default); `rng` draws for the whole batch."""
        p, dev = self.p, self.device
        part = part or distributed.Shard(len(x))
        x, source = x.to(dev, memory_format=CHANNELS_LAST), source.to(dev)
        gan_step = self.step - self.pretrain_steps
        if gan_step < 0:
            return self._heads_step(x, source, rng, part)
        target = sample_targets(source.cpu(), rng, part).to(dev)
        cond = target - source
        std = self._noise_std(gan_step)
        real_noise, fake_noise = (part.take(noise).to(dev)
                                  for noise in std * torch.randn(2, part.size, *x.shape[1:], generator=rng))
        ramp = min(1.0, (gan_step + 1) / p.warmup_steps) if p.warmup_steps else 1.0

        # G's edit and (the first `recon_share` of the batch) reconstruction in one pass (one BatchNorm
        # batch); D's step reuses the edit.
        n_recon = max(1, round(p.recon_share * len(x)))
        out = self.g(torch.cat([x, x[:n_recon]]), torch.cat([cond, torch.zeros_like(cond[:n_recon])]))
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
        d_attr, d_yaw = _heads_loss(real_attr, real_yaw, source)
        d_loss = d_adv + d_attr + d_yaw
        if p.heads_on_edits > 0:  # edits still show their source attributes, as far as D's heads can tell
            d_loss = d_loss + p.heads_on_edits * sum(_heads_loss(fake_attr, fake_yaw, source))
        if regularize:
            penalty = (r1_penalty(real_adv, real_in) / 2 if p.penalty == "r1" else
                       gradient_penalty(lambda t: self.d(t)[0], real_in, fake_in, rng, part))
            d_loss = d_loss + p.penalty_weight * p.penalty_every * penalty
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        distributed.average_gradients(self.d.parameters())
        self.opt_d.step()

        # Generator: D's weights need no gradients here.
        self.d.requires_grad_(False)
        fake_adv, fake_attr, fake_yaw = self.d(d_input(fake, fake_noise))
        g_adv = g_adversarial(p.adversarial_loss, fake_adv)
        g_attr, g_yaw = _heads_loss(fake_attr, fake_yaw, target)
        g_rec = F.l1_loss(recon, x[:n_recon])
        with torch.no_grad():
            anchor = F.normalize(self.recognizer(x))
        g_id = (1 - (F.normalize(self.recognizer(fake)) * anchor).sum(1)).mean()
        g_loss = (ramp * (g_adv + p.lambda_attr * g_attr + p.lambda_yaw * g_yaw)
                  + p.lambda_rec * g_rec + p.lambda_id * g_id)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        distributed.average_gradients(self.g.parameters())
        self.opt_g.step()
        update_ema(self.ema, self.g, p.ema_decay, gan_step)
        self.step += 1
        return {"d/adversarial": d_adv.item(), "d/attributes": d_attr.item(), "d/yaw": d_yaw.item(),
                "g/adversarial": g_adv.item(), "g/attributes": g_attr.item(), "g/yaw": g_yaw.item(),
                "g/reconstruction": g_rec.item(), "g/identity": g_id.item(), "noise_std": std}


def train_editor(p: EditorParams, source: FaceSource, attributes: np.ndarray, recognizer: torch.nn.Module, *,
                 seed: int, image_size: int, checkpoint_dir: Path, live=None,
                 monitor: Callable[[torch.nn.Module, int], tuple[dict, object]] | None = None,
                 max_steps: int | None = None, device: torch.device | None = None) -> TrainResult:
    """Train (or resume) the editor on `source` faces with `attributes` (N x 4 vectors, row-aligned).

    `live` is a dvclive factory `live(checkpoint)` (facegan.live); `monitor(ema_generator, step)` returns
    (metrics, PIL image) logged every `monitor_every` steps. `max_steps` stops early (as if
    killed) after checkpointing; tests use it to check resuming. Under torchrun rank 0 logs
    (losses averaged over the processes), monitors and checkpoints.
    """
    device = device or default_device()
    batch_size = min(p.batch_size, len(source))
    distributed.check_batch_size(batch_size, "editor.batch_size")
    steps_per_epoch = len(source) // batch_size
    pixel_sample = source.read(np.linspace(0, len(source) - 1, min(64, len(source))).astype(np.int64))
    recognizer_sample = next(iter(recognizer.state_dict().values())).detach().cpu().numpy()
    trainer = EditorTrainer(p, image_size, recognizer, seed, device)
    run_id = fingerprint(params={k: v for k, v in p.model_dump().items() if k not in _EXECUTION_ONLY},
                         seed=seed, image_size=image_size, attributes=attributes, pixels=pixel_sample,
                         recognizer=recognizer_sample, architecture=architecture(trainer.g, trainer.d))
    timing = {"images": 0, "seconds": 0.0}
    state = load_checkpoint(checkpoint_dir, run_id)
    if state is not None:
        trainer.load(state)
        timing = state["timing"]
        set_rng_states(state["rng"])
    if callable(live):  # a factory: a resumed run's curves are rebuilt from the checkpoint
        live = live(state) if distributed.is_main() else None

    def checkpoint() -> None:
        save_checkpoint(checkpoint_dir, trainer.state() | {"fingerprint": run_id, "timing": dict(timing),
                                                          "rng": rng_states(), HISTORY_KEY: logged(live)})

    stop = p.steps if max_steps is None else min(p.steps, max_steps)
    progress = tqdm(total=stop * batch_size, initial=trainer.step * batch_size, unit="img", unit_scale=True,
                    desc="train_editor", leave=False, mininterval=2.0, disable=not distributed.is_main())
    sums: dict[str, list[float]] = {}
    trained = trainer.step < stop
    trainer.g.train()
    while trainer.step < stop:
        epoch, position = divmod(trainer.step, steps_per_epoch)
        indices = epoch_batches(len(source), batch_size, seed, epoch)[position]
        started = time.perf_counter()
        rng = step_generator(seed, trainer.step)
        part = distributed.batch_shard(len(indices))
        losses = trainer.train_step(*read_batch(source, attributes, indices, rng, part), rng, part)
        losses = distributed.mean_over_processes(losses, device)
        timing["seconds"] += time.perf_counter() - started
        timing["images"] += batch_size
        progress.update(batch_size)
        progress.set_postfix({k.split("/")[1][:3]: f"{v:.3f}" for k, v in losses.items()
                              if k in ("g/reconstruction", "d/attributes")}, refresh=False)
        for key, value in losses.items():
            sums.setdefault(key, []).append(value)
        _log(live, trainer, sums, monitor, final=trainer.step == p.steps)
        if trainer.step % p.checkpoint_every == 0 and trainer.step < stop:
            checkpoint()
    if trained:  # the end state, so a rerun after a crash later in the stage skips training
        checkpoint()
    progress.close()
    generator, selected_step = trainer.selected() if trainer.step == p.steps else (trainer.ema.eval(), trainer.step)
    return TrainResult(generator, trainer.step, timing["images"] / max(timing["seconds"], 1e-9), selected_step,
                       dict(trainer.scores))


def _log(live, trainer: EditorTrainer, sums: dict[str, list[float]], monitor, final: bool) -> None:
    """Mean losses since the last log every `log_every` steps; judged success and a grid every
    `monitor_every` steps (and at the last step when selecting), scored for select_best. `sums`
    is reset after logging. Under torchrun rank 0 alone monitors (it alone selects and saves)."""
    p, step = trainer.p, trainer.step
    log_losses = live is not None and step % p.log_every == 0
    run_monitor = (monitor is not None and distributed.is_main()
                   and (step % p.monitor_every == 0 or (final and p.select_best)))
    if run_monitor:
        metrics, image = monitor(trainer.ema, step)
        if p.select_best:
            trainer.consider(metrics[SELECTION_METRIC])
    if live is None or not (log_losses or run_monitor):
        return
    live.step = step
    if log_losses:  # means over the steps since the last log (fewer right after a resume)
        for key, values in sums.items():
            live.log_metric(f"train/{key}", sum(values) / len(values))
        sums.clear()
    if run_monitor:
        for key, value in metrics.items():
            live.log_metric(f"monitor/{key}", value)
        live.log_image(f"samples/step_{step:06d}.png", image)
    live.next_step()
