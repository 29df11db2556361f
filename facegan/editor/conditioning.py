"""Attribute vectors and training targets.

A face's attributes are one vector: eyeglasses, smiling (0/1), young and yaw
divided by YAW_SCALE (so all four live on a similar scale). The generator is
conditioned on target - source (STGAN): "change nothing" is the zero vector,
so reconstruction is an easy identity mapping, and an edit says only what to
change.

The young coordinate is continuous where the data knows true ages (the renderer's, 0 young .. 1
old): it is then the youth 1 - age, and an editor trained so (`continuous_age`) edits to any age,
as CAAE conditions on age groups but finer. Elsewhere (CelebA) it is the Young label, 0/1. Either
way young means > 0.5, the line CelebA's label and the renderer's Young draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from facegan.attributes import YOUNG
from facegan.distributed import Shard

BINARY = ("eyeglasses", "smiling", "young")
YAW = "yaw"
NAMES = (*BINARY, YAW)
YAW_SCALE = 45.0  # degrees per unit of the yaw coordinate
YAW_RANGE = 45.0  # training yaw targets are drawn from +-YAW_RANGE degrees
# Share of edits that change one attribute (as synthesis does); the rest change several at once.
SINGLE_EDIT_SHARE = 0.75


def attribute_vectors(attributes: Mapping[str, np.ndarray], continuous_age: bool = False) -> np.ndarray:
    """{eyeglasses, smiling, young: 0/1 or probabilities, yaw: degrees} arrays -> N x 4 float32.
    Judge probabilities become labels, except young's with `continuous_age` (a youth, 1 - age)."""
    missing = [n for n in NAMES if n not in attributes]
    if missing:
        raise ValueError(f"source attributes lack {missing}; give all of {list(NAMES)}")
    columns = [np.asarray(attributes[n], np.float32) for n in BINARY]
    columns = [c.clip(0, 1) if continuous_age and name == YOUNG else (c >= 0.5).astype(np.float32)
               for name, c in zip(BINARY, columns)]
    yaw = np.asarray(attributes[YAW], np.float32) / YAW_SCALE
    return np.column_stack([*columns, yaw]).astype(np.float32)


def set_targets(source: np.ndarray, targets: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """Source vectors with the named attributes replaced (binary 0/1, yaw in degrees)."""
    unknown = set(targets) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown edit target(s) {sorted(unknown)}; choose from {list(NAMES)}")
    out = source.copy()
    for column, name in enumerate(NAMES):
        if name in targets:
            value = np.broadcast_to(np.asarray(targets[name], np.float32), (len(source),))
            out[:, column] = value / YAW_SCALE if name == YAW else value
    return out


def sample_targets(source: torch.Tensor, generator: torch.Generator, part: Shard | None = None,
                   continuous_age: bool = False) -> torch.Tensor:
    """Random edit targets: mostly one attribute changed (binary flipped, yaw redrawn), else several;
    with `continuous_age` a changed youth is redrawn uniformly in [0, 1] (any age, small changes too).
    `source` is `part`'s share of a global batch (all of it by default), drawn for as a whole."""
    part = part or Shard(len(source))
    n, take = part.size, part.take
    flip_all = take(torch.rand(n, len(BINARY), generator=generator)) < 0.5
    change_yaw_all = take(torch.rand(n, generator=generator)) < 0.5
    single = take(torch.randint(0, len(NAMES), (n,), generator=generator))
    is_single = take(torch.rand(n, generator=generator)) < SINGLE_EDIT_SHARE
    one_hot = torch.nn.functional.one_hot(single, len(NAMES)).bool()
    flip = torch.where(is_single[:, None], one_hot[:, :len(BINARY)], flip_all)
    change_yaw = torch.where(is_single, one_hot[:, -1], change_yaw_all)
    new_yaw = (take(torch.rand(n, generator=generator)) * 2 - 1) * (YAW_RANGE / YAW_SCALE)
    target = source.clone()
    target[:, :len(BINARY)] = torch.where(flip, 1 - source[:, :len(BINARY)], source[:, :len(BINARY)])
    target[:, -1] = torch.where(change_yaw, new_yaw, source[:, -1])
    if continuous_age:  # drawn after the rest, so binary-age runs draw what they always drew
        young = BINARY.index(YOUNG)
        new_youth = take(torch.rand(n, generator=generator))
        target[:, young] = torch.where(flip[:, young], new_youth, source[:, young])
    return target
