"""Where and in what precision training and inference run: device, batch size, autocast, input scaling."""

from __future__ import annotations

import contextlib

import numpy as np
import torch


def to_input(faces_uint8: np.ndarray | torch.Tensor) -> torch.Tensor:
    """N x S x S x 3 uint8 -> N x 3 x S x S float in [-1, 1]."""
    if not isinstance(faces_uint8, torch.Tensor):
        faces_uint8 = torch.from_numpy(np.array(faces_uint8, dtype=np.uint8))  # a copy: memmaps are read-only
    return faces_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_batch(device: torch.device) -> int:
    """Faces per forward pass when only scoring: on CPU, 64 keeps a batch's activations in cache
    (about 1.5x the throughput of 256 for the 64-px models here); a GPU wants larger batches."""
    return 256 if device.type == "cuda" else 64


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype on CUDA (bf16 where supported, else fp16); None = plain fp32 (CPU)."""
    if device.type != "cuda":
        return None
    # Native bf16 only (compute capability 8.0+): older GPUs report emulated bf16 as supported,
    # yet have no bf16 convolutions; they take fp16 with loss scaling.
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    dtype = amp_dtype(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def full_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """fp32 inside, even where a caller autocasts."""
    return torch.autocast(device.type, enabled=False)
