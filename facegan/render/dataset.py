"""Write a synthetic data set in the official CelebA layout (plus thermal
twins and ground truth), atomically and deterministically.

Every image draws from its own generator seeded by (seed, image number) and
every identity from (seed, identity), so the output does not depend on the
number of worker processes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import multiprocessing
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from facegan.io import atomic_dir
from facegan.render.face import identity_assets
from facegan.render.identity import sample_identity
from facegan.render.image_state import sample_image_state
from facegan.render.labels import ATTRIBUTES, attributes
from facegan.render.renderer import render

LANDMARK_NAMES = ("lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
                  "leftmouth_x leftmouth_y rightmouth_x rightmouth_y").split()
NEUTRAL_PER_IDENTITY = 2   # enrollment-style photos every identity gets (like an ID photo)
NOT_RENDERED = "NOT_RENDERED.txt"  # the only file of the output when another data source is used
# The train partition's people are photographed in the wild (identity.WILD_NO_GLASSES); the val and
# test partitions' to an evaluation protocol, every condition beside young ID photos, as the
# cross-age, cross-pose and eyeglasses test sets (CALFW, CPLFW, MeGlass) are collected.
TRAIN = 0


def _plan(n_identities: int, per_identity: tuple[int, int], fractions: tuple[float, float], seed: int):
    """Image numbers per identity (shuffled, like CelebA) and identity partitions."""
    counts = np.random.default_rng([seed, 2]).integers(per_identity[0], per_identity[1] + 1, n_identities)
    numbers = np.random.default_rng([seed, 4]).permutation(int(counts.sum())) + 1
    jobs, start = [], 0
    for ident, n in enumerate(counts, start=1):
        jobs.append((ident, sorted(int(x) for x in numbers[start:start + n])))
        start += n
    order = np.random.default_rng([seed, 3]).permutation(n_identities) + 1
    n_test = int(round(fractions[1] * n_identities))
    n_val = int(round(fractions[0] * n_identities))
    partition = {int(i): 2 for i in order[:n_test]}
    partition.update({int(i): 1 for i in order[n_test:n_test + n_val]})
    partition.update({int(i): TRAIN for i in order[n_test + n_val:]})
    return jobs, partition


def _photo(seed: int, ident, assets, number: int, k: int, difficulty: float, jpeg_quality, thermal: bool,
           change=None):
    """Photo number `number`, the identity's k-th: its state and rendering, with `change(ident, state)`
    applied to the state if given (the image's generator is consumed the same way whatever the
    attributes and yaw, so nothing else about the photo changes)."""
    rng = np.random.default_rng([seed, 1, number])
    st = sample_image_state(ident, rng, difficulty=difficulty, jpeg_quality=tuple(jpeg_quality),
                            neutral=k < NEUTRAL_PER_IDENTITY)
    if change is not None:
        st = change(ident, st)
    return st, render(ident, assets, st, rng, thermal=thermal)


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes()


def _render_identity(job) -> list[dict]:
    """Render and write all photos of one identity; returns their rows."""
    out, seed, ident_id, wild, numbers, thermal, difficulty, jpeg_quality = job
    cv2.setNumThreads(1)
    ident = sample_identity(seed, ident_id, wild)
    assets = identity_assets(ident)
    rows = []
    for k, num in enumerate(numbers):
        st, r = _photo(seed, ident, assets, num, k, difficulty, jpeg_quality, thermal)
        name = f"{num:06d}"
        (out / "img_align_celeba" / f"{name}.jpg").write_bytes(_jpeg(r.rgb, st.jpeg_quality))
        if thermal:
            ok, buf = cv2.imencode(".png", r.thermal)
            (out / "thermal_align_celeba" / f"{name}.png").write_bytes(buf.tobytes())
        rows.append(_row(name, ident, st, r.landmarks))
    return rows


def read_identities(root: Path) -> pd.DataFrame:
    """The image_id and identity columns of a rendered set's identity_CelebA.txt."""
    return pd.read_csv(Path(root) / "identity_CelebA.txt", sep=" ", header=None, names=["image_id", "identity"])


def _wild(root: Path, ids: pd.DataFrame) -> set[int]:
    """The identities of `ids` (read_identities' table) in the train partition: drawn in the wild."""
    part = pd.read_csv(Path(root) / "list_eval_partition.txt", sep=" ", header=None, names=["image_id", "p"])
    return set(ids["identity"][part.set_index("image_id").loc[ids["image_id"], "p"].to_numpy() == TRAIN])


def rerender(root: Path, image_ids: list[str], changes: list) -> list[bytes]:
    """The JPEG files of photos `image_ids` of the set in `root` rendered again, the i-th with
    `changes[i](identity, state) -> state` applied (ground truth for edits)."""
    args = json.loads((Path(root) / "render.json").read_text())["arguments"]
    ids = read_identities(root)
    wild = _wild(root, ids)
    # An image's rank among its identity's photos decides whether it was an enrollment-style one.
    ids["k"] = ids.assign(number=ids["image_id"].str[:-4].astype(int)).groupby("identity")["number"].rank() - 1
    ids = ids.set_index("image_id").loc[list(image_ids)]
    files, assets = [], {}
    for image_id, (identity, k), change in zip(ids.index, ids[["identity", "k"]].to_numpy(int), changes):
        if identity not in assets:
            ident = sample_identity(args["seed"], int(identity), identity in wild)
            assets[identity] = ident, identity_assets(ident)
        st, r = _photo(args["seed"], *assets[identity], int(image_id[:-4]), int(k), args["difficulty"],
                       args["jpeg_quality"], thermal=False, change=change)
        files.append(_jpeg(r.rgb, st.jpeg_quality))
    return files


