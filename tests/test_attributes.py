import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facegan.attributes import REGRESSION_WEIGHT, attribute_loss


def test_attribute_loss_is_bce_where_nothing_is_regressed():
    torch.manual_seed(0)
    logits, labels, weight = torch.randn(8, 3), torch.rand(8, 3), torch.rand(8, 3) + 0.5
    loss = attribute_loss(logits, labels, torch.zeros(3, dtype=torch.bool), weight)
    assert loss.item() == pytest.approx(F.binary_cross_entropy_with_logits(logits, labels, weight=weight).item())


def test_a_regressed_attribute_is_least_where_the_probability_is_its_target():
    """Planted: the regressed column reads its soft targets exactly, the other column does too. L1 is then 0 for
    the regressed one, while BCE on a soft target is still its entropy there, and its gradient pulls the
    probability towards the target from both sides."""
    labels = torch.tensor([[0.0, 0.2], [1.0, 0.7], [1.0, 0.4]])
    logits = torch.logit(labels.clamp(1e-4, 1 - 1e-4)).requires_grad_(True)
    regressed = torch.tensor([False, True])
    loss = attribute_loss(logits, labels, regressed)
    bce_alone = F.binary_cross_entropy_with_logits(logits[:, :1], labels[:, :1])
    assert loss.item() == pytest.approx(bce_alone.item(), abs=1e-6)
    assert F.binary_cross_entropy_with_logits(logits[:, 1:], labels[:, 1:]).item() > 0.5  # what BCE would add

    off = logits.detach().clone()
    off[:, 1] += torch.tensor([1.0, -1.0, 1.0])  # read older, younger, older than the targets
    off.requires_grad_(True)
    attribute_loss(off, labels, regressed).backward()
    p = torch.sigmoid(off[:, 1].detach())
    expected = REGRESSION_WEIGHT * torch.sign(p - labels[:, 1]) * p * (1 - p) / 3  # d(mean |p - t|)/d logit
    assert np.allclose(off.grad[:, 1].numpy(), expected.numpy(), atol=1e-6)
