"""Typed, validated view of params.yaml, loaded once per process.

Every knob of the pipeline lives in params.yaml; an unknown key or an
out-of-range value stops with one line that names the key (pydantic does the
checking, we only shorten its report to that line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

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

    def __getattribute__(self, name: str):
        value = super().__getattribute__(name)
        if _reads is not None and not name.startswith("_") and name in type(self).model_fields:
            if not isinstance(value, Section):  # a section counts by the keys read inside it
                _reads.add(_dotted(self, name))
        return value

    def model_dump(self, **kwargs):
        if _reads is not None:  # all of it is read, e.g. into a fingerprint
            _reads.update(_dotted(self, name) for name in type(self).model_fields)
        return super().model_dump(**kwargs)

    def __eq__(self, other) -> bool:  # the fields only: where a section sits in params.yaml is not its value
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.__dict__.items())))

    def model_copy(self, **kwargs):
        copy = super().model_copy(**kwargs)
        _set_keys(copy, self._key)
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
    source: Literal["synthetic", "celeba", "folder"] = "synthetic"
    root: str = "data/raw/synthetic"
    # Multiple of 16 so encoder-decoders can halve it four times.
    image_size: Annotated[int, Field(ge=32, le=256, multiple_of=16)] = 64
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    # MTCNN face-probability below which a folder-set image counts as "no face".
    min_face_prob: Fraction = 0.9


class SplitParams(Section):
    by: Literal["partition", "random"] = "random"
    novel_fraction: OpenFraction = 0.3
    min_images: Annotated[int, Field(ge=2)] = 8
    # Share of each base identity's images held out to score judges/recognizer.
    val_fraction: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.1
    # Share of identities held out from all training to choose evaluation settings on
    # (split.by partition: CelebA's val partition instead); 0 = none.
    val_identities: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.1


class LowshotParams(Section):
    shots: list[Annotated[int, Field(ge=1, le=50)]] = [1, 5]
    episodes: Annotated[int, Field(ge=1, le=1000)] = 10
    gallery: Literal["neutral", "random"] = "neutral"
    neutral_max_yaw: Annotated[float, Field(gt=0, le=45)] = 10.0
    # Matching rule; auto = chosen on val identities (never on novel ones).
    matcher: Literal["auto", "ncm", "nn", "matched"] = "auto"
    # Bootstrap resamples (identities and episodes) behind every interval.
    resamples: Annotated[int, Field(ge=200, le=100_000)] = 2000

    @model_validator(mode="after")
    def _shots_sorted_unique(self):
        if not self.shots or sorted(set(self.shots)) != self.shots:
            raise ValueError("lowshot.shots must be a non-empty, increasing list")
        return self


class SyntheticParams(Section):
    n_identities: Annotated[int, Field(ge=4, le=100_000)] = 120
    images_per_identity: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(ge=2)]] = (14, 26)
    # (val, test) fractions of identities, as CelebA's list_eval_partition.txt.
    partition_fractions: tuple[Fraction, Fraction] = (0.1, 0.3)
    jpeg_quality: tuple[Annotated[int, Field(ge=30, le=100)], Annotated[int, Field(ge=30, le=100)]] = (75, 95)
    thermal: bool = True
    difficulty: Annotated[float, Field(ge=0.0, le=3.0)] = 1.0
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
    arch: Literal["iresnet", "mobilefacenet"] = "iresnet"
    width: Annotated[int, Field(ge=4, le=256)] = 16  # channels of the first stage; later stages double it
    embedding_dim: Annotated[int, Field(ge=16, le=2048)] = 512
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    head: Literal["arcface", "cosface"] = "arcface"
    margin: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    scale: Annotated[float, Field(gt=0.0, le=128.0)] = 32.0
    # AdamW: from scratch on ~2k faces in ~20 epochs it reaches clearly better novel-identity
    # verification than SGD (which needs many more steps with a margin head).
    optimizer: Literal["sgd", "adamw"] = "adamw"
    lr: Annotated[float, Field(gt=0.0, le=10.0)] = 2e-3
    weight_decay: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    warmup_epochs: Annotated[float, Field(ge=0.0, le=100.0)] = 1.0
    epochs: Annotated[int, Field(ge=1, le=1000)] = 20
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 128
    augment: list[
        Literal["hflip", "brightness_contrast", "affine", "coarse_dropout", "blur_noise"]
    ] = ["hflip", "brightness_contrast", "affine", "coarse_dropout", "blur_noise"]
    num_workers: Annotated[int, Field(ge=0, le=64)] = 0
    checkpoint_every: PositiveInt = 200


class RecognizerAugParams(Section):
    # true: also train on kept thermal->visible translations of base photos
    thermal: bool = False


class JudgesParams(Section):
    extra_attributes: list[str] = []
    attribute_arch: Literal["iresnet", "mobilefacenet"] = "mobilefacenet"
    width: Annotated[int, Field(ge=4, le=256)] = 16
    epochs: Annotated[int, Field(ge=1, le=1000)] = 12
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 64
    lr: Annotated[float, Field(gt=0.0, le=10.0)] = 2e-3
    # The identity judge is the recognizer recipe with another architecture and seed.
    identity_arch: Literal["iresnet", "mobilefacenet"] = "mobilefacenet"
    identity_epochs: Annotated[int, Field(ge=1, le=1000)] = 20
    identity_far: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-3
    # auto: on real photos (celeba, folder) dlib's pretrained face ResNet judges identity
    # when the [judge] extra is installed; trained: always the embedder trained here.
    identity_judge: Literal["auto", "trained"] = "auto"
    checkpoint_every: PositiveInt = 200


class EditorParams(Section):
    adversarial_loss: Literal["nonsaturating", "hinge", "wgan-gp", "lsgan"] = "hinge"
    # Discriminator regularizer: R1 on real faces, or WGAN-GP's penalty on interpolates (required by wgan-gp).
    penalty: Literal["r1", "gp"] = "r1"
    penalty_weight: Annotated[float, Field(ge=0.0)] = 1.0
    penalty_every: Annotated[int, Field(ge=1, le=1000)] = 4  # lazy regularization (StyleGAN2): cheaper steps
    # Weight of D's heads learning that G's edits show the *source* attributes: a pattern that fooled
    # them once stops working, so G has to draw the attribute (realistic edits still read as the target).
    heads_on_edits: Annotated[float, Field(ge=0.0)] = 0.5
    steps: Annotated[int, Field(ge=1, le=10_000_000)] = 600
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 32
    lr_g: Annotated[float, Field(gt=0.0, le=1.0)] = 5e-4
    lr_d: Annotated[float, Field(gt=0.0, le=1.0)] = 5e-4
    channels: Annotated[int, Field(ge=4, le=256)] = 16  # generator's first level; doubled per level
    levels: Annotated[int, Field(ge=2, le=5)] = 3  # generator down/up levels (image_size / 2**levels >= 4)
    res_blocks: Annotated[int, Field(ge=0, le=8)] = 1  # residual blocks in the generator's bottleneck
    blur: bool = True  # low-pass after each of G's upsamplings (no checkerboards)
    d_channels: Annotated[int, Field(ge=4, le=256)] = 24
    lambda_rec: Annotated[float, Field(ge=0.0)] = 10.0
    # Share of each batch that G also reconstructs (target = source) per step. The copy path makes
    # reconstruction easy to learn, and half the batch keeps its loss while G runs on 1.5x, not 2x.
    recon_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    lambda_attr: Annotated[float, Field(ge=0.0)] = 10.0
    lambda_yaw: Annotated[float, Field(ge=0.0)] = 10.0
    lambda_id: Annotated[float, Field(ge=0.0)] = 2.0
    # The first steps (of `steps`, at most half of them) train only D's attribute and yaw heads, on real
    # faces (cheap steps): G's first edits then chase attributes D already knows.
    heads_pretrain_steps: Annotated[int, Field(ge=0)] = 100
    # Adversarial and attribute terms ramp up over these steps: reconstruction first.
    warmup_steps: Annotated[int, Field(ge=0)] = 50
    ema_decay: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.99
    instance_noise: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2  # std of Gaussian noise on D's input
    noise_decay: Fraction = 1.0  # share of the steps over which the noise decays linearly to 0
    label_smoothing: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.1  # one-sided
    # DiffAugment ops on every D input, real and fake: D's heads must read attributes, not pixel patterns.
    # (translation: D's smile head learns far slower at 64 px; off by default.)
    augment: list[Literal["translation", "cutout"]] = ["cutout"]
    log_every: PositiveInt = 25  # steps between logged losses
    monitor_every: PositiveInt = 200  # steps between judged edit success and a sample grid
    # Keep the EMA generator of the monitor step (or the last step) whose edits the judges would
    # most often keep on held-out base faces; GAN training on a small set can drift past its best.
    select_best: bool = True
    checkpoint_every: PositiveInt = 200

    @model_validator(mode="after")
    def _wgan_needs_gp(self):
        if self.adversarial_loss == "wgan-gp" and self.penalty != "gp":
            raise ValueError("editor.adversarial_loss wgan-gp needs editor.penalty: gp")
        return self


class ThermalParams(Section):
    # Where the thermal (LWIR) twins of the photos come from. auto: the renderer's twins for
    # data.source synthetic, the landmark-driven simulator for real photos; paired: the user's
    # aligned pairs under `root` (visible/<id>/<n>.png + thermal/<id>/<n>.png); none: no thermal rows.
    source: Literal["auto", "synthetic", "simulated", "paired", "none"] = "auto"
    root: str = "data/raw/thermal"


class TranslatorParams(Section):
    steps: Annotated[int, Field(ge=1, le=10_000_000)] = 800
    batch_size: Annotated[int, Field(ge=2, le=4096)] = 16
    lr_g: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-3
    lr_d: Annotated[float, Field(gt=0.0, le=1.0)] = 2e-4
    lr_decay_start: Fraction = 0.5  # share of the steps after which both rates decay linearly to 0
    lambda_l1: Annotated[float, Field(ge=0.0)] = 100.0
    lambda_id: Annotated[float, Field(ge=0.0)] = 10.0
    lambda_cycle: Annotated[float, Field(ge=0.0)] = 0.0  # > 0: CycleGAN (second generator, cycle L1)
    channels: Annotated[int, Field(ge=4, le=256)] = 16  # U-Net width at the first level; doubled per level (up to 8x)
    levels: Annotated[int, Field(ge=2, le=7)] = 4  # U-Net down/up levels (image_size / 2**levels >= 2)
    d_channels: Annotated[int, Field(ge=4, le=256)] = 16  # PatchGAN width at the first level
    log_every: PositiveInt = 25  # steps between logged losses
    monitor_every: PositiveInt = 200  # steps between sample grids (dvclive)
    checkpoint_every: PositiveInt = 200


class SynthesisParams(Section):
    yaw_targets: list[Annotated[float, Field(ge=-60, le=60)]] = [-40.0, -20.0, 20.0, 40.0]
    attributes: list[Literal["eyeglasses", "smiling", "young"]] = ["eyeglasses", "smiling", "young"]
    base_variants_per_image: Annotated[int, Field(ge=0, le=32)] = 2


class Params(Section):
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    data: DataParams = DataParams()
    split: SplitParams = SplitParams()
    lowshot: LowshotParams = LowshotParams()
    synthetic: SyntheticParams = SyntheticParams()
    recognizer: RecognizerParams = RecognizerParams()
    recognizer_aug: RecognizerAugParams = RecognizerAugParams()
    judges: JudgesParams = JudgesParams()
    editor: EditorParams = EditorParams()
    translator: TranslatorParams = TranslatorParams()
    thermal: ThermalParams = ThermalParams()
    synthesis: SynthesisParams = SynthesisParams()

    @model_validator(mode="after")
    def _independent_identity_judge(self):
        if self.judges.identity_arch == self.recognizer.arch:
            raise ValueError("judges.identity_arch must differ from recognizer.arch: the identity judge "
                             "must be an independent model")
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
