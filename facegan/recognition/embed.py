"""Using a trained recognizer: the saved model file, and batched embedding of uint8 faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegan.model_file import read_model_file, save_model_file
from facegan.recognition.backbone import build_backbone
from facegan.train.device import autocast, full_precision, inference_batch, to_input


def save_recognizer(path: Path, model: torch.nn.Module, *, arch: str, image_size: int, embedding_dim: int,
                    width: int, identity_names: list[str], crop: float = 1.0, provenance: dict | None = None,
                    fingerprint: str | None = None, whitening: np.ndarray | None = None) -> None:
    """`whitening`: the WCCN matrix the embedder applies to the network's embeddings
    (facegan.recognition.whiten); the network itself, which the GANs' identity losses use, is saved without it."""
    config = {"arch": arch, "image_size": image_size, "embedding_dim": embedding_dim, "width": width,
              "crop": crop, "identity_names": list(identity_names), "whitened": whitening is not None}
    nets = {"backbone": model}
    if whitening is not None:  # a model file holds nets' state dicts
        nets["whitening"] = torch.nn.Module()
        nets["whitening"].register_buffer("matrix", torch.as_tensor(whitening, dtype=torch.float32))
    save_model_file(path, "recognizer", config, nets, fingerprint=fingerprint, provenance=provenance)


def load_recognizer(path: Path, device: torch.device | str = "cpu", stage: str = "train_recognizer") -> torch.nn.Module:
    """The embedder saved at `path` (by `stage`), on `device`, in eval mode; `model.whitening` is
    the WCCN its embeddings are whitened by for matching (None: none), outside `model`'s forward."""
    saved = read_model_file(path, "recognizer", stage)
    with saved.rebuilding():
        c = saved.config
        model = build_backbone(c["arch"], c["image_size"], c["embedding_dim"], c["width"], crop=c.get("crop", 1.0))
        model.load_state_dict(saved.state_dicts["backbone"])
        model.identity_names = c["identity_names"]
        model.whitening = saved.state_dicts["whitening"]["matrix"].numpy() if c.get("whitened") else None
    model.trained_on = saved.trained_on
    return model.to(device).eval()


@torch.no_grad()
def embed_faces(model: torch.nn.Module, faces_uint8: np.ndarray, batch_size: int | None = None,
                device: torch.device | str = "cpu", flip: bool = True, mixed_precision: bool = True) -> np.ndarray:
    """L2-normalized embeddings (N x D float32) of N x S x S x 3 uint8 faces, in batches
    (a memmap is read one batch at a time). `flip` adds the embedding of the mirrored
    face before normalizing, the usual test-time augmentation for faces. `mixed_precision`:
    autocast on CUDA (False: fp32, as a judge needs; see facegan.judges.judges)."""
    device = torch.device(device)
    batch_size = batch_size or inference_batch(device)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(faces_uint8), batch_size):
        x = to_input(faces_uint8[start:start + batch_size]).to(device)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device) if mixed_precision else full_precision(device):
            emb = model(x).float()
            if flip:
                emb = emb + model(x.flip(3)).float()
        out.append(torch.nn.functional.normalize(emb).cpu())
    model.train(was_training)
    if not out:
        return np.zeros((0, model.output.fc.out_features), np.float32)
    return torch.cat(out).numpy()
