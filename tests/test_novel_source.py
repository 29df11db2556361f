"""A separate source for novel identities (params `novel:`): base models train on `data`, low-shot
evaluation enrolls and probes the people of `novel.root`, whose conditions the judges read."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from facegan.cli import main
from facegan.config import parse_params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.lowshot.conditions import with_conditions
from facegan.lowshot.episodes import neutral_mask, probe_conditions
from tests.conftest import write_celeba_layout


def error_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


# -- params --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, key", [
    ({"novel": {"source": "folder", "root": "people"}}, "split.novel_fraction"),
    ({"split": {"novel_fraction": 0.0}}, "novel.source"),
])
def test_bad_input_novel_params_name_the_key(raw, key):
    with pytest.raises(FaceganError, match=key.replace(".", r"\.")):
        parse_params(raw)


def test_a_separate_novel_source_with_no_own_novel_split_is_valid():
    params = parse_params({"split": {"novel_fraction": 0}, "novel": {"source": "folder", "root": "people"}})
    assert params.novel.source == "folder" and params.novel.min_images == 2


def test_bad_input_missing_novel_root_stops_validate_with_one_line(workdir, capsys, tmp_path):
    workdir.write_params(split={"novel_fraction": 0}, novel={"source": "folder", "root": str(tmp_path / "nobody")})
    assert main(["validate"]) != 0
    line = error_line(capsys)
    assert "novel.root" in line and "nobody" in line


def test_bad_input_novel_root_without_identity_folders(workdir, capsys, tmp_path):
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "flat" / "a.jpg")
    workdir.write_params(split={"novel_fraction": 0}, novel={"source": "folder", "root": str(tmp_path / "flat")})
    assert main(["validate"]) != 0
    assert "no identity folders" in error_line(capsys)


# -- conditions --------------------------------------------------------------------------------

def _index(labels: bool) -> pd.DataFrame:
    """Four visible photos of two people and one thermal twin of the first photo."""
    nan = np.nan
    value = (lambda v: v) if labels else (lambda v: nan)
    return pd.DataFrame({
        "identity": [0, 0, 1, 1, 0], "split": ["novel"] * 5,
        "domain": ["visible"] * 4 + ["thermal"], "pair": [4, -1, -1, -1, 0],
        "eyeglasses": [value(0), value(1), value(0), value(0), value(0)],
        "smiling": [value(0)] * 5, "young": [value(1)] * 5,
        "yaw": [0.0, 0.0, 0.0, 30.0, 0.0]})


def test_labelled_photos_keep_their_labels():
    index = _index(labels=True)
    out, source = with_conditions(index, None)
    assert source == "labels" and out is index


def test_unlabelled_photos_take_the_judges_reading_and_thermal_twins_follow():
    index = _index(labels=False)
    judged = pd.DataFrame({"eyeglasses": [0.9, 0.1, 0.2, 0.3], "smiling": [0.1, 0.8, 0.1, 0.1],
                           "young": [0.9, 0.9, 0.2, 0.9], "yaw": [2.0, -3.0, 1.0, 40.0]}, index=[0, 1, 2, 3])
    out, source = with_conditions(index, judged)
    assert source == "judges"
    assert out["eyeglasses"].tolist() == [1, 0, 0, 0, 1]  # row 4 is row 0's thermal twin
    assert out["smiling"].tolist()[:4] == [0, 1, 0, 0] and out["young"].tolist()[:4] == [1, 1, 0, 1]
    assert out["yaw"].tolist()[:4] == [2.0, -3.0, 1.0, 40.0]
    # the reading decides who is neutral and which probe is in which condition
    assert neutral_mask(out, 10.0).tolist() == [False, False, False, False, False]
    masks = probe_conditions(out, 10.0)
    assert masks["eyeglasses"].tolist() == [True, False, False, False, False]
    assert masks["smiling"].tolist()[1] and masks["old"].tolist()[2] and masks["posed"].tolist()[3]
    assert index["eyeglasses"].isna().all()  # the store's index is left as it was


def test_photos_nobody_read_are_never_neutral():
    out, source = with_conditions(_index(labels=False), None)
    assert source == "judges" and not neutral_mask(out, 10.0).any()


# -- prep --------------------------------------------------------------------------------------

def _people(celeba_mini, root, persons: int = 3, photos: int = 4):
    """An identity-folder set of real photos, plus a photo with no face and a person with one photo."""
    by_id: dict[str, list[str]] = {}
    for line in (celeba_mini / "identity_CelebA.txt").read_text().splitlines():
        name, ident = line.split()
        by_id.setdefault(ident, []).append(name)
    chosen = [i for i in sorted(by_id, key=int) if len(by_id[i]) >= photos + 1][:persons + 1]
    for k, ident in enumerate(chosen[:persons]):
        (root / f"person_{k}").mkdir(parents=True)
        for name in by_id[ident][:photos]:
            shutil.copy(celeba_mini / "img_align_celeba" / name, root / f"person_{k}" / name)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 100, 3), dtype=np.uint8)).save(
        root / "person_0" / "noise.png")
    (root / "loner").mkdir()
    shutil.copy(celeba_mini / "img_align_celeba" / by_id[chosen[persons]][0], root / "loner" / "only.jpg")
    return root


@pytest.mark.real_data
def test_prep_adds_the_novel_folder_set_as_the_only_novel_identities(workdir, celeba_mini, tmp_path):
    base = write_celeba_layout(tmp_path / "celeba", identities=6, per_identity=4)
    people = _people(celeba_mini, tmp_path / "people")
    workdir.write_params(data={"source": "celeba", "root": str(base), "image_size": 32, "workers": 1},
                         split={"min_images": 2, "novel_fraction": 0},
                         novel={"source": "folder", "root": str(people)}, thermal={"source": "simulated"})
    assert main(["validate"]) == 0 and main(["prep"]) == 0
    data = open_prepared(workdir / "data/prepared")
    index, report = data.index, data.report
    novel = index[index["split"] == "novel"]
    assert set(novel["identity_name"]) == {"novel/person_0", "novel/person_1", "novel/person_2"}
    assert set(index.loc[index["split"] != "novel", "identity"]).isdisjoint(set(novel["identity"]))
    assert (novel["domain"] == "visible").sum() == 12 and (novel["domain"] == "thermal").sum() == 12
    assert novel["eyeglasses"].isna().all()  # no labels: the judges will read them
    assert not index.loc[index["split"] != "novel", "eyeglasses"].isna().any()
    assert report["novel"] == {"source": "folder", "root": str(people)}
    assert report["n_novel_identities"] == 3 and report["n_base_identities"] + report["n_val_identities"] == 6
    assert report["skipped_by_reason"] == {"identity_with_one_image": 1, "no_face": 1}
    # the novel faces are aligned like prep aligns any identity folder: eyes where the template has them
    assert np.abs(novel[["lefteye_y", "righteye_y"]].to_numpy() - 32 * 0.42).max() < 32 * 0.12


def test_prep_adds_a_celeba_layout_novel_set_with_its_labels(workdir, tmp_path):
    base = write_celeba_layout(tmp_path / "celeba", identities=6, per_identity=4)
    people = write_celeba_layout(tmp_path / "others", identities=3, per_identity=3, seed=1)
    workdir.write_params(data={"source": "celeba", "root": str(base), "image_size": 32, "workers": 1},
                         split={"min_images": 2, "novel_fraction": 0},
                         novel={"source": "celeba", "root": str(people), "min_images": 3},
                         thermal={"source": "none"})
    assert main(["validate"]) == 0 and main(["prep"]) == 0
    data = open_prepared(workdir / "data/prepared")
    novel = data.index[data.index["split"] == "novel"]
    assert len(novel) == 9 and novel["identity"].nunique() == 3 and novel["name"].str.startswith("novel/").all()
    assert not novel["eyeglasses"].isna().any()  # labelled: the conditions are its labels
    assert with_conditions(data.index, None)[1] == "labels"
    # the same file names as the base set's, yet every face is its own row
    assert set(novel["name"].str.removeprefix("novel/")) <= set(data.index.loc[data.index["split"] != "novel", "name"])


@pytest.mark.real_data
def test_bad_input_novel_set_with_too_few_people(workdir, celeba_mini, tmp_path, capsys):
    base = write_celeba_layout(tmp_path / "celeba", identities=6, per_identity=4)
    people = _people(celeba_mini, tmp_path / "people", persons=1)
    workdir.write_params(data={"source": "celeba", "root": str(base), "image_size": 32, "workers": 1},
                         split={"min_images": 2, "novel_fraction": 0},
                         novel={"source": "folder", "root": str(people)}, thermal={"source": "none"})
    assert main(["prep"]) != 0
    line = error_line(capsys)
    assert "novel.root" in line and "1 identities" in line
    assert not (workdir / "data/prepared").exists()


def test_bad_input_folder_set_as_the_only_data_says_what_to_do(tiny_synthetic, tmp_path, monkeypatch):
    """Identity folders carry no attribute labels: the judges cannot train on them."""
    from facegan.judges import stage as judges_stage

    prepared = tmp_path / "prepared"
    shutil.copytree(tiny_synthetic / "data/prepared", prepared)
    index = pd.read_csv(prepared / "index.csv")
    labels = [c for c in index.columns if c in json.loads((prepared / "prep.json").read_text())["attributes"]]
    index.drop(columns=labels).to_csv(prepared / "index.csv", index=False)
    report = json.loads((prepared / "prep.json").read_text()) | {"source": "folder", "attributes": {}}
    (prepared / "prep.json").write_text(json.dumps(report))
    params = parse_params({"data": {"source": "folder", "root": "people"}})
    with pytest.raises(FaceganError, match="novel.source: folder"):
        judges_stage.train_judges_stage(params, prepared_dir=prepared, model_path=tmp_path / "j.pt",
                                        report_path=tmp_path / "j.json", checkpoint_dir=tmp_path / "ck",
                                        train_identity=None)


# -- synthesis and evaluation on photos without labels --------------------------------------------

@pytest.fixture
def unlabelled_novel(tiny_synthetic, tmp_path):
    """The tiny synthetic store with its novel identities' labels removed, as a novel folder set's
    photos would have none (and no renderer behind them)."""
    prepared = tmp_path / "prepared"
    shutil.copytree(tiny_synthetic / "data/prepared", prepared)
    index = pd.read_csv(prepared / "index.csv")
    novel = (index["split"] == "novel").to_numpy()
    labels = [c for c in index.columns if c in json.loads((prepared / "prep.json").read_text())["attributes"]]
    index.loc[novel, labels] = np.nan
    index.to_csv(prepared / "index.csv", index=False)
    report = json.loads((prepared / "prep.json").read_text())
    report["novel"] = {"source": "folder", "root": "people"}
    (prepared / "prep.json").write_text(json.dumps(report))
    return prepared


@pytest.fixture
def planted_synthesis(unlabelled_novel, tmp_path, monkeypatch):
    """synthesize on the unlabelled store, with judges whose reading the test knows."""
    from facegan.judges.judges import Judges
    from facegan.synthesis import stage as synthesis_stage_module
    from tests.conftest import write_models

    def planted_reading(self, faces):
        """A reading the test knows: the brighter half of the faces is read as young (so neutral)."""
        brightness = np.asarray(faces, np.float32).mean(axis=(1, 2, 3))
        zeros = np.zeros(len(faces), np.float32)
        return {"eyeglasses": zeros, "smiling": zeros, "young": (brightness > bright).astype(np.float32)}, zeros

    faces = open_prepared(unlabelled_novel).faces
    bright = float(np.median(np.asarray(faces, np.float32).mean(axis=(1, 2, 3))))
    monkeypatch.setattr(Judges, "attributes_and_yaw", planted_reading)
    write_models(tmp_path / "models")
    monkeypatch.setattr(synthesis_stage_module, "_load_translator", lambda path, device: lambda faces: 255 - faces)
    params = parse_params({"synthesis": {"yaw_targets": [20.0], "base_variants_per_image": 1},
                           "lowshot": {"shots": [1]}})
    synthesis_stage_module.synthesize_stage(
        params, prepared_dir=unlabelled_novel, editor_path=tmp_path / "models/editor.pt",
        translator_path=tmp_path / "models/translator.pt", judges_path=tmp_path / "models/judges.pt",
        out_dir=tmp_path / "variants", report_path=tmp_path / "synthesis.json")
    return params, faces, bright


def test_synthesis_enrolls_the_photos_the_judges_read_as_neutral(planted_synthesis, unlabelled_novel, tmp_path):
    from facegan.lowshot.episodes import enrollable_rows
    from facegan.synthesis.oracle import write_oracle
    from facegan.synthesis.store import open_variants

    params, faces, bright = planted_synthesis
    variants = open_variants(tmp_path / "variants")
    index = open_prepared(unlabelled_novel).index
    conditions, source = with_conditions(index, variants.judged)
    assert source == "judges"
    edited = variants.table[(variants.table["split"] == "novel") & (variants.table["kind"] != "normalize")
                            & (variants.table["kind"] != "thermal")]["source_row"].unique()
    expected = enrollable_rows(conditions, "novel", params.lowshot)
    assert set(edited) == set(expected)
    # the planted reading made only bright photos neutral: those are the ones enrolled, not every photo
    novel_rows = index.index[(index["split"] == "novel") & (index["domain"] == "visible")]
    assert 0 < len(expected) < len(novel_rows)
    assert (np.asarray(faces[expected], np.float32).mean(axis=(1, 2, 3)) > bright).all()
    # no renderer drew these people: no true variants
    assert write_oracle(params, unlabelled_novel, tmp_path / "oracle")["variants"] == 0


class MeanColour(torch.nn.Module):
    """A stand-in recognizer brought from outside: the face's mean colour per channel and quadrant."""

    def forward(self, x):
        return torch.nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)


