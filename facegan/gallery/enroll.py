"""`facegan enroll`: a gallery a user keeps, from a folder of their people's photos.

Each PEOPLE_DIR/<name>/<photo> is aligned as prep aligns folder photos, embedded by the recognizer
`params.recognizer` names (facegan.recognition.source), optionally with variants of each photo
(`--augment`), and written with what identify needs to trust it: the embedder's fingerprint, the
crop size, the matcher, and an identity threshold set at `--far` on impostor pairs of faces the
recognizer never trained on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.config import Params
from facegan.data.folder import scan_identity_folders
from facegan.errors import FaceganError
from facegan.gallery.file import AUGMENTS, BY_HAND, DEFAULT_AUGMENT, Gallery, write_gallery
from facegan.gallery.photos import PhotoReader
from facegan.recognition.source import Embedder, load_embedder

MATCHER = "nn"  # the pipeline's default matcher; max cosine over a person's rows


@dataclass
class Person:
    name: str
    photos: list[Path] = field(default_factory=list)       # aligned and enrolled
    skipped: dict[str, str] = field(default_factory=dict)  # file -> why
    variants: int = 0                                      # kept variants
    planned: int = 0                                       # variants made (kept or not)


@dataclass
class Variants:
    """Variants of the enrolled photos: their embeddings, the photo each was made from, its label."""
    embeddings: np.ndarray
    photo: np.ndarray
    label: list[str]


def _rows(embeddings: np.ndarray, person: np.ndarray, kind: str, variant: list[str], source: np.ndarray) -> dict:
    """Gallery rows (facegan.gallery.file) of one kind."""
    return {"embeddings": np.asarray(embeddings, np.float32), "person": person, "kind": np.full(len(person), kind),
            "variant": np.array(variant, str), "source": source}


def threshold_on_prepared(embedder: Embedder, prepared: Path, image_size: int, far: float,
                          seed: int) -> tuple[float, str]:
    """The cosine at which `embedder` falsely accepts `far` of the impostor pairs of the prepared
    store's base-val faces: people held out of training, as the recognizer's report and the
    judges set theirs (facegan.recognition.verification). The user's own people cannot give it:
    a few people make too few impostor pairs, and thresholding on the gallery fits it to them."""
    from facegan.data.store import open_prepared
    from facegan.recognition.dataset import RowView
    from facegan.recognition.verification import impostor_threshold

    try:
        data = open_prepared(prepared)
    except FaceganError as err:
        raise FaceganError(f"{err}; the identity threshold is set on its held-out faces (or give --prepared DIR, "
                           "or --threshold COSINE)") from None
    if data.image_size != image_size:
        raise FaceganError(f"{prepared}: holds {data.image_size} px faces but data.image_size is {image_size}; "
                           "give the params the models were trained with")
    val = data.rows(split="base", role="val", domain="visible")
    if val["identity"].nunique() < 2:
        raise FaceganError(f"{prepared}: fewer than two base-val identities to set the threshold on; "
                           "give --threshold COSINE")
    embeddings = embedder.embed(RowView(data.faces, val.index.to_numpy()))
    threshold, pairs = impostor_threshold(embeddings, val["identity"].to_numpy(), far, seed)
    return threshold, f"{pairs} impostor pairs of {len(val)} base-val faces in {prepared}"


def _variant_plan(params: Params) -> int:
    """Variants per photo the GAN plan makes: each attribute flip and yaw target."""
    return len(params.synthesis.attributes) + len(params.synthesis.yaw_targets)


def _classical(params: Params, faces: np.ndarray, embedder: Embedder) -> Variants:
    """As many classical (albumentations) variants of each photo as the GAN plan makes, embedded:
    evaluation's `classical` arm, at the same count."""
    from facegan.evaluation.classical import ClassicalVariants

    keys = [(row, j) for row in range(len(faces)) for j in range(_variant_plan(params))]
    made = ClassicalVariants(params.recognizer.augment, faces, embedder.embed, params.seed)
    return Variants(made.embeddings(keys), np.array([r for r, _ in keys]), [f"classical:{j}" for _, j in keys])


def _gan(params: Params, faces: np.ndarray, embedder: Embedder, editor_path: Path, judges_path: Path,
         device) -> Variants:
    """Every planned edit of each photo (synthesis's plan), judged as synthesis judges it; the kept ones."""
    from facegan.editor.conditioning import NAMES
    from facegan.gallery.edits import kept_edits
    from facegan.synthesis.plan import every_variant

    def plan(judged: pd.DataFrame, continuous_age: bool) -> pd.DataFrame:
        return every_variant(np.arange(len(faces)), {c: judged[c].to_numpy() for c in NAMES},
                             params.synthesis.attributes, params.synthesis.yaw_targets, thermal=False,
                             continuous_age=continuous_age)

    jobs, made, kept = kept_edits(faces, plan, editor_path, judges_path, device)
    jobs = jobs[kept]
    embeddings = embedder.embed(made[kept]) if kept.any() else np.zeros((0, embedder.dim), np.float32)
    return Variants(embeddings, jobs["source_row"].to_numpy(),
                    [f"{k}={t:g}" for k, t in zip(jobs["kind"], jobs["target"])])


