"""StarGAN's training step (Choi et al., CVPR 2018), `editor.arch: stargan`: the paper's losses and
settings in this project's harness (batches, EMA, monitoring, selection, checkpoints:
facegan.editor.trainer.EditorTrainer).

Every step D learns WGAN-GP real vs fake (lambda_gp 10) and the attributes of real faces (lambda_cls
1); every N_CRITIC-th step G also learns to fool D, to make D_cls read the target attributes on
its edit (lambda_cls 1) and to reconstruct the input from its edit given the way back (cycle L1,
lambda_rec 10). Adam at 1e-4, betas (0.5, 0.999). `editor.steps` counts D's steps, as the
paper's iterations do.

As the harness has it, not the paper: targets are facegan.editor.conditioning.sample_targets'
(mostly one attribute changed, as the evaluation's edits are) rather than another face's labels;
yaw is regressed by D_cls's extra output (smooth L1 in YAW_SCALE units, beside the binary
attributes' BCE, each term summed over the attributes as the paper's code does); the sampled
generator is the EMA copy; no learning-rate decay (the paper decays over its last 100k of 200k
iterations, far past a CPU budget). No DiffAugment, instance noise, identity loss or warm-up:
those are facegan's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facegan import distributed
from facegan.config import EditorParams
from facegan.editor.conditioning import BINARY, NAMES, sample_targets
from facegan.editor.ema import update_ema
from facegan.editor.stargan import StarDiscriminator, StarGenerator
from facegan.editor.trainer import EditorTrainer, heads_loss
from facegan.gan.losses import d_adversarial, g_adversarial, gradient_penalty

N_CRITIC = 5
LAMBDA_GP = 10.0
LAMBDA_CLS = 1.0
LAMBDA_REC = 10.0
LR = 1e-4
WGAN = "wgan-gp"


def classification_loss(attr_logits: torch.Tensor, yaw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE summed over the binary attributes (mean over faces, as the paper's code) plus yaw's regression."""
    attributes, turn = heads_loss(attr_logits, yaw, target)
    return len(BINARY) * attributes + turn


class StarGANTrainer(EditorTrainer):
    arch = "stargan"
    shown = ("g/reconstruction", "d/classification")
    betas = (0.5, 0.999)

    @staticmethod
    def build(p: EditorParams, image_size: int) -> tuple[StarGenerator, StarDiscriminator]:
        return StarGenerator(len(NAMES), p.channels), StarDiscriminator(image_size, len(BINARY), p.d_channels)

    def learning_rates(self) -> tuple[float, float]:
        return LR, LR

    def step_on(self, x: torch.Tensor, source: torch.Tensor, rng: torch.Generator, part: distributed.Shard,
                step: int) -> dict[str, float]:
        target = sample_targets(source.cpu(), rng, part, self.continuous_age).to(self.device)
        cond = target - source
        g_turn = (step + 1) % N_CRITIC == 0  # as the paper's code: G after each N_CRITIC-th D step
        with torch.set_grad_enabled(g_turn):  # G's turn reuses this edit; otherwise D needs no graph of G
            fake = self.g(x, cond)

        self.d.requires_grad_(True)
        real_src, real_attr, real_yaw = self.d(x)
        fake_src, _, _ = self.d(fake.detach())
        d_adv = d_adversarial(WGAN, real_src, fake_src)
        d_cls = classification_loss(real_attr, real_yaw, source)
        gp = gradient_penalty(lambda t: self.d(t)[0], x, fake.detach(), rng, part)
        self.update(d_adv + LAMBDA_CLS * d_cls + LAMBDA_GP * gp, self.opt_d, self.d.parameters())
        losses = {"d/adversarial": d_adv.item(), "d/classification": d_cls.item(), "d/gradient_penalty": gp.item()}
        if not g_turn:
            return losses

        self.d.requires_grad_(False)
        fake_src, fake_attr, fake_yaw = self.d(fake)
        g_adv = g_adversarial(WGAN, fake_src)
        g_cls = classification_loss(fake_attr, fake_yaw, target)
        g_rec = F.l1_loss(self.g(fake, -cond), x)  # back to the source: the condition undone
        self.update(g_adv + LAMBDA_CLS * g_cls + LAMBDA_REC * g_rec, self.opt_g, self.g.parameters())
        update_ema(self.ema, self.g, self.p.ema_decay, step // N_CRITIC)
        return losses | {"g/adversarial": g_adv.item(), "g/classification": g_cls.item(),
                         "g/reconstruction": g_rec.item()}
