"""`facegan identify`: who in a gallery each photo shows, or `unknown`.

A probe is aligned as the gallery's photos were, embedded by the same recognizer (the gallery's
fingerprint must match the current embedder's), and scored against each person with the rule
the gallery was enrolled with (facegan.lowshot.scoring): `nn`, the highest cosine to any of the
person's rows (every gallery enrolled before enroll took the run's rule); `ncm`, the cosine to
their mean; `hull`, that cosine less the distance to the affine hull of their rows. The best
person is the answer when their score reaches the gallery's threshold, set for that rule, else
`unknown`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.config import Params
from facegan.errors import FaceganError
from facegan.gallery.file import GALLERY_MATCHERS, Gallery, read_gallery
from facegan.gallery.photos import PhotoReader
from facegan.recognition.source import load_embedder

UNKNOWN = "unknown"


def check_embedder(gallery: Gallery, embedder, gallery_path: Path) -> None:
    """Embeddings of two recognizers are not comparable: refuse rather than answer wrongly."""
    if gallery.fingerprint != embedder.fingerprint:
        raise FaceganError(f"{gallery_path}: enrolled with recognizer {gallery.fingerprint} but the current one is "
                           f"{embedder.fingerprint}; enroll the people again with this recognizer (facegan enroll)")


def check_matcher(gallery: Gallery, gallery_path: Path) -> None:
    """Only the rules a gallery can score with: `matched` also needs the judges' reading of every row."""
    if gallery.matcher not in GALLERY_MATCHERS:
        raise FaceganError(f"{gallery_path}: matcher {gallery.matcher!r} cannot score a gallery (one of "
                           f"{', '.join(GALLERY_MATCHERS)} can); enroll the people again with facegan enroll "
                           f"--matcher {'|'.join(GALLERY_MATCHERS)}")


def answers(gallery: Gallery, probes: np.ndarray, top: int) -> list[dict]:
    """Per probe embedding: the answer (a name or `unknown`) and the `top` best people with scores."""
    from facegan.lowshot.scoring import match_scores

    scores = match_scores(gallery.matcher, gallery.rows_of(), probes)
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:top]
        best = [{"name": str(gallery.names[i]), "score": round(float(row[i]), 4)} for i in order]
        known = row[order[0]] >= gallery.threshold
        out.append({"answer": best[0]["name"] if known else UNKNOWN, "best": best})
    return out


def normalized(faces: np.ndarray, params: Params, editor_path: Path, judges_path: Path, device) -> tuple:
    """Each face edited back to the enrollment condition (no eyeglasses, not smiling, young,
    frontal) where the judges read it otherwise and accept the edit, as evaluation's `gan_probe`
    arm does; (the edited faces' indices, their edits, {face index: the edit's targets})."""
    from facegan.gallery.edits import kept_edits
    from facegan.synthesis.plan import normalization_jobs

    def plan(judged, continuous_age):
        return normalization_jobs(np.arange(len(faces)), {c: judged[c].to_numpy() for c in judged.columns},
                                  params.lowshot.neutral_max_yaw, continuous_age)

    jobs, made, kept = kept_edits(faces, plan, editor_path, judges_path, device)
    if not kept.any():  # no job, or none kept
        return np.zeros(0, np.int64), made[:0], {}
    rows = jobs["source_row"].to_numpy()[kept]
    return rows, made[kept], dict(zip(rows.tolist(), jobs["targets"][kept]))


def identify(photos: list[Path], gallery_path: Path, params: Params, *, recognizer: Path, top: int = 3,
             normalize: bool = False, editor: Path | None = None, judges: Path | None = None) -> dict:
    """One JSON-able document: the gallery's threshold and, per photo, its answer or its error
    (`normalize`: probes first edited back to the enrollment condition with `editor` and `judges`)."""
    from facegan.lowshot.scoring import weigh_edit
    from facegan.train.device import default_device

    gallery = read_gallery(gallery_path)
    check_matcher(gallery, gallery_path)
    device = default_device()
    embedder = load_embedder(params, recognizer, device)
    check_embedder(gallery, embedder, gallery_path)
    faces, used, failed = PhotoReader(gallery.image_size, params.data.min_face_prob).faces(list(photos))
    edits: dict[int, str] = {}
    embeddings = embedder.embed(faces) if len(faces) else None
    if normalize and len(faces):
        rows, edited, edits = normalized(faces, params, editor, judges, device)
        if len(rows):  # each edit weighed against the photo it edits, as evaluation's gan_probe arm matches them
            embeddings[rows] = weigh_edit(embeddings[rows], embedder.embed(edited), params.lowshot.probe_weight)
    found = dict(zip(used, answers(gallery, embeddings, top) if len(faces) else []))
    for i, photo in enumerate(used):
        if normalize:
            found[photo]["normalized"] = edits.get(i, "")  # "" = kept as it was
    results = [{"photo": str(p)} | (found[p] if p in found else {"error": failed[p]}) for p in photos]
    far = None if np.isnan(gallery.far) else gallery.far  # NaN: set by hand (and not JSON)
    return {"gallery": str(gallery_path), "threshold": round(gallery.threshold, 4), "far": far,
            "matcher": gallery.matcher, "embedder": gallery.embedder, "photos": results}
