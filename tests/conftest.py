import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from facegan.data.alignment import CELEBA_TEMPLATE

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
REPO = Path(__file__).resolve().parents[1]
CELEBA_MINI = Path(os.environ.get("FACEGAN_CELEBA_MINI", REPO.parent / "shared" / "data" / "celeba-mini"))


@pytest.fixture
def celeba_mini() -> Path:
    if not (CELEBA_MINI / "list_attr_celeba.txt").is_file():
        pytest.skip(f"real CelebA sample not found at {CELEBA_MINI}")
    return CELEBA_MINI


def write_celeba_layout(root: Path, identities: int = 6, per_identity: int = 4, seed: int = 0,
                        attributes=("Eyeglasses", "Male", "Smiling", "Young")) -> Path:
    """A small but complete CelebA-layout folder of random-texture JPEGs."""
    rng = np.random.default_rng(seed)
    (root / "img_align_celeba").mkdir(parents=True)
    names, rows = [], []
    for ident in range(1, identities + 1):
        for _ in range(per_identity):
            name = f"{len(names) + 1:06d}.jpg"
            names.append(name)
            pixels = rng.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "img_align_celeba" / name, quality=90)
            rows.append((name, ident, rng.choice([-1, 1], size=len(attributes))))
    n = len(rows)
    lm = " ".join(str(int(round(v))) for v in CELEBA_TEMPLATE.reshape(-1))
    (root / "list_attr_celeba.txt").write_text(
        f"{n}\n{' '.join(attributes)}\n" + "".join(f"{nm} {' '.join(f'{v:2d}' for v in a)}\n" for nm, _, a in rows))
    (root / "identity_CelebA.txt").write_text("".join(f"{nm} {i}\n" for nm, i, _ in rows))
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{nm} {2 if i > identities - 2 else 0}\n" for nm, i, _ in rows))
    (root / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n"
        + "".join(f"{nm} {lm}\n" for nm, _, _ in rows))
    return root


@pytest.fixture
def celeba_layout(tmp_path) -> Path:
    return write_celeba_layout(tmp_path / "celeba")


class Workdir(type(Path())):
    """A project folder to run stages in."""

    def write_params(self, **sections) -> Path:
        path = self / "params.yaml"
        path.write_text(yaml.safe_dump(sections))
        return path


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Workdir:
    work = Workdir(tmp_path / "work")
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory) -> Path:
    """A small rendered synthetic set, prepared at 32 px: a project folder with data/prepared."""
    from facegan.config import parse_params
    from facegan.data.prep import prepare
    from facegan.render.dataset import render_dataset

    work = tmp_path_factory.mktemp("tiny_synthetic")
    raw = work / "data/raw/synthetic"
    # val and test partitions as split.by auto uses them: 3 val, 4 novel and 7 base identities
    render_dataset(raw, n_identities=14, images_per_identity=(10, 12), partition_fractions=(0.2, 0.3), thermal=True,
                   seed=3, workers=1)
    params = parse_params({"data": {"root": str(raw), "image_size": 32, "workers": 1},
                           "split": {"min_images": 4, "novel_fraction": 0.3, "val_fraction": 0.2,
                                     "val_identities": 0.2}})
    prepare(params, work / "data/prepared")
    return work


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared CPU their barriers cost seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SYNTH_SIZE = 32


def recognizer_fork(params, prepared: Path, out: Path) -> Path:
    """The recipe of `params` on `prepared` as train_recognizer runs it, into `out`: the training state it
    writes for train_recognizer_aug to start from (its path)."""
    from facegan.recognition.stage import train_recognizer_stage

    fork = out / "recognizer_fork.pt"
    train_recognizer_stage(params, prepared_dir=prepared, model_path=out / "recognizer.pt",
                           report_path=out / "recognizer.json", live_dir=None, checkpoint_dir=out / "checkpoints",
                           fork_path=fork)
    return fork


def write_models(models) -> None:
    """Untrained models in their saved formats: synthesis's wiring does not need them trained."""
    from facegan.editor.edit import save_editor
    from facegan.editor.generator import Generator
    from facegan.judges.attribute_net import AttributeYawNet
    from facegan.judges.judges import Judges
    from facegan.judges.quality import QualityCritic
    from facegan.recognition.backbone import build_backbone
    from facegan.recognition.embed import save_recognizer

    models.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    save_recognizer(models / "recognizer.pt", build_backbone("iresnet", SYNTH_SIZE, 16, 4), arch="iresnet",
                    image_size=SYNTH_SIZE, embedding_dim=16, width=4, identity_names=[])
    Judges(AttributeYawNet("mobilefacenet", SYNTH_SIZE, ["eyeglasses", "smiling", "young"], 4),
           build_backbone("mobilefacenet", SYNTH_SIZE, 16, 4), 0.9, 1e-3, QualityCritic("iresnet", SYNTH_SIZE, 4),
           0.5, 0.95).save(
        models / "judges.pt", image_size=SYNTH_SIZE, attribute_arch="mobilefacenet", width=4,
        identity_arch="mobilefacenet", identity_width=4, identity_dim=16, quality_arch="iresnet", quality_width=4)
    save_editor(models / "editor.pt", Generator(4, channels=4, levels=2).eval(), SYNTH_SIZE)


@pytest.fixture
def synthesized(tiny_synthetic, tmp_path, monkeypatch):
    """A tiny project after `synthesize` (a colour-inverting stand-in for the translator)."""
    from facegan.config import parse_params
    from facegan.synthesis import stage as synthesis_stage_module

    write_models(tmp_path / "models")
    monkeypatch.setattr(synthesis_stage_module, "_load_translator", lambda path, device: lambda faces: 255 - faces)
    params = parse_params({"synthesis": {"yaw_targets": [-20.0, 20.0], "base_variants_per_image": 2},
                           "lowshot": {"conditioned": 10}})  # every arm, the opt-in ones too
    paths = dict(prepared_dir=tiny_synthetic / "data/prepared", editor_path=tmp_path / "models/editor.pt",
                 translator_path=tmp_path / "models/translator.pt", judges_path=tmp_path / "models/judges.pt",
                 out_dir=tmp_path / "variants", report_path=tmp_path / "reports/synthesis.json")
    report = synthesis_stage_module.synthesize_stage(params, **paths)
    return params, paths, report


