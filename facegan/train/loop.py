"""One training loop for every model: `fit(trainer)`.

A model is a `Trainer` (as pix2pix/CycleGAN's BaseModel): its networks and optimizers, what its
run is fingerprinted on, the batches of its steps and one `train_step`. `fit` does the rest alike
for all of them: resume from this run's checkpoint (one of other params or data is set aside),
save and restore the RNG states, progress and timing, the checkpoint cadence and the final
checkpoint, and under torchrun the losses averaged over the processes, rank 0 alone logging and
saving. Monitors and logging are `Callback`s (as insightface's arcface_torch CallBackLogging):
each returns what it has for a step's dvclive row.

Reproducible by construction: the trainer's batches and each step's generator are pure functions
of (seed, step), and a resumed run restores the global RNG states, so it ends with the weights of
an uninterrupted run (CPU).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from facegan import distributed
from facegan.live import HISTORY_KEY, logged
from facegan.train.checkpoint import (CHECKPOINT_FILE, architecture, fingerprint, load_checkpoint, rng_states,
                                      save_checkpoint, set_rng_states)
from facegan.train.device import amp_dtype
from facegan.train.rng import step_generator


class Trainer:
    """One model's training. Subclasses set `name`, `seed`, `steps`, `batch_size`, `checkpoint_every`,
    `nets` (the trained networks) and `parts` (everything with a state_dict a checkpoint holds),
    and implement `fingerprint` and `train_step`."""

    name: str  # the progress bar's label
    progress_unit = "img"  # or "step"
    shown: tuple[str, ...] = ()  # losses the progress bar shows

    def __init__(self, seed: int, steps: int, batch_size: int, checkpoint_every: int, device: torch.device,
                 amp: bool = True):
        # Before any collective (the initial broadcast of the weights): under torchrun the process joins here.
        distributed.setup()
        self.seed, self.steps, self.batch_size, self.device = seed, steps, batch_size, device
        self.checkpoint_every = checkpoint_every
        self.step = 0  # optimizer steps taken; `fit` advances it
        self.nets: dict[str, torch.nn.Module] = {}
        self.parts: dict[str, object] = {}
        # Loss scaling only for fp16 autocast (CUDA without bf16); otherwise it passes through.
        self.scaler = torch.amp.GradScaler(enabled=amp and amp_dtype(device) == torch.float16)

    def fingerprint(self) -> dict:
        """What a checkpoint must match to be resumed (params, seed, data samples); `fit` adds the layout."""
        raise NotImplementedError

    def batches(self, start: int, stop: int) -> Iterable:
        """One item per step of [start, stop) for `train_step`: by default the step, read there."""
        return range(start, stop)

    def train_step(self, batch, rng: torch.Generator) -> dict[str, float]:
        """One step on `batch`; `rng` is the step's own generator. Returns the step's losses."""
        raise NotImplementedError

    def log_step(self) -> int:
        """The dvclive step of a row logged now."""
        return self.step

    def state_dict(self) -> dict:
        return {name: part.state_dict() for name, part in self.parts.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, part in self.parts.items():
            part.load_state_dict(state[name])

    def update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params) -> None:
        """Backward and one optimizer step, the gradients averaged over the processes in between (what
        DDP does, without its wrapper: a GAN step runs D several times and R1 differentiates D's
        gradient, which DDP's reducer does not follow)."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        distributed.average_gradients(params)
        self.scaler.step(optimizer)


class Callback:
    """Runs after every step on every process (it may use collectives). `on_step` returns its entries
    for the step's dvclive row (metric name -> value, image name ending in .png -> PIL image) or None;
    `logs` says whether this process logs. A callback whose state a resumed run needs keeps it in
    the checkpoint through `state_dict`/`load_state_dict`."""

    def on_step(self, trainer: Trainer, losses: dict[str, float], logs: bool) -> dict | None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class LossLog(Callback):
    """Mean losses since the last row (fewer steps right after a resume), every `every` steps."""

    def __init__(self, every: int):
        self.every, self.values = every, {}

    def on_step(self, trainer, losses, logs):
        for key, value in losses.items():
            self.values.setdefault(key, []).append(value)
        if not logs or trainer.step % self.every:
            return None
        means = {f"train/{key}": sum(values) / len(values) for key, values in self.values.items()}
        self.values.clear()
        return means


def sample_name(step: int) -> str:
    return f"samples/step_{step:06d}.png"


@dataclass
class Fit:
    steps: int  # the trainer's step at the end
    train_img_per_s: float  # over the training steps (not monitoring), across resumes
    run_id: str  # the run's fingerprint: what its checkpoint and model file record


def fit(trainer: Trainer, checkpoint_dir: Path, *, max_steps: int | None = None,
        callbacks: Sequence[Callback] = (), live=None, fork_at: tuple[int, str] | None = None,
        start_from: dict | None = None) -> Fit:
    """Train (or resume) `trainer` to its `steps`, or `max_steps` (stops early as if killed, after
    checkpointing; tests use it to check resuming). `live` is a dvclive factory `live(checkpoint)`
    (facegan.live) that rank 0 opens once it knows what it resumes from.

    `fork_at` = (step, name): also write the run's state at that step as `name` beside the
    checkpoint (so it persists with the run), a point another run may start from. `start_from`:
    such a state (the file, loaded); without a checkpoint of its own, the run starts there
    (weights, optimizer, schedule, step, RNG states) instead of at step 0, so the two runs share
    every step before the fork. The trainer's fingerprint must name it."""
    run_id = fingerprint(**trainer.fingerprint(), architecture=architecture(*trainer.nets.values()))
    state = load_checkpoint(checkpoint_dir, run_id)
    fork_step, fork_name = fork_at if fork_at is not None else (None, None)
    fork_path = None if fork_at is None else Path(checkpoint_dir) / fork_name
    if state is not None and fork_step is not None and state["step"] > fork_step \
            and not _is_fork(fork_path, run_id, fork_step):
        # A run from before forks, or one asked now for another fork step (not in its fingerprint).
        print(f"warning: {fork_path} is not this run's state at step {fork_step} and the run in {checkpoint_dir} "
              "is past it; training from scratch to write it", file=sys.stderr)
        state = None
    timing = {"images": 0, "seconds": 0.0}
    if state is not None:
        trainer.load_state_dict(state)
        trainer.step, timing = state["step"], state["timing"]
        for callback in callbacks:
            callback.load_state_dict(state)
        set_rng_states(state["rng"])
    elif start_from is not None:  # the fork's callbacks and timing were the other run's
        trainer.load_state_dict(start_from)
        trainer.step = start_from["step"]
        set_rng_states(start_from["rng"])
    if callable(live):  # a factory: a resumed run's curves are rebuilt from the checkpoint
        live = live(state) if distributed.is_main() else None

    def checkpoint(name: str = CHECKPOINT_FILE) -> None:
        extra = {"fingerprint": run_id, "step": trainer.step, "timing": dict(timing), "rng": rng_states(),
                 HISTORY_KEY: logged(live)}
        save_checkpoint(checkpoint_dir, trainer.state_dict() | extra
                        | {k: v for c in callbacks for k, v in c.state_dict().items()}, name)

    if fork_step is not None and trainer.step == fork_step:  # a fork at step 0, or a resumed run's
        checkpoint(fork_name)

    stop = trainer.steps if max_steps is None else min(trainer.steps, max_steps)
    unit = trainer.batch_size if trainer.progress_unit == "img" else 1
    progress = tqdm(total=stop * unit, initial=trainer.step * unit, unit=trainer.progress_unit, unit_scale=unit > 1,
                    desc=trainer.name, leave=False, mininterval=2.0, disable=not distributed.is_main())
    trained = trainer.step < stop
    for net in trainer.nets.values():
        net.train()
    batches = iter(trainer.batches(trainer.step, stop))
    while trainer.step < stop:  # no batch is asked for past `stop`: a loader would start for nothing
        started = time.perf_counter()
        losses = trainer.train_step(next(batches), step_generator(trainer.seed, trainer.step))
        trainer.scaler.update()
        trainer.step += 1
        losses = distributed.mean_over_processes(losses, trainer.device)
        timing["seconds"] += time.perf_counter() - started
        timing["images"] += trainer.batch_size
        progress.update(unit)
        progress.set_postfix({k.split("/")[-1][:3]: f"{losses[k]:.3f}" for k in trainer.shown if k in losses},
                             refresh=False)
        _log_row(live, trainer.log_step(), [c.on_step(trainer, losses, live is not None) for c in callbacks])
        if trainer.step % trainer.checkpoint_every == 0 and trainer.step < stop:
            checkpoint()
        if trainer.step == fork_step:
            checkpoint(fork_name)
    if trained:  # the end state, so a rerun after a crash later in the stage skips training
        checkpoint()
    progress.close()
    return Fit(trainer.step, timing["images"] / max(timing["seconds"], 1e-9), run_id)


def _is_fork(path: Path, run_id: str, step: int) -> bool:
    """Whether `path` holds the state of run `run_id` at `step`."""
    if not path.is_file():
        return False
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("fingerprint") == run_id and state.get("step") == step


def _log_row(live, step: int, entries: list[dict | None]) -> None:
    """One dvclive row of the callbacks' entries, when any has some (rank 0 alone has a `live`)."""
    row = {name: value for entry in entries if entry for name, value in entry.items()}
    if live is None or not row:
        return
    live.step = step
    for name, value in row.items():
        (live.log_image if name.endswith(".png") else live.log_metric)(name, value)
    live.next_step()
