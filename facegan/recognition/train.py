"""Training of the recognizer (and the identity judge): margin-softmax classification of training
identities, through facegan.train.loop.fit.

Reproducible by construction: weights come from `seed`, each epoch's order
from (seed, epoch), each batch's augmentation from (seed, epoch, step), and
a resumed run restores the RNG states and skips the batches it already
consumed, so it ends with the same weights as an uninterrupted run (CPU).
A run may be given another set's step budget (`total_steps`): the recognizer
trained on base faces plus generated variants then takes exactly the base
run's optimizer steps and schedule, in fewer, fractional epochs of its data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facegan import distributed
from facegan.config import RecognizerParams
from facegan.recognition.backbone import build_backbone
from facegan.recognition.dataset import TrainBatches
from facegan.recognition.embed import embed_faces
from facegan.recognition.margin import build_head
from facegan.recognition.verification import verification_metrics
from facegan.train.checkpoint import computing_params, sample_rows
from facegan.train.device import autocast, default_device
from facegan.train.loop import Callback, Trainer, fit
from facegan.train.rng import keyed_batches

# Params that change how a run is executed, not what it computes, and the recognizer low-shot
# evaluation embeds with (recognizer.source and its torchscript keys), which trains nothing here.
# wccn is fitted after training (facegan.recognition.stage): changing it keeps the trained network.
_EXECUTION_ONLY = {"num_workers", "checkpoint_every", "wccn"} | RecognizerParams.evaluation_only()


@dataclass
class TrainResult:
    model: torch.nn.Module
    steps: int
    train_img_per_s: float  # over the training steps of this run, across resumes
    run_id: str  # the training run's fingerprint (facegan.train.loop.Fit), saved with the model


def clamped_batch_size(p: RecognizerParams, n_images: int) -> int:
    """The batch size the loop uses on `n_images` faces (at most all of them)."""
    return min(p.batch_size, n_images)


def step_budget(p: RecognizerParams, n_images: int) -> int:
    """Optimizer steps of `p.epochs` epochs over `n_images` faces (ragged tails dropped)."""
    return p.epochs * (n_images // clamped_batch_size(p, n_images))


def _optimizer(p: RecognizerParams, modules: list[torch.nn.Module]) -> torch.optim.Optimizer:
    # No weight decay on BN/PReLU/bias parameters: decaying them only fights the normalization.
    decay, no_decay = [], []
    for module in modules:
        for param in module.parameters():
            (decay if param.ndim > 1 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": p.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if p.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=p.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=p.lr)


def _schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / max(1, total_steps - warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class RecognizerTrainer(Trainer):
    """Backbone and margin head, their optimizer and warmup-cosine schedule, trained on `data` for
    `total_steps` optimizer steps (the data cycles in its own epochs)."""

    name = "train_recognizer"
    shown = ("loss",)

    def __init__(self, p: RecognizerParams, data: TrainBatches, num_classes: int, *, seed: int, image_size: int,
                 total_steps: int | None, device: torch.device, parent: dict | None = None):
        batch_size = clamped_batch_size(p, len(data))
        distributed.setup()  # joins torchrun's processes, so the check below sees them
        distributed.check_batch_size(batch_size, "recognizer.batch_size")
        own_budget = step_budget(p, len(data))
        total_steps = own_budget if total_steps is None else total_steps
        super().__init__(seed, total_steps, batch_size, p.checkpoint_every, device)
        self.p, self.data, self.num_classes, self.image_size = p, data, num_classes, image_size
        self.steps_per_epoch = len(data) // batch_size
        # Only a budget other than the data's own is fingerprinted: default runs keep their checkpoints.
        self.budget = {} if total_steps == own_budget else {"total_steps": total_steps}
        # A run forked from another (train_recognizer_aug) is that run's until the fork: another parent,
        # or another fork step, is another run.
        self.parent = {} if parent is None else {"parent": parent}
        torch.manual_seed(seed)
        self.model = build_backbone(p.arch, image_size, p.embedding_dim, p.width, p.dropout, p.crop).to(device)
        self.head = build_head(p.head, p.embedding_dim, num_classes, p.scale, p.margin).to(device)
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        distributed.broadcast_modules(self.model, self.head)
        self.optimizer = _optimizer(p, [self.model, self.head])
        # total_steps / epochs: the budget's epoch (exactly steps_per_epoch for the data's own budget).
        self.scheduler = _schedule(self.optimizer, round(p.warmup_epochs * (total_steps / p.epochs)), total_steps)
        self.nets = {"model": self.model, "head": self.head}
        self.parts = self.nets | {"optimizer": self.optimizer, "scheduler": self.scheduler}

    def fingerprint(self) -> dict:
        """Labels plus a pixel sample: re-prepared data with the same identities must not resume."""
        return dict(params=computing_params(self.p, _EXECUTION_ONLY), seed=self.seed, image_size=self.image_size,
                    labels=self.data.labels, num_classes=self.num_classes,
                    pixels=self.data.read(sample_rows(len(self.data))), **self.budget, **self.parent)

    def batches(self, start: int, stop: int):
        return keyed_batches(self.data, self.batch_size, self.seed, start, stop, num_workers=self.p.num_workers,
                             persistent_workers=False)

    def log_step(self) -> int:
        """Rows are epochs of the data; a partial last epoch is logged as the next epoch."""
        return math.ceil(self.step / self.steps_per_epoch)

    def epoch_ends(self) -> bool:
        """After the current step: an epoch of the data is complete, or the budget spent."""
        return self.step % self.steps_per_epoch == 0 or self.step == self.steps

    def train_step(self, batch, rng: torch.Generator) -> dict[str, float]:
        """One optimizer step; the loss, and how many margin logits ranked the target first."""
        _, (x, y) = batch
        device = self.device
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            logits = self.head(self.model(x), y)
            loss = F.cross_entropy(logits, y)
        self.update(loss, self.optimizer, [*self.model.parameters(), *self.head.parameters()])
        self.scheduler.step()
        return {"loss": loss.item(), "correct": int((logits.argmax(1) == y).sum()), "seen": len(y)}


class EpochLog(Callback):
    """Each epoch's training loss, accuracy and learning rate and, with `val` (uint8 faces,
    identities), verification metrics of `val` when the epoch ends. The running sums of the
    epoch are in the checkpoint: a run resumed mid-epoch logs the epoch an uninterrupted one does."""

    def __init__(self, val: tuple[np.ndarray, np.ndarray] | None, seed: int):
        self.val, self.seed, self.sums = val, seed, _no_sums()

    def state_dict(self) -> dict:
        return {"epoch_sums": dict(self.sums)}

    def load_state_dict(self, state: dict) -> None:
        self.sums = dict(state["epoch_sums"])

    def on_step(self, trainer: RecognizerTrainer, losses, logs):
        self.sums["loss"] += losses["loss"] * losses["seen"]
        self.sums["correct"] += losses["correct"]
        self.sums["seen"] += losses["seen"]
        if not trainer.epoch_ends():
            return None
        sums, self.sums = self.sums, _no_sums()
        if not logs:
            return None
        row = {"train/loss": sums["loss"] / max(1, sums["seen"]), "train/acc": sums["correct"] / max(1, sums["seen"]),
               "train/lr": trainer.optimizer.param_groups[0]["lr"]}
        if self.val is not None:
            faces, identities = self.val
            embeddings = embed_faces(trainer.model, faces, device=trainer.device, flip=False)
            trainer.model.train()
            metrics = verification_metrics(embeddings, identities, self.seed)
            row |= {f"val/{key}": metrics[key] for key in ("verification_acc", "eer", "tar_at_far_1e-3")}
        return row


def _no_sums() -> dict:
    return {"loss": 0.0, "correct": 0, "seen": 0}


def train_recognizer(p: RecognizerParams, data: TrainBatches, num_classes: int, *, seed: int, image_size: int,
                     checkpoint_dir: Path, live=None, val: tuple[np.ndarray, np.ndarray] | None = None,
                     max_steps: int | None = None, total_steps: int | None = None,
                     fork_at: tuple[int, str] | None = None, start_from: dict | None = None) -> TrainResult:
    """Train (or resume) an embedder on `data` (facegan.train.loop.fit); `val` = (uint8 faces,
    identities) scored each epoch.

    `total_steps` is the optimizer-step budget (default `step_budget(p, len(data))`); warmup
    stays the same share of it (warmup_epochs / epochs) and the cosine ends at it, so a run
    given another set's budget follows that set's schedule step for step. The data cycles in
    its own epochs: each is logged (and `val` scored) when it ends, and a partial last epoch
    when the budget runs out (simplest: no second clock for logging).
    `max_steps` stops early (as if killed) after checkpointing; tests use it to check resuming.
    `fork_at` = (step, name) writes the run's state at that step as `name` beside its checkpoint;
    `start_from` starts from such a state, loaded (facegan.train.loop.fit): a run on other data that
    shares every step before it.
    Under torchrun each process trains on its shard of every global batch, the gradients averaged
    (Trainer.update), so the schedule and the data seen are those of a one-process run; rank 0
    checkpoints and logs, with the training loss and accuracy averaged over all processes.
    """
    parent = None if start_from is None else {"fingerprint": start_from["fingerprint"], "step": int(start_from["step"])}
    trainer = RecognizerTrainer(p, data, num_classes, seed=seed, image_size=image_size, total_steps=total_steps,
                                device=default_device(), parent=parent)
    run = fit(trainer, checkpoint_dir, max_steps=max_steps, callbacks=[EpochLog(val, seed)], live=live,
              fork_at=fork_at, start_from=start_from)
    return TrainResult(trainer.model.eval(), run.steps, run.train_img_per_s, run.run_id)
