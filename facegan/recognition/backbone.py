"""Compact face-embedding backbones sized to the prepared image size.

Input convention for every backbone: float NCHW RGB in [-1, 1] (what the GANs
produce, so their identity loss can feed generated images directly; uint8
faces go through `to_input`). Output: the raw embedding; callers L2-normalize.

Two architectures, so a judge can be a genuinely different embedder:
- `iresnet`: insightface's IResNet basic blocks (BN-conv-BN-PReLU-conv-BN,
  downsampling in the second conv), one block per stage to stay fast on CPU.
- `mobilefacenet`: MobileFaceNet-style inverted residuals with depthwise convs.
Both end in insightface's "OutputLayer": BN -> dropout -> flatten -> FC -> BN.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("iresnet", "mobilefacenet")
# The backbones halve the input until its side is in 4..7 (64 -> 4, 112 -> 7 as
# insightface): small enough for a cheap FC neck, large enough to keep the
# spatial layout of a face, which the FC (unlike global pooling) exploits.
MIN_SIDE = 4
# Where a tight crop is centred, as a share of the prepared face's height: between the eyes-mouth
# midpoint (0.54 of a CelebA-aligned crop, FACE_CROP_BOX) and the chin, so that a 0.75 crop runs
# from the brows' top to below the chin, like insightface's 112 x 112 alignment.
CROP_CENTRE_Y = 0.56


def crop_box(image_size: int, crop: float) -> tuple[int, int, int]:
    """(top, left, side) of the centred tight crop the recognizer sees; side a multiple of 8 (its
    input halves down to MIN_SIDE..7)."""
    if crop >= 1.0:
        return 0, 0, image_size
    side = max(2 * MIN_SIDE, int(round(crop * image_size / 8)) * 8)
    top = int(round(min(max(CROP_CENTRE_Y * image_size - side / 2, 0), image_size - side)))
    return top, (image_size - side) // 2, side


def _num_downsamples(image_size: int) -> int:
    if image_size < 2 * MIN_SIDE:
        raise ValueError(f"image_size must be at least {2 * MIN_SIDE}, got {image_size}")
    return int(np.log2(image_size / MIN_SIDE))


def _final_side(image_size: int) -> int:
    side = image_size
    for _ in range(_num_downsamples(image_size)):
        side = (side + 1) // 2  # a stride-2 3x3 conv with padding 1
    return side


class OutputLayer(nn.Module):
    """BN-neck embedding (insightface IResNet's output): BN2d -> dropout -> FC -> BN1d."""

    def __init__(self, channels: int, side: int, embedding_dim: int, dropout: float):
        super().__init__()
        self.bn2 = nn.BatchNorm2d(channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels * side * side, embedding_dim)
        self.features = nn.BatchNorm1d(embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.bn2(x).flatten(1))
        return self.features(self.fc(x))


class _StridedPointwiseConv(nn.Conv2d):
    """A strided 1x1 conv that, on CPU with under 8 input channels, subsamples and runs it at stride 1.

    The same arithmetic, but it avoids oneDNN's weight-gradient kernel for a strided 1x1 conv on a
    channels_last input with fewer than 8 channels, which writes past its buffer in torch 2.14.1 (heap
    corruption: "double free or corruption", exit 134). Wider convs (any width >= 8) keep the stock path.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels >= 8 or x.device.type != "cpu":
            return super().forward(x)
        sh, sw = self.stride
        return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias, groups=self.groups)


def _conv_bn_act(cin: int, cout: int, k: int, stride: int, groups: int = 1, act: bool = True) -> nn.Sequential:
    conv = _StridedPointwiseConv if k == 1 and stride > 1 else nn.Conv2d
    layers = [conv(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.PReLU(cout))
    return nn.Sequential(*layers)


class IBasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout
                         else _conv_bn_act(cin, cout, 1, stride, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class InvertedResidual(nn.Module):
    """MobileFaceNet bottleneck: 1x1 expand -> 3x3 depthwise -> 1x1 linear project."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int = 2):
        super().__init__()
        mid = cin * expansion
        self.body = nn.Sequential(
            _conv_bn_act(cin, mid, 1, 1),
            _conv_bn_act(mid, mid, 3, stride, groups=mid),
            _conv_bn_act(mid, cout, 1, 1, act=False),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class Embedder(nn.Module):
    def __init__(self, stem: nn.Module, stages: nn.Module, channels: int, side: int, embedding_dim: int,
                 dropout: float, crop: tuple[int, int, int] | None = None):
        super().__init__()
        self.crop = crop  # (top, left, side) of the input it looks at; None = all of it
        self.stem = stem
        self.stages = stages
        self.output = OutputLayer(channels, side, embedding_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.crop is not None:
            top, left, side = self.crop
            x = x[:, :, top:top + side, left:left + side]
        return self.output(self.stages(self.stem(x)))


def _iresnet(downsamples: int, width: int) -> tuple[nn.Module, nn.Module, int]:
    # The stem takes the first downsample: full-resolution 3x3 convs dominate CPU time.
    stem = _conv_bn_act(3, width, 3, 2)
    blocks, cin = [], width
    for i in range(1, downsamples):
        cout = width * 2 ** min(i, 3)
        blocks.append(IBasicBlock(cin, cout, stride=2))
        cin = cout
    blocks.append(IBasicBlock(cin, cin, stride=1))  # one more block at the final side
    return stem, nn.Sequential(*blocks), cin


def _mobilefacenet(downsamples: int, width: int) -> tuple[nn.Module, nn.Module, int]:
    stem = nn.Sequential(_conv_bn_act(3, width, 3, 2), _conv_bn_act(width, width, 3, 1, groups=width))
    blocks, cin = [], width
    for i in range(1, downsamples):
        cout = width * 2 ** min(i, 3)
        blocks += [InvertedResidual(cin, cout, stride=2), InvertedResidual(cout, cout, stride=1)]
        cin = cout
    blocks.append(_conv_bn_act(cin, cin * 2, 1, 1))  # MobileFaceNet's wide 1x1 before the neck
    return stem, nn.Sequential(*blocks), cin * 2


def build_backbone(arch: str, image_size: int, embedding_dim: int = 512, width: int = 32,
                   dropout: float = 0.0, crop: float = 1.0) -> Embedder:
    """A face embedder for `image_size` x `image_size` inputs that looks at the centred share
    `crop` of their side (crop_box); a tighter crop is also a smaller, faster net."""
    builders = {"iresnet": _iresnet, "mobilefacenet": _mobilefacenet}
    if arch not in builders:
        raise ValueError(f"unknown backbone arch {arch!r}; choose one of {ARCHS}")
    top, left, side = crop_box(image_size, crop)
    stem, stages, channels = builders[arch](_num_downsamples(side), width)
    return Embedder(stem, stages, channels, _final_side(side), embedding_dim, dropout,
                    None if side == image_size else (top, left, side))
