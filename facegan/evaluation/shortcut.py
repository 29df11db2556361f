"""The shortcut check: low-shot top-1 on novel identities from the pixels outside the inner face alone.

If hair, clothing and background identify a person better than chance allows for, a recognizer
can score without looking at the face, and edits of the face (glasses, smile, age) change little
of what it matches on. Real photos set the bar: hair does identify people somewhat, so the
synthetic set's multiple of chance should be no higher than a real set's at the same gallery size.

The inner face is an ellipse fixed in crop coordinates, derived from where prep puts CelebA's
5-point template (facegan.data.alignment: eyes, nose tip, mouth corners) in the S x S crop, in
units of the template's inter-ocular distance (IOD; 14.9 px at 64 px):
  centre   midway between the eye line and the mouth line, horizontally between the eyes
           (31.7, 34.5 at 64 px)
  axes     1.2 IOD across, 1.25 IOD up/down: the eyebrows' outer ends, the cheeks, the lips and
           the upper chin fall inside; about a quarter of the crop.
It is fixed, not per photo: prep aligns every crop to the template, and a per-photo mask would
itself describe the face's geometry.

What is left is described by
  colour   a joint HSV histogram (8 hue x 4 saturation x 4 value bins) per band of the outside:
           top (above the eye line: hair, forehead), bottom (below the mouth line: jaw, neck,
           clothes), left and right (between: ears, hair, background); square-rooted (the
           Hellinger map: a bin of few pixels is not drowned by one of many), L2-normalized;
  layout   an 8 x 8 Lab thumbnail of the outside pixels alone (each cell the mean of its outside
           pixels): hairstyle shape and where colours sit, which histograms lose.
The full-face reference describes every pixel the same way (the inner ellipse as a fifth band,
an unmasked thumbnail).

Each descriptor part is embedded by a small linear embedder trained on the base identities, as
every model is (per part: standardize, PCA to at most 96 whitened dimensions; then LDA on them
all): it learns which outside cues stay the same within a person, as a recognizer trained on base
faces can. Views: `whole` (every part) and each part alone (which region carries the shortcut).
Each view matches every probe against one enrolled photo per identity (k = 1; galleries drawn by
facegan.lowshot.episodes, `neutral` photos by default) by cosine, nearest wins. A region's figure
is its strongest view: a shortcut any one view finds is a shortcut.

Top-1 is pooled over the episodes' probes, with a 95% interval from facegan.lowshot.bootstrap (over
identities and episodes); the multiple of chance is top-1 x the gallery's identity count, at a
common count (random subsets per episode) so sets with more novel identities compare fairly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

from facegan.data.alignment import CELEBA_TEMPLATE, to_crop_frame
from facegan.data.store import PreparedData
from facegan.lowshot.bootstrap import IdentityBootstrap
from facegan.lowshot.episodes import draw_episodes
from facegan.lowshot.scoring import l2_normalize

AXIS_X_IOD, AXIS_Y_IOD = 1.2, 1.25  # the inner-face ellipse's semi-axes, in inter-ocular distances
HSV_BINS = (8, 4, 4)
THUMB = 8  # thumbnail cells per side
PART_DIMS = 96  # the embedder's whitened dimensions per descriptor part, before LDA
CHUNK = 512  # faces described at a time (the store is a memmap)


def template_points(image_size: int) -> np.ndarray:
    """(5, 2) template landmarks in the S x S crop: eyes, nose tip, mouth corners."""
    return to_crop_frame(CELEBA_TEMPLATE.reshape(10), image_size).reshape(5, 2)


def inner_face_mask(image_size: int) -> np.ndarray:
    """(S, S) bool, True on the inner face (the ellipse of the module doc)."""
    points = template_points(image_size)
    eyes, mouth = points[:2].mean(0), points[3:].mean(0)
    iod = float(np.linalg.norm(points[1] - points[0]))
    cx, cy = (eyes + mouth) / 2
    y, x = np.mgrid[:image_size, :image_size] + 0.5  # pixel centres
    return ((x - cx) / (AXIS_X_IOD * iod)) ** 2 + ((y - cy) / (AXIS_Y_IOD * iod)) ** 2 <= 1.0


def regions(image_size: int, outside_only: bool) -> dict[str, np.ndarray]:
    """Named (S, S) bool masks the histograms are taken over: the outside's four bands, and the
    inner face too for the full-face reference."""
    points = template_points(image_size)
    eye_y, mouth_y, mid_x = points[:2, 1].mean(), points[3:, 1].mean(), points[:, 0].mean()
    y, x = np.mgrid[:image_size, :image_size] + 0.5
    inner = inner_face_mask(image_size)
    middle = (y >= eye_y) & (y <= mouth_y)
    out = {"top": ~inner & (y < eye_y), "bottom": ~inner & (y > mouth_y),
           "left": ~inner & middle & (x < mid_x), "right": ~inner & middle & (x >= mid_x)}
    if not outside_only:
        out["inner"] = inner
    return out


def _hsv_bins(faces: np.ndarray) -> np.ndarray:
    """(n, S, S) joint HSV bin of each pixel."""
    hsv = np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2HSV) for f in faces]).astype(np.int32)
    h = np.minimum(hsv[..., 0] * HSV_BINS[0] // 180, HSV_BINS[0] - 1)  # OpenCV's 8-bit hue is 0..179
    s = hsv[..., 1] * HSV_BINS[1] // 256
    v = hsv[..., 2] * HSV_BINS[2] // 256
    return (h * HSV_BINS[1] + s) * HSV_BINS[2] + v


def colour_histograms(faces: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per band, (n, bins) square-rooted, L2-normalized HSV histograms."""
    bins = _hsv_bins(faces)
    n, size = len(faces), int(np.prod(HSV_BINS))
    out = {}
    for name, mask in masks.items():
        flat = (np.arange(n)[:, None] * size + bins[:, mask]).ravel()
        hist = np.bincount(flat, minlength=n * size).reshape(n, size).astype(np.float64)
        out[name] = l2_normalize(np.sqrt(hist))
    return out


