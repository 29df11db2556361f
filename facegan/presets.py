"""Presets: small YAML overlays on the defaults, expanded into a complete params.yaml.

An overlay names only what differs, so it stays valid when a default changes
or a new knob appears; DVC needs every tracked section present, hence the
expansion.

The expansion is written into the repository's params.yaml as a template
(round-tripped with ruamel.yaml), so its comments, key order and layout
survive. Every value is set from the validated defaults-plus-overlay, so a
params.yaml that an earlier preset (or a hand edit) wrote serves as well as
the committed one: only its comments are read, never its values. That is why
there is no second, pristine copy of params.yaml to keep in step with it.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from facegan.config import Params, load_params
from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes

PRESET_DIR = Path("presets")
HEADER = "# Written by `facegan preset "  # the first line of every expanded file


def expand_preset(name: str, out: Path = Path("params.yaml"), preset_dir: Path = PRESET_DIR,
                  template: Path = Path("params.yaml")) -> Params:
    path = preset_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in preset_dir.glob("*.yaml"))) or "none"
        raise FaceganError(f"{path}: no such preset (known: {known})")
    params = load_params(path)  # validates the overlay; unnamed keys take the defaults
    rt = YAML()
    doc = _load_template(rt, template)
    _set_values(doc, params.model_dump(mode="json"))
    buf = io.StringIO()
    rt.dump(doc, buf)
    header = f"{HEADER}{name}` from {path}: the defaults plus that overlay.\n"
    atomic_write_bytes(out, (header + buf.getvalue()).encode())
    return params


def _load_template(rt: YAML, template: Path) -> CommentedMap:
    if not template.is_file():
        return CommentedMap()  # nothing to take comments from: the values alone
    text = template.read_text()
    if text.startswith(HEADER):  # an earlier expansion: its header names the wrong preset
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        doc = rt.load(text)
    except YAMLError as err:
        raise FaceganError(f"{template}: not valid YAML ({err.__class__.__name__}); fix it or "
                           f"`git checkout {template}`") from None
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise FaceganError(f"{template}: expected a mapping of sections; `git checkout {template}`")
    return doc


def _set_values(node: CommentedMap, values: dict) -> None:
    """Make `node` hold exactly `values`, touching only what differs (so the comments stay)."""
    for key in [k for k in node if k not in values]:
        del node[key]  # not a knob (any more): the output must validate
    for key, value in values.items():
        old = node.get(key)
        if isinstance(value, dict):
            if not isinstance(old, CommentedMap):
                node[key] = old = CommentedMap()
            _set_values(old, value)
        elif isinstance(value, list):
            if isinstance(old, CommentedSeq):
                if list(old) != value:
                    old[:] = value  # in place: keeps its flow style and its comment
            else:
                seq = CommentedSeq(value)
                seq.fa.set_flow_style()  # like the template's lists
                node[key] = seq
        elif key not in node or not _same(old, value):
            node[key] = value  # replacing a value keeps the key's end-of-line comment


def _same(old, value) -> bool:
    # An equal value keeps the template's spelling (1.0 stays 1.0); True == 1 must not pass.
    return old == value and isinstance(old, bool) == isinstance(value, bool)
