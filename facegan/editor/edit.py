"""Using a trained editor: the model file, batched editing of uint8 faces, editing an image file."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError

from facegan.attributes import YOUNG, flipped, store_labels
from facegan.editor.conditioning import BINARY, NAMES, YAW, attribute_vectors, set_targets
from facegan.editor.generator import Generator
from facegan.editor.stargan import StarGenerator
from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes
from facegan.model_file import read_model_file, save_model_file
from facegan.train.device import autocast, inference_batch, to_input


# editor.arch -> its generator. A model file records its arch only when it is not facegan: files of
# the default arch keep the bytes they had before there was a choice (and the older ones still load).
GENERATORS = {g.arch: g for g in (Generator, StarGenerator)}
DEFAULT_ARCH = Generator.arch


def save_editor(path: Path, generator: torch.nn.Module, image_size: int, provenance: dict | None = None,
                fingerprint: str | None = None) -> None:
    arch = getattr(generator, "arch", DEFAULT_ARCH)
    config = ({"generator": dict(generator.config), "image_size": image_size, "attributes": list(NAMES)}
              | ({"arch": arch} if arch != DEFAULT_ARCH else {})
              | ({"continuous_age": True} if continuous_age(generator) else {}))
    save_model_file(path, "editor", config, {"generator": generator}, fingerprint=fingerprint, provenance=provenance)


def load_editor(path: Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The (EMA) generator saved at `path`, on `device`, in eval mode; `.image_size` says its input size."""
    saved = read_model_file(path, "editor")
    with saved.rebuilding():
        generator = GENERATORS[saved.config.get("arch", DEFAULT_ARCH)](**saved.config["generator"])
        generator.load_state_dict(saved.state_dicts["generator"])
        generator.image_size = saved.config["image_size"]
        generator.continuous_age = bool(saved.config.get("continuous_age", False))
    generator.trained_on = saved.trained_on
    return generator.to(device, memory_format=torch.channels_last).eval()  # oneDNN's fast layout on CPU


def continuous_age(editor: torch.nn.Module) -> bool:
    """Whether the editor's young coordinate is a continuous youth (1 - age; facegan.attributes)."""
    return bool(getattr(editor, "continuous_age", False))


@torch.no_grad()
def edit_faces(editor: torch.nn.Module, faces: np.ndarray, targets: Mapping[str, np.ndarray | float],
               source_attributes: Mapping[str, np.ndarray], batch_size: int | None = None) -> np.ndarray:
    """Edited N x S x S x 3 uint8 faces.

    `targets` sets any of eyeglasses/smiling (0/1), young (0/1, or a youth 1 - age in [0, 1] for a
    `continuous_age` editor) and yaw (degrees), each a scalar or one value per face;
    `source_attributes` gives all four for each face (labels from the index, or the judges'
    probabilities and yaw): what is not in `targets` keeps its source value, and an empty `targets`
    reconstructs the input.
    """
    source = attribute_vectors(source_attributes, continuous_age(editor))
    if len(source) != len(faces):
        raise ValueError(f"{len(faces)} faces but {len(source)} source attribute vectors")
    cond = torch.from_numpy(set_targets(source, targets) - source)
    device = next(editor.parameters()).device
    batch_size = batch_size or inference_batch(device)
    out = np.empty((len(faces), *faces.shape[1:]), np.uint8)
    for start in range(0, len(faces), batch_size):
        x = to_input(faces[start:start + batch_size]).to(device, memory_format=torch.channels_last)
        with autocast(device):
            y = editor(x, cond[start:start + batch_size].to(device)).float()
        out[start:start + batch_size] = (y.add(1).mul(127.5).round().clamp(0, 255).byte()
                                         .permute(0, 2, 3, 1).cpu().numpy())
    return out


def judged_attributes(judges, faces: np.ndarray) -> dict[str, np.ndarray]:
    """Source attributes of unlabelled faces, from the judges (probabilities and yaw)."""
    probs, yaw = judges.attributes_and_yaw(faces)
    return {name: probs[name] for name in BINARY} | {YAW: yaw}


def source_attributes(faces: np.ndarray, rows: pd.DataFrame, judges) -> dict[str, np.ndarray]:
    """Eyeglasses/smiling/young/yaw of these store rows: the index's labels (young: the youth 1 - age
    where the data knows ages) where the data set has them, else the judges' reading (folder photos;
    a novel set without labels beside a labelled one)."""
    if not all(n in rows.columns for n in NAMES):
        return judged_attributes(judges, faces[rows.index.to_numpy()])
    out = store_labels(rows, NAMES)
    unknown = rows[list(NAMES)].isna().any(axis=1).to_numpy()
    if unknown.any():
        judged = judged_attributes(judges, faces[rows.index.to_numpy()[unknown]])
        for n in NAMES:
            out[n][unknown] = judged[n]
    return out


