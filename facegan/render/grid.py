"""Figure: each identity under each attribute, same nuisances along a row."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facegan.render.face import identity_assets
from facegan.render.identity import sample_identity
from facegan.render.image_state import sample_image_state
from facegan.render.renderer import OUT_H, OUT_W, render

COLUMNS = ("neutral", "eyeglasses", "smiling", "old", "yaw -40", "yaw +40", "thermal")
HEADER = 16


def _variants(base):
    return {
        "neutral": base,
        "eyeglasses": dataclasses.replace(base, eyeglasses=True),
        "smiling": dataclasses.replace(base, smiling=True, smile=1.0, mouth_open=5.0),
        "old": dataclasses.replace(base, age=0.92),
        "yaw -40": dataclasses.replace(base, yaw_deg=-40.0),
        "yaw +40": dataclasses.replace(base, yaw_deg=40.0),
    }


def save_render_grid(path: Path, *, n_identities: int = 6, seed: int = 0) -> None:
    """PNG grid: rows = identities, columns = neutral, each attribute, thermal."""
    sheet = Image.new("RGB", (OUT_W * len(COLUMNS), HEADER + OUT_H * n_identities), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(COLUMNS):
        draw.text((c * OUT_W + 4, 2), name, fill="black")
    for r in range(n_identities):
        ident = sample_identity(seed, r + 1)
        assets = identity_assets(ident)
        base = sample_image_state(ident, np.random.default_rng([seed, 9, r]), neutral=True)
        for c, (name, st) in enumerate(_variants(base).items()):
            out = render(ident, assets, st, np.random.default_rng([seed, 9, r, 1]), thermal=name == "neutral")
            sheet.paste(Image.fromarray(out.rgb), (c * OUT_W, HEADER + r * OUT_H))
            if name == "neutral":
                sheet.paste(Image.fromarray(out.thermal).convert("RGB"),
                            ((len(COLUMNS) - 1) * OUT_W, HEADER + r * OUT_H))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
