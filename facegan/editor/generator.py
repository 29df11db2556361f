"""The editing generator: an encoder-decoder with skip connections (AttGAN/STGAN family).

The condition (target - source attributes, zero = "change nothing") is
injected where edits are decided: the bottleneck and the first, deepest
decoder skip (STGAN's finding: conditioning there, not only at the bottleneck,
is what makes skips compatible with editing). The output is a mask blend
(GANimation): out = m * warped input + (1 - m) * synthesized, so unedited
regions are copied exactly and reconstruction is easy. The input is first
warped by a smooth flow field predicted from the conditioned features
(appearance flow): turning a head mostly moves pixels, and a warp learns that
in far fewer steps than resynthesis does. The full-resolution output is a
sub-pixel convolution (ESPCN) from the last decoder level: no wide feature map
at full resolution, which was 40% of G's time. A fixed low-pass after each
upsampling (`blur`) keeps G from drawing checkerboards.

With `yaw_prior` the warp starts from a head turn's geometry instead of from no
motion: the head as a vertical cylinder (the cylindrical head model of head-pose
tracking, La Cascia et al. 2000) centred on the aligned frame's face, turned by
the condition's yaw change, and the learned flow corrects it. Unpaired training
gives G only D's yaw head to learn a turn from, and in a few hundred steps it
learns to move pixels little: +-20 degree edits were near copies and +-40 ghosts.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facegan.data.alignment import CELEBA_TEMPLATE, FACE_CROP_BOX, NOSE_DEPTH_PER_IOD
from facegan.editor.conditioning import YAW_SCALE
from facegan.subpixel import icnr_


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True))


class Blur(nn.Module):
    """Fixed [1, 2, 1] x [1, 2, 1] low-pass per channel: a stride-2 transposed convolution covers
    output pixels unevenly, and this removes the checkerboard that G otherwise learns to exploit."""

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None] / 16).expand(channels, 1, 3, 3).clone(),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), self.kernel, groups=len(self.kernel))


def _up(cin: int, cout: int, blur: bool) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), *([Blur(cout)] if blur else []),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


# The cylinder in the prepared crop's [-1, 1] coordinates: its axis through the eyes' midpoint, its
# radius the head's half-breadth, ~1.15 inter-ocular distances (anthropometric: head breadth ~2.3 IODs).
_HALF_WIDTH = (FACE_CROP_BOX[2] - FACE_CROP_BOX[0]) / 2
HEAD_AXIS_X = float((CELEBA_TEMPLATE[:2, 0].mean() - FACE_CROP_BOX[0]) / _HALF_WIDTH - 1)
_IOD = float((CELEBA_TEMPLATE[1, 0] - CELEBA_TEMPLATE[0, 0]) / _HALF_WIDTH)
HEAD_RADIUS = 1.15 * _IOD
# The 5 template landmarks on the cylinder as (radius, angle): the nose tip stands NOSE_DEPTH_PER_IOD in front.
_LANDMARK_U = (CELEBA_TEMPLATE[:, 0] - FACE_CROP_BOX[0]) / _HALF_WIDTH - 1 - HEAD_AXIS_X
_LANDMARK_RADIUS = np.where(np.arange(5) == 2, HEAD_RADIUS + NOSE_DEPTH_PER_IOD * _IOD, HEAD_RADIUS)
_LANDMARK_ANGLE = np.arcsin(np.clip(_LANDMARK_U / _LANDMARK_RADIUS, -1, 1))


def _tile(cond: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return cond[:, :, None, None].expand(-1, -1, *like.shape[2:])


def _turned_columns(yaw_change: torch.Tensor, width: int) -> tuple[torch.Tensor, ...]:
    """Per column of a turn by `yaw_change` (N) degrees: u (W, relative to the head's axis), where it
    lies on the turned head before the realignment (N x W) and the angle from which the source saw
    that point of the cylinder (N x W radians; beyond +-pi/2 the source did not see it)."""
    change = torch.deg2rad(yaw_change)[:, None]
    radius = torch.as_tensor(_LANDMARK_RADIUS, dtype=change.dtype, device=change.device)
    angle = torch.as_tensor(_LANDMARK_ANGLE, dtype=change.dtype, device=change.device)
    # the realignment: the mean sideways move of the landmarks (the alignment's translation)
    shift = (radius * (torch.sin(angle + change) - torch.sin(angle))).mean(1, keepdim=True)
    u = (torch.arange(width, device=change.device, dtype=change.dtype) + 0.5) * 2 / width - 1 - HEAD_AXIS_X
    turned = u[None] + shift
    return u, turned, torch.asin((turned / HEAD_RADIUS).clamp(-1, 1)) - change


def hidden_columns(yaw_change: torch.Tensor, width: int, graze: float = 60.0) -> torch.Tensor:
    """N x W bool: the columns of the prior's turn by `yaw_change` degrees that the source barely or
    never showed (the cylinder seen beyond `graze` degrees from the source's view: stretched limb
    pixels) or that lie beyond the cylinder (its fade): what a turn has to draw."""
    _, turned, seen_at = _turned_columns(yaw_change, width)
    return (turned.abs() > HEAD_RADIUS) | (seen_at.abs() > np.deg2rad(graze))


def cylinder_turn(yaw_change: torch.Tensor, width: int, falloff: float = 0.0) -> torch.Tensor:
    """N x W horizontal sampling offsets (in [-1, 1] image coordinates) that turn a head by
    `yaw_change` degrees (positive: the nose towards image right, as facegan.data.alignment reads
    yaw) and align the turned face again as prep does (its 5 landmarks' mean back in place; the
    similarity's scale is left out: it measured worse against the renderer's true turns).

    Turned, a column at u shows the cylinder's surface at angle asin((u + m) / r), which the source
    showed at that angle minus the change; beyond the cylinder the background stays, shifted only by
    the realignment m. A surface point the source did not see (behind its limb) takes the limb's
    pixels: G draws over them.

    At the limb the head turns away and the background does not, so the offset jumps there (2 px
    at 20 degrees, 4.6 at 40, on 64 px faces): a seam through hair that grows past the cylinder.
    `falloff` > 0 carries the limb's offset out over that many head radii, fading to the
    background's, so hair beside the head moves with it and the warp has no seam."""
    u, turned, seen_at = _turned_columns(yaw_change, width)
    on_head = turned.abs() <= HEAD_RADIUS
    source_angle = seen_at.clamp(-torch.pi / 2, torch.pi / 2)
    surface = HEAD_RADIUS * torch.sin(source_angle)  # beyond the cylinder: its limb's
    beyond = turned
    if falloff > 0:
        fade = (1 - (turned.abs() - HEAD_RADIUS) / (falloff * HEAD_RADIUS)).clamp(0, 1)
        beyond = turned + fade * (surface - turned.clamp(-HEAD_RADIUS, HEAD_RADIUS))
    return torch.where(on_head, surface, beyond) - u[None]


def _warp(x: torch.Tensor, flow: torch.Tensor, turn: torch.Tensor | None = None) -> torch.Tensor:
    """Sample x at identity + flow (flow in [-1, 1] image coordinates, bounded by tanh, any resolution),
    plus `turn`'s N x W horizontal offsets where given."""
    flow = F.interpolate(torch.tanh(flow), size=x.shape[2:], mode="bilinear", align_corners=False)
    if turn is not None:
        flow = flow + torch.stack([turn[:, None, :].expand(-1, x.shape[2], -1), torch.zeros_like(flow[:, 1])], 1)
    theta = torch.eye(2, 3, device=x.device, dtype=x.dtype).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False) + flow.permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def prior_turn(x: torch.Tensor, yaw_change: torch.Tensor, falloff: float = 0.0) -> torch.Tensor:
    """Faces x (N x 3 x S x S) turned by the cylinder prior alone, `yaw_change` (N) degrees, no learned flow."""
    return _warp(x, x.new_zeros(len(x), 2, 1, 1), cylinder_turn(yaw_change, x.shape[3], falloff))


