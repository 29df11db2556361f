"""The prep stage: any source -> the prepared store (decode once, check everything)."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from facegan.config import Params
from facegan.data.alignment import MTCNNAligner, to_crop_frame, warp_to_celeba, yaw_from_landmarks
from facegan.data.celeba import LANDMARK_COLUMNS, read_celeba
from facegan.data.decode import DECODE_ERRORS, align_photo, crop_aligned, load_face, read_rgb
from facegan.data.folder import scan_identity_folders
from facegan.data.split import assign_roles, novel_identities, val_identities
from facegan.data.store import FACES_FILE, INDEX_FILE, REPORT_FILE
from facegan.data.thermal import paired_table, read_thermal_like, resolve_source, simulated_twin
from facegan.errors import FaceganError
from facegan.io import atomic_dir, atomic_write_json

CHUNK = 256
TIMING_KEYS = ("seconds", "images_per_second")  # in the returned report only, not in prep.json
MAX_LISTED_SKIPS = 1000  # prep.json lists at most this many skipped files (all are counted)
TWIN_LOST = "no_visible_twin"  # a thermal twin dropped with its skipped visible photo
SIMULATED = "simulated:"  # source_path prefix of a simulated thermal twin (then the photo it is simulated from)


def _decode_chunk(faces_path: str, image_size: int, jobs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    # Map per chunk and drop the map afterwards so resident memory stays flat
    # however many images there are.
    faces = np.load(faces_path, mmap_mode="r+")
    failed = []
    for row, path in jobs:
        try:
            faces[row] = load_face(path, image_size)
        except DECODE_ERRORS:
            failed.append((row, "corrupt_image"))
    faces.flush()
    del faces
    return failed


def _run_chunks(task, chunks: list[tuple], total: int, workers: int, desc: str) -> dict[int, str]:
    """Run `task(*chunk)` (each returns [(row, reason)] of failed rows) over chunks, in processes."""
    bar = tqdm(total=total, desc=desc, unit="img", disable=None)
    failed: dict[int, str] = {}
    if workers == 1:
        results = (task(*c) for c in chunks)
        for chunk, result in zip(chunks, results):
            failed.update(result)
            bar.update(len(chunk[2]))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for chunk, result in zip(chunks, pool.map(task, *zip(*chunks))):
                failed.update(result)
                bar.update(len(chunk[2]))
    bar.close()
    return failed


def _decode_files(rows: np.ndarray, paths: list[str], faces_path: Path, image_size: int,
                  workers: int) -> dict[int, str]:
    """Decode CelebA-layout files (already aligned) into store `rows`."""
    jobs = list(zip(rows.tolist(), paths))
    chunks = [(str(faces_path), image_size, jobs[s : s + CHUNK]) for s in range(0, len(jobs), CHUNK)]
    return _run_chunks(_decode_chunk, chunks, len(jobs), workers, "prep")


def _simulate_chunk(faces_path: str, seed: int, jobs: list[tuple]) -> list[tuple[int, str]]:
    faces = np.load(faces_path, mmap_mode="r+")
    for row, twin, landmarks, eyeglasses, identity, name in jobs:
        faces[row] = simulated_twin(faces[twin], landmarks, eyeglasses=eyeglasses, identity=identity, name=name,
                                    seed=seed)
    faces.flush()
    del faces
    return []


def _simulate_twins(items: pd.DataFrame, faces_path: Path, failed: dict[int, str], seed: int,
                    workers: int) -> dict[int, str]:
    """Fill the simulated thermal rows from their decoded visible twins (rows with the same name)."""
    visible_row = {n: i for i, (n, d) in enumerate(zip(items["name"], items["domain"])) if d == "visible"}
    landmarks = items[LANDMARK_COLUMNS].to_numpy(np.float32)
    glasses = items["eyeglasses"].fillna(0).to_numpy() > 0 if "eyeglasses" in items else np.zeros(len(items), bool)
    jobs, lost = [], {}
    for row in np.flatnonzero(items["source_path"].str.startswith(SIMULATED).to_numpy()):
        twin = visible_row[items["name"].iat[row]]
        if twin in failed:
            lost[int(row)] = TWIN_LOST
            continue
        jobs.append((int(row), twin, landmarks[twin], bool(glasses[twin]), int(items["identity"].iat[row]),
                     str(items["name"].iat[row])))
    chunks = [(str(faces_path), seed, jobs[s : s + CHUNK]) for s in range(0, len(jobs), CHUNK)]
    return lost | _run_chunks(_simulate_chunk, chunks, len(jobs), workers, "thermal")


def _align_folder_images(table: pd.DataFrame, faces_path: Path, image_size: int, min_prob: float) -> dict[int, str]:
    """MTCNN-align each visible photo of an identity-folder set (rows with `align`) onto the CelebA
    frame, and a paired thermal twin by the same transform; fills their landmark columns in place.
    Simulated rows are left for `_simulate_twins`."""
    aligner = MTCNNAligner(min_prob=min_prob)
    faces = np.load(faces_path, mmap_mode="r+")
    failed: dict[int, str] = {}
    mine = table["align"].to_numpy(bool)
    landmarks = table[LANDMARK_COLUMNS].to_numpy(np.float32).copy()
    visible = (table["domain"] == "visible").to_numpy() & mine
    twin = {n: i for i, (n, d, p) in enumerate(zip(table["name"], table["domain"], table["source_path"]))
            if d == "thermal" and not p.startswith(SIMULATED)}
    for i in tqdm(np.flatnonzero(visible), desc="align", unit="img", disable=None):
        path, t = table["source_path"].iat[i], twin.get(table["name"].iat[i])
        try:
            image = read_rgb(path)
        except DECODE_ERRORS:
            failed[i] = "corrupt_image"
            continue
        face = align_photo(aligner, image, image_size)
        if face is None:
            failed[i] = "no_face"
            continue
        faces[i], landmarks[i] = face.crop, face.landmarks
        if t is not None:
            try:
                faces[t] = crop_aligned(warp_to_celeba(read_thermal_like(table["source_path"].iat[t],
                                                                         image.shape[:2]), face.points)[0], image_size)
            except DECODE_ERRORS:
                failed[t] = "corrupt_image"
    # Every thermal row (paired or simulated) sits where its photo's face is.
    visible_row = {n: i for i, n in zip(np.flatnonzero(visible), table["name"].to_numpy()[visible])}
    for t in np.flatnonzero(mine & ~visible):
        landmarks[t] = landmarks[visible_row[table["name"].iat[t]]]
    lost = set(table["name"].iloc[[i for i in failed if visible[i]]])
    for t in twin.values():
        if table["name"].iat[t] in lost:
            failed[t] = TWIN_LOST
    faces.flush()
    table[LANDMARK_COLUMNS] = landmarks
    return failed


def _folder_table(table: pd.DataFrame) -> pd.DataFrame:
    """An identity-folder listing as a source table: identities numbered by folder name, nothing
    known but the photos (no labels, no landmarks yet: MTCNN finds them)."""
    names = sorted(table["identity_name"].unique())
    table["identity"] = table["identity_name"].map({n: i for i, n in enumerate(names)}).astype(np.int64)
    table["partition"] = -1
    table["yaw_deg"] = np.nan
    table["age"] = np.nan
    table[LANDMARK_COLUMNS] = np.nan
    if "thermal_path" not in table:
        table["thermal_path"] = ""
    table["align"] = True
    return table


def _source_table(params: Params) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Visible images of the configured source, and files skipped while listing them."""
    root = Path(params.data.root)
    if params.data.source == "folder":
        paired = resolve_source(params) == "paired"
        table, skipped = paired_table(Path(params.thermal.root)) if paired else scan_identity_folders(root)
        return _folder_table(table), skipped
    if params.data.source == "synthetic" and not root.is_dir():
        raise FaceganError(f"{root}: synthetic faces not rendered yet; run `dvc repro render` (or set data.root)")
    table = read_celeba(root, need_partitions=params.split_by == "partition")
    table["identity_name"] = table["identity"].astype(str)
    return table.assign(align=False), []


