"""`facegan preset NAME`: the defaults plus presets/NAME.yaml, written into params.yaml's own layout."""

import pytest
import yaml

from facegan.config import Params, load_params, parse_params
from facegan.presets import HEADER, expand_preset
from tests.conftest import REPO

PRESETS = sorted((REPO / "presets").glob("*.yaml"))
TEMPLATE = REPO / "params.yaml"


def _expand(name, tmp_path, out_name="params.yaml"):
    out = tmp_path / out_name
    expand_preset(name, out, REPO / "presets")
    return out


def _overlay_on_defaults(preset):
    merged = Params().model_dump(mode="json")
    for key, value in (yaml.safe_load(preset.read_text()) or {}).items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) else value
    return parse_params(merged)


def _keys(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix}
    return {key for name, value in tree.items() for key in _keys(value, f"{prefix}.{name}")}


def _body(path):
    """The file without the header line an expansion adds."""
    first, rest = path.read_text().split("\n", 1)
    assert first.startswith(HEADER), first
    return rest


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_every_preset_expands_to_the_overlay_on_the_defaults(preset, tmp_path):
    out = _expand(preset.stem, tmp_path)
    assert load_params(out) == _overlay_on_defaults(preset) == load_params(preset)
    # Every knob written out, defaults included: DVC tracks sections and keys by name.
    assert _keys(yaml.safe_load(out.read_text())) == _keys(Params().model_dump(mode="json"))
    assert out.read_text().startswith(f"{HEADER}{preset.stem}` from ")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_params_yaml_comments_and_default_lines_survive(preset, tmp_path):
    # yaml.safe_dump (the old writer) dropped every comment and respelled every line.
    template = TEMPLATE.read_text().splitlines()
    written = _body(_expand(preset.stem, tmp_path)).splitlines()
    assert len(written) == len(template)
    overlay = yaml.safe_load(preset.read_text())
    section = None
    for old, new in zip(template, written):
        if old and not old[0].isspace() and not old.startswith("#"):
            section = old.split(":")[0]
        if old == new:
            continue
        # A changed line is a key the overlay sets, with its comment where it was.
        key = new.split(":")[0].strip()
        sets = overlay.get(section)
        assert key in sets if isinstance(sets, dict) else key in overlay, (old, new)
        if "#" in old:
            assert new.index("#") >= old.index("#") and new.split("#", 1)[1] == old.split("#", 1)[1]
    assert sum("#" in line for line in written) == sum("#" in line for line in template) > 50


def test_an_expansion_does_not_depend_on_what_params_yaml_held(tmp_path):
    # After `facegan preset A`, params.yaml is A's expansion; B over it must not inherit A's values or header.
    direct = _expand("celeba-mini-cpu", tmp_path, out_name="b.yaml").read_text()
    _expand("celeba-gpu", tmp_path, out_name="chained.yaml")
    assert _expand("celeba-mini-cpu", tmp_path, out_name="chained.yaml").read_text() == direct
    assert _expand("celeba-mini-cpu", tmp_path, out_name="chained.yaml").read_text() == direct  # stable in place


def test_no_preset_gives_back_params_yaml(tmp_path):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "nothing.yaml").write_text("seed: 0\n")
    out = tmp_path / "params.yaml"
    expand_preset("nothing", out, tmp_path / "presets")
    assert _body(out) == TEMPLATE.read_text()
