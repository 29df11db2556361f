"""Training loop of the recognizer: margin-softmax classification of training identities.

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
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from facegan import distributed
from facegan.config import RecognizerParams
from facegan.live import HISTORY_KEY, logged
from facegan.recognition.backbone import build_backbone
from facegan.train.device import amp_dtype, autocast, default_device
from facegan.train.checkpoint import (architecture, fingerprint, load_checkpoint, rng_states, save_checkpoint,
                                             set_rng_states)
from facegan.recognition.dataset import TrainBatches
from facegan.train.rng import epoch_batches
from facegan.recognition.embed import embed_faces
from facegan.recognition.margin import build_head
from facegan.recognition.verification import verification_metrics

# Params that change how a run is executed, not what it computes.
_EXECUTION_ONLY = {"num_workers", "checkpoint_every"}


@dataclass
class TrainResult:
    model: torch.nn.Module
    steps: int
    train_img_per_s: float  # over the training steps of this run, across resumes


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


def train_recognizer(p: RecognizerParams, data: TrainBatches, num_classes: int, *, seed: int, image_size: int,
                     checkpoint_dir: Path, live=None, val: tuple[np.ndarray, np.ndarray] | None = None,
                     max_steps: int | None = None, total_steps: int | None = None) -> TrainResult:
    """Train (or resume) an embedder on `data`; `val` = (uint8 faces, identities) scored each epoch.

    `total_steps` is the optimizer-step budget (default `step_budget(p, len(data))`); warmup
    stays the same share of it (warmup_epochs / epochs) and the cosine ends at it, so a run
    given another set's budget follows that set's schedule step for step. The data cycles in
    its own epochs: each is logged (and `val` scored) when it ends, and a partial last epoch
    when the budget runs out (simplest: no second clock for logging).
    `max_steps` stops early (as if killed) after checkpointing; tests use it to check resuming.
    Under torchrun each process trains on its shard of every global batch (DDP averages the
    gradients), so the schedule and the data seen are those of a one-process run; rank 0
    checkpoints and logs, with the training loss and accuracy summed over all processes.
    """
    distributed.setup()
    device = default_device()
    batch_size = clamped_batch_size(p, len(data))
    distributed.check_batch_size(batch_size, "recognizer.batch_size")
    steps_per_epoch = len(data) // batch_size
    own_budget = step_budget(p, len(data))
    total_steps = own_budget if total_steps is None else total_steps
    # Only a budget other than the data's own is fingerprinted: default runs keep their checkpoints.
    budget = {} if total_steps == own_budget else {"total_steps": total_steps}
    # Labels plus a pixel sample: re-prepared data with the same identities must not resume.
    pixel_sample = data.read(np.linspace(0, len(data) - 1, min(64, len(data))).astype(np.int64))

    torch.manual_seed(seed)
    model = build_backbone(p.arch, image_size, p.embedding_dim, p.width, p.dropout).to(device)
    head = build_head(p.head, p.embedding_dim, num_classes, p.scale, p.margin).to(device)
    run_id = fingerprint(params={k: v for k, v in p.model_dump().items() if k not in _EXECUTION_ONLY},
                         seed=seed, image_size=image_size, labels=data.labels, num_classes=num_classes,
                         pixels=pixel_sample, architecture=architecture(model, head), **budget)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(p, [model, head])
    train_model, train_head = model, head
    if distributed.world_size() > 1:
        train_model, train_head = DistributedDataParallel(model), DistributedDataParallel(head)
    # total_steps / epochs: the budget's epoch (exactly steps_per_epoch for the data's own budget).
    scheduler = _schedule(optimizer, round(p.warmup_epochs * (total_steps / p.epochs)), total_steps)
    scaler = torch.amp.GradScaler(enabled=amp_dtype(device) == torch.float16)
    sums = {"loss": 0.0, "correct": 0, "seen": 0}  # running over the current epoch
    timing = {"images": 0, "seconds": 0.0}  # of training steps, over all sessions of this run

    state = load_checkpoint(checkpoint_dir, run_id)
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        head.load_state_dict(state["head"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, sums, timing = state["step"], state["epoch_sums"], state["timing"]
        set_rng_states(state["rng"])
    if callable(live):  # a factory: a resumed run's curves are rebuilt from the checkpoint
        live = live(state) if distributed.is_main() else None

    def epoch_ends() -> bool:  # after the current step: an epoch of `data` is complete, or the budget spent
        return step % steps_per_epoch == 0 or step == total_steps

    def checkpoint() -> None:
        save_checkpoint(checkpoint_dir, {
            "fingerprint": run_id, "step": step, "epoch": step // steps_per_epoch,
            "model": model.state_dict(), "head": head.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch_sums": dict(sums), "timing": dict(timing),
            "rng": rng_states(), HISTORY_KEY: logged(live),
        })

    stop_at = total_steps if max_steps is None else min(total_steps, max_steps)
    progress = tqdm(total=stop_at * batch_size, initial=step * batch_size, unit="img", unit_scale=True,
                    desc="train_recognizer", leave=False, mininterval=2.0, disable=not distributed.is_main())
    trained = False
    model.train()
    while step < stop_at:
        epoch, first = divmod(step, steps_per_epoch)
        batches = epoch_batches(len(data), batch_size, seed, epoch)[first:]
        keys = [(epoch, first + i, distributed.shard(b)) for i, b in enumerate(batches[:stop_at - step])]
        # A fixed generator: DataLoader would otherwise draw worker seeds from the global RNG,
        # which a resumed run reaches in a different state.
        loader = DataLoader(data, sampler=keys, batch_size=None, num_workers=p.num_workers,
                            generator=torch.Generator().manual_seed(seed), persistent_workers=False)
        started = time.perf_counter()
        for x, y in loader:
            loss_value, correct = _train_step(train_model, train_head, x, y, optimizer, scaler, device)
            scheduler.step()
            step += 1
            sums["loss"] += loss_value * len(y)
            sums["correct"] += correct
            sums["seen"] += len(y)
            progress.update(len(y) * distributed.world_size())
            progress.set_postfix(loss=f"{loss_value:.3f}", epoch=epoch + 1, refresh=False)
            if step % p.checkpoint_every == 0 and not epoch_ends():
                checkpoint()  # an epoch's last step checkpoints below, after its epoch is logged
        timing["seconds"] += time.perf_counter() - started
        timing["images"] += len(keys) * batch_size
        trained = True
        if epoch_ends():
            reduced = dict(zip(sums, distributed.all_sum(list(sums.values()), device)))
            if distributed.is_main():  # a partial last epoch is logged as the next epoch
                _log_epoch(live, math.ceil(step / steps_per_epoch), reduced, optimizer, model, val, seed, device)
            sums = {"loss": 0.0, "correct": 0, "seen": 0}
            if step % p.checkpoint_every == 0 and step < stop_at:
                checkpoint()
    if trained:  # the end state, so a rerun after a crash later in the stage skips training
        checkpoint()
    progress.close()
    model.eval()
    return TrainResult(model, step, timing["images"] / max(timing["seconds"], 1e-9))


def _train_step(model, head, x, y, optimizer, scaler, device) -> tuple[float, int]:
    """One optimizer step; returns the batch loss and how many margin logits ranked the target first."""
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device):
        logits = head(model(x), y)
        loss = F.cross_entropy(logits, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), int((logits.argmax(1) == y).sum())


def _log_epoch(live, epoch: int, sums: dict, optimizer, model, val, seed: int, device) -> None:
    if live is None:
        return
    live.step = epoch
    live.log_metric("train/loss", sums["loss"] / max(1, sums["seen"]))
    live.log_metric("train/acc", sums["correct"] / max(1, sums["seen"]))
    live.log_metric("train/lr", optimizer.param_groups[0]["lr"])
    if val is not None:
        faces, identities = val
        metrics = verification_metrics(embed_faces(model, faces, device=device, flip=False), identities, seed)
        for key in ("verification_acc", "eer", "tar_at_far_1e-3"):
            live.log_metric(f"val/{key}", metrics[key])
        model.train()
    live.next_step()
