"""Typed, validated view of params.yaml, loaded once per process.

Every knob of the pipeline lives in params.yaml; an unknown key or an
out-of-range value stops with one line that names the key (pydantic does the
checking, we only shorten its report to that line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from facegan.errors import FaceganError

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]


# Dotted keys of params.yaml read since `record_reads()` (None: not recording). Tests compare them
# with each stage's `params:` in dvc.yaml: a key read but not declared would not rerun the stage.
_reads: set[str] | None = None


def record_reads() -> set[str]:
    """Start recording which params keys are read; returns the live set."""
    global _reads
    _reads = set()
    return _reads


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    _key: str = PrivateAttr("")  # this section's dotted key in params.yaml ("" at the top)
    _given: frozenset = PrivateAttr(frozenset())  # fields a model_copy(update=) set: not read from params

    def __getattribute__(self, name: str):
        value = super().__getattribute__(name)
        if _reads is not None and not name.startswith("_") and name in type(self).model_fields:
            if not isinstance(value, Section) and name not in self._given:  # a section counts by the keys read inside it
                _reads.add(_dotted(self, name))
        return value

    def model_dump(self, **kwargs):
        if _reads is not None:  # all of it is read, e.g. into a fingerprint, but for the fields it excludes
            excluded = kwargs.get("exclude") or ()
            _reads.update(_dotted(self, name) for name in type(self).model_fields
                          if name not in excluded and name not in self._given)
        return super().model_dump(**kwargs)

    def __eq__(self, other) -> bool:  # the fields only: where a section sits in params.yaml is not its value
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.__dict__.items())))

    def model_copy(self, **kwargs):
        copy = super().model_copy(**kwargs)
        _set_keys(copy, self._key)
        # e.g. the identity judge's copy of the recognizer recipe: the keys it sets are not read
        copy.__pydantic_private__["_given"] = self._given | frozenset(kwargs.get("update") or ())
        return copy


def _dotted(section: Section, name: str) -> str:
    prefix = object.__getattribute__(section, "__pydantic_private__")["_key"]
    return f"{prefix}.{name}" if prefix else name


def _set_keys(section: Section, key: str) -> None:
    section.__pydantic_private__["_key"] = key
    for name in type(section).model_fields:
        child = object.__getattribute__(section, "__dict__")[name]
        if isinstance(child, Section):
            _set_keys(child, f"{key}.{name}" if key else name)


class DataParams(Section):
    source: Literal["synthetic", "celeba", "folder"] = Field("synthetic", description="synthetic | celeba | folder")
    root: str = Field(
        "data/raw/synthetic", description="CelebA layout (synthetic, celeba) or identity folders (folder)")
    # Multiple of 16 so encoder-decoders can halve it four times.
    image_size: Annotated[int, Field(ge=32, le=256, multiple_of=16)] = Field(
        64, description="prepared face crops are image_size x image_size (32..256, multiple of 16)")
    workers: Annotated[int, Field(ge=1, le=64)] = Field(2, description="decoding processes")
    min_face_prob: Fraction = Field(0.9, description="folder sets: MTCNN confidence below this = no face")


class SplitParams(Section):
    by: Literal["auto", "partition", "random"] = Field(
        "auto", description="partition (CelebA test identities -> novel, val -> val) | random | auto: partition "
                            "for the synthetic set (its train people photographed in the wild, val and test to an "
                            "evaluation protocol), else random")
    novel_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.43, description="random: share of eligible identities held out as novel; "
                          "0 when novel identities come from novel.root")
    min_images: Annotated[int, Field(ge=2)] = Field(
        8, description="random: identities with fewer images always stay base")
    # The held-out images score the judges and the recognizer.
    val_fraction: Annotated[float, Field(ge=0.0, lt=0.5)] = Field(
        0.1, description="share of each base identity's images held out for scoring")
    val_identities: Annotated[float, Field(ge=0.0, lt=0.5)] = Field(
        0.1, description="share of identities held out from all training to choose evaluation settings on "
                         "(the matcher); partition: CelebA's val partition; 0 = none")


class NovelParams(Section):
    # Base models (recognizer, judges, editor, translator) train on `data`; low-shot evaluation
    # enrolls and probes these people, whose photos need no attribute labels.
    source: Literal["same", "folder", "celeba"] = Field(
        "same", description="same (novel identities split off data) | folder (identity folders, MTCNN-aligned) | "
                            "celeba (a CelebA-layout set); conditions of unlabelled photos are read by the judges")
    # DVC tracks novel.root as prep's dependency, so it must name a path even when unused: the
    # default is the rendered set's folder, which the render stage always writes.
    root: str = Field("data/raw/synthetic", description="folder or celeba: where the novel identities' photos are "
                                                        "(unused with same)")
    min_images: Annotated[int, Field(ge=2)] = Field(
        2, description="a novel identity needs this many usable photos (one to enroll, the rest are probes)")


class ThermalParams(Section):
    source: Literal["auto", "synthetic", "simulated", "paired", "none"] = Field(
        "auto", description="auto | synthetic | simulated | paired | none (auto: the renderer's twins for "
                            "data.source synthetic, the landmark-driven simulator for real photos)")
    root: str = Field("data/raw/thermal", description="paired: visible/<id>/<n>.png + thermal/<id>/<n>.png")


class LowshotParams(Section):
    shots: list[Annotated[int, Field(ge=1, le=50)]] = Field(
        [1, 5], description="enrollment photos per novel identity")
    episodes: Annotated[int, Field(ge=1, le=1000)] = Field(10, description="gallery draws, for means and 95% CIs")
    gallery: Literal["neutral", "random"] = Field(
        "neutral", description="neutral (no glasses/smile, young, frontal) | random")
    neutral_max_yaw: Annotated[float, Field(gt=0, le=45)] = Field(
        10.0, description="degrees: |yaw| below this counts as frontal")
    # auto is chosen on val identities, never on novel ones.
    matcher: Literal["auto", "ncm", "nn", "matched", "hull"] = Field(
        "auto", description="ncm (class mean) | nn (nearest enrolled image) | matched (enrolled images nearest "
                            "the probe's judged attributes and yaw) | hull (class mean, less the distance to the "
                            "affine hull of the enrolled images) | auto: chosen on val identities")
    resamples: Annotated[int, Field(ge=200, le=100_000)] = Field(
        2000, description="bootstrap resamples over novel identities and episodes, for every interval")
    # Chosen on val identities (session 44, k = 1 gan_probe: replaced -0.017, 0.5 +0.002, 0.25 +0.005;
    # k = 5 -0.014, +0.005, +0.005): an edit that loses the person then takes half the probe, not all of it.
    probe_weight: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="a probe edited back to the enrollment condition (gan_probe, gan_both; oracle_probe's "
                         "true version alike) is matched as the mean of its own embedding and its edit's, the "
                         "edit weighted so; 1 = the edit replaces the probe")
    # Off by default: ~17,000 edits and as many true renders (+3.5 min of repro) for little more room
    # than the fixed plan's once conditions are quantized (val identities: the truth adds +0.064 against
    # +0.055; README, `lowshot.conditioned`).
    # A count, not a switch, so that synthesize and render_oracle need not read `episodes`: changing it
    # reruns evaluate alone (the first N draws are the same for any number of draws).
    conditioned: Annotated[int, Field(ge=0, le=1000)] = Field(
        0, description="k = 1 episodes whose gallery photos are edited into each probe's judged condition, for "
                       "the arms gan_cond / oracle_cond; 0 = off; else at least lowshot.episodes")

    @model_validator(mode="after")
    def _shots_sorted_unique(self):
        if not self.shots or sorted(set(self.shots)) != self.shots:
            raise ValueError("lowshot.shots must be a non-empty, increasing list")
        if 0 < self.conditioned < self.episodes:
            raise ValueError(f"lowshot.conditioned ({self.conditioned}) covers fewer episodes than lowshot.episodes "
                             f"({self.episodes}); set it to 0 (off) or at least {self.episodes}")
        return self


class SyntheticParams(Section):
    n_identities: Annotated[int, Field(ge=4, le=100_000)] = 240
    images_per_identity: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(ge=2)]] = (10, 19)
    partition_fractions: tuple[Fraction, Fraction] = Field(
        (0.15, 0.43), description="(val, test) share of identities, like CelebA's partitions (the default "
                                  "run: 36 val, 103 novel); train people are photographed in the wild, val and "
                                  "test ones to an evaluation protocol")
    jpeg_quality: tuple[Annotated[int, Field(ge=30, le=100)], Annotated[int, Field(ge=30, le=100)]] = (75, 95)
    thermal: bool = Field(True, description="also render an aligned LWIR twin of every photo")
    difficulty: Annotated[float, Field(ge=0.0, le=3.0)] = Field(
        1.0, description="scales attribute and nuisance strength")
    workers: Annotated[int, Field(ge=1, le=64)] = 2

    @model_validator(mode="after")
    def _ranges_ordered(self):
        for name in ("images_per_identity", "jpeg_quality"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"synthetic.{name} must be [low, high] with low <= high")
        if sum(self.partition_fractions) >= 1.0:
            raise ValueError("synthetic.partition_fractions (val, test) must sum to less than 1")
        return self


class RecognizerParams(Section):
    arch: Literal["iresnet", "mobilefacenet"] = Field("iresnet", description="iresnet | mobilefacenet")
    width: Annotated[int, Field(ge=4, le=256)] = Field(
        16, description="first-stage channels (doubled per stage, up to 8x)")
    embedding_dim: Annotated[int, Field(ge=16, le=2048)] = 512
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, description="before the embedding FC")
    # 0.65 (40 px at 64), not 0.75 or 1: on the world of hair, beards and exposure that change within a
    # person, 72 val identities (bench/world_calibration.py, split.val_identities 0.3), neutral k=1 top-1
    # 0.746 at 0.75 and 0.791 at 0.65, old probes 0.495 and 0.545, TAR@1e-3 0.257 and 0.243; 0.6 rounds
    # to the same 40 px. (On the earlier world, 24 val identities: 0.920 at 1, 0.956 at 0.75.) The
    # real-face presets keep 0.75, the crop their figures were measured with.
    crop: Annotated[float, Field(ge=0.5, le=1.0)] = Field(
        0.65, description="share of the face crop's side it sees, centred on the inner face (0.75: forehead to "
        "below the chin, like insightface's alignment; 0.65: brows to chin; a smaller, faster net), rounded to 8 px; "
        "1 = all of it")
    head: Literal["arcface", "cosface"] = Field("arcface", description="arcface | cosface")
    margin: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    scale: Annotated[float, Field(gt=0.0, le=128.0)] = 32.0
    # AdamW: SGD with a margin head from scratch needs far more steps than a CPU run has (ArcFace's
    # recipe runs ~20 epochs over millions of faces). The choice predates base-val measurement and
    # was not re-measured there; compare them with bench/world_calibration.py, never on novel faces.
    optimizer: Literal["sgd", "adamw"] = Field("adamw", description="adamw | sgd (momentum 0.9, Nesterov)")
    lr: Annotated[float, Field(gt=0.0, le=10.0)] = Field(2e-3, description="peak, after warmup (use ~0.1 with sgd)")
    weight_decay: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.05, description="not applied to BN/PReLU/bias (use ~5e-4 with sgd)")
    warmup_epochs: Annotated[float, Field(ge=0.0, le=100.0)] = Field(
        1.0, description="linear warmup, then cosine decay to 0")
    # 60: on 72 val identities of the default world (bench/world_calibration.py, split.val_identities
    # 0.3, crop 0.65 + white_balance) neutral k=1 top-1 0.805 at 30 epochs, 0.852 at 45, 0.871 at 60;
    # posed 0.419 / 0.492 / 0.552; TAR@1e-3 0.249 / 0.302 / 0.327; ~50 s more a training. (Earlier, 30
    # not 20: 0.816 -> 0.883 on 100 val identities of a calibration world.)
    epochs: Annotated[int, Field(ge=1, le=1000)] = 60
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 128
    # white_balance (colour temperature and gamma, as photos vary): on the same 72 val identities,
    # neutral 0.791 -> 0.805 at crop 0.65 and 0.746 -> 0.752 at 0.75; TAR@1e-3 +0.006 and +0.013.
    augment: list[
        Literal["hflip", "brightness_contrast", "white_balance", "affine", "coarse_dropout", "blur_noise"]
    ] = ["hflip", "brightness_contrast", "white_balance", "affine", "coarse_dropout", "blur_noise"]
    num_workers: Annotated[int, Field(ge=0, le=64)] = Field(
        0, description="DataLoader workers; 0 = augment in the training process")
    checkpoint_every: PositiveInt = Field(200, description="steps")
    # 0.1, chosen on val identities of two data sets by the matcher's rule (the gan arm's visible top-1
    # averaged over k = 1 and 5), each against raw embeddings: the default synthetic run (36 val
    # identities) +0.060 at 0.03, +0.058 at 0.1, +0.049 at 0.3, +0.037 at 1; celeba-mini-cpu (20 val
    # identities) +0.004, +0.011, +0.014, +0.016. 0.1 has the best mean of the two.
    wccn: Annotated[float, Field(ge=0.0, le=100.0)] = Field(
        0.1, description="the embeddings are whitened by the within-class covariance of the training photos (WCCN), "
        "shrunk towards the identity by this share of its mean eigenvalue; 0 = no whitening")
    # The keys above train the pipeline's own recognizer, which the editor's and translator's identity
    # losses need (differentiable); `source` picks only what low-shot evaluation and enroll/identify
    # embed with, so that they measure what the variants add to the recognizer the user deploys.
    source: Literal["trained", "dlib", "torchscript"] = Field(
        "trained", description="what low-shot evaluation and enroll/identify embed with: trained (by the keys "
        "above) | dlib (pretrained, [judge] extra) | torchscript (yours); the keys above still train the GANs' own")
    torchscript: str = Field(
        "", validate_default=True,
        description="source torchscript: your embedder's file (N x 3 x S x S floats in, N x D out)")
    torchscript_input_size: Annotated[int, Field(ge=16, le=1024)] = Field(
        112, description="the side S it takes; aligned crops are resized to it")
    torchscript_mean: Annotated[list[float], Field(min_length=3, max_length=3)] = Field(
        [0.5, 0.5, 0.5], description="per channel, subtracted from 0..1 pixels (its channel order)")
    torchscript_std: Annotated[list[Annotated[float, Field(gt=0.0)]], Field(min_length=3, max_length=3)] = Field(
        [0.5, 0.5, 0.5], description="per channel, divides after the mean (its channel order)")
    torchscript_channels: Literal["rgb", "bgr"] = Field(
        "rgb", description="the channel order it takes: rgb | bgr")

    @classmethod
    def evaluation_only(cls) -> set[str]:
        """The keys that pick what evaluation embeds with and train nothing: `source` and its torchscript keys."""
        return {"source"} | {name for name in cls.model_fields if name.startswith("torchscript")}

    @field_validator("torchscript")
    @classmethod
    def _torchscript_needs_a_path(cls, path: str, info: ValidationInfo) -> str:
        if info.data.get("source") == "torchscript" and not path.strip():
            raise ValueError("recognizer.source torchscript needs the path of your TorchScript embedder here")
        return path


class RecognizerAugParams(Section):
    fork: float = Field(0.5, gt=0.0, le=1.0, description=(
        "share of the recognizer's steps retrained with the variants, from its state after the others "
        "(weights, optimizer, schedule): the two differ only by the variants; 1 = from scratch"))
    thermal: bool = Field(False, description="true: also train on kept thermal->visible translations of base photos")


class JudgesParams(Section):
    extra_attributes: list[str] = Field(
        [], description="more CelebA attributes (lower-case) for the attribute judge")
    attribute_arch: Literal["iresnet", "mobilefacenet"] = Field(
        "mobilefacenet", description="attribute classifier + yaw regressor trunk")
    width: Annotated[int, Field(ge=4, le=256)] = 16
    # Attribute judge. 24 epochs, chosen on base-val faces of the default synthetic run (youth regressed, in
    # a study without side weights): youth MAE 0.124 against 0.137 at 12, smiling accuracy 0.967 against
    # 0.927, yaw MAE 2.2 against 2.7 degrees; 36 gain little more (0.121) for another 25 s on 2 cores.
    epochs: Annotated[int, Field(ge=1, le=1000)] = 24
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 64
    lr: Annotated[float, Field(gt=0.0, le=10.0)] = 2e-3
    # The identity judge is the recognizer recipe with another architecture and seed.
    identity_arch: Literal["iresnet", "mobilefacenet"] = Field(
        "mobilefacenet", description="identity judge: must differ from recognizer.arch")
    identity_epochs: Annotated[int, Field(ge=1, le=1000)] = 20
    identity_far: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        1e-3, description="identity threshold is set at this false-accept rate on held-out base pairs")
    # auto: on real photos (celeba, folder) dlib's pretrained face ResNet judges identity
    # when the [judge] extra is installed; trained: always the embedder trained here.
    identity_judge: Literal["auto", "trained"] = Field(
        "auto", description="auto: dlib's pretrained ResNet on real photos when [judge] is installed | trained")
    # The quality critic: real base faces against degraded copies (ghosts, doubled edges, smears,
    # blotches, warps, colour fringes); synthesis keeps only variants it passes.
    quality_arch: Literal["iresnet", "mobilefacenet"] = Field(
        "iresnet", description="quality critic trunk (pooled, one logit)")
    quality_width: Annotated[int, Field(ge=4, le=256)] = Field(8, description="quality critic width")
    quality_epochs: Annotated[int, Field(ge=1, le=1000)] = Field(
        5, description="quality critic: epochs over base training faces (each beside a degraded copy)")
    quality_pass: OpenFraction = Field(
        0.95, description="quality threshold: this share of held-out real base faces passes")
    checkpoint_every: PositiveInt = Field(200, description="steps")


class EditorParams(Section):
    # stargan is a baseline for comparison (bench/editor_race.py), not a second recipe to tune.
    arch: Literal["facegan", "stargan"] = Field(
        "facegan", description="facegan | stargan (the baseline of Choi et al. 2018: its nets and losses; reads only "
                               "steps, batch_size, channels, d_channels, ema_decay and the logging, monitoring "
                               "and selection keys)")
    adversarial_loss: Literal["nonsaturating", "hinge", "wgan-gp", "lsgan"] = Field(
        "hinge", description="nonsaturating | hinge | wgan-gp | lsgan")
    penalty: Literal["r1", "gp"] = Field("r1", description="r1 (on real faces) | gp (WGAN-GP; required by wgan-gp)")
    penalty_weight: Annotated[float, Field(ge=0.0)] = Field(1.0, description="R1 gamma / GP lambda")
    # Lazy regularization (StyleGAN2) makes most steps cheaper.
    penalty_every: Annotated[int, Field(ge=1, le=1000)] = Field(
        4, description="lazy regularization: penalty every k D steps, weighted by k")
    # A pattern that fooled D's heads once stops working, so G has to draw the attribute
    # (realistic edits still read as the target).
    heads_on_edits: Annotated[float, Field(ge=0.0)] = Field(
        0.5, description="weight of D's heads learning that edits keep the source attributes")
    steps: Annotated[int, Field(ge=1, le=10_000_000)] = 600
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 32
    lr_g: Annotated[float, Field(gt=0.0, le=1.0)] = 5e-4
    lr_d: Annotated[float, Field(gt=0.0, le=1.0)] = 5e-4
    channels: Annotated[int, Field(ge=4, le=256)] = Field(
        16, description="generator width at the first level, doubled per level")
    # image_size / 2**levels must stay >= 4.
    levels: Annotated[int, Field(ge=2, le=5)] = Field(3, description="generator down/up levels")
    res_blocks: Annotated[int, Field(ge=0, le=8)] = Field(1, description="residual blocks at the bottleneck")
    blur: bool = Field(True, description="[1,2,1] low-pass after G's upsamplings (against checkerboards)")
    yaw_prior: bool = Field(True, description="G's warp starts from a cylinder head model turned by the yaw change "
                                               "(the learned flow corrects it)")
    limb_falloff: Annotated[float, Field(ge=0.0, le=2.0)] = Field(
        0.5, description="with yaw_prior: head radii beyond the cylinder over which its turn fades to the "
                         "background's (0: a seam at the limb)")
    d_channels: Annotated[int, Field(ge=4, le=256)] = Field(24, description="discriminator width at the first level")
    lambda_rec: Annotated[float, Field(ge=0.0)] = Field(10.0, description="L1 reconstruction when target = source")
    # The copy path makes reconstruction easy to learn, and half the batch keeps its loss while
    # G runs on 1.5x, not 2x.
    recon_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="share of each batch G also reconstructs per step")
    lambda_attr: Annotated[float, Field(ge=0.0)] = Field(10.0, description="D's attribute head on edits")
    lambda_yaw: Annotated[float, Field(ge=0.0)] = Field(10.0, description="D's yaw head on edits")
    lambda_id: Annotated[float, Field(ge=0.0)] = Field(
        2.0, description="cosine distance of recognizer embeddings, edit vs source")
    # A half-transparent blend of the warped input and G's drawing is a ghost (two faces at once).
    lambda_mask: Annotated[float, Field(ge=0.0)] = Field(
        0.0, description="penalty on partial blend masks of edits, 4 m (1 - m): each pixel copied or drawn")
    # Reconstruction at a zero change lets G draw a generic mouth, eyes or cheek for every edit: the
    # way back (StarGAN's cycle) needs the person's own details kept through the edit.
    lambda_cycle: Annotated[float, Field(ge=0.0)] = Field(
        0.0, description="L1 of G(G(x, c), -c) to x: an edit must keep what undoing it needs")
    # Unpaired, G learns a turn only from D's yaw head, and paints the side of the head the warp cannot show as
    # a smear. A face turned away by the prior and back again has lost that side, and the photo itself is the
    # target: pixel supervision for the drawing a turn needs (Rotate-and-Render, Zhou et al. 2020).
    round_trip: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.5, description="share of each batch G also turns back from a round trip: the face turned away (to a yaw "
                         "drawn in +-45 degrees; by round_trip_away), the photo itself the target")
    # The prior's warp alone reads as under half its turn (bench/yaw_cues.py), so a round trip from it taught G
    # that a yaw change of b asks for less than b of apparent turn (edits read 14 degrees for 20); turned away
    # by G's own (EMA) edit it does not. Chosen on base-val over three seeds (bench/README.md): judged yaw
    # success 0.852 -> 0.942, yaw truth SSIM 0.618 -> 0.635, both up in every seed.
    round_trip_away: Literal["prior", "editor"] = Field(
        "editor", description="what turns a round trip's face away: the yaw prior's warp | the EMA editor's edit")
    # Cheap steps: G's first edits then chase attributes D already knows.
    heads_pretrain_steps: Annotated[int, Field(ge=0)] = Field(
        100, description="first steps (at most half) train only D's attribute/yaw heads on real faces")
    # Reconstruction first.
    warmup_steps: Annotated[int, Field(ge=0)] = Field(
        50, description="adversarial/attribute terms ramp up over these steps")
    ema_decay: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.99, description="EMA generator (sampling); ramps up from 0")
    instance_noise: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.2, description="std of Gaussian noise on D's input, decays to 0")
    noise_decay: Fraction = Field(1.0, description="share of the steps over which it decays")
    label_smoothing: Annotated[float, Field(ge=0.0, lt=0.5)] = Field(0.1, description="one-sided")
    # D's heads must read attributes, not pixel patterns. Translation is off by default: with it
    # D's smile head learns far slower at 64 px.
    augment: list[Literal["translation", "cutout"]] = Field(
        ["cutout"], description="DiffAugment ops on all of D's inputs (real and fake): cutout | translation")
    log_every: PositiveInt = Field(25, description="steps between logged losses")
    monitor_every: PositiveInt = Field(
        200, description="steps between judged edit success + sample grid (dvclive)")
    # Judged on held-out base faces: GAN training on a small set can drift past its best.
    select_best: bool = Field(
        True, description="keep the monitored EMA generator whose edits the judges would keep most often")
    checkpoint_every: PositiveInt = 200

    @model_validator(mode="after")
    def _wgan_needs_gp(self):
        if self.adversarial_loss == "wgan-gp" and self.penalty != "gp":
            raise ValueError("editor.adversarial_loss wgan-gp needs editor.penalty: gp")
        if self.round_trip > 0 and self.round_trip_away == "prior" and not self.yaw_prior:
            raise ValueError("editor.round_trip_away prior turns faces by the yaw prior: set editor.yaw_prior: true, "
                             "round_trip_away: editor or round_trip: 0")
        return self


class TranslatorParams(Section):
    steps: Annotated[int, Field(ge=1, le=10_000_000)] = 800
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 16
    lr_g: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-3
    lr_d: Annotated[float, Field(gt=0.0, le=1.0)] = 2e-4
    lr_decay_start: Fraction = Field(
        0.5, description="share of the steps after which both rates decay linearly to 0")
    lambda_l1: Annotated[float, Field(ge=0.0)] = Field(100.0, description="L1 to the visible twin")
    lambda_id: Annotated[float, Field(ge=0.0)] = Field(
        10.0, description="cosine distance of recognizer embeddings, translation vs visible twin")
    lambda_cycle: Annotated[float, Field(ge=0.0)] = Field(
        0.0, description="> 0: CycleGAN (visible->thermal generator, cycle L1; for unpaired data)")
    channels: Annotated[int, Field(ge=4, le=256)] = Field(
        16, description="U-Net width at the first level, doubled per level (up to 8x)")
    # image_size / 2**levels must stay >= 2.
    levels: Annotated[int, Field(ge=2, le=7)] = Field(4, description="U-Net down/up levels")
    d_channels: Annotated[int, Field(ge=4, le=256)] = Field(16, description="PatchGAN width at the first level")
    log_every: PositiveInt = Field(25, description="steps between logged losses")
    monitor_every: PositiveInt = Field(200, description="steps between sample grids (dvclive)")
    checkpoint_every: PositiveInt = 200


class SynthesisParams(Section):
    attributes: list[Literal["eyeglasses", "smiling", "young"]] = ["eyeglasses", "smiling", "young"]
    yaw_targets: list[Annotated[float, Field(ge=-60, le=60)]] = [-40.0, -20.0, 20.0, 40.0]
    base_variants_per_image: Annotated[int, Field(ge=0, le=32)] = 2


class Params(Section):
    """facegan parameters: every knob, grouped by stage. Validated at load: an
    unknown key or an out-of-range value stops the stage with one line naming it.
    Defaults run the whole pipeline on the built-in synthetic faces on a CPU.
    """

    # The docstring is params.yaml's header, line for line, and the fields' order its order
    # (facegan.params_file writes it from this model).
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    data: DataParams = DataParams()
    split: SplitParams = SplitParams()
    novel: NovelParams = Field(NovelParams(), description="the identities low-shot evaluation enrolls and probes")
    thermal: ThermalParams = Field(ThermalParams(), description="thermal (LWIR) twins of the photos")
    lowshot: LowshotParams = LowshotParams()
    synthetic: SyntheticParams = Field(SyntheticParams(), description="the built-in renderer (stage render)")
    recognizer: RecognizerParams = RecognizerParams()
    recognizer_aug: RecognizerAugParams = Field(
        RecognizerAugParams(),
        description="stage train_recognizer_aug: the recognizer recipe on base photos plus kept variants")
    judges: JudgesParams = JudgesParams()
    editor: EditorParams = EditorParams()
    translator: TranslatorParams = Field(
        TranslatorParams(), description="thermal -> visible (TV-GAN: pix2pix U-Net + PatchGAN)")
    synthesis: SynthesisParams = SynthesisParams()

    @property
    def split_by(self) -> str:
        """split.by with auto resolved: the synthetic set's own partitions when its novel identities
        come from it (the renderer draws train and test people differently), else random."""
        if self.split.by != "auto":
            return self.split.by
        return "partition" if self.data.source == "synthetic" and self.novel.source == "same" else "random"

    @model_validator(mode="after")
    def _one_source_of_novel_identities(self):
        if self.novel.source == "same":
            if self.split.novel_fraction == 0:
                raise ValueError("split.novel_fraction 0 leaves no novel identities; raise it, or set novel.source "
                                 "(folder | celeba) and novel.root to evaluate on another set")
        else:
            if self.split.novel_fraction != 0 and self.split_by == "random":
                raise ValueError(f"split.novel_fraction must be 0 with novel.source {self.novel.source}: novel "
                                 "identities then come from novel.root and every identity of data trains")
        return self

    @model_validator(mode="after")
    def _independent_identity_judge(self):
        if self.judges.identity_arch == self.recognizer.arch:
            raise ValueError("judges.identity_arch must differ from recognizer.arch: the identity judge "
                             "must be an independent model")
        # auto judges identity with dlib on real photos: required to be trained even on synthetic
        # data, so that switching data.source later cannot make the judge and the recognizer one model.
        if self.recognizer.source == "dlib" and self.judges.identity_judge != "trained":
            raise ValueError("recognizer.source dlib needs judges.identity_judge: trained (auto judges identity "
                             "with dlib too; the identity judge must be a different model from the recognizer)")
        return self


def _first_error_line(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown parameter '{key}'; remove it or check its spelling"
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"{source}: parameter '{key}' is invalid: {msg}{shown}"


def parse_params(raw: dict | None, source: str = "params.yaml") -> Params:
    """Validate a params mapping; raise FaceganError with one line naming the key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FaceganError(f"{source}: expected a mapping of parameter sections at the top level")
    try:
        params = Params.model_validate(raw)
    except ValidationError as err:
        raise FaceganError(_first_error_line(err, source)) from None
    _set_keys(params, "")
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"{path}: params file not found; run from the repository root")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise FaceganError(f"{path}: not valid YAML ({err.__class__.__name__}); fix the syntax") from None
    return parse_params(raw, str(path))
