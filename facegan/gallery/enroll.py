"""`facegan enroll`: a gallery a user keeps, from a folder of their people's photos.

Each PEOPLE_DIR/<name>/<photo> is aligned as prep aligns folder photos, embedded by the recognizer
`params.recognizer` names (facegan.recognition.source), optionally with variants of each photo
(`--augment`), and written with what identify needs to trust it: the embedder's fingerprint, the
crop size, the matcher and an identity threshold set at `--far` on faces the recognizer never
trained on. The matcher is the rule the run's evaluation chose on held-out val identities
(`lowshot.matcher` in reports/metrics.json; `ncm` where that is `matched`, which a gallery cannot
use, or there is no evaluated run), or the one `--matcher` names.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facegan.config import Params
from facegan.data.folder import scan_identity_folders
from facegan.data.store import PreparedData
from facegan.errors import FaceganError
from facegan.gallery.file import (AUGMENTS, AUTO_MATCHER, BY_HAND, DEFAULT_AUGMENT, FALLBACK_MATCHER,
                                  GALLERY_MATCHERS, Gallery, write_gallery)
from facegan.gallery.photos import PhotoReader
from facegan.recognition.source import Embedder, load_embedder


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


def chosen_matcher(matcher: str, metrics: Path) -> str:
    """`matcher`, or (auto) the rule the run's evaluation chose on val identities (`lowshot.matcher`
    in `metrics`): FALLBACK_MATCHER, with a warning saying why, where the file cannot say or names a
    rule a gallery cannot use."""
    if matcher != AUTO_MATCHER:
        if matcher not in GALLERY_MATCHERS:
            raise FaceganError(f"--matcher {matcher}: expected one of {AUTO_MATCHER}, {', '.join(GALLERY_MATCHERS)}")
        return matcher
    instead = f"using {FALLBACK_MATCHER} (or give --matcher {'|'.join(GALLERY_MATCHERS)})"
    try:
        rule = json.loads(Path(metrics).read_text())["lowshot"]["matcher"]
    except FileNotFoundError:
        warn(f"{metrics}: not found, no evaluated run to take the matcher from; {instead}")
        return FALLBACK_MATCHER
    except (OSError, ValueError, KeyError, TypeError):  # unreadable, not JSON, or no lowshot.matcher
        warn(f"{metrics}: cannot read lowshot.matcher from it; {instead}")
        return FALLBACK_MATCHER
    if rule not in GALLERY_MATCHERS:
        warn(f"{metrics}: the run's matcher {rule!r} is not one a gallery can use (`matched` needs the judges' "
             f"reading of every enrolled row); {instead}")
        return FALLBACK_MATCHER
    return rule


def open_held_out(prepared: Path, image_size: int) -> PreparedData:
    """The prepared store whose held-out faces set the identity threshold, checked before any photo
    is aligned. The user's own people cannot set it: a few people make too few impostors, and
    thresholding on the gallery fits it to them."""
    from facegan.data.store import open_prepared

    try:
        data = open_prepared(prepared)
    except FaceganError as err:
        raise FaceganError(f"{err}; the identity threshold is set on its held-out faces (or give --prepared DIR, "
                           "or --threshold COSINE)") from None
    if data.image_size != image_size:
        raise FaceganError(f"{prepared}: holds {data.image_size} px faces but data.image_size is {image_size}; "
                           "give the params the models were trained with")
    return data


def threshold_on_prepared(embedder: Embedder, data: PreparedData, prepared: Path, rule: str, shots: int,
                          far: float, seed: int) -> tuple[float, str]:
    """The score at which `rule` falsely accepts `far` of impostors among the store's val faces
    (_held_out), each person enrolled from `shots` photos (the gallery's median). `nn` compares a
    probe with one row at a time, and `ncm` of one photo is that photo's cosine, so both are
    thresholded on impostor pairs' cosines. `hull` subtracts a distance from the cosine (a pair
    threshold would reject its genuine matches), and the cosine to a mean of several photos runs
    higher than to one, for strangers too (it would accept them): these are thresholded on their
    own scores of people enrolled as the user's are. Variants are not made of the held-out faces:
    with --augment the threshold is that of the photos alone."""
    from facegan.recognition.dataset import RowView
    from facegan.recognition.verification import impostor_threshold, threshold_at_far

    held = _held_out(data, prepared)
    identities = held["identity"].to_numpy()
    pairwise = rule == "nn" or (rule == "ncm" and shots == 1)
    entries = int((held["identity"].value_counts() >= shots).sum())
    if not pairwise and entries < 2:
        raise FaceganError(f"{prepared}: fewer than two val identities with {shots} photos to set the {rule} "
                           "threshold on; give --threshold SCORE, or --matcher nn")
    embeddings = embedder.embed(RowView(data.faces, held.index.to_numpy()))
    if pairwise:
        threshold, pairs = impostor_threshold(embeddings, identities, far, seed)
        return threshold, f"{pairs} impostor pairs of {len(held)} val faces in {prepared}"
    scores = impostor_scores(rule, embeddings, identities, shots, seed)
    return threshold_at_far(scores, far), (f"{len(scores)} impostor scores of {len(held)} val faces against "
                                           f"{entries} identities of {shots} photos in {prepared}")


def _held_out(data: PreparedData, prepared: Path) -> pd.DataFrame:
    """The visible faces of the val identities: held out of all training (the recognizer's, the
    editor's, the judges'), as the user's people are. Base-val faces are held-out photos of people
    the recognizer trained on; its strangers' scores run lower on them, and a threshold set there
    lets in about twice `far` of real strangers."""
    held = data.rows(split="val", domain="visible")
    if held["identity"].nunique() < 2:
        raise FaceganError(f"{prepared}: fewer than two val identities to set the threshold on; "
                           "give --threshold SCORE")
    return held


def impostor_scores(rule: str, embeddings: np.ndarray, identities: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """`rule`'s scores (facegan.lowshot.scoring) of every face against each other identity that has
    `shots` faces or more, enrolled from a seeded draw of `shots` of them."""
    from facegan.lowshot.scoring import match_scores

    rng = np.random.default_rng(seed)
    ids, counts = np.unique(identities, return_counts=True)
    enrolled = ids[counts >= shots]
    entries = [embeddings[rng.choice(np.flatnonzero(identities == i), shots, replace=False)] for i in enrolled]
    scores = match_scores(rule, entries, embeddings)
    return scores[identities[:, None] != enrolled[None, :]]


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
           recognizer: Path, judges: Path, editor: Path, prepared: Path, metrics: Path, matcher: str = AUTO_MATCHER,
           threshold: float | None = None) -> tuple[list[Person], Gallery]:
    """Align, embed (and augment) everyone's photos and write the gallery to `out` atomically,
    scored by `matcher` (auto: the rule in the run's `metrics`). Returns each person's counts and
    the gallery; raises FaceganError (writing nothing) when nobody has a usable photo or an input is bad."""
    from facegan.train.device import default_device

    if augment not in AUGMENTS:
        raise FaceganError(f"--augment {augment}: expected one of {', '.join(AUGMENTS)}")
    matcher = chosen_matcher(matcher, metrics)
    listed = _people(people_dir)
    device = default_device()
    embedder = load_embedder(params, recognizer, device)
    trained = getattr(embedder, "trained_on", None) or {}
    if trained.get("data", {}).get("source") == "synthetic":
        warn(f"{recognizer}: trained on the built-in synthetic faces, it cannot tell real people apart; "
             "train it on photos first (facegan preset celeba-mini-cpu or celeba-gpu, then dvc repro)")
    size = params.data.image_size
    held_out = open_held_out(prepared, size) if threshold is None else None
    reader = PhotoReader(size, params.data.min_face_prob)
    people, crops = [], []
    for name, files, skipped in listed:
        faces, used, failed = reader.faces(files)
        person = Person(name, used, skipped | {str(f): why for f, why in failed.items()})
        for file, why in person.skipped.items():
            warn(f"{file}: {why}; skipped")
        if not used:
            warn(f"{Path(people_dir) / name}: no usable photo of {name}; not enrolled "
                 "(add a photo with one clear face)")
            continue
        people.append(person)
        crops.append(faces)
    if not people:
        raise FaceganError(f"{people_dir}: no person has a usable photo (see the warnings above); nothing written")
    if held_out is not None:
        shots = max(1, int(np.median([len(p.photos) for p in people])))
        threshold, set_on = threshold_on_prepared(embedder, held_out, prepared, matcher, shots, far, params.seed)
    else:  # set by hand: at no known false accept rate
        far, set_on = float("nan"), BY_HAND
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
                      threshold=float(threshold), far=float(far), threshold_set_on=set_on, matcher=matcher)
    write_gallery(out, gallery)
    return people, gallery
