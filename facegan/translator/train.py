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

Reproducible like the editor's loop: batch order from (seed, epoch), flips
from a generator seeded by (seed, step), so a resumed run ends with the same
weights as an uninterrupted one (CPU).

Under torchrun it shards every global batch and averages gradients like the
editor's loop (BatchNorm statistics stay per process). It runs in
channels_last, under autocast on CUDA and in fp32 on CPU.
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
from facegan.config import TranslatorParams
from facegan.editor.losses import d_adversarial, g_adversarial
from facegan.live import HISTORY_KEY, logged
from facegan.train.device import amp_dtype, autocast, default_device, to_input
from facegan.train.checkpoint import (architecture, fingerprint, load_checkpoint, rng_states, save_checkpoint,
                                             set_rng_states)
from facegan.train.rng import epoch_batches, step_generator
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


def check_levels(levels: int, image_size: int) -> None:
    if image_size % 2 ** levels or image_size // 2 ** levels < 2:
        raise ValueError(f"translator.levels {levels} leaves less than 2 px of a {image_size} px face; lower it")


def _mirror(flip: torch.Tensor, *batches: torch.Tensor) -> list[torch.Tensor]:
    """The same horizontal flips applied to every batch (twins stay aligned)."""
    return [torch.where(flip[:, None, None, None], b.flip(3), b) for b in batches]


class TranslatorTrainer:
    """Generators, discriminators and optimizers, one `train_step`, plain-dict state for checkpoints."""

    def __init__(self, p: TranslatorParams, image_size: int, recognizer: torch.nn.Module, seed: int,
                 device: torch.device):
        check_levels(p.levels, image_size)
        self.p, self.device, self.cycle = p, device, p.lambda_cycle > 0
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
        # Loss scaling only for fp16 autocast (CUDA without bf16); otherwise it passes through.
        self.scaler = torch.amp.GradScaler(enabled=amp_dtype(device) == torch.float16)
        self.step = 0

    def _place(self, x):
        """A module or batch on the device, channels_last: oneDNN's convolutions on CPU and tensor
        cores on CUDA are fastest in it."""
        return x.to(self.device, memory_format=torch.channels_last)

    def state(self) -> dict:
        return ({"step": self.step, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}
                | {k: n.state_dict() for k, n in self.nets.items()})

    def load(self, state: dict) -> None:
        self.step = state["step"]
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for k, n in self.nets.items():
            n.load_state_dict(state[k])

    def train(self) -> None:
        for n in self.nets.values():
            n.train()

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

    def _update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        distributed.average_gradients(params)
        self.scaler.step(optimizer)

    def train_step(self, thermal: torch.Tensor, visible: torch.Tensor,
                   other_visible: torch.Tensor | None = None) -> dict[str, float]:
        """One D and one G update; `other_visible` (cycle mode) is an unpaired visible batch."""
        self._set_learning_rates()
        thermal, visible = self._place(thermal), self._place(visible)
        real_visible = self._place(other_visible) if self.cycle else visible
        # The generators run once per step (pix2pix's order): D learns from their detached outputs,
        # then G from the same outputs through the updated D.
        with autocast(self.device):
            fake = self.g(thermal)
            fake_thermal = self.nets["g_back"](real_visible) if self.cycle else None
            d_loss = self._d_loss(thermal, real_visible, fake.detach(),
                                  fake_thermal.detach() if self.cycle else None)
        self._update(d_loss, self.opt_d, self.d_params)
        with autocast(self.device):
            g_loss, losses = self._g_loss(thermal, visible, real_visible, fake, fake_thermal)
        self._update(g_loss, self.opt_g, self.g_params)
        self.scaler.update()
        self.step += 1
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


def read_step(pairs: PairedFaces, batch_size: int, seed: int, step: int, cycle: bool) -> list[torch.Tensor]:
    """The step's (thermal, visible[, unpaired visible]) batches in [-1, 1], mirrored at random:
    this process's shard of the global batches, flipped as in a one-process run."""
    steps_per_epoch = len(pairs) // batch_size
    epoch, position = divmod(step, steps_per_epoch)
    part = distributed.batch_shard(batch_size)
    indices = part.take(epoch_batches(len(pairs), batch_size, seed, epoch)[position])
    batches = [to_input(pairs.read(indices, "thermal")), to_input(pairs.read(indices, "visible"))]
    if cycle:
        other = part.take(epoch_batches(len(pairs), batch_size, seed + UNPAIRED_SEED_OFFSET, epoch)[position])
        batches.append(to_input(pairs.read(other, "visible")))
    return _mirror(part.take(torch.rand(batch_size, generator=step_generator(seed, step)) < 0.5), *batches)


