"""Reader for CelebA's official annotation layout (also what `render` writes).

A subset of CelebA is valid as long as its annotation files agree with each
other and with the images present. Everything is checked here, once, so that
later stages can trust the table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from facegan.errors import FaceganError

IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
IDENTITY_FILE = "identity_CelebA.txt"
PARTITION_FILE = "list_eval_partition.txt"
LANDMARK_FILE = "list_landmarks_align_celeba.txt"
# facegan's extensions of the layout, written by the synthetic renderer.
THERMAL_DIR = "thermal_align_celeba"
TRUTH_FILE = "synthetic_truth.csv"

LANDMARK_COLUMNS = [
    "lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
    "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y",
]
REQUIRED_ATTRIBUTES = ("Eyeglasses", "Smiling", "Young")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FaceganError(
            f"{path}: missing CelebA annotation file; put the official file there "
            "(or set data.root to the folder that holds it)"
        )
    return path


def _read_rows(path: Path, n_values: int, skiprows: int, what: str) -> pd.DataFrame:
    """Whitespace table `name v1..vn`, every row checked for its field count."""
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, skiprows=skiprows, dtype=str,
                            engine="c", skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise FaceganError(f"{path}: no rows; expected one {what} row per image") from None
    except pd.errors.ParserError as err:
        raise FaceganError(f"{path}: malformed row ({err}); expected `name` + {n_values} {what} values") from None
    if table.shape[1] != n_values + 1:
        raise FaceganError(f"{path}: rows have {table.shape[1] - 1} values, expected {n_values} {what} values")
    bad = table.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise FaceganError(
            f"{path}: line {row + skiprows + 1} ({table.iat[row, 0]}) has too few values; "
            f"expected {n_values} {what} values"
        )
    table = table.rename(columns={0: "name"})
    dup = table["name"].duplicated()
    if dup.any():
        raise FaceganError(f"{path}: image {table['name'][dup].iloc[0]} is listed twice; remove the duplicate row")
    return table


def _int_values(table: pd.DataFrame, path: Path, allowed: set[int] | None, what: str) -> np.ndarray:
    values = table.drop(columns="name")
    try:
        ints = values.to_numpy().astype(np.int64)
    except ValueError:
        raise FaceganError(f"{path}: non-integer {what} value; each value must be an integer") from None
    if allowed is not None:
        bad = ~np.isin(ints, list(allowed))
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            raise FaceganError(
                f"{path}: {table['name'].iloc[row]} has {what} value {ints[row][bad[row]][0]}; "
                f"allowed: {sorted(allowed)}"
            )
    return ints


def _check_count(path: Path, n_rows: int) -> None:
    with path.open() as fh:
        first = fh.readline().strip()
    if not first.isdigit() or int(first) != n_rows:
        raise FaceganError(f"{path}: first line says {first!r} images but the file has {n_rows} rows; fix the count line")


def read_attributes(path: Path) -> pd.DataFrame:
    _require(path)
    with path.open() as fh:
        fh.readline()
        names = fh.readline().split()
    if not names:
        raise FaceganError(f"{path}: second line must list the attribute names")
    missing = [a for a in REQUIRED_ATTRIBUTES if a not in names]
    if missing:
        raise FaceganError(f"{path}: attribute column(s) {', '.join(missing)} missing; facegan edits these")
    table = _read_rows(path, len(names), 2, "attribute")
    _check_count(path, len(table))
    values = _int_values(table, path, {-1, 1}, "attribute")
    out = pd.DataFrame((values > 0).astype(np.uint8), columns=[n.lower() for n in names])
    out.insert(0, "name", table["name"].to_numpy())
    return out


def read_identities(path: Path) -> pd.DataFrame:
    table = _read_rows(_require(path), 1, 0, "identity")
    return pd.DataFrame({"name": table["name"], "identity": _int_values(table, path, None, "identity")[:, 0]})


def read_partitions(path: Path) -> pd.DataFrame:
    table = _read_rows(_require(path), 1, 0, "partition")
    return pd.DataFrame({"name": table["name"], "partition": _int_values(table, path, {0, 1, 2}, "partition")[:, 0]})


def read_landmarks(path: Path) -> pd.DataFrame:
    _require(path)
    table = _read_rows(path, 10, 2, "landmark")
    _check_count(path, len(table))
    out = pd.DataFrame(_int_values(table, path, None, "landmark").astype(np.float32), columns=LANDMARK_COLUMNS)
    out.insert(0, "name", table["name"].to_numpy())
    return out


def _check_same_images(reference: pd.DataFrame, ref_path: Path, other: pd.DataFrame, other_path: Path) -> None:
    ref, oth = set(reference["name"]), set(other["name"])
    if ref == oth:
        return
    only_ref = sorted(ref - oth)
    name, listed, absent = (only_ref[0], ref_path, other_path) if only_ref else (sorted(oth - ref)[0], other_path, ref_path)
    raise FaceganError(
        f"{absent}: has no row for {name}, which {listed.name} lists; the annotation files disagree "
        "- use files that describe the same images"
    )


def _read_truth(root: Path) -> pd.DataFrame | None:
    path = root / TRUTH_FILE
    if not path.is_file():
        return None
    truth = pd.read_csv(path, dtype={"image_id": str})
    need = {"image_id", "yaw_deg", "age"}
    if not need <= set(truth.columns):
        raise FaceganError(f"{path}: needs columns {sorted(need)}; re-run the render stage")
    return truth.rename(columns={"image_id": "name"})[["name", "yaw_deg", "age"]]


def read_celeba(root: Path, need_partitions: bool = False, key: str = "data.root") -> pd.DataFrame:
    """One row per image: name, path, identity, partition, attributes (0/1), landmarks,
    yaw_deg/age ground truth when the renderer wrote it, thermal_path when a twin exists."""
    root = Path(root)
    if not root.is_dir():
        raise FaceganError(f"{root}: {key} does not exist; point {key} at a CelebA-layout folder")
    attr_path, id_path = root / ATTR_FILE, root / IDENTITY_FILE
    lm_path, part_path = root / LANDMARK_FILE, root / PARTITION_FILE
    attrs = read_attributes(attr_path)
    ids = read_identities(id_path)
    landmarks = read_landmarks(lm_path)
    _check_same_images(ids, id_path, attrs, attr_path)
    _check_same_images(ids, id_path, landmarks, lm_path)
    table = ids.merge(attrs, on="name").merge(landmarks, on="name")
    if part_path.is_file():
        parts = read_partitions(part_path)
        _check_same_images(ids, id_path, parts, part_path)
        table = table.merge(parts, on="name")
    elif need_partitions:
        _require(part_path)
    else:
        table["partition"] = -1
    image_dir = root / IMAGE_DIR
    if not image_dir.is_dir():
        raise FaceganError(f"{image_dir}: image folder missing; unpack img_align_celeba.zip there")
    table["path"] = [str(image_dir / n) for n in table["name"]]
    missing = [p for p in table["path"] if not Path(p).is_file()]
    if missing:
        raise FaceganError(
            f"{missing[0]}: listed in {IDENTITY_FILE} but missing ({len(missing)} listed images missing); "
            "restore the images or remove their rows from every annotation file"
        )
    truth = _read_truth(root)
    if truth is not None:
        _check_same_images(ids, id_path, truth, root / TRUTH_FILE)
        table = table.merge(truth, on="name")
    else:
        table["yaw_deg"] = np.nan
        table["age"] = np.nan
    thermal_dir = root / THERMAL_DIR
    if thermal_dir.is_dir():
        thermal = [thermal_dir / (Path(n).stem + ".png") for n in table["name"]]
        table["thermal_path"] = [str(p) if p.is_file() else "" for p in thermal]
    else:
        table["thermal_path"] = ""
    return table.sort_values("name", kind="stable").reset_index(drop=True)
