import pytest
import yaml

from facegan.config import Params, load_params, parse_params
from facegan.errors import FaceganError
from tests.conftest import REPO


def test_committed_params_validate_and_match_the_defaults():
    assert load_params(REPO / "params.yaml") == Params()


@pytest.mark.bad_input
@pytest.mark.parametrize(
    "raw, key",
    [
        ({"data": {"imagesize": 64}}, "data.imagesize"),
        ({"colour": 1}, "colour"),
        ({"data": {"image_size": 1024}}, "data.image_size"),
        ({"data": {"image_size": 70}}, "data.image_size"),
        ({"data": {"source": "imagenet"}}, "data.source"),
        ({"split": {"novel_fraction": 1.5}}, "split.novel_fraction"),
        ({"lowshot": {"shots": [5, 1]}}, "lowshot"),
        ({"lowshot": {"conditioned": 4, "episodes": 10}}, "lowshot"),  # fewer edited episodes than drawn
        ({"synthetic": {"images_per_identity": [10, 4]}}, "synthetic"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_params_name_the_key(raw, key):
    with pytest.raises(FaceganError) as err:
        parse_params(raw)
    message = str(err.value)
    assert f"'{key}'" in message and "\n" not in message


@pytest.mark.bad_input
def test_params_file_that_is_not_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(FaceganError, match="params.yaml: not valid YAML"):
        load_params(path)


def test_partial_params_fill_defaults(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"data": {"image_size": 128}}))
    params = load_params(path)
    assert params.data.image_size == 128 and params.split == Params().split


@pytest.mark.parametrize("preset", sorted((REPO / "presets").glob("*.yaml")), ids=lambda p: p.name)
def test_presets_validate(preset):
    load_params(preset)


def test_preset_expands_to_a_complete_params_file(tmp_path, monkeypatch):
    from facegan.cli import main

    monkeypatch.chdir(REPO)
    out = tmp_path / "params.yaml"
    assert main(["preset", "celeba-mini-cpu", "--out", str(out)]) == 0
    params = load_params(out)
    assert params.data.source == "celeba"
    # The real-face presets keep the recognizer the figures were measured with; the rest is default.
    assert params.recognizer.model_dump() == Params().recognizer.model_dump() | {"crop": 0.75, "epochs": 30}
    assert set(yaml.safe_load(out.read_text())) == set(Params.model_fields)  # every section, for DVC
    assert main(["preset", "no-such-preset", "--out", str(out)]) == 2


def test_split_auto_uses_the_synthetic_partitions_and_random_elsewhere():
    assert Params().split.by == "auto" and Params().split_by == "partition"
    assert parse_params({"data": {"source": "celeba"}}).split_by == "random"
    assert parse_params({"data": {"source": "folder"}}).split_by == "random"
    # novel identities from another set: the synthetic set's test partition is not theirs
    other = parse_params({"novel": {"source": "folder"}, "split": {"novel_fraction": 0}})
    assert other.split_by == "random"
    assert parse_params({"data": {"source": "celeba"}, "split": {"by": "partition"}}).split_by == "partition"
