"""Model files: one format for every trained model (recognizer, judges, editor, translator).

A model file is a plain dict, written atomically and read with torch.load(weights_only=True):

    format        FORMAT (a file without it, or with another, was written by an older facegan)
    kind          recognizer | judges | editor | translator
    config        what rebuilds the nets and the loaded object (plain values; the judges' domain
                  statistics are tensors)
    state_dicts   {net name: its state dict, on the CPU}
    fingerprint   the training run's fingerprint where the writer has it, else None
    provenance    what the model was trained on (`provenance()`), None if not recorded

`read_model_file` is the one reader: a missing, truncated, foreign, older or wrong-kind file, or
one whose config and weights do not rebuild the nets, is one line that says what to do.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes

FORMAT = 2
UNKNOWN = "unknown"
# kind: (its name in messages, the stage that writes it, its default path)
KINDS = {
    "recognizer": ("recognizer model", "train_recognizer", "models/recognizer.pt"),
    "judges": ("judges", "train_judges", "models/judges.pt"),
    "editor": ("editor model", "train_editor", "models/editor.pt"),
    "translator": ("translator model", "train_translator", "models/translator.pt"),
}
LEGACY_KEYS = ("state_dict", "attribute")  # every model file before FORMAT 2 had one of these


def provenance(params, rows, image_size: int, steps: int | None = None) -> dict:
    """What a model was trained on: the data set, image size, training identities/images
    (`rows`: the index rows it trained on), steps and seed."""
    return {"data": {"source": params.data.source, "root": str(params.data.root)}, "image_size": int(image_size),
            "n_train_identities": int(rows["identity"].nunique()), "n_train_images": int(len(rows)),
            "steps": None if steps is None else int(steps), "seed": int(params.seed)}


def save_model_file(path: Path, kind: str, config: dict, nets: dict[str, torch.nn.Module], *,
                    fingerprint: str | None = None, provenance: dict | None = None) -> None:
    """`nets`' weights (on the CPU) under their names, with the config that rebuilds them."""
    assert kind in KINDS, kind
    state_dicts = {name: {k: v.detach().cpu() for k, v in net.state_dict().items()} for name, net in nets.items()}
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "kind": kind, "config": config, "state_dicts": state_dicts,
                "fingerprint": fingerprint, "provenance": provenance}, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


@dataclass(frozen=True)
class ModelFile:
    path: Path
    kind: str
    stage: str  # the stage to rerun when the file does not rebuild
    config: dict
    state_dicts: dict[str, dict[str, torch.Tensor]]
    fingerprint: str | None
    provenance: dict | None

    @property
    def trained_on(self) -> dict:
        """The provenance, with "unknown" fields where it was not recorded."""
        saved = self.provenance or {}
        data = saved.get("data") or {}
        return {"data": {"source": data.get("source", UNKNOWN), "root": data.get("root", UNKNOWN)}} | {
            k: saved.get(k, (self.config or {}).get(k, UNKNOWN) if k == "image_size" else UNKNOWN)
            for k in ("image_size", "n_train_identities", "n_train_images", "steps", "seed")}

    @contextlib.contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Around building the nets from `config` and loading `state_dicts` into them: a damaged or
        edited file that does not fit is one line."""
        what = KINDS[self.kind][0]
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
            detail = (str(err).splitlines() or [err.__class__.__name__])[0][:120]
            raise FaceganError(f"{self.path}: the {what} does not rebuild from its saved configuration and weights "
                               f"({detail}); rerun `dvc repro {self.stage}`") from None


def read_model_file(path: Path, kind: str, stage: str | None = None) -> ModelFile:
    """The `kind` model file at `path` (written by `stage`, by default the kind's own), or one line
    saying what is wrong and what to do."""
    path = Path(path)
    what, default_stage, default_path = KINDS[kind]
    stage = stage or default_stage
    if not path.is_file():
        raise FaceganError(f"{path}: {what} missing; run `dvc repro {stage}` first")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - arbitrary bytes make the unpickler raise anything (KeyError, ...)
        why = "truncated or damaged" if zipfile.is_zipfile(path) or _starts_as_zip(path) else "not a torch model file"
        raise FaceganError(f"{path}: cannot read the {what} ({why}); rerun `dvc repro {stage}` "
                           f"or give the {what} file ({default_path})") from None
    if not isinstance(blob, dict) or (blob.get("kind") not in KINDS and not any(k in blob for k in LEGACY_KEYS)):
        raise FaceganError(f"{path}: holds no facegan model, not the {what}; give the {what} file ({default_path})")
    found = blob.get("kind")
    if found in KINDS and found != kind:
        article = "an" if found[0] in "aeiou" else "a"
        raise FaceganError(f"{path}: holds {article} {found} model, not the {what}; "
                           f"give the {what} file ({default_path})")
    if blob.get("format") != FORMAT:
        raise FaceganError(f"{path}: the {what} was written by an older facegan (another model file format); "
                           f"rerun `dvc repro {stage}`")
    return ModelFile(path, kind, stage, blob.get("config"), blob.get("state_dicts"), blob.get("fingerprint"),
                     blob.get("provenance"))


def _starts_as_zip(path: Path) -> bool:
    """torch.save writes a zip archive: a file with its header but no readable end was cut short."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"
