"""Using a trained recognizer: the saved model file, and batched embedding of uint8 faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegan.model_file import load_weights, read_model_file, trained_on, write_blob
from facegan.recognition.backbone import build_backbone
from facegan.train.device import autocast, inference_batch, to_input


def save_recognizer(path: Path, model: torch.nn.Module, *, arch: str, image_size: int, embedding_dim: int,
                    width: int, identity_names: list[str], provenance: dict | None = None) -> None:
    """A plain dict (loadable with weights_only=True), written atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    write_blob(path, {"kind": "recognizer", "arch": arch, "image_size": image_size, "embedding_dim": embedding_dim,
                      "width": width, "state_dict": state, "identity_names": list(identity_names),
                      "provenance": provenance})


def load_recognizer(path: Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The embedder saved at `path`, on `device`, in eval mode."""
    blob = read_model_file(path, "recognizer", "recognizer model", "train_recognizer")
    model = build_backbone(blob["arch"], blob["image_size"], blob["embedding_dim"], blob["width"])
    load_weights(path, model, blob["state_dict"], "recognizer model", "train_recognizer")
    model.identity_names, model.trained_on = blob["identity_names"], trained_on(blob)
    return model.to(device).eval()


@torch.no_grad()
def embed_faces(model: torch.nn.Module, faces_uint8: np.ndarray, batch_size: int | None = None,
                device: torch.device | str = "cpu", flip: bool = True) -> np.ndarray:
    """L2-normalized embeddings (N x D float32) of N x S x S x 3 uint8 faces, in batches
    (a memmap is read one batch at a time). `flip` adds the embedding of the mirrored
    face before normalizing, the usual test-time augmentation for faces."""
    device = torch.device(device)
    batch_size = batch_size or inference_batch(device)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(faces_uint8), batch_size):
        x = to_input(faces_uint8[start:start + batch_size]).to(device)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            emb = model(x).float()
            if flip:
                emb = emb + model(x.flip(3)).float()
        out.append(torch.nn.functional.normalize(emb).cpu())
    model.train(was_training)
    if not out:
        return np.zeros((0, model.output.fc.out_features), np.float32)
    return torch.cat(out).numpy()