def read_photo(path: Path, image_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A face photo as (the whole photo H x W x 3 uint8, its face as 1 x S x S x 3 uint8 in the
    prepared crop, the 2x3 affine from photo pixels to crop pixels). A square image is taken as
    already a crop, a 178x218 image as CelebA-aligned, anything else is aligned with MTCNN."""
    from facegan.data.alignment import (CELEBA_SIZE, FACE_CROP_BOX, MTCNNAligner, box_to_square,
                                        similarity_to_template, then)
    from facegan.data.decode import NO_FACE, align_photo, crop_aligned

    try:
        image = Image.open(path).convert("RGB")
    except (FileNotFoundError, UnidentifiedImageError, OSError) as err:
        raise FaceganError(f"{path}: cannot read the image ({err.__class__.__name__}); "
                           "give a face photo (jpg, png)") from None
    photo = np.asarray(image)
    if abs(image.width - image.height) <= 0.05 * max(image.size):
        face = np.asarray(image.resize((image_size, image_size), Image.BICUBIC))
        return photo, face[None], box_to_square((0, 0, image.width, image.height), image_size)
    crop = box_to_square(FACE_CROP_BOX, image_size)
    if image.size == CELEBA_SIZE:
        return photo, crop_aligned(photo, image_size)[None], crop
    face = align_photo(MTCNNAligner(), photo, image_size)
    if face is None:
        raise FaceganError(f"{path}: {NO_FACE}")
    return photo, face.crop[None], then(similarity_to_template(face.points), crop)


def read_face(path: Path, image_size: int) -> np.ndarray:
    """A face photo as 1 x S x S x 3 uint8 in the prepared crop (see read_photo)."""
    return read_photo(path, image_size)[1]


def _readings(judged: dict[str, np.ndarray]) -> dict:
    """The judges' readings of one face: a probability per attribute, degrees for yaw."""
    return {k: ({"degrees": round(float(v[0]), 1)} if k == YAW else {"p": round(float(v[0]), 3)})
            for k, v in judged.items()}


def _age_targets(editor, targets: Mapping[str, float], source_youth: np.ndarray, photo: Path) -> dict[str, float]:
    """`targets` as this editor takes them: a continuous age needs a `continuous_age` editor; for one,
    young=0|1 is the source's age mirrored across the young/old line when it is on the other side
    (as synthesis flips ages), else the source's own."""
    targets = dict(targets)
    if YOUNG not in targets:
        return targets
    wanted = float(targets[YOUNG])
    if not continuous_age(editor):
        if 0 < wanted < 1:
            raise FaceganError(f"{photo}: this editor learnt age from CelebA's Young label (no true ages), so it "
                               "takes no --age; use --set young=0|1")
        return targets
    if wanted in (0.0, 1.0):
        youth_now = float(source_youth[0])
        targets[YOUNG] = youth_now if (youth_now >= 0.5) == (wanted >= 0.5) else float(flipped(YOUNG, youth_now, True))
    return targets


def edit_image(photo: Path, out: Path, targets: Mapping[str, float], editor_path: Path, judges_path: Path,
               device: torch.device | str = "cpu", crop_only: bool = False) -> dict:
    """Edit the face in one photo file; the source's attributes come from the judges.

    Writes the photo at its own size with the edited face pasted back where it was aligned from
    (or, with `crop_only`, the aligned crop at the models' size). Returns what the judges read
    before and after (readings, not facts), which targets they read as reached, the quality critic's
    verdict on the edited face (score, threshold, passed: what synthesis requires), what the models
    were trained on, and whether the photo looks like those faces."""
    from facegan.data.alignment import paste_face
    from facegan.judges.acceptance import attribute_reached, quality_passed
    from facegan.judges.domain import out_of_domain
    from facegan.judges.judges import load_judges

    editor, judges = load_editor(editor_path, device), load_judges(judges_path, device)
    whole, face, to_crop = read_photo(Path(photo), editor.image_size)
    in_domain_stats = getattr(judges, "domain", None)
    outside, ratio = out_of_domain(in_domain_stats, face)
    before = judged_attributes(judges, face)
    targets = _age_targets(editor, targets, before[YOUNG], photo)
    image_format = Image.registered_extensions().get(Path(out).suffix.lower())
    if image_format is None:
        raise FaceganError(f"{out}: unknown image type {Path(out).suffix!r}; name the output .png or .jpg")
    edited = edit_faces(editor, face, targets, before)
    buf = io.BytesIO()
    written = edited[0] if crop_only else paste_face(whole, edited[0], to_crop)
    Image.fromarray(written).save(buf, format=image_format)
    atomic_write_bytes(Path(out), buf.getvalue())
    after = judged_attributes(judges, edited)
    reached = {name: bool(attribute_reached(name, value, after[name][0]))
               for name, value in targets.items()}
    score = float(judges.quality(edited)[0])
    quality = {"score": round(score, 3), "threshold": round(float(judges.quality_threshold), 3),
               "passed": bool(quality_passed(score, judges.quality_threshold))}
    trained = getattr(editor, "trained_on", {}) or {}
    result = {"judged_before": _readings(before), "judged_after": _readings(after),
              "targets": dict(targets), "judges_read_as_reached": reached, "quality": quality,
              "in_domain": None if outside is None else not outside,
              "domain_distance": None if ratio is None else round(ratio, 2),
              "models_trained_on": trained,
              "output": {"size": [int(written.shape[1]), int(written.shape[0])],
                         "face_resolution": int(edited.shape[1]),
                         "note": ("the aligned face crop at the models' image size" if crop_only else
                                  f"the photo at its own size, the edited face pasted back into the region it "
                                  f"was aligned from (edited at {edited.shape[1]} px and scaled to fit)")}}
    if outside:
        result["note"] = ("the photo is unlike the faces the models were trained on: the edit is likely wrong "
                          "and the judges' readings unreliable")
    elif outside is None:
        result["note"] = "these judges hold no statistics of their training faces (older file): domain not checked"
    return result