# scan_identity_folders' skip reasons, for people
REASONS = {"not_an_image": "not an image file (by its name)"}


def _people(people_dir: Path) -> list[tuple[str, list[Path], dict[str, str]]]:
    """(name, photo files, {skipped file: why}) per identity folder, a folder without photos too."""
    people_dir = Path(people_dir)
    if not people_dir.is_dir():
        raise FaceganError(f"{people_dir}: no such folder; give a folder with one folder of photos per person "
                           f"({people_dir}/<name>/<photo>.jpg)")
    table, skipped = scan_identity_folders(people_dir)
    for file, reason in skipped:
        if reason == "outside_identity_folder":
            warn(f"{file}: not in a person's folder; skipped (put photos in {people_dir}/<name>/)")
    folders = sorted(d for d in people_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    return [(folder.name, [Path(f) for f in table.loc[table["identity_name"] == folder.name, "path"]],
             {f: REASONS.get(r, r) for f, r in skipped if Path(f).is_relative_to(folder)}) for folder in folders]


def warn(message: str) -> None:
    print(f"warning: enroll: {message}", file=sys.stderr)


def enroll(people_dir: Path, out: Path, params: Params, *, augment: str = DEFAULT_AUGMENT, far: float = 1e-3,
           recognizer: Path, judges: Path, editor: Path, prepared: Path,
           threshold: float | None = None) -> tuple[list[Person], Gallery]:
    """Align, embed (and augment) everyone's photos and write the gallery to `out` atomically.
    Returns each person's counts and the gallery; raises FaceganError (writing nothing) when
    nobody has a usable photo or an input is bad."""
    from facegan.train.device import default_device

    if augment not in AUGMENTS:
        raise FaceganError(f"--augment {augment}: expected one of {', '.join(AUGMENTS)}")
    listed = _people(people_dir)
    device = default_device()
    embedder = load_embedder(params, recognizer, device)
    trained = getattr(embedder, "trained_on", None) or {}
    if trained.get("data", {}).get("source") == "synthetic":
        warn(f"{recognizer}: trained on the built-in synthetic faces, it cannot tell real people apart; "
             "train it on photos first (facegan preset celeba-mini-cpu or celeba-gpu, then dvc repro)")
    size = params.data.image_size
    if threshold is None:
        threshold, set_on = threshold_on_prepared(embedder, prepared, size, far, params.seed)
    else:  # set by hand: at no known false accept rate
        far, set_on = float("nan"), BY_HAND
    reader = PhotoReader(size, params.data.min_face_prob)
    people, crops = [], []
    for name, files, skipped in listed:
        faces, used, failed = reader.faces(files)
        person = Person(name, used, skipped | {str(f): why for f, why in failed.items()})
        for file, why in person.skipped.items():
            warn(f"{file}: {why}; skipped")
        if not used:
            warn(f"{Path(people_dir) / name}: no usable photo of {name}; not enrolled (add a photo with one clear face)")
            continue
        people.append(person)
        crops.append(faces)
    if not people:
        raise FaceganError(f"{people_dir}: no person has a usable photo (see the warnings above); nothing written")
    faces = np.concatenate(crops)
    owner = np.repeat(np.arange(len(people)), [len(p.photos) for p in people])
    source = np.array([str(f.relative_to(people_dir)) for p in people for f in p.photos])
    parts = [_rows(embedder.embed(faces), owner, "photo", [""] * len(faces), source)]
    if augment != "none":
        made = (_classical(params, faces, embedder) if augment == "classical" else
                _gan(params, faces, embedder, editor, judges, device))
        parts.append(_rows(made.embeddings, owner[made.photo], augment, made.label, source[made.photo]))
        planned = np.bincount(owner, minlength=len(people)) * _variant_plan(params)
        for person, n, m in zip(people, planned, np.bincount(owner[made.photo], minlength=len(people))):
            person.planned, person.variants = int(n), int(m)
    gallery = Gallery(names=np.array([p.name for p in people]), **{k: np.concatenate([part[k] for part in parts])
                                                                   for k in parts[0]},
                      embedder=embedder.name, fingerprint=embedder.fingerprint, image_size=size,
                      threshold=float(threshold), far=float(far), threshold_set_on=set_on, matcher=MATCHER)
    write_gallery(out, gallery)
    return people, gallery
