"""The quality critic: a no-reference score of how much a face looks like a clean photo of the
training set rather than a bad edit of one (ghosted, doubled edges, smeared, blotched, torn).

A small face trunk (the attribute judge's builder, at a small width) with one logit; the score is
its probability, averaged with the mirrored face's. It is trained apart from the editor's
discriminator (facegan.judges.train_quality), so an editor that fools its own D is still caught.
A face passes when its score is at least the threshold at which `pass_rate` of held-out real
base faces pass.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from facegan.recognition.backbone import build_backbone
from facegan.train.device import full_precision, inference_batch, to_input

class QualityCritic(nn.Module):
    """The face trunk's convolutions, pooled over positions (mean and max), then one logit. Pooled, not
    the embedder's per-position output layer: an artifact may sit anywhere, and the max finds a
    small one."""

    def __init__(self, arch: str, image_size: int, width: int):
        super().__init__()
        body = build_backbone(arch, image_size, width=width)
        self.stem, self.stages = body.stem, body.stages
        self.head = nn.Linear(2 * body.output.bn2.num_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N x 3 x S x S in [-1, 1] -> N logits (high: a clean face)."""
        h = self.stages(self.stem(x))
        return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)).squeeze(1)


@torch.no_grad()
def quality_scores(net: QualityCritic, faces: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Per N x S x S x 3 uint8 face, the critic's probability that it is a clean face, in [0, 1]."""
    device = next(net.parameters()).device
    batch_size = batch_size or inference_batch(device)
    net.eval()
    out = []
    for start in range(0, len(faces), batch_size):
        x = to_input(faces[start:start + batch_size]).to(device)
        with full_precision(device):  # see facegan.judges.judges
            logits = (net(x) + net(x.flip(3))) / 2  # a face and its mirror are alike clean
        out.append(torch.sigmoid(logits).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def pass_threshold(real_scores: np.ndarray, pass_rate: float) -> float:
    """The score at which at least `pass_rate` of these (held-out real) faces pass: one of their scores
    (not interpolated between two, which could let fewer pass)."""
    return float(np.quantile(np.asarray(real_scores, np.float64), 1.0 - pass_rate, method="lower"))
