"""Attribute classifier and yaw regressor: one trunk, two heads."""

from __future__ import annotations

import torch
from torch import nn

from facegan.recognition.backbone import build_backbone

YAW_SCALE = 45.0  # degrees; the yaw head predicts yaw / YAW_SCALE


class AttributeYawNet(nn.Module):
    def __init__(self, arch: str, image_size: int, attributes: list[str], width: int, features: int = 128):
        super().__init__()
        self.attributes = list(attributes)
        self.trunk = build_backbone(arch, image_size, embedding_dim=features, width=width, dropout=0.2)
        self.attribute_head = nn.Linear(features, len(self.attributes))
        self.yaw_head = nn.Linear(features, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: N x 3 x S x S in [-1, 1] -> (attribute logits N x A, yaw in degrees N)."""
        h = torch.relu(self.trunk(x))
        return self.attribute_head(h), self.yaw_head(h).squeeze(1) * YAW_SCALE