def test_evaluate_reads_judged_conditions_and_embeds_with_the_users_recognizer(planted_synthesis, unlabelled_novel,
                                                                                tmp_path):
    from facegan.evaluation.stage import evaluate_stage

    params, _, _ = planted_synthesis
    model = tmp_path / "mine.pt"
    torch.jit.script(MeanColour()).save(str(model))
    params = parse_params({"synthesis": {"yaw_targets": [20.0], "base_variants_per_image": 1},
                           "lowshot": {"shots": [1], "episodes": 2, "resamples": 200},
                           "recognizer": {"source": "torchscript", "torchscript": str(model),
                                          "torchscript_input_size": 32}})
    absent = tmp_path / "absent.json"
    metrics = evaluate_stage(
        params, prepared_dir=unlabelled_novel, variants_dir=tmp_path / "variants", oracle_dir=tmp_path / "no_oracle",
        recognizer_path=absent, recognizer_aug_path=absent,
        stage_reports={k: absent for k in ("prep", "train_recognizer", "train_judges", "train_editor",
                                           "train_translator", "synthesize", "train_recognizer_aug")},
        render_report=absent, metrics_path=tmp_path / "metrics.json",
        accuracy_vs_shots_path=tmp_path / "a.png", by_probe_path=tmp_path / "b.png", ablation_path=tmp_path / "c.png")
    lowshot = metrics["lowshot"]
    assert lowshot["conditions_from"] == "judges" and lowshot["novel_source"] == "folder"
    assert lowshot["recognizer"]["source"] == "torchscript" and lowshot["recognizer"]["fingerprint"].startswith("torchscript:")
    assert "skipped" in metrics["backbone"]
    # by-probe groups follow the planted reading: only the dark half was read old
    by_probe = lowshot["visible"]["k1"]["real"]["by_probe"]
    assert by_probe["old"] is not None and by_probe["eyeglasses"] is None and by_probe["smiling"] is None
