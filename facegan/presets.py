"""Presets: small YAML overlays on the defaults, expanded into a complete params.yaml.

An overlay names only what differs, so it stays valid when a default changes
or a new knob appears; DVC needs every tracked section present, hence the
expansion.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from facegan.config import Params, load_params
from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes

PRESET_DIR = Path("presets")


def expand_preset(name: str, out: Path = Path("params.yaml"), preset_dir: Path = PRESET_DIR) -> Params:
    path = preset_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in preset_dir.glob("*.yaml"))) or "none"
        raise FaceganError(f"{path}: no such preset (known: {known})")
    params = load_params(path)  # validates the overlay; unnamed keys take the defaults
    header = f"# Written by `facegan preset {name}` from {path}: the defaults plus that overlay.\n"
    body = yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False, default_flow_style=None)
    atomic_write_bytes(out, (header + body).encode())
    return params


