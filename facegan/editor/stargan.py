"""StarGAN's generator and discriminator (Choi et al., CVPR 2018, appendix), the baseline of `editor.arch: stargan`.

G: the condition tiled and concatenated to the image; a 7x7 convolution, two stride-2 4x4
down convolutions, six residual blocks, two stride-2 4x4 transposed convolutions (instance
norm + ReLU after each), a 7x7 convolution and tanh. D: a PatchGAN of stride-2 4x4
convolutions with LeakyReLU 0.01, D_src a 3x3 convolution (one critic value per patch), D_cls
a convolution whose kernel covers the whole last map (one logit per attribute).

Scaled from the paper's 128 px, 64-wide nets to fit a CPU at 64 px: G's first width is
`editor.channels` (paper 64; 16 by default), D's `editor.d_channels` (paper 64; 24 by default),
both doubled per stride-2 layer as in the paper; D has as many stride-2 layers as leave a map of
at least 2 x 2 (the paper's 6 at 128 px leave 2 x 2; 5 at 64 px, 4 at 32 px). Kept as published:
the six residual blocks, the kernel sizes and the activations.

Two departures, both to run in this harness: G is given target - source attributes (what
facegan.editor.edit passes every editor), not the target labels; and yaw, a continuous target
here, gets one more output of D_cls that regresses it (like the facegan discriminator's yaw
head), beside the binary attributes' logits. Instance norm does not track running statistics:
train and eval normalize the same way (each image by its own statistics).
"""

from __future__ import annotations

import torch
from torch import nn

from facegan.editor.generator import _tile

RES_BLOCKS = 6
LEAKY_SLOPE = 0.01


def _conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """conv-IN-ReLU-conv-IN plus the input (no activation after the sum, as in the paper's code)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_norm_relu(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), channels),
                                  nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    """(N x 3 x S x S in [-1, 1], N x C condition) -> N x 3 x S x S in [-1, 1]; S a multiple of 4."""

    arch = "stargan"  # what the model file records (facegan.editor.edit)

    def __init__(self, cond_dim: int, channels: int = 16, res_blocks: int = RES_BLOCKS):
        super().__init__()
        self.config = {"cond_dim": cond_dim, "channels": channels, "res_blocks": res_blocks}
        c = channels
        layers = _conv_norm_relu(nn.Conv2d(3 + cond_dim, c, 7, 1, 3, bias=False), c)
        for _ in range(2):
            layers += _conv_norm_relu(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), 2 * c)
            c *= 2
        layers += [ResidualBlock(c) for _ in range(res_blocks)]
        for _ in range(2):
            layers += _conv_norm_relu(nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), c // 2)
            c //= 2
        self.main = nn.Sequential(*layers, nn.Conv2d(c, 3, 7, 1, 3, bias=False), nn.Tanh())

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.main(torch.cat([x, _tile(cond, x)], 1))


def patch_layers(image_size: int) -> int:
    """Stride-2 layers that leave D's last map at least 2 x 2 (and whole)."""
    n, size = 0, image_size
    while size % 2 == 0 and size // 2 >= 2:
        n, size = n + 1, size // 2
    return n


class StarDiscriminator(nn.Module):
    """N x 3 x S x S -> (critic value per patch N x P, attribute logits N x A, yaw in YAW_SCALE units N)."""

    def __init__(self, image_size: int, n_attributes: int, channels: int = 24):
        super().__init__()
        layers, cin = [], 3
        n = patch_layers(image_size)
        for i in range(n):
            cout = channels * 2 ** i
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]
            cin = cout
        self.trunk = nn.Sequential(*layers)
        self.src = nn.Conv2d(cin, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(cin, n_attributes + 1, image_size >> n, bias=False)  # + yaw

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        cls = self.cls(h).flatten(1)
        return self.src(h).flatten(1), cls[:, :-1], cls[:, -1]
