"""The translator's networks: a pix2pix U-Net generator and a conditional PatchGAN.

U-Net (Isola et al. 2017) at CPU scale: `levels` stride-2 4x4 convolutions
down (BatchNorm + LeakyReLU), nearest upsampling + 3x3 convolutions up
(BatchNorm + ReLU) with skip connections at every level, tanh output in
[-1, 1]. The last upsampling is a sub-pixel convolution instead
(`facegan.subpixel`): no wide full-resolution map, so G trains ~1.5x faster
on CPU. Paired thermal/visible faces are pixel-aligned, so the skips carry
the geometry and the bottleneck only has to learn appearance (skin, hair,
eye colour).

PatchGAN: each logit judges one receptive-field patch of the (input,
output) pair; with three stride-2 layers at 64 px a patch is ~30 px, enough
for local texture without judging whole faces.
"""

from __future__ import annotations

import torch
from torch import nn

from facegan.subpixel import icnr_


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    """pix2pix's encoder block: stride-2 4x4 convolution, BatchNorm (not on the first level), LeakyReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm),
                         nn.BatchNorm2d(cout) if norm else nn.Identity(), nn.LeakyReLU(0.2, inplace=True))


def _up(cin: int, cout: int) -> nn.Sequential:
    """Resize-convolution (Odena et al. 2016): no checkerboard artifacts, unlike transposed convs."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _subpixel_out(cin: int, cout: int) -> nn.Sequential:
    """3x3 convolution to 4 * cout channels at half resolution, pixel shuffle to full, tanh."""
    return nn.Sequential(icnr_(nn.Conv2d(cin, 4 * cout, 3, 1, 1)), nn.PixelShuffle(2), nn.Tanh())


class UNet(nn.Module):
    """(N, 3, S, S) in [-1, 1] -> (N, 3, S, S) in [-1, 1]; S must be divisible by 2**levels."""

    def __init__(self, channels: int = 16, levels: int = 4, max_mult: int = 8):
        super().__init__()
        self.config = {"channels": channels, "levels": levels, "max_mult": max_mult}
        widths = [channels * min(2 ** i, max_mult) for i in range(levels)]
        self.downs = nn.ModuleList(_down(3 if i == 0 else widths[i - 1], w, norm=i > 0) for i, w in enumerate(widths))
        # Up level i takes the level below (plus its skip, except at the bottom) to widths[i - 1].
        self.ups = nn.ModuleList(
            _up(widths[i] * (1 if i == levels - 1 else 2), widths[i - 1]) for i in range(levels - 1, 0, -1))
        self.out = _subpixel_out(widths[0] * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottleneck itself
        for up in self.ups:
            x = torch.cat([up(x), skips.pop()], 1)
        return self.out(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: (N, in_channels, S, S) -> (N, 1, P, P) real/fake logits; conditional (pix2pix) when
    the input is the (thermal, visible) pair stacked on channels."""

    def __init__(self, channels: int = 32, in_channels: int = 6):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            _down(in_channels, c, norm=False), _down(c, 2 * c), _down(2 * c, 4 * c),
            nn.Conv2d(4 * c, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
