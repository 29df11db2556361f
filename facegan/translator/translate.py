"""Public API of the translator: the saved model file and batched thermal -> visible translation.

    from facegan.translator.translate import load_translator, translate_faces
    translator = load_translator(Path("models/translator.pt"))
    visible = translate_faces(translator, thermal_faces)   # uint8 N x S x S x 3 -> same shape

Thermal faces are what data/prepared stores for domain=thermal rows: the
LWIR frame as grey replicated on three channels, in the prepared crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegan.model_file import read_model_file, save_model_file
from facegan.train.device import autocast, inference_batch, to_input
from facegan.translator.models import UNet


def save_translator(path: Path, generator: UNet, image_size: int, thermal_source: str,
                    provenance: dict | None = None, fingerprint: str | None = None) -> None:
    config = {"generator": dict(generator.config), "image_size": image_size, "thermal_source": thermal_source}
    save_model_file(path, "translator", config, {"generator": generator}, fingerprint=fingerprint,
                    provenance=provenance)


def load_translator(path: Path, device="cpu") -> torch.nn.Module:
    """The thermal -> visible generator saved at `path`, on `device`, in eval mode.
    `.image_size` is the face size it was trained on, `.thermal_source` the kind of thermal data."""
    saved = read_model_file(path, "translator")
    with saved.rebuilding():
        generator = UNet(**saved.config["generator"])
        generator.load_state_dict(saved.state_dicts["generator"])
        generator.image_size, generator.thermal_source = saved.config["image_size"], saved.config["thermal_source"]
    generator.trained_on = saved.trained_on
    return generator.to(device).eval()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N x 3 x S x S in [-1, 1] -> N x S x S x 3 uint8."""
    return images.add(1).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def translate_faces(translator: torch.nn.Module, faces: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Visible N x S x S x 3 uint8 faces translated from thermal ones (same shape), in batches
    (a memmap is read one batch at a time)."""
    if faces.ndim != 4 or faces.shape[-1] != 3 or faces.dtype != np.uint8:
        raise ValueError(f"expected N x S x S x 3 uint8 thermal faces, got {faces.dtype} {faces.shape}")
    device = next(translator.parameters()).device
    batch_size = batch_size or inference_batch(device)
    was_training = translator.training
    translator.eval()
    out = np.empty(faces.shape, np.uint8)
    for start in range(0, len(faces), batch_size):
        x = to_input(faces[start:start + batch_size]).to(device)
        with autocast(device):
            out[start:start + batch_size] = to_uint8(translator(x).float())
    translator.train(was_training)
    return out
