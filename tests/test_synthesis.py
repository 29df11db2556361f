"""Synthesis: the variant plan, the judges' verdict, the variant store, the augmented recognizer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facegan.config import parse_params
from facegan.editor.edit import save_editor
from facegan.editor.generator import Generator
from facegan.errors import FaceganError
from facegan.judges.judges import load_judges
from facegan.synthesis import stage as synthesis_stage
from facegan.lowshot.episodes import conditioned_episodes, draw_protocol, enrollable_rows, gallery_rows
from facegan.synthesis.acceptance import target_reached
from facegan.synthesis.plan import (CONDITION, MULTI_TARGET, NORMALIZE, THERMAL, condition_keys, every_variant,
                                    normalization_targets, parse_targets, sampled_variants)
from facegan.synthesis.store import open_variants
from tests.conftest import recognizer_fork


pytestmark = pytest.mark.usefixtures("one_torch_thread")
LABELS = {"eyeglasses": np.array([0.0, 1.0]), "smiling": np.array([1.0, 0.0]), "young": np.array([1.0, 1.0]),
          "yaw": np.array([0.0, 30.0])}


def test_every_variant_flips_each_attribute_and_visits_each_yaw_target():
    jobs = every_variant(np.array([7, 9]), LABELS, ["eyeglasses", "smiling", "young"], [-20.0, 20.0], thermal=True)
    first = jobs[jobs["source_row"] == 7].set_index("kind")["target"]
    assert list(first.index) == ["eyeglasses", "smiling", "young", "yaw", "yaw", THERMAL]
    assert first["eyeglasses"] == 1 and first["smiling"] == 0 and first["young"] == 0
    assert list(first["yaw"]) == [-20.0, 20.0] and np.isnan(first[THERMAL])
    assert jobs[jobs["source_row"] == 9].set_index("kind")["target"]["eyeglasses"] == 0


def test_sampled_variants_are_distinct_seeded_and_thermal_only_with_a_twin():
    args = (np.array([3, 4]), LABELS, ["eyeglasses", "smiling", "young"], [-40.0, 40.0], np.array([True, False]))
    jobs = sampled_variants(*args, per_image=6, seed=1)
    assert jobs.groupby("source_row").size().to_dict() == {3: 6, 4: 5}  # row 4 has only 5 options
    assert THERMAL not in set(jobs.loc[jobs["source_row"] == 4, "kind"])
    assert not jobs.duplicated(["source_row", "kind", "target"]).any()
    two = [sampled_variants(*args, per_image=2, seed=s) for s in (1, 1, 2)]
    assert two[0].equals(two[1]) and len(two[0]) == 4


def test_continuous_ages_flip_by_mirroring_in_every_plan():
    labels = LABELS | {"young": np.array([0.8, 0.3])}
    jobs = every_variant(np.array([7, 9]), labels, ["young"], [], thermal=False, continuous_age=True)
    np.testing.assert_allclose(jobs["target"], [0.2, 0.7], atol=1e-6)
    assert list(every_variant(np.array([7, 9]), labels, ["young"], [], thermal=False)["target"]) == [0.0, 1.0]
    judged = {"eyeglasses": np.array([0.9, 0.1]), "smiling": np.array([0.1, 0.1]), "young": np.array([0.3, 0.8]),
              "yaw": np.array([0.0, 0.0])}
    assert normalization_targets(judged, 15.0) == [{"eyeglasses": 0.0, "young": 1.0}, {}]
    assert normalization_targets(judged, 15.0, continuous_age=True) == [{"eyeglasses": 0.0,
                                                                         "young": pytest.approx(0.7)}, {}]


def test_target_reached():
    assert list(target_reached("smiling", np.array([1.0, 1.0, 0.0]), np.array([0.7, 0.2, 0.2]))) == [True, False, True]
    # A continuous youth (strictly between 0 and 1) must be read within AGE_TOLERANCE; 0/1, on its side.
    assert list(target_reached("young", np.array([0.2, 0.2, 0.2, 0.0]), np.array([0.3, 0.4, 0.01, 0.4]))) == [
        True, False, False, True]
    assert list(target_reached("yaw", np.array([20.0, 20.0]), np.array([29.0, 31.0]))) == [True, False]
    assert target_reached(THERMAL, np.array([np.nan]), np.array([np.nan])).all()


def test_synthesize_keeps_only_what_the_judges_agree_on(synthesized):
    from facegan.data.store import open_prepared

    params, paths, report = synthesized
    data = open_prepared(paths["prepared_dir"])
    variants = open_variants(paths["out_dir"])
    table = variants.table
    novel_visible = data.rows(split="novel", domain="visible")
    novel = table[table["split"] == "novel"]
    # Every thermal photo is translated (they are probes); only photos an episode can enroll are
    # edited (every one any episode draws, for any number of episodes), each 5 ways (3 flips, 2 yaws).
    assert (novel["kind"] == THERMAL).sum() == len(novel_visible)
    lp = params.lowshot
    enrolled = enrollable_rows(data.index, "novel", lp)
    drawn = gallery_rows(draw_protocol(data.rows(split="novel"), lp.shots, 50, lp.gallery, lp.neutral_max_yaw,
                                       params.seed + 1))
    assert set(drawn) <= set(enrolled)  # a draw with another seed and more episodes needs nothing new
    edited = novel[~novel["kind"].isin([THERMAL, *MULTI_TARGET])]
    assert 0 < len(enrolled) <= len(novel_visible) and set(edited["source_row"]) == set(enrolled)
    assert len(edited) == 5 * len(enrolled)
    # Each k = 1 gallery photo in the condition of each of its episode's probes as the judges read
    # them, once per (photo, condition); neutral probes need none (the photo is in their condition).
    read = variants.judged
    keys = dict(zip(read.index, condition_keys({c: read[c].to_numpy() for c in read.columns}, lp.neutral_max_yaw,
                                               params.synthesis.yaw_targets)))
    for split in ("novel", "val"):  # val's: to choose settings by
        conditioned = table[(table["kind"] == CONDITION) & (table["split"] == split)]
        episodes = conditioned_episodes(data.index, lp, params.seed, split)
        wanted = {(int(r), keys[p]) for e in episodes for g in e.gallery.values() for r in g for p in e.probes
                  if keys.get(p)}
        assert wanted and set(zip(conditioned["source_row"], conditioned["targets"])) == wanted, split
        assert len(conditioned) == len(wanted), split
    off = params.model_copy(update={"lowshot": lp.model_copy(update={"conditioned": 0})})  # the default
    labels = pd.DataFrame(0.0, index=data.index.index, columns=list(read.columns))
    assert CONDITION not in set(synthesis_stage._jobs(off, data, labels, read, False, False)["kind"])
    # Probes the judges read as not neutral are edited back, each once, from the judges' reading.
    normalized = table[table["kind"] == NORMALIZE]
    assert set(normalized["split"]) <= {"novel", "val"} and not normalized["source_row"].duplicated().any()
    judged = variants.judged.loc[normalized["source_row"]]
    for (_, job), (_, read) in zip(normalized.iterrows(), judged.iterrows()):
        wanted = parse_targets(job["targets"])
        assert ("eyeglasses" in wanted) == (read["eyeglasses"] >= 0.5)
        assert ("yaw" in wanted) == (abs(read["yaw"]) > lp.neutral_max_yaw)
    base = table[table["split"] == "base"]
    assert base.groupby("source_row").size().eq(2).all()
    assert set(base["source_row"]) == set(data.rows(split="base", role="train", domain="visible").index)
    thermal = table[table["kind"] == THERMAL]
    assert (data.index.loc[thermal["input_row"], "domain"] == "thermal").all()
    assert (thermal["input_row"].to_numpy() == data.index["pair"].to_numpy()[thermal["source_row"]]).all()

    # The stored pixels are the ones judged: re-judging them reproduces the verdicts.
    judges = load_judges(paths["judges_path"])
    sample = table.sample(40, random_state=0).sort_index()
    faces = variants.faces[sample.index.to_numpy()]
    if THERMAL in set(sample["kind"]):
        th = sample["kind"] == THERMAL
        assert np.array_equal(faces[th.to_numpy()], 255 - data.faces[sample.loc[th, "input_row"].to_numpy()])
    sim = judges.identity_similarity(faces, data.faces[sample["source_row"].to_numpy()])
    np.testing.assert_allclose(sim, sample["identity_similarity"], atol=1e-4)
    quality = judges.quality(faces)
    np.testing.assert_allclose(quality, sample["quality"], atol=1e-4)
    # A photo in a probe's condition is not held to the identity rule (the truth fails it, several changes away).
    identity = (sim >= judges.identity_threshold) | (sample["kind"] == CONDITION).to_numpy()
    expected = sample["target_reached"].to_numpy() & identity & (quality >= judges.quality_threshold)
    assert np.array_equal(sample["kept"].to_numpy(), expected)
    conditioned = table[table["kind"] == CONDITION]
    assert conditioned["kept"].equals(conditioned["target_reached"] & (conditioned["quality"]
                                                                        >= judges.quality_threshold))

    assert report["generated"] == len(table) and report["kept"] == int(table["kept"].sum())
    assert json.loads(paths["report_path"].read_text()) == report
    assert set(report["kept_rate"]) == {"eyeglasses", "smiling", "young", "yaw", THERMAL, NORMALIZE, CONDITION}
    assert report["quality_pass_rate"] == {k: float((g["quality"] >= judges.quality_threshold).mean())
                                           for k, g in table.groupby("kind", sort=False)}
    assert sum(block["generated"] for block in report["by_split"].values()) == len(table)


def test_augmented_recognizer_trains_on_the_kept_base_variants(synthesized, tmp_path):
    from facegan.stages.train_recognizer_aug import train_recognizer_aug_stage

    params, paths, _ = synthesized
    table = open_variants(paths["out_dir"]).table
    kept = table[(table["split"] == "base") & table["kept"] & (table["kind"] != THERMAL)]  # thermal: opt-in
    tiny = parse_params({"recognizer": {"width": 4, "embedding_dim": 16, "epochs": 1, "batch_size": 32}})
    report = train_recognizer_aug_stage(tiny, prepared_dir=paths["prepared_dir"], variants_dir=paths["out_dir"],
                                        model_path=tmp_path / "aug.pt", report_path=tmp_path / "aug.json",
                                        live_dir=None, checkpoint_dir=tmp_path / "ckpt",
                                        fork_path=recognizer_fork(tiny, paths["prepared_dir"], tmp_path / "plain"))
    assert report["n_extra_train_images"] == len(kept)
    assert sum(report["extra_by_kind"].values()) == len(kept)
    assert (tmp_path / "aug.pt").is_file()


@pytest.mark.bad_input
def test_synthesize_without_an_editor_names_the_stage_and_keeps_old_variants(synthesized, tmp_path):
    params, paths, _ = synthesized
    before = (paths["out_dir"] / "variants.csv").read_bytes()
    with pytest.raises(FaceganError, match="editor model missing; run `dvc repro train_editor`"):
        synthesis_stage.synthesize_stage(params, **(paths | {"editor_path": tmp_path / "nope.pt"}))
    assert (paths["out_dir"] / "variants.csv").read_bytes() == before


@pytest.mark.bad_input
def test_variants_of_another_size_are_refused(synthesized, tmp_path):
    params, paths, _ = synthesized
    save_editor(tmp_path / "editor64.pt", Generator(4, channels=4, levels=2), 64)
    with pytest.raises(FaceganError, match="editor works on 64 px faces"):
        synthesis_stage.synthesize_stage(params, **(paths | {"editor_path": tmp_path / "editor64.pt"}))


@pytest.mark.bad_input
def test_missing_variants_name_the_synthesize_stage(tmp_path):
    with pytest.raises(FaceganError, match="run `dvc repro synthesize` first"):
        open_variants(tmp_path / "none")
    (tmp_path / "v").mkdir()
    np.save(tmp_path / "v/faces.npy", np.zeros((2, 4, 4, 3), np.uint8))
    pd.DataFrame({"kept": [True]}).to_csv(tmp_path / "v/variants.csv", index=False)
    (tmp_path / "v/synthesis.json").write_text("{}")
    with pytest.raises(FaceganError, match="variants.csv has 1 rows but faces.npy 2"):
        open_variants(tmp_path / "v")


def test_synthesis_is_deterministic(synthesized, tmp_path):
    params, paths, _ = synthesized
    again = paths | {"out_dir": tmp_path / "again", "report_path": tmp_path / "again.json"}
    synthesis_stage.synthesize_stage(params, **again)
    for name in ("faces.npy", "variants.csv"):
        assert (paths["out_dir"] / name).read_bytes() == (again["out_dir"] / name).read_bytes()


def test_variant_folder_is_byte_identical_when_rerun(synthesized, tmp_path):
    # DVC hashes the folder: seconds in it would make every rerun look new and rerun every later stage.
    params, paths, _ = synthesized
    again = dict(paths, out_dir=tmp_path / "again", report_path=tmp_path / "again.json")
    synthesis_stage.synthesize_stage(params, **again)
    files = sorted(p.name for p in paths["out_dir"].iterdir())
    assert files == sorted(p.name for p in again["out_dir"].iterdir()) and "judged.csv" in files
    for name in files:
        assert (paths["out_dir"] / name).read_bytes() == (again["out_dir"] / name).read_bytes(), name


def test_a_photo_in_a_probes_condition_is_not_held_to_the_identity_rule(synthesized):
    """Several changes at once move the renderer's own truth below the identity threshold; the target and
    quality judges decide these edits. Planted: an identity threshold nothing reaches."""
    from facegan.data.store import open_prepared
    from facegan.editor.edit import load_editor
    from facegan.synthesis.generate import generate_variants

    _, paths, _ = synthesized
    data, table = open_prepared(paths["prepared_dir"]), open_variants(paths["out_dir"]).table
    judged = open_variants(paths["out_dir"]).judged
    jobs = pd.concat([table[table["kind"] == CONDITION].head(24), table[table["kind"] == "smiling"].head(8)])
    jobs = jobs[["split", "identity", "source_row", "input_row", "kind", "target", "targets"]].reset_index(drop=True)
    judges = load_judges(paths["judges_path"])
    judges.identity_threshold = 1.01  # no cosine reaches it
    faces = np.zeros((len(jobs), data.image_size, data.image_size, 3), np.uint8)
    labels = pd.DataFrame(0.0, index=data.index.index, columns=list(judged.columns))
    out = generate_variants(jobs, data.faces, labels, load_editor(paths["editor_path"]), None, judges, faces,
                            progress=False, judged_attributes=judged)
    conditioned = (out["kind"] == CONDITION).to_numpy()
    assert not out["kept"][~conditioned].any()  # a planned edit needs the identity judge
    expected = out["target_reached"] & (out["quality"] >= judges.quality_threshold)
    assert expected[conditioned].any() and out["kept"][conditioned].equals(expected[conditioned])


class PlantedJudges:
    """Judges whose quality score is planted: the face's mean brightness; identity and attributes pass."""

    identity_threshold, quality_threshold = 0.5, 0.5

    def quality(self, faces):
        return np.asarray(faces, np.float32).mean((1, 2, 3)) / 255


def test_acceptance_rejects_low_quality_even_when_attribute_and_identity_pass():
    from facegan.judges.acceptance import accepted

    judges = PlantedJudges()
    faces = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (30, 200, 200, 30)])
    reached, similarity = np.array([True, True, False, True]), np.array([0.9, 0.9, 0.9, 0.1])
    assert accepted(reached, similarity, judges.quality(faces), judges).tolist() == [False, True, False, False]