def _novel_table(params: Params, base: pd.DataFrame, thermal_source: str) -> tuple[pd.DataFrame, list]:
    """The identities of `novel.root` (novel.source folder | celeba), numbered after `base`'s, with
    names under `novel/` (a CelebA-layout novel set reuses CelebA's file names). Their thermal
    twins are simulated whenever the base set has twins: no renderer drew these people."""
    root = Path(params.novel.root)
    if params.novel.source == "folder":
        table, skipped = scan_identity_folders(root, key="novel.root")
        table = _folder_table(table)
    else:
        table, skipped = read_celeba(root, key="novel.root"), []
        table = table.assign(identity_name=table["identity"].astype(str), align=False, partition=-1)
    table["identity"] += int(base["identity"].max()) + 1
    table["name"] = "novel/" + table["name"]
    table["identity_name"] = "novel/" + table["identity_name"]
    table["thermal_path"] = SIMULATED + table["path"] if thermal_source != "none" else ""
    # Attributes the novel set does not label stay unknown (NaN): the judges read them.
    return table.assign(novel_source=True), skipped


def _thermal_twins(params: Params, table: pd.DataFrame) -> str:
    """Point `thermal_path` at each photo's twin for the configured thermal source (in place);
    returns the source used: synthetic | simulated | paired | none."""
    source = resolve_source(params)
    rendered = table["thermal_path"] != ""
    if source == "synthetic" and not rendered.any():
        if params.thermal.source == "synthetic":
            raise FaceganError(f"{params.data.root}: thermal.source synthetic but no rendered thermal twins "
                               "(thermal_align_celeba/); set synthetic.thermal: true or another thermal.source")
        source = "none"  # auto on a synthetic set rendered without twins
    if source == "simulated":
        table["thermal_path"] = SIMULATED + table["path"]
    elif source == "none":
        table["thermal_path"] = ""
    return source


