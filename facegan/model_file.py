"""Model files: a plain dict (config, weights, metadata), loadable with weights_only=True,
written atomically; what each was trained on (provenance); one-line errors for files that are
missing, unreadable or of another kind."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes

UNKNOWN = "unknown"
# Keys that tell the kinds apart in files written before they recorded `kind`.
KIND_KEYS = {
    "judges": ("attribute", "identity"),
    "translator": ("config", "thermal_source"),
    "editor": ("config", "attributes"),
    "recognizer": ("arch", "identity_names"),
}
DEFAULT_PATHS = {"editor": "models/editor.pt", "translator": "models/translator.pt",
                 "judges": "models/judges.pt", "recognizer": "models/recognizer.pt"}


def provenance(params, rows, image_size: int, steps: int | None = None) -> dict:
    """What a model was trained on: the data set, image size, training identities/images
    (`rows`: the index rows it trained on), steps and seed."""
    return {"data": {"source": params.data.source, "root": str(params.data.root)}, "image_size": int(image_size),
            "n_train_identities": int(rows["identity"].nunique()), "n_train_images": int(len(rows)),
            "steps": None if steps is None else int(steps), "seed": int(params.seed)}


def trained_on(blob: dict) -> dict:
    """The saved provenance, or "unknown" fields for files written before it was recorded."""
    saved = blob.get("provenance") or {}
    data = saved.get("data") or {}
    return {"data": {"source": data.get("source", UNKNOWN), "root": data.get("root", UNKNOWN)}} | {
        k: saved.get(k, blob.get(k, UNKNOWN) if k == "image_size" else UNKNOWN)
        for k in ("image_size", "n_train_identities", "n_train_images", "steps", "seed")}


def write_blob(path: Path, blob: dict) -> None:
    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def save_model(path: Path, module: torch.nn.Module, kind: str, **meta) -> None:
    """`module.config` (its constructor's keyword arguments), its weights on CPU, and `meta`."""
    write_blob(path, meta | {"kind": kind, "config": dict(module.config),
                             "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()}})


def kind_of(blob) -> str | None:
    if not isinstance(blob, dict):
        return None
    if blob.get("kind") in KIND_KEYS:
        return blob["kind"]
    return next((kind for kind, keys in KIND_KEYS.items() if all(k in blob for k in keys)), None)


def read_model_file(path: Path, kind: str, what: str, stage: str) -> dict:
    """The saved dict of a `kind` model file, or one line saying what is wrong and what to do."""
    path = Path(path)
    rerun = f"rerun `dvc repro {stage}` or give the {what} file ({DEFAULT_PATHS[kind]})"
    if not path.is_file():
        raise FaceganError(f"{path}: {what} missing; run `dvc repro {stage}` first")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - arbitrary bytes make the unpickler raise anything (KeyError, ...)
        why = "truncated or damaged" if zipfile.is_zipfile(path) or _starts_as_zip(path) else "not a torch model file"
        raise FaceganError(f"{path}: cannot read the {what} ({why}); {rerun}") from None
    found = kind_of(blob)
    if found != kind:
        holds = f"{'an' if found[0] in 'aeiou' else 'a'} {found} model" if found else "no facegan model"
        raise FaceganError(f"{path}: holds {holds}, not the {what}; give the {what} file ({DEFAULT_PATHS[kind]})")
    return blob


def _starts_as_zip(path: Path) -> bool:
    """torch.save writes a zip archive: a file with its header but no readable end was cut short."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def load_weights(path: Path, module: torch.nn.Module, state_dict: dict, what: str, stage: str) -> None:
    """`module.load_state_dict`, with a mismatch (damaged or edited file) as one line."""
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, KeyError, TypeError) as err:
        raise FaceganError(f"{path}: the {what}'s weights do not fit its saved configuration "
                           f"({str(err).splitlines()[0][:120]}); rerun `dvc repro {stage}`") from None


def load_model(path: Path, build: Callable[..., torch.nn.Module], kind: str, what: str, stage: str):
    """(module rebuilt from its config with the saved weights, the saved dict)."""
    blob = read_model_file(path, kind, what, stage)
    try:
        module = build(**blob["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise FaceganError(f"{path}: the {what}'s saved configuration is not usable ({err}); "
                           f"rerun `dvc repro {stage}`") from None
    load_weights(path, module, blob["state_dict"], what, stage)
    return module, blob