def _run_id(p: TranslatorParams, pairs: PairedFaces, recognizer: torch.nn.Module, seed: int,
            image_size: int, trainer: TranslatorTrainer) -> str:
    """What a checkpoint must match to be resumed: computing params, seed, size, data and recognizer
    samples, and the networks' layout."""
    sample = np.linspace(0, len(pairs) - 1, min(64, len(pairs))).astype(np.int64)
    return fingerprint(params={k: v for k, v in p.model_dump().items() if k not in _EXECUTION_ONLY},
                       seed=seed, image_size=image_size, thermal=pairs.read(sample, "thermal"),
                       visible=pairs.read(sample, "visible"),
                       recognizer=next(iter(recognizer.state_dict().values())).detach().cpu().numpy(),
                       architecture=architecture(*trainer.nets.values()))


class _Checkpoints:
    """The run's checkpoint file: trainer state, timing and RNG states under one fingerprint."""

    def __init__(self, directory: Path, run_id: str):
        self.directory, self.run_id, self.resumed_from = Path(directory), run_id, None

    def resume(self, trainer: TranslatorTrainer) -> dict:
        """Load the last state into `trainer` when there is one of this run; returns the timing so far."""
        state = load_checkpoint(self.directory, self.run_id)
        if state is None:
            return {"images": 0, "seconds": 0.0}
        trainer.load(state)
        set_rng_states(state["rng"])
        self.resumed_from = state  # its logged rows rebuild the dvclive folder
        return state["timing"]

    def save(self, trainer: TranslatorTrainer, timing: dict, live=None) -> None:
        save_checkpoint(self.directory, trainer.state() | {"fingerprint": self.run_id, "timing": dict(timing),
                                                           "rng": rng_states(), HISTORY_KEY: logged(live)})


def train_translator(p: TranslatorParams, pairs: PairedFaces, recognizer: torch.nn.Module, *, seed: int,
                     image_size: int, checkpoint_dir: Path, live=None,
                     monitor: Callable[[UNet], object] | None = None, max_steps: int | None = None,
                     device: torch.device | None = None) -> TrainResult:
    """Train (or resume) the translator on `pairs`.

    `live` is a dvclive factory `live(checkpoint)` (facegan.live); `monitor(generator)` returns a
    PIL sample grid logged every `monitor_every` steps. `max_steps` stops early (as if killed)
    after checkpointing; tests use it to check resuming. Under torchrun rank 0 logs (losses
    averaged over the processes), monitors and checkpoints.
    """
    device = device or default_device()
    batch_size = min(p.batch_size, len(pairs))
    distributed.check_batch_size(batch_size, "translator.batch_size")
    trainer = TranslatorTrainer(p, image_size, recognizer, seed, device)
    saved = _Checkpoints(checkpoint_dir, _run_id(p, pairs, recognizer, seed, image_size, trainer))
    timing = saved.resume(trainer)
    if callable(live):  # a factory: a resumed run's curves are rebuilt from the checkpoint
        live = live(saved.resumed_from) if distributed.is_main() else None
    stop = p.steps if max_steps is None else min(p.steps, max_steps)
    progress = tqdm(total=stop * batch_size, initial=trainer.step * batch_size, unit="img", unit_scale=True,
                    desc="train_translator", leave=False, mininterval=2.0, disable=not distributed.is_main())
    sums: dict[str, float] = {}
    trainer.train()
    while trainer.step < stop:
        started = time.perf_counter()
        losses = trainer.train_step(*read_step(pairs, batch_size, seed, trainer.step, trainer.cycle))
        losses = distributed.mean_over_processes(losses, device)
        timing["seconds"] += time.perf_counter() - started
        timing["images"] += batch_size
        progress.update(batch_size)
        progress.set_postfix(l1=f"{losses['g/l1']:.3f}", refresh=False)
        for key, value in (losses | {"steps": 1}).items():
            sums[key] = sums.get(key, 0.0) + value
        _log(live, trainer, sums, monitor)
        # The end state too, so a rerun after a crash later in the stage skips training.
        if trainer.step % p.checkpoint_every == 0 or trainer.step == stop:
            saved.save(trainer, timing, live)
    progress.close()
    return TrainResult(trainer.g.eval(), trainer.step, timing["images"] / max(timing["seconds"], 1e-9))


def _log(live, trainer: TranslatorTrainer, sums: dict[str, float], monitor) -> None:
    """Mean losses since the last log every `log_every` steps, a sample grid every `monitor_every`."""
    p, step = trainer.p, trainer.step
    log_losses, run_monitor = step % p.log_every == 0, monitor is not None and step % p.monitor_every == 0
    if live is None or not (log_losses or run_monitor):
        return
    live.step = step
    if log_losses:
        steps = sums.pop("steps", 1)  # fewer than log_every right after a resume
        for key, total in sums.items():
            live.log_metric(f"train/{key}", total / steps)
        sums.clear()
    if run_monitor:
        trainer.g.eval()  # BatchNorm running statistics, as the saved model will use them
        live.log_image(f"samples/step_{step:06d}.png", monitor(trainer.g))
        trainer.g.train()
    live.next_step()
