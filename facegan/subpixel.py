"""Sub-pixel convolution (ESPCN, Shi et al. 2016): the last upsampling of the editor and the translator.

A convolution at half resolution makes scale^2 channels per output channel and a pixel shuffle
spreads them over the scale x scale output pixels, so no wide feature map exists at full
resolution. ICNR initialization (Aitken et al. 2017) makes the sub-pixels of each output
channel start equal: the layer begins as a nearest-neighbour upsampling, without a checkerboard.
"""

from __future__ import annotations

import torch
from torch import nn


def icnr_(conv: nn.Conv2d, scale: int = 2) -> nn.Conv2d:
    """Give the `scale`^2 sub-pixels of each output channel (pixel shuffle order: channel c *
    scale^2 + sub-pixel) the weights and bias of the first, in place."""
    group = scale * scale
    with torch.no_grad():
        conv.weight.copy_(conv.weight[::group].repeat_interleave(group, 0))
        if conv.bias is not None:
            conv.bias.copy_(conv.bias[::group].repeat_interleave(group, 0))
    return conv
