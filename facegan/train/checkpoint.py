"""The training checkpoint: a plain dict (weights_only-loadable) that resumes a run exactly.

It carries everything the next step depends on (weights, optimizer, schedule,
step, running epoch sums, RNG states) and a fingerprint of what the run was
started with, so a checkpoint from different params or data is refused
and set aside instead of silently continued.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

from facegan.io import atomic_write_bytes

CHECKPOINT_FILE = "last.pt"
STALE_FILE = "stale.pt"


def fingerprint(**inputs) -> str:
    """A stable hash of JSON-able values and numpy arrays."""
    digest = hashlib.sha256()
    for key in sorted(inputs):
        value = inputs[key]
        digest.update(key.encode())
        if isinstance(value, np.ndarray):
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(json.dumps(value, sort_keys=True).encode())
    return digest.hexdigest()


def architecture(*modules: torch.nn.Module) -> list:
    """Every weight's and buffer's name and shape: for fingerprints, so a checkpoint of a network
    that today's code builds differently from the same params is set aside, not loaded."""
    return [[name, list(t.shape)] for m in modules for name, t in m.state_dict().items()]


def sample_rows(n: int) -> np.ndarray:
    """Up to 64 evenly spread positions of `n` rows: the pixel sample a fingerprint takes of training data."""
    return np.linspace(0, n - 1, min(64, n)).astype(np.int64)


def first_weights(module: torch.nn.Module) -> np.ndarray:
    """A frozen network's first tensor: for fingerprints, so another recognizer starts another run."""
    return next(iter(module.state_dict().values())).detach().cpu().numpy()


def computing_params(params, execution_only: set[str], added_later: dict | None = None) -> dict:
    """A params section without the values that change how a run is executed or observed, not what it
    computes (checkpoint cadence, logging, workers): changing those must not restart training.
    `added_later`: keys added after runs were fingerprinted, with the value that computes what runs
    without the key did; at that value a key is left out, so those runs keep their checkpoints."""
    added_later = added_later or {}
    return {k: v for k, v in params.model_dump(exclude=set(execution_only)).items()
            if k not in added_later or v != added_later[k]}


def rng_states() -> dict:
    """Python, numpy and torch global RNG states as tensors and plain types."""
    np_state = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        # This process's GPU only: under torchrun each process draws on its own GPU, and a run may
        # resume where fewer GPUs are visible.
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def set_rng_states(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = states["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        cuda = states["cuda"]
        if isinstance(cuda, (list, tuple)):  # older checkpoints held every visible GPU's state
            gpu = torch.cuda.current_device()
            cuda = cuda[gpu] if gpu < len(cuda) else None
        if cuda is not None:
            torch.cuda.set_rng_state(cuda)


def save_checkpoint(directory: Path, state: dict, name: str = CHECKPOINT_FILE) -> None:
    """Written (as `name` in `directory`: the checkpoint, or a fork beside it) by rank 0 only (every
    rank holds the same state under DDP); every rank returns once it is on disk, so whatever runs
    next on any rank may read it."""
    from facegan.distributed import barrier, is_main

    if is_main():
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(Path(directory) / name, buf.getvalue())
    barrier()


def load_checkpoint(directory: Path, expected_fingerprint: str) -> dict | None:
    """The saved state, or None when there is none to resume.

    A checkpoint of another run (other params or data, as after a params.yaml
    change under `dvc repro`) or an unreadable one is set aside as `stale.pt`
    with a warning: training starts fresh instead of continuing the wrong run.
    """
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        reason = None if state.get("fingerprint") == expected_fingerprint else "is from other params or data"
    except Exception as err:  # truncated or foreign file
        state, reason = None, f"is unreadable ({err.__class__.__name__})"
    if reason is None:
        return state
    from facegan.distributed import barrier, is_main

    barrier()  # every rank has judged the file before rank 0 moves it
    if not is_main():
        return None
    os.replace(path, path.with_name(STALE_FILE))
    print(f"warning: {path} {reason}; kept as {STALE_FILE}, training from scratch", file=sys.stderr)
    return None