class Generator(nn.Module):
    """(N x 3 x S x S in [-1, 1], N x C condition) -> N x 3 x S x S in [-1, 1]."""

    arch = "facegan"  # editor.arch's default

    def __init__(self, cond_dim: int, channels: int = 16, levels: int = 3, res_blocks: int = 1,
                 blur: bool = False, yaw_prior: bool = False, limb_falloff: float = 0.0):
        super().__init__()
        self.config = {"cond_dim": cond_dim, "channels": channels, "levels": levels, "res_blocks": res_blocks,
                       "blur": blur} | ({"yaw_prior": True} if yaw_prior else {}) | (  # older files lack these keys
            {"limb_falloff": limb_falloff} if limb_falloff else {})
        self.yaw_prior, self.limb_falloff = yaw_prior, limb_falloff
        widths = [channels * 2 ** i for i in range(levels)]  # encoder outputs, shallow to deep
        self.encoder = nn.ModuleList(_down(cin, cout, norm=i > 0)
                                     for i, (cin, cout) in enumerate(zip([3, *widths], widths)))
        top = widths[-1]
        self.bottleneck = nn.Sequential(_conv(top + cond_dim, top), *(ResBlock(top) for _ in range(res_blocks)))
        # Decoder level k upsamples to the resolution of encoder output levels-2-k and merges that skip;
        # the first (deepest) merge also sees the condition.
        self.ups, self.merges = nn.ModuleList(), nn.ModuleList()
        for k, skip in enumerate(reversed(widths[:-1])):
            self.ups.append(_up(skip * 2, skip, blur))
            self.merges.append(_conv(2 * skip + (cond_dim if k == 0 else 0), skip))
        self.flow = nn.Conv2d(widths[-2], 2, 3, 1, 1)  # at the first merge's resolution, upsampled
        nn.init.zeros_(self.flow.weight)  # start as the identity warp
        nn.init.zeros_(self.flow.bias)
        # RGB + mask for each of the 2 x 2 output pixels a feature pixel covers (pixel shuffle order:
        # channel c * 4 + sub-pixel), then a low-pass across the sub-pixel seams.
        head = icnr_(nn.Conv2d(channels, 4 * 4, 3, 1, 1))  # G starts without a checkerboard
        nn.init.constant_(head.bias[12:], 1.0)  # mask channel: start closer to copying the input
        self.to_rgb_mask = nn.Sequential(head, nn.PixelShuffle(2), *([Blur(4)] if blur else []))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, with_mask: bool = False):
        """The edit; with `with_mask` also its blend mask (1 = the warped input, 0 = G's drawing)."""
        skips = []
        h = x
        for down in self.encoder:
            h = down(h)
            skips.append(h)
        h = self.bottleneck(torch.cat([h, _tile(cond, h)], 1))
        for k, (up, merge) in enumerate(zip(self.ups, self.merges)):
            h = up(h)
            parts = [h, skips[-2 - k]] + ([_tile(cond, h)] if k == 0 else [])
            h = merge(torch.cat(parts, 1))
            if k == 0:
                # the condition's last coordinate is the yaw change (facegan.editor.conditioning.NAMES)
                turn = (cylinder_turn(cond[:, -1] * YAW_SCALE, x.shape[3], self.limb_falloff) if self.yaw_prior
                        else None)
                warped = _warp(x, self.flow(h), turn)
        out = self.to_rgb_mask(h)
        mask = torch.sigmoid(out[:, 3:])
        edited = mask * warped + (1 - mask) * torch.tanh(out[:, :3])
        return (edited, mask) if with_mask else edited
