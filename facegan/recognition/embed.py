"""Using a trained recognizer: the saved model file, and batched embedding of uint8 faces."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes
from facegan.recognition.backbone import autocast, build_backbone, inference_batch, to_input


def save_recognizer(path: Path, model: torch.nn.Module, *, arch: str, image_size: int, embedding_dim: int,
                    width: int, identity_names: list[str]) -> None:
    """A plain dict (loadable with weights_only=True), written atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {"arch": arch, "image_size": image_size, "embedding_dim": embedding_dim, "width": width,
            "state_dict": state, "identity_names": list(identity_names)}
    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_recognizer(path: Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The embedder saved at `path`, on `device`, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"{path}: recognizer model missing; run `dvc repro train_recognizer` first")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = build_backbone(blob["arch"], blob["image_size"], blob["embedding_dim"], blob["width"])
    model.load_state_dict(blob["state_dict"])
    model.identity_names = blob["identity_names"]
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
