"""Presets: small YAML overlays on the defaults, expanded into a complete params.yaml.

An overlay names only what differs, so it stays valid when a default changes
or a new knob appears; DVC needs every tracked section present, hence the
expansion.

The expansion is params.yaml as `facegan params` writes it (facegan.params_file),
with the overlay's values in place of the defaults: the same comments, key order
and layout, whatever params.yaml held before (nothing is read from it).
"""

from __future__ import annotations

from pathlib import Path

from facegan.config import Params, load_params
from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes
from facegan.params_file import params_text

PRESET_DIR = Path("presets")
HEADER = "# Written by `facegan preset "  # the first line of every expanded file


def expand_preset(name: str, out: Path = Path("params.yaml"), preset_dir: Path = PRESET_DIR) -> Params:
    path = preset_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in preset_dir.glob("*.yaml"))) or "none"
        raise FaceganError(f"{path}: no such preset (known: {known})")
    params = load_params(path)  # validates the overlay; unnamed keys take the defaults
    header = f"{HEADER}{name}` from {path}: the defaults plus that overlay.\n"
    atomic_write_bytes(out, (header + params_text(params)).encode())
    return params
