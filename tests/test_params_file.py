"""params.yaml is written from facegan/config.py (`facegan params --write`): a default or its comment
changed in one place only fails here."""

import json

import yaml

from facegan.cli import main
from facegan.config import Params, RecognizerParams, Section, load_params
from facegan.params_file import params_text
from tests.conftest import REPO


def test_committed_params_yaml_is_the_generated_text():
    assert (REPO / "params.yaml").read_text() == params_text(), \
        "params.yaml differs from facegan/config.py's defaults and descriptions: run `facegan params --write`"


def test_the_text_holds_every_default_as_spelled_by_the_config():
    # JSON tells 1.0 from 1 and true from 1: DVC compares params.yaml values, so their types count too.
    values = yaml.safe_load(params_text())
    assert json.dumps(values, sort_keys=True) == json.dumps(Params().model_dump(mode="json"), sort_keys=True)


def test_descriptions_become_comments_beside_their_keys():
    lines = params_text().splitlines()
    assert lines[0].startswith("# facegan parameters: every knob")
    assert "  episodes: 10               # gallery draws, for means and 95% CIs" in lines
    fields = [*Params.model_fields.values()] + [f for section in Params.model_fields.values()
                                               if isinstance(section.default, Section)
                                               for f in type(section.default).model_fields.values()]
    assert sum("#" in line for line in lines) > sum(bool(f.description) for f in fields) > 50
    assert max(map(len, lines)) <= 120


def test_another_value_changes_only_its_line(tmp_path):
    params = Params(recognizer=RecognizerParams(epochs=61))
    changed = [(a, b) for a, b in zip(params_text().splitlines(), params_text(params).splitlines()) if a != b]
    assert changed == [("  epochs: 60", "  epochs: 61")]


def test_the_command_writes_params_yaml(tmp_path, capsys):
    out = tmp_path / "params.yaml"
    assert main(["params", "--write", "--out", str(out)]) == 0
    assert out.read_text() == params_text() and load_params(out) == Params()
    assert main(["params"]) == 0 and capsys.readouterr().out == params_text()