def rerender_at_yaw(root: Path, image_ids: list[str], yaw_deg: float) -> list[bytes]:
    """The photos rendered again with only the yaw changed (ground truth for yaw edits)."""
    def turn(ident, st):
        return dataclasses.replace(st, yaw_deg=float(yaw_deg))

    return rerender(root, image_ids, [turn] * len(image_ids))


def _row(name: str, ident, st, lm) -> dict:
    row = {"image_id": f"{name}.jpg", "identity": ident.index, "yaw_deg": round(st.yaw_deg, 3),
           "age": round(st.age, 4), "eyeglasses": int(st.eyeglasses),
           "glasses_style": st.glasses_style if st.eyeglasses else "", "smiling": int(st.smiling),
           "smile": round(st.smile, 3), "mouth_open": round(st.mouth_open, 3),
           "light_x": round(float(st.light_dir[0]), 3), "light_y": round(float(st.light_dir[1]), 3),
           "light": round(st.light, 3), "ambient": round(st.ambient, 3), "gamma": round(st.gamma, 3),
           "background": st.background, "rot_deg": round(st.rot_deg, 3), "scale": round(st.scale, 4),
           "shift_x": round(st.shift[0], 3), "shift_y": round(st.shift[1], 3), "blur": round(st.blur, 3),
           "noise": round(st.noise, 4), "jpeg_quality": st.jpeg_quality, "t_ambient": round(st.t_ambient, 2)}
    row.update({k: round(float(v), 3) for k, v in zip(LANDMARK_NAMES, lm.reshape(-1))})
    row["_attrs"] = attributes(ident, st)
    return row


def _write_annotations(out: Path, rows: list[dict], partition: dict[int, int]):
    n = len(rows)
    lines = [r["image_id"] + " " + " ".join(f"{1 if r['_attrs'][a] else -1:2d}" for a in ATTRIBUTES) for r in rows]
    (out / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(ATTRIBUTES)}\n" + "\n".join(lines) + "\n")
    (out / "identity_CelebA.txt").write_text("".join(f"{r['image_id']} {r['identity']}\n" for r in rows))
    (out / "list_eval_partition.txt").write_text(
        "".join(f"{r['image_id']} {partition[r['identity']]}\n" for r in rows))
    lm = [f"{r['image_id']} " + " ".join(f"{int(round(r[k])):d}" for k in LANDMARK_NAMES) for r in rows]
    (out / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\n{' '.join(LANDMARK_NAMES)}\n" + "\n".join(lm) + "\n")
    fields = [k for k in rows[0] if k != "_attrs"]
    with open(out / "synthetic_truth.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _summary(rows, partition, args: dict, seconds: float) -> dict:
    parts = {name: sum(1 for p in partition.values() if p == k) for k, name in enumerate(("train", "val", "test"))}
    return {"images": len(rows), "identities": len(partition), "partition_identities": parts,
            "attribute_counts": {a: sum(bool(r["_attrs"][a]) for r in rows) for a in ATTRIBUTES},
            "seconds": round(seconds, 2), "seed": args["seed"], "arguments": args}


def render_dataset(out_dir: Path, *, n_identities: int, images_per_identity: tuple[int, int],
                   partition_fractions: tuple[float, float] = (0.1, 0.3),
                   jpeg_quality: tuple[int, int] = (75, 95), thermal: bool = True,
                   difficulty: float = 1.0, seed: int = 0, workers: int = 2) -> dict:
    """Render the synthetic CelebA-layout set into out_dir (replacing it only when complete)."""
    t0 = time.perf_counter()
    args = dict(n_identities=n_identities, images_per_identity=list(images_per_identity),
                partition_fractions=list(partition_fractions), jpeg_quality=list(jpeg_quality),
                thermal=thermal, difficulty=difficulty, seed=seed, workers=workers)
    jobs, partition = _plan(n_identities, images_per_identity, partition_fractions, seed)
    with atomic_dir(out_dir) as tmp:
        (tmp / "img_align_celeba").mkdir()
        if thermal:
            (tmp / "thermal_align_celeba").mkdir()
        tasks = [(tmp, seed, ident, partition[ident] == TRAIN, numbers, thermal, difficulty, tuple(jpeg_quality))
                 for ident, numbers in jobs]
        rows = [r for chunk in _run(tasks, workers) for r in chunk]
        rows.sort(key=lambda r: r["image_id"])
        _write_annotations(tmp, rows, partition)
        summary = _summary(rows, partition, args, time.perf_counter() - t0)
        # No timing in the data folder: an identical re-render must hash the same, or DVC reruns
        # every stage downstream (the stage writes the seconds to reports/timing/).
        record = {k: v for k, v in summary.items() if k != "seconds"}
        record["arguments"] = {k: v for k, v in args.items() if k != "workers"}  # how, not what
        (tmp / "render.json").write_text(json.dumps(record, indent=2) + "\n")
    return summary


def write_not_rendered(out_dir: Path, data_source: str) -> None:
    """Replace out_dir by a folder that only says why nothing was rendered (DVC needs the output)."""
    with atomic_dir(out_dir) as tmp:
        (tmp / NOT_RENDERED).write_text(f"Not rendered: data.source is {data_source}. The synthetic face set is "
                                        "rendered only for data.source synthetic.\n")


def _run(tasks, workers: int):
    if workers <= 1:
        return [_render_identity(t) for t in tasks]
    # spawn: safe even when the caller has torch/OpenMP threads running
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return list(pool.imap(_render_identity, tasks, chunksize=1))
