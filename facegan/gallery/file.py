"""The gallery file `facegan enroll` writes and `facegan identify` reads: one .npz.

Arrays (strings as fixed-width unicode, so it loads with allow_pickle=False):
  format           facegan's gallery format version (FORMAT)
  names            (P,) the people, sorted
  embeddings       (R, D) float32, L2-normalized, one row per enrolled face
  person           (R,) int, the row's index into `names`
  kind             (R,) "photo" | "classical" | "gan"
  variant          (R,) which one: "" for a photo, "classical:J", or the edit ("eyeglasses=1", "yaw=-20")
  source           (R,) the photo the row is (or was made from), relative to PEOPLE_DIR
  embedder         the embedder's name ("trained", "dlib", ...)
  fingerprint      the embedder's fingerprint: identify refuses a gallery made by another embedder
  image_size       the aligned crop's side in pixels
  threshold, far   the identity threshold (on the matcher's score) and the false accept rate it was set at
                   (NaN: by hand)
  threshold_set_on where the threshold comes from (the impostor scores it was set on, or BY_HAND)
  matcher          the matching rule (facegan.lowshot.scoring), one of GALLERY_MATCHERS: "nn" (max cosine
                   over a person's rows; every gallery enrolled before enroll took the run's rule), "ncm" or "hull"
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes

FORMAT = 1
KINDS = ("photo", "classical", "gan")
AUGMENTS = ("none", "classical", "gan")  # what `enroll --augment` adds to the photos
# The default run's evaluation (reports/results.md) finds GAN variants add nothing clear over the
# photos alone at k = 1 and 5 and classical augmentation loses: plain photos are what it supports.
DEFAULT_AUGMENT = "none"
# The rules a gallery can score with; `matched` also needs the judges' reading of every row and probe.
GALLERY_MATCHERS = ("nn", "ncm", "hull")
AUTO_MATCHER = "auto"  # `enroll --matcher`: the rule the run's evaluation chose (lowshot.matcher)
FALLBACK_MATCHER = "ncm"  # auto's where the run cannot say: the evaluation's own without val identities
BY_HAND = "--threshold"  # threshold_set_on of a threshold the user gave
_SCALARS = {"format": int, "embedder": str, "fingerprint": str, "image_size": int, "threshold": float,
            "far": float, "threshold_set_on": str, "matcher": str}


@dataclass
class Gallery:
    names: np.ndarray
    embeddings: np.ndarray
    person: np.ndarray
    kind: np.ndarray
    variant: np.ndarray
    source: np.ndarray
    embedder: str
    fingerprint: str
    image_size: int
    threshold: float
    far: float
    threshold_set_on: str
    matcher: str = "nn"
    format: int = FORMAT

    def rows_of(self) -> list[np.ndarray]:
        """Each person's embeddings, in the order of `names` (what the matchers take)."""
        return [self.embeddings[self.person == i] for i in range(len(self.names))]


def write_gallery(path: Path, gallery: Gallery) -> None:
    """Write atomically: a crash or an error leaves any earlier gallery at `path` as it was."""
    arrays = {f.name: np.asarray(getattr(gallery, f.name)) for f in fields(Gallery)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(Path(path), buf.getvalue())


def read_gallery(path: Path) -> Gallery:
    """The gallery at `path`, or one line saying what is wrong with the file and what to do."""
    path = Path(path)
    redo = "make it with `facegan enroll PEOPLE_DIR -o GALLERY.npz`"
    if not path.is_file():
        raise FaceganError(f"{path}: gallery not found; {redo}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = {name: npz[name] for name in npz.files}
    except Exception:  # noqa: BLE001 - arbitrary bytes make the zip, zlib and npy readers raise anything
        raise FaceganError(f"{path}: cannot read the gallery (not an .npz file, or truncated or damaged); "
                           f"{redo}") from None
    names = [f.name for f in fields(Gallery)]
    missing = [name for name in names if name not in found]
    if missing:
        raise FaceganError(f"{path}: not a facegan gallery (no {missing[0]!r} array); {redo}")
    try:
        gallery = Gallery(**{k: (_SCALARS[k](found[k]) if k in _SCALARS else found[k]) for k in names})
    except (TypeError, ValueError):
        raise FaceganError(f"{path}: not a facegan gallery (a field of the wrong type); {redo}") from None
    if gallery.format != FORMAT:
        raise FaceganError(f"{path}: gallery format {gallery.format}, this facegan reads {FORMAT}; "
                           "enroll the people again")
    columns = (gallery.person, gallery.kind, gallery.variant, gallery.source)
    rows = len(gallery.embeddings) if gallery.embeddings.ndim == 2 else -1
    if rows < 1 or any(np.shape(c) != (rows,) for c in columns) or not set(gallery.kind) <= set(KINDS) \
            or not set(np.unique(gallery.person)) <= set(range(len(gallery.names))):
        raise FaceganError(f"{path}: the gallery's arrays disagree (damaged); {redo}")
    return gallery