def _with_thermal_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Visible rows first, then one thermal row per twin (rows with a file to decode come first)."""
    visible = table.assign(domain="visible")
    thermal = table[table["thermal_path"] != ""].assign(domain="thermal")
    thermal["path"] = thermal["thermal_path"]
    return pd.concat([visible, thermal], ignore_index=True).drop(columns="thermal_path")


def _compact(faces_path: Path, keep: np.ndarray) -> None:
    """Drop failed rows from faces.npy, chunk by chunk (never the whole array in RAM)."""
    if keep.all():
        return
    src = np.load(faces_path, mmap_mode="r")
    kept_path = faces_path.with_name("faces.kept.npy")
    dst = np.lib.format.open_memmap(kept_path, mode="w+", dtype=np.uint8, shape=(int(keep.sum()),) + src.shape[1:])
    rows = np.flatnonzero(keep)
    for s in range(0, len(rows), CHUNK * 4):
        part = rows[s : s + CHUNK * 4]
        dst[s : s + len(part)] = src[part]
    dst.flush()
    del src, dst
    os.replace(kept_path, faces_path)


def _finish_index(items: pd.DataFrame, params: Params, novel: set[int], val_ids: set[int]) -> pd.DataFrame:
    visible = items[items["domain"] == "visible"]
    roles = assign_roles(visible[["identity"]], novel, params.split.val_fraction, params.seed, val_ids)
    items = items.copy()
    items.loc[visible.index, ["split", "role"]] = roles[["split", "role"]].to_numpy()
    # Thermal twins share their visible image's split and role.
    by_name = items.loc[visible.index].set_index("name")
    thermal = items["domain"] == "thermal"
    for column in ("split", "role"):
        items.loc[thermal, column] = items.loc[thermal, "name"].map(by_name[column]).to_numpy()
    items = items.reset_index(drop=True)
    row_of = {(d, n): i for i, (d, n) in enumerate(zip(items["domain"], items["name"]))}
    other = {"visible": "thermal", "thermal": "visible"}
    items["pair"] = [row_of.get((other[d], n), -1) for d, n in zip(items["domain"], items["name"])]
    measured_yaw = yaw_from_landmarks(items[LANDMARK_COLUMNS].to_numpy())
    items["yaw"] = np.where(items["yaw_deg"].notna(), items["yaw_deg"], measured_yaw).astype(np.float32)
    items[LANDMARK_COLUMNS] = to_crop_frame(items[LANDMARK_COLUMNS].to_numpy(), params.data.image_size)
    attributes = [c for c in items.columns if c not in _FIXED_COLUMNS]
    front = ["name", "identity", "identity_name", "split", "role", "domain", "pair", "yaw", "age"]
    return items[front + attributes + LANDMARK_COLUMNS + ["partition", "source_path"]]


_FIXED_COLUMNS = {
    "name", "identity", "identity_name", "split", "role", "domain", "pair", "yaw", "yaw_deg", "age",
    "partition", "path", "source_path", "align", "novel_source", *LANDMARK_COLUMNS,
}


def prepare(params: Params, out_dir: Path) -> dict:
    """Build the prepared store in `out_dir` (replaced atomically) and return its report."""
    started = time.perf_counter()
    size = params.data.image_size
    table, skipped = _source_table(params)
    thermal_source = _thermal_twins(params, table)
    table = table.assign(novel_source=False)
    if params.novel.source != "same":
        novel, novel_skipped = _novel_table(params, table, thermal_source)
        table, skipped = pd.concat([table, novel], ignore_index=True), skipped + novel_skipped
    items = _with_thermal_rows(table).rename(columns={"path": "source_path"})
    with atomic_dir(out_dir) as tmp:
        faces_path = tmp / FACES_FILE
        faces = np.lib.format.open_memmap(faces_path, mode="w+", dtype=np.uint8, shape=(len(items), size, size, 3))
        del faces
        simulated = items["source_path"].str.startswith(SIMULATED).to_numpy()
        aligned = items["align"].to_numpy(bool)
        decoded = ~simulated & ~aligned  # CelebA-layout files, aligned already
        failed = _decode_files(np.flatnonzero(decoded), items["source_path"][decoded].tolist(), faces_path, size,
                               params.data.workers)
        if aligned.any():
            failed |= _align_folder_images(items, faces_path, size, params.data.min_face_prob)
        if simulated.any():
            failed |= _simulate_twins(items, faces_path, failed, params.seed, params.data.workers)
        keep = np.ones(len(items), dtype=bool)
        for i, reason in failed.items():
            keep[i] = False
            if reason == TWIN_LOST:  # counted once, as its visible photo
                continue
            skipped.append((items["source_path"].iat[i], reason))
            print(f"warning: skipped {items['source_path'].iat[i]} ({reason})", file=sys.stderr)
        # An identity needs two photos: one to enroll, one to recognize (a novel set: novel.min_images).
        ok_visible = keep & (items["domain"] == "visible").to_numpy()
        per_id = pd.Series(items["identity"].to_numpy()[ok_visible]).value_counts()
        from_novel = items.groupby("identity")["novel_source"].first()
        least = np.where(from_novel.reindex(per_id.index).to_numpy(bool), params.novel.min_images, 2)
        lonely = set(per_id.index[per_id.to_numpy() < least]) | (set(items["identity"]) - set(per_id.index))
        for i in np.flatnonzero(keep & items["identity"].isin(lonely).to_numpy()):
            keep[i] = False
            if ok_visible[i]:  # a thermal twin goes with its photo, uncounted
                reason = "identity_with_one_image" if per_id.get(items["identity"].iat[i], 0) < 2 else \
                    "identity_below_novel_min_images"
                skipped.append((items["source_path"].iat[i], reason))
        if not keep.any():
            raise FaceganError(f"{params.data.root}: no usable face images (see the warnings above)")
        _compact(faces_path, keep)
        items = items[keep]
        visible = items[items["domain"] == "visible"]
        split = params.split.model_copy(update={"by": params.split_by})
        if params.novel.source == "same":
            novel = novel_identities(visible, split, params.seed)
            val_ids = val_identities(visible, split, novel, params.seed)
        else:  # every identity of data trains (or is val); the novel set's are novel
            from_novel = visible["novel_source"].to_numpy(bool)
            novel = set(visible["identity"][from_novel].tolist())
            if len(novel) < 2:
                raise FaceganError(f"novel.root: {params.novel.root} has {len(novel)} identities with at least "
                                   f"novel.min_images={params.novel.min_images} photos with a face; it needs 2 or more")
            val_ids = val_identities(visible[~from_novel], split, set(), params.seed)
        index = _finish_index(items, params, novel, val_ids)
        index.to_csv(tmp / INDEX_FILE, index=False)
        report = _report(params, index, skipped, time.perf_counter() - started) | {"thermal_source": thermal_source}
        # No timing in the data folder: identical data must hash the same, or DVC reruns every stage
        # downstream (the stage writes the seconds to reports/timing/).
        atomic_write_json(tmp / REPORT_FILE, {k: v for k, v in report.items() if k not in TIMING_KEYS})
    return report


def _report(params: Params, index: pd.DataFrame, skipped: list[tuple[str, str]], seconds: float) -> dict:
    visible = index[index["domain"] == "visible"]
    attributes = [c for c in index.columns if c not in _FIXED_COLUMNS]
    split_ids = visible.groupby("split")["identity"].nunique()
    return {
        "source": params.data.source,
        "root": params.data.root,
        # Whose faces the novel identities are: the data set's own (same) or novel.root's.
        "novel": {"source": params.novel.source, "root": params.novel.root if params.novel.source != "same" else None},
        "image_size": params.data.image_size,
        "n_images": int(len(visible)),
        "n_thermal": int((index["domain"] == "thermal").sum()),
        "n_identities": int(visible["identity"].nunique()),
        "n_base_identities": int(split_ids.get("base", 0)),
        "n_novel_identities": int(split_ids.get("novel", 0)),
        "n_val_identities": int(split_ids.get("val", 0)),
        "n_images_by_role": {k: int(v) for k, v in visible["role"].value_counts().sort_index().items()},
        "split_by": params.split_by,
        "n_skipped": len(skipped),
        "skipped_by_reason": dict(sorted(Counter(r for _, r in skipped).items())),
        "skipped": [{"file": f, "reason": r} for f, r in skipped[:MAX_LISTED_SKIPS]],
        "attributes": {a: int(visible[a].sum()) for a in attributes},
        "seconds": round(seconds, 3),
        "images_per_second": round(len(index) / max(seconds, 1e-9), 1),
    }
