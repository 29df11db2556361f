"""Generator model files: a plain dict (config, weights, metadata), loadable with weights_only=True,
written atomically."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import torch

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes


def save_model(path: Path, module: torch.nn.Module, **meta) -> None:
    """`module.config` (its constructor's keyword arguments), its weights on CPU, and `meta`."""
    blob = meta | {"config": dict(module.config),
                   "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()}}
    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_model(path: Path, build: Callable[..., torch.nn.Module], what: str, stage: str):
    """(module rebuilt from its config with the saved weights, the saved dict); a missing file
    is one line naming the stage that writes it."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"{path}: {what} missing; run `dvc repro {stage}` first")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    module = build(**blob["config"])
    module.load_state_dict(blob["state_dict"])
    return module, blob
