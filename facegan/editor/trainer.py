"""What every editor architecture's training shares (`editor.arch`): one `EditorTrainer` base (as
pix2pix/CycleGAN's BaseModel) that reads the batches, holds G, D, the EMA generator, the frozen
recognizer and the optimizers, fingerprints and checkpoints them and keeps select_best's state.
An architecture subclasses it with its nets (`build`) and one step of its losses (`step_on`);
facegan.train.loop.fit runs them all.

Under torchrun each process takes its shard of every global batch; the step's random draws are
made for the whole batch and cut the same way, and gradients are averaged over the processes
before each optimizer step (Trainer.update: not DDP, which does not follow a step that runs D
several times and a penalty's gradient of D's gradient). No autocast on CUDA: R1's and WGAN-GP's
double backward under a GradScaler needs manual unscaling, and the models are small enough for fp32.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from facegan import distributed
from facegan.config import EditorParams
from facegan.editor.conditioning import BINARY
from facegan.editor.ema import make_ema
from facegan.editor.generator import Generator
from facegan.recognition.dataset import FaceSource
from facegan.train.checkpoint import computing_params, first_weights, sample_rows
from facegan.train.device import to_input
from facegan.train.loop import Trainer
from facegan.train.rng import step_batch

# Params that change how a run is executed or observed, not what it computes.
_EXECUTION_ONLY = {"checkpoint_every", "log_every"}
# Keys added after runs were fingerprinted, at the value those runs computed with (computing_params).
_ADDED_LATER = {"arch": Generator.arch, "lambda_mask": 0.0, "lambda_cycle": 0.0, "limb_falloff": 0.0,
                "round_trip": 0.0, "round_trip_away": "prior"}
CHANNELS_LAST = torch.channels_last
ADAM_BETAS = (0.5, 0.99)  # the usual GAN setting: little momentum, so G and D can react to each other


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


def heads_loss(attr_logits: torch.Tensor, yaw: torch.Tensor, target: torch.Tensor):
    """Attribute BCE and yaw smooth-L1 (in YAW_SCALE units) against target vectors; returns both terms.
    A continuous youth stays BCE here, unlike the attribute judge's regression: a D head regressing it made G
    chase the reading (base-val, three seeds: young truth SSIM 0.822 -> 0.664, usable edits 0.70 -> 0.52)."""
    return (F.binary_cross_entropy_with_logits(attr_logits, target[:, :len(BINARY)]),
            F.smooth_l1_loss(yaw, target[:, -1], beta=0.1))


class EditorTrainer(Trainer):
    """G, D, EMA and optimizers, trained on `source` faces with `attributes` (N x 4 vectors, row-aligned;
    young a youth where `continuous_age`). Subclasses set `arch` and implement `build` and `step_on`."""

    name = "train_editor"
    arch: str
    betas = ADAM_BETAS
    # What scores select_best's candidates (the judges' fingerprint): a finished run monitored by other
    # judges selected its step by other scores, so it must not be reused (set by train_editor).
    monitored_by: str | None = None

    def __init__(self, p: EditorParams, source: FaceSource, attributes: np.ndarray, recognizer: torch.nn.Module,
                 seed: int, image_size: int, device: torch.device, continuous_age: bool = False):
        batch_size = min(p.batch_size, len(source))
        distributed.check_batch_size(batch_size, "editor.batch_size")
        super().__init__(seed, p.steps, batch_size, p.checkpoint_every, device, amp=False)
        self.p, self.source, self.attributes, self.image_size = p, source, attributes, image_size
        self.continuous_age = continuous_age  # attributes' young column is a youth (1 - age)
        torch.manual_seed(seed)
        g, d = self.build(p, image_size)
        g.continuous_age = continuous_age  # the EMA copy and the saved file carry it (facegan.editor.edit)
        # channels_last: oneDNN's convolutions (and their backward) run about twice as fast on CPU.
        self.g, self.d = g.to(device, memory_format=CHANNELS_LAST), d.to(device, memory_format=CHANNELS_LAST)
        distributed.broadcast_modules(self.g, self.d)
        self.ema = make_ema(self.g)
        self.recognizer = recognizer.to(device, memory_format=CHANNELS_LAST).eval().requires_grad_(False)
        lr_g, lr_d = self.learning_rates()
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=lr_g, betas=self.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=lr_d, betas=self.betas)
        self.nets = {"g": self.g, "d": self.d}
        self.parts = self.nets | {"ema": self.ema, "opt_g": self.opt_g, "opt_d": self.opt_d}
        # select_best: every monitored step's score, and the best step's EMA weights {"step", "ema"}.
        self.best: dict | None = None
        self.scores: dict[int, float] = {}

    @staticmethod
    def build(p: EditorParams, image_size: int) -> tuple[torch.nn.Module, torch.nn.Module]:
        """(G, D) for these params; G(x, target - source) -> x', D(x) -> (adversarial, attribute logits, yaw)."""
        raise NotImplementedError

    def learning_rates(self) -> tuple[float, float]:
        return self.p.lr_g, self.p.lr_d

    def step_on(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator, part: distributed.Shard,
                step: int) -> dict[str, float]:
        """One step's losses on faces `x` with attribute vectors `source` (this process's share)."""
        raise NotImplementedError

    def fingerprint(self) -> dict:
        """Computing params, seed, size, attributes, a pixel sample, the recognizer and, when monitored, the monitor."""
        params = computing_params(self.p, _EXECUTION_ONLY, _ADDED_LATER)
        return dict(params=params, seed=self.seed, image_size=self.image_size, attributes=self.attributes,
                    **({"continuous_age": True} if self.continuous_age else {}),
                    **({"monitored_by": self.monitored_by} if self.monitored_by is not None else {}),
                    pixels=self.source.read(sample_rows(len(self.source))), recognizer=first_weights(self.recognizer))

    def state_dict(self) -> dict:
        return super().state_dict() | {"best": self.best, "scores": dict(self.scores)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.best, self.scores = state["best"], dict(state["scores"])

    def consider(self, score: float) -> None:
        """Remember the current EMA generator if its monitored score is the best so far (ties: the earlier)."""
        best_so_far = max(self.scores.values(), default=None)
        self.scores[self.step] = score
        if best_so_far is None or score > best_so_far:
            self.best = {"step": self.step, "ema": {k: v.detach().clone() for k, v in self.ema.state_dict().items()}}

    def selected(self) -> tuple[torch.nn.Module, int]:
        """The best remembered EMA generator and its step, else the current one."""
        if self.best is None:
            return self.ema.eval(), self.step
        self.ema.load_state_dict(self.best["ema"])
        return self.ema.eval(), self.best["step"]

    def train_step(self, step: int, rng: torch.Generator) -> dict[str, float]:
        """One step on this process's share of the step's global batch; `rng` draws for the whole batch."""
        indices = step_batch(len(self.source), self.batch_size, self.seed, step)
        part = distributed.batch_shard(len(indices))
        x, source = read_batch(self.source, self.attributes, indices, rng, part)
        x, source = x.to(self.device, memory_format=CHANNELS_LAST), source.to(self.device)
        return self.step_on(x, source, rng, part, step)
