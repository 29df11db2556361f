"""Prep on CelebA-layout and identity-folder sets, and its answers to bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facegan.cli import main
from facegan.data.store import open_prepared


def run_prep(workdir, root, source="celeba", **data):
    workdir.write_params(data={"source": source, "root": str(root), "image_size": 32, "workers": 1, **data},
                         split={"min_images": 2, "novel_fraction": 0.34},
                         thermal={"source": "none"})  # thermal twins: tests/test_thermal.py
    return main(["prep"])


def error_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_prep_celeba_layout(workdir, celeba_layout):
    assert run_prep(workdir, celeba_layout) == 0
    data = open_prepared(workdir / "data/prepared")
    assert data.faces.shape == (24, 32, 32, 3) and data.faces.dtype == np.uint8
    index = data.index
    assert set(index["split"]) == {"base", "novel"}
    # identity-disjoint split
    assert not set(index[index.split == "base"].identity) & set(index[index.split == "novel"].identity)
    report = data.report
    assert report["n_images"] == 24 and report["n_identities"] == 6
    assert report["n_base_identities"] + report["n_novel_identities"] == 6
    assert report["attributes"]["eyeglasses"] == int(index["eyeglasses"].sum())
    # template landmarks -> frontal yaw, and landmarks moved into the crop frame
    assert np.allclose(index["yaw"], 0, atol=2)
    assert ((index[["lefteye_x", "nose_y"]] > 0) & (index[["lefteye_x", "nose_y"]] < 32)).all().all()


def test_prep_by_partition_sends_test_identities_to_novel(workdir, celeba_layout):
    workdir.write_params(data={"source": "celeba", "root": str(celeba_layout), "image_size": 32, "workers": 1},
                         split={"by": "partition"})
    assert main(["prep"]) == 0
    index = open_prepared(workdir / "data/prepared").index
    assert sorted(index[index.split == "novel"].identity.unique()) == [5, 6]


def test_prep_is_deterministic(workdir, celeba_layout):
    run_prep(workdir, celeba_layout)
    first = (workdir / "data/prepared/index.csv").read_text()
    faces = np.load(workdir / "data/prepared/faces.npy")
    run_prep(workdir, celeba_layout, workers=2)
    assert (workdir / "data/prepared/index.csv").read_text() == first
    assert np.array_equal(np.load(workdir / "data/prepared/faces.npy"), faces)


# --- bad input: one clear line, exit != 0, earlier output untouched -----------------


@pytest.fixture
def prepared_before(workdir, celeba_layout):
    """A good earlier prep result; returns a function checking it is still intact."""
    assert run_prep(workdir, celeba_layout) == 0
    before = (workdir / "data/prepared/index.csv").read_bytes()

    def intact():
        assert (workdir / "data/prepared/index.csv").read_bytes() == before
        assert not list((workdir / "data").glob(".prepared.tmp-*"))

    return intact


@pytest.mark.bad_input
def test_missing_attribute_file(workdir, celeba_layout, prepared_before, capsys):
    (celeba_layout / "list_attr_celeba.txt").unlink()
    assert run_prep(workdir, celeba_layout) != 0
    assert "list_attr_celeba.txt" in error_line(capsys)
    prepared_before()


@pytest.mark.bad_input
def test_annotation_files_disagree(workdir, celeba_layout, prepared_before, capsys):
    path = celeba_layout / "identity_CelebA.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1] + ["999999.jpg 6"]) + "\n")
    assert run_prep(workdir, celeba_layout) != 0
    line = error_line(capsys)
    assert "999999.jpg" in line or "000024.jpg" in line
    assert "disagree" in line
    prepared_before()


@pytest.mark.bad_input
def test_attribute_row_with_missing_values(workdir, celeba_layout, prepared_before, capsys):
    path = celeba_layout / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(" ", 2)[0]
    path.write_text("\n".join(lines) + "\n")
    assert run_prep(workdir, celeba_layout) != 0
    assert "list_attr_celeba.txt" in error_line(capsys)
    prepared_before()


@pytest.mark.bad_input
def test_listed_image_missing(workdir, celeba_layout, prepared_before, capsys):
    (celeba_layout / "img_align_celeba/000007.jpg").unlink()
    assert run_prep(workdir, celeba_layout) != 0
    assert "000007.jpg" in error_line(capsys)
    prepared_before()


@pytest.mark.bad_input
def test_truncated_and_corrupt_jpegs_are_skipped_and_counted(workdir, celeba_layout, capsys):
    truncated = celeba_layout / "img_align_celeba/000003.jpg"
    truncated.write_bytes(truncated.read_bytes()[:700])
    (celeba_layout / "img_align_celeba/000010.jpg").write_bytes(b"definitely not a jpeg")
    assert run_prep(workdir, celeba_layout) == 0
    err = capsys.readouterr().err
    assert "000003.jpg" in err and "000010.jpg" in err
    report = json.loads((workdir / "data/prepared/prep.json").read_text())
    assert report["n_images"] == 22 and report["skipped_by_reason"] == {"corrupt_image": 2}
    assert {Path(s["file"]).name for s in report["skipped"]} == {"000003.jpg", "000010.jpg"}
    assert len(np.load(workdir / "data/prepared/faces.npy", mmap_mode="r")) == 22


@pytest.mark.bad_input
def test_empty_root(workdir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run_prep(workdir, tmp_path / "empty", source="folder") != 0
    assert "no images found" in error_line(capsys)
    assert run_prep(workdir, tmp_path / "empty", source="celeba") != 0
    assert "list_attr_celeba.txt" in error_line(capsys)


@pytest.mark.bad_input
def test_root_that_does_not_exist(workdir, tmp_path, capsys):
    assert run_prep(workdir, tmp_path / "nowhere") != 0
    assert "data.root" in error_line(capsys)


@pytest.mark.bad_input
def test_image_size_out_of_range(workdir, celeba_layout, capsys):
    workdir.write_params(data={"source": "celeba", "root": str(celeba_layout), "image_size": 8})
    assert main(["prep"]) != 0
    assert "data.image_size" in error_line(capsys)


@pytest.mark.bad_input
def test_too_few_identities_for_the_split(workdir, celeba_layout, capsys):
    workdir.write_params(data={"source": "celeba", "root": str(celeba_layout), "image_size": 32},
                         split={"min_images": 50})
    assert main(["prep"]) != 0
    assert "split.min_images" in error_line(capsys)


@pytest.mark.bad_input
def test_partition_split_without_test_identities(workdir, celeba_layout, capsys):
    path = celeba_layout / "list_eval_partition.txt"
    path.write_text(path.read_text().replace(" 2\n", " 0\n"))
    workdir.write_params(data={"source": "celeba", "root": str(celeba_layout), "image_size": 32},
                         split={"by": "partition"})
    assert main(["prep"]) != 0
    assert "split.by" in error_line(capsys)


@pytest.mark.bad_input
def test_synthetic_not_rendered_names_the_stage(workdir, capsys):
    workdir.write_params()
    assert main(["prep"]) != 0
    assert "dvc repro render" in error_line(capsys)


def test_prepared_data_missing_names_the_stage(tmp_path):
    from facegan.errors import FaceganError

    with pytest.raises(FaceganError, match="dvc repro prep"):
        open_prepared(tmp_path)


# --- real CelebA photos ---------------------------------------------------------------


@pytest.mark.real_data
def test_prep_celeba_mini_prepares_every_listed_image(workdir, celeba_mini):
    workdir.write_params(data={"source": "celeba", "root": str(celeba_mini), "image_size": 64},
                         thermal={"source": "none"})  # simulated twins: tests/test_thermal.py
    assert main(["prep"]) == 0
    data = open_prepared(workdir / "data/prepared")
    listed = int((celeba_mini / "identity_CelebA.txt").read_text().count("\n"))
    attr_rows = (celeba_mini / "list_attr_celeba.txt").read_text().splitlines()[2:]
    col = attr_rows and (celeba_mini / "list_attr_celeba.txt").read_text().splitlines()[1].split().index("Eyeglasses")
    eyeglasses = sum(row.split()[1 + col] == "1" for row in attr_rows)
    assert data.report["n_images"] == listed == len(data.faces)
    assert data.report["attributes"]["eyeglasses"] == eyeglasses
    assert data.report["n_skipped"] == 0
    # real faces: centred crops, not black frames
    assert 60 < data.faces[:200].mean() < 200
    # measured yaw is mostly near frontal on CelebA
    assert np.median(np.abs(data.index["yaw"])) < 15


@pytest.mark.real_data
def test_prep_celeba_subset_with_missing_partition_file(workdir, celeba_mini, tmp_path):
    """A hand-made subset: fewer images, consistent files, no partition file."""
    sub = tmp_path / "subset"
    (sub / "img_align_celeba").mkdir(parents=True)
    ids = (celeba_mini / "identity_CelebA.txt").read_text().splitlines()
    keep_ids = sorted({ln.split()[1] for ln in ids})[:12]
    rows = [ln for ln in ids if ln.split()[1] in keep_ids]
    names = {ln.split()[0] for ln in rows}
    for name in names:
        shutil.copy(celeba_mini / "img_align_celeba" / name, sub / "img_align_celeba" / name)
    (sub / "identity_CelebA.txt").write_text("\n".join(rows) + "\n")
    for fname in ("list_attr_celeba.txt", "list_landmarks_align_celeba.txt"):
        lines = (celeba_mini / fname).read_text().splitlines()
        body = [ln for ln in lines[2:] if ln.split()[0] in names]
        (sub / fname).write_text("\n".join([str(len(body)), lines[1], *body]) + "\n")
    workdir.write_params(data={"source": "celeba", "root": str(sub), "image_size": 48}, split={"min_images": 4})
    assert main(["prep"]) == 0
    assert open_prepared(workdir / "data/prepared").report["n_images"] == len(names)


def test_prepared_folder_is_byte_identical_when_rerun(workdir, celeba_layout):
    """DVC hashes the folder: a rerun that prepares the same data (here with other workers) must
    not look changed, or every stage downstream reruns. Timing goes to reports/timing/."""
    assert run_prep(workdir, celeba_layout) == 0
    prepared = workdir / "data/prepared"
    first = {p.name: p.read_bytes() for p in prepared.iterdir()}
    assert run_prep(workdir, celeba_layout, workers=2) == 0
    assert {p.name: p.read_bytes() for p in prepared.iterdir()} == first
    assert json.loads((workdir / "reports/timing/prep.json").read_text())["seconds"] > 0


def test_render_writes_only_a_note_for_other_sources(workdir, celeba_layout):
    """A CelebA run does not render the synthetic set nobody reads; DVC still gets its output."""
    old = workdir / "data/raw/synthetic"
    old.mkdir(parents=True)
    (old / "render.json").write_text("{}")
    workdir.write_params(data={"source": "celeba", "root": str(celeba_layout), "image_size": 32})
    assert main(["render"]) == 0
    assert [p.name for p in old.iterdir()] == ["NOT_RENDERED.txt"]
    assert "data.source is celeba" in (old / "NOT_RENDERED.txt").read_text()
    assert (workdir / "reports/figures/synthetic_grid.png").is_file()
