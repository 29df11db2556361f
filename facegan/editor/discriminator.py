"""The discriminator: one convolutional trunk, three heads (real/fake, attributes, yaw).

The attribute and yaw heads learn the labels of real faces (and, with a
smaller weight, that G's edits keep their source attributes) and tell the
generator whether its edit reached the target (AttGAN's classifier sharing
D's trunk). No normalization layers: R1 / gradient penalties are per-sample
and BatchNorm would couple samples.
"""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
    """N x 3 x S x S -> (adversarial logit N, attribute logits N x A, yaw in YAW_SCALE units N)."""

    def __init__(self, image_size: int, n_attributes: int, channels: int = 16, levels: int = 4, hidden: int = 128):
        super().__init__()
        layers, cin = [], 3
        for i in range(levels):
            cout = channels * 2 ** i
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        features = cin * (image_size // 2 ** levels) ** 2

        def head(out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(features, hidden), nn.LeakyReLU(0.2, inplace=True), nn.Linear(hidden, out))

        self.adversarial, self.attributes, self.yaw = head(1), head(n_attributes), head(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.adversarial(h).squeeze(1), self.attributes(h), self.yaw(h).squeeze(1)
