"""Margin-based softmax heads: ArcFace (additive angular) and CosFace (additive cosine).

Both hold one L2-normalized weight vector per training identity and return
scaled logits for cross-entropy; the margin is applied to the target class
only, which is what pulls same-identity embeddings together on the sphere.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from facegan.train.device import full_precision


class _MarginHead(nn.Module):
    def __init__(self, embedding_dim: int, num_classes: int, scale: float, margin: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_dim))
        nn.init.normal_(self.weight, std=0.01)
        self.scale = scale
        self.margin = margin

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        # fp32 even under autocast (which would run F.linear in bf16 whatever its inputs): the margin
        # arithmetic near cos = +-1 needs it, and scatter needs the target logit's dtype.
        with full_precision(embeddings.device):
            return F.linear(F.normalize(embeddings.float()), F.normalize(self.weight.float()))

    def target_logit(self, cos_target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosine(embeddings)
        target = cos.gather(1, labels[:, None])
        logits = cos.scatter(1, labels[:, None], self.target_logit(target))
        return logits * self.scale


class ArcFace(_MarginHead):
    """cos(theta + m) on the target class (Deng et al. 2019).

    Past theta = pi - m, cos(theta + m) would increase again; there the standard
    insightface fallback cos(theta) - m*sin(m) keeps the logit monotonic
    (`easy_margin` instead applies the margin only where cos(theta) > 0).
    """

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = 32.0, margin: float = 0.5,
                 easy_margin: bool = False):
        super().__init__(embedding_dim, num_classes, scale, margin)
        self.easy_margin = easy_margin
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        self.th = math.cos(math.pi - margin)
        self.mm = math.sin(math.pi - margin) * margin

    def target_logit(self, cos_target: torch.Tensor) -> torch.Tensor:
        sin = torch.sqrt((1.0 - cos_target.square()).clamp_min(1e-7))
        phi = cos_target * self.cos_m - sin * self.sin_m
        if self.easy_margin:
            return torch.where(cos_target > 0, phi, cos_target)
        return torch.where(cos_target > self.th, phi, cos_target - self.mm)


class CosFace(_MarginHead):
    """cos(theta) - m on the target class (Wang et al. 2018)."""

    def target_logit(self, cos_target: torch.Tensor) -> torch.Tensor:
        return cos_target - self.margin


def build_head(kind: str, embedding_dim: int, num_classes: int, scale: float, margin: float) -> _MarginHead:
    heads = {"arcface": ArcFace, "cosface": CosFace}
    if kind not in heads:
        raise ValueError(f"unknown margin head {kind!r}; choose one of {sorted(heads)}")
    return heads[kind](embedding_dim, num_classes, scale=scale, margin=margin)