def thumbnails(faces: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(n, cells x 3) Lab means of the `keep` pixels per thumbnail cell (cells with none dropped)."""
    weight = cv2.resize(keep.astype(np.float32), (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    out = []
    for face in faces:
        lab = cv2.cvtColor(np.ascontiguousarray(face).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        summed = cv2.resize(lab * keep[..., None], (THUMB, THUMB), interpolation=cv2.INTER_AREA)
        out.append(summed[weight > 0] / weight[weight > 0][:, None])
    return np.stack(out).reshape(len(faces), -1)


def describe_parts(faces: np.ndarray, outside_only: bool = True) -> dict[str, np.ndarray]:
    """Descriptor parts of (n, S, S, 3) uint8 faces: one (n, bins) colour histogram per region and
    the (n, cells x 3) `layout` thumbnail; only pixels outside the inner face if `outside_only`."""
    size = faces.shape[1]
    masks = regions(size, outside_only)
    keep = ~inner_face_mask(size) if outside_only else np.ones((size, size), bool)
    chunks = []
    for start in range(0, len(faces), CHUNK):
        chunk = np.asarray(faces[start : start + CHUNK])
        chunks.append(colour_histograms(chunk, masks) | {"layout": thumbnails(chunk, keep)})
    return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}


class Embedder:
    """A linear embedder fitted on (base) descriptor parts and their identities: each part
    standardized and reduced by PCA to at most PART_DIMS whitened dimensions (so a long histogram
    block cannot crowd the thumbnail out, and LDA's within-class scatter has far fewer dimensions
    than photos), then LDA over all of them together."""

    def __init__(self, parts: dict[str, np.ndarray], identities: np.ndarray, seed: int):
        self.reducers = {
            name: make_pipeline(StandardScaler(), PCA(min(PART_DIMS, x.shape[1], len(x) - 1), whiten=True,
                                                      random_state=seed)).fit(x)
            for name, x in parts.items()}
        self.lda = LinearDiscriminantAnalysis().fit(self._reduced(parts), identities)

    def _reduced(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([reducer.transform(parts[name]) for name, reducer in self.reducers.items()], axis=1)

    def __call__(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        return self.lda.transform(self._reduced(parts))


def _score(features: np.ndarray, index: pd.DataFrame, episodes, identities: int | None, seed: int,
           resamples: int) -> dict:
    """Top-1 of nearest-neighbour cosine matching at k = 1, pooled over the episodes' probes, with a
    95% interval from facegan.lowshot.bootstrap (over identities and episodes). `features` rows
    follow `index`'s rows. With `identities`, each episode's gallery is a random subset of that many
    identities (all when fewer), and the probes are theirs."""
    features = l2_normalize(features)
    position = pd.Series(np.arange(len(index)), index=index.index)  # store row -> features row
    rng = np.random.default_rng([seed, 7])  # the same subsets for every view: paired figures
    everyone = np.array(sorted(episodes[0].gallery))
    correct = np.zeros((len(episodes), len(everyone)))
    counts = np.zeros_like(correct)
    for e, episode in enumerate(episodes):
        ids = everyone
        if identities is not None and identities < len(ids):
            ids = np.sort(rng.choice(ids, identities, replace=False))
        truth = index.loc[episode.probes, "identity"].to_numpy()
        mine = np.isin(truth, ids)
        rows, truth = episode.probes[mine], truth[mine]
        gallery = features[position[np.concatenate([episode.gallery[i] for i in ids])].to_numpy()]
        hit = ids[(features[position[rows].to_numpy()] @ gallery.T).argmax(axis=1)] == truth
        column = np.searchsorted(everyone, truth)
        np.add.at(correct[e], column, hit)
        np.add.at(counts[e], column, 1)
    top1 = IdentityBootstrap(len(episodes), len(everyone), resamples, seed).interval(correct, counts)
    chance = 1.0 / len(ids)
    return {"top1": top1["mean"], "top1_ci95": top1["ci95"], "chance": chance,
            "multiple": top1["mean"] / chance, "multiple_ci95": [v / chance for v in top1["ci95"]],
            "n_identities": len(ids), "n_probes": int(round(counts.sum() / len(episodes)))}


def shortcut_check(data: PreparedData, episodes: int = 20, identities: int | None = 36, gallery: str = "neutral",
                   max_yaw: float = 10.0, seed: int = 0, resamples: int = 2000) -> dict:
    """Low-shot top-1 at k = 1 on the store's novel visible identities, from the outside of the
    inner face alone (`outside`) and from the whole crop (`full_face`, the reference).

    Per region, each view (`whole`: every part; or one part alone) is scored at a common gallery
    size (`identities` per episode, so sets with different numbers of novel identities compare);
    `strongest` names the view with the highest top-1 there, the region's figure, which is also
    scored over every eligible identity (`strongest_all`).
    """
    visible = data.index[data.index["domain"] == "visible"]
    novel, base = visible[visible["split"] == "novel"], visible[visible["split"] == "base"]
    drawn = draw_episodes(novel, 1, episodes, gallery, max_yaw, seed)
    if not drawn or len(drawn[0].gallery) < 2:
        raise ValueError("fewer than two novel identities with two or more visible photos: nothing to tell apart")
    if base["identity"].nunique() < 2:
        raise ValueError("fewer than two base identities: nothing to train the embedder on")
    novel_faces, base_faces = data.faces[novel.index.to_numpy()], data.faces[base.index.to_numpy()]
    out: dict = {"episodes": episodes, "gallery": gallery, "seed": seed,
                 "n_base_identities": int(base["identity"].nunique())}
    for region, outside_only in (("outside", True), ("full_face", False)):
        with threadpool_limits(1, user_api="blas"):
            out[region] = _region(novel, base, novel_faces, base_faces, outside_only, drawn, identities, seed,
                                  resamples)
    return out


def _region(novel: pd.DataFrame, base: pd.DataFrame, novel_faces: np.ndarray, base_faces: np.ndarray,
            outside_only: bool, drawn, identities: int | None, seed: int, resamples: int) -> dict:
    """One region's views scored (see shortcut_check). BLAS runs on one thread: the matrices are
    small, and on two busy cores BLAS threads waiting for each other made the tests take 96 s, not 4."""
    mine, theirs = describe_parts(novel_faces, outside_only), describe_parts(base_faces, outside_only)
    views = {"whole": list(mine)} | {part: [part] for part in mine}
    embedded = {view: Embedder({p: theirs[p] for p in parts}, base["identity"].to_numpy(), seed)(
                    {p: mine[p] for p in parts}) for view, parts in views.items()}
    scored = {view: _score(f, novel, drawn, identities, seed, resamples) for view, f in embedded.items()}
    strongest = max(scored, key=lambda view: scored[view]["top1"])
    return {"strongest": strongest, "views": scored,
            "strongest_all": _score(embedded[strongest], novel, drawn, None, seed, resamples)}
