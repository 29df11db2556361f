"""The thermal -> visible translator: models, exact resume, public API, evaluation, stage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from facegan.config import LowshotParams, TranslatorParams, parse_params
from facegan.errors import FaceganError
from facegan.recognition.backbone import build_backbone
from facegan.recognition.embed import save_recognizer
from facegan.translator.evaluate import episode_top1, image_quality
from facegan.translator import models as models_module
from facegan.translator.models import PatchDiscriminator, UNet
from facegan.translator.stage import train_translator_stage
from facegan.translator.train import PairedFaces, TranslatorTrainer, check_levels, train_translator
from facegan.translator.translate import load_translator, save_translator, translate_faces

SIZE = 32
TINY = dict(channels=4, levels=2, d_channels=4, batch_size=4, steps=6, log_every=2, monitor_every=3,
            checkpoint_every=2)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_pairs(n: int = 12, seed: int = 0) -> PairedFaces:
    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 256, size=(2 * n, SIZE, SIZE, 3), dtype=np.uint8)
    return PairedFaces(faces, np.arange(n), np.arange(n, 2 * n))


def tiny_recognizer() -> torch.nn.Module:
    torch.manual_seed(1)
    return build_backbone("iresnet", SIZE, embedding_dim=16, width=4).eval()


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_models_have_the_expected_shapes():
    g = UNet(channels=4, levels=3)
    x = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert PatchDiscriminator(4, 6)(torch.cat([x, y], 1)).shape == (2, 1, SIZE // 8, SIZE // 8)
    with pytest.raises(ValueError, match="translator.levels"):
        check_levels(5, SIZE)


def train_tiny(tmp_path, name: str, max_steps=None, live=None, monitor=None, **overrides):
    return train_translator(TranslatorParams(**(TINY | overrides)), tiny_pairs(), tiny_recognizer(), seed=0,
                            image_size=SIZE, checkpoint_dir=tmp_path / name, live=live, monitor=monitor,
                            max_steps=max_steps, device=torch.device("cpu"))


@pytest.mark.parametrize("cycle", [0.0, 10.0], ids=["pix2pix", "cyclegan"])
def test_resume_after_a_kill_gives_bit_identical_weights(tmp_path, cycle):
    whole = train_tiny(tmp_path, "whole", lambda_cycle=cycle)
    train_tiny(tmp_path, "killed", max_steps=3, lambda_cycle=cycle)
    state = torch.load(tmp_path / "killed/last.pt", weights_only=True)
    assert state["step"] == 3 and {"g", "d", "opt_g", "opt_d", "rng"} <= set(state)
    assert ("g_back" in state) == (cycle > 0)
    resumed = train_tiny(tmp_path, "killed", lambda_cycle=cycle)
    assert resumed.steps == whole.steps == 6
    assert same_weights(resumed.generator.state_dict(), whole.generator.state_dict())
    final = torch.load(tmp_path / "killed/last.pt", weights_only=True)
    reference = torch.load(tmp_path / "whole/last.pt", weights_only=True)
    for net in ("d", "g_back", "d_back") if cycle else ("d",):
        assert same_weights(final[net], reference[net])


def test_a_checkpoint_of_other_params_is_set_aside(tmp_path):
    train_tiny(tmp_path, "run", max_steps=2)
    result = train_tiny(tmp_path, "run", max_steps=2, lambda_id=1.0)
    assert result.steps == 2 and (tmp_path / "run/stale.pt").is_file()


@pytest.mark.bad_input
def test_a_checkpoint_of_a_network_built_differently_is_set_aside(tmp_path, monkeypatch):
    """Same params, other code (an upgrade changed a layer): the old checkpoint must not be loaded."""
    train_tiny(tmp_path, "run", max_steps=2)
    monkeypatch.setattr(models_module, "_subpixel_out", lambda cin, cout: torch.nn.Sequential(
        torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(cin, cout, 3, 1, 1), torch.nn.Tanh()))
    result = train_tiny(tmp_path, "run", max_steps=2)
    assert result.steps == 2 and (tmp_path / "run/stale.pt").is_file()


def test_learning_rates_decay_linearly_to_zero():
    trainer = TranslatorTrainer(TranslatorParams(**TINY | {"steps": 10, "lr_decay_start": 0.5}), tiny_pairs(),
                                tiny_recognizer(), 0, SIZE, torch.device("cpu"))
    rates = []
    for step in (0, 5, 6, 9, 10):
        trainer.step = step
        trainer._set_learning_rates()
        rates.append(trainer.opt_g.param_groups[0]["lr"] / trainer.p.lr_g)
    assert rates == pytest.approx([1.0, 1.0, 0.8, 0.2, 0.0])


def test_training_lowers_the_l1_to_the_twin(tmp_path):
    """On a learnable toy mapping (visible = inverted thermal, smooth images) a few dozen steps must help."""
    rng = np.random.default_rng(0)
    noise = torch.from_numpy(rng.uniform(0, 255, size=(16, 1, SIZE // 8, SIZE // 8)).astype(np.float32))
    smooth = torch.nn.functional.interpolate(noise, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    thermal = smooth.round().byte().permute(0, 2, 3, 1).numpy().repeat(3, axis=3)
    faces = np.concatenate([thermal, 255 - thermal])
    pairs = PairedFaces(faces, np.arange(16), np.arange(16, 32))
    before = np.abs(translate_faces(UNet(4, 2), thermal).astype(float) - faces[16:]).mean()
    result = train_translator(TranslatorParams(**TINY | {"steps": 60, "lr_g": 5e-3, "lambda_id": 0.0}), pairs,
                              tiny_recognizer(), seed=0, image_size=SIZE, checkpoint_dir=tmp_path / "c")
    after = np.abs(translate_faces(result.generator, thermal).astype(float) - faces[16:]).mean()
    assert after < 0.5 * before


def test_dvclive_gets_losses_and_sample_grids(tmp_path):
    from dvclive import Live

    live = lambda resume: Live(str(tmp_path / "live"), resume=resume, dvcyaml=False, save_dvc_exp=False)
    train_tiny(tmp_path, "ckpt", live=live, monitor=lambda g: Image.new("RGB", (8, 8)))
    plots = tmp_path / "live/plots"
    assert (plots / "metrics/train/g/l1.tsv").read_text().count("\n") == 4  # header + steps 2, 4, 6
    assert (plots / "metrics/train/g/identity.tsv").is_file()
    assert sorted(p.name for p in (plots / "images/samples").iterdir()) == ["step_000003.png", "step_000006.png"]


def test_translate_faces_is_batched_and_survives_save_and_load(tmp_path):
    torch.manual_seed(0)
    g = UNet(4, 2).eval()
    faces = tiny_pairs().faces[:5]
    whole = translate_faces(g, faces)
    assert whole.shape == faces.shape and whole.dtype == np.uint8
    np.testing.assert_array_equal(whole, translate_faces(g, faces, batch_size=2))
    save_translator(tmp_path / "translator.pt", g, SIZE, "synthetic")
    loaded = load_translator(tmp_path / "translator.pt")
    assert not loaded.training and loaded.image_size == SIZE and loaded.thermal_source == "synthetic"
    np.testing.assert_array_equal(whole, translate_faces(loaded, faces))
    with pytest.raises(FaceganError, match="train_translator"):
        load_translator(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="uint8"):
        translate_faces(g, faces.astype(np.float32))


def toy_novel_index(n_ids: int = 4, per_id: int = 3) -> pd.DataFrame:
    """Visible rows 0..V-1 and their thermal twins V..2V-1, all novel, all neutral."""
    ids = np.repeat(np.arange(n_ids), per_id)
    v = len(ids)
    rows = pd.DataFrame({"identity": np.tile(ids, 2), "domain": ["visible"] * v + ["thermal"] * v,
                         "pair": np.r_[np.arange(v, 2 * v), np.arange(v)], "eyeglasses": 0, "smiling": 0,
                         "young": 1, "yaw": 0.0})
    return rows


def test_thermal_probes_are_scored_against_the_visible_gallery():
    index = toy_novel_index()
    one_hot = np.eye(4, dtype=np.float32)[index["identity"]]
    wrong = np.eye(4, dtype=np.float32)[(index["identity"] + 1) % 4]
    top1 = episode_top1(index, {"visible": one_hot, "good": one_hot, "bad": wrong}, 1,
                        LowshotParams(episodes=3), seed=0)
    assert top1["good"]["mean"] == 1.0 and top1["bad"]["mean"] == 0.0
    # probes: each identity's 3 thermal photos minus the gallery photo's twin
    assert top1["n_probes_per_episode"] == 4 * 2


def test_image_quality_uses_the_library_metrics():
    faces = tiny_pairs().faces[:4]
    same = image_quality(faces, faces)
    assert same["ssim"] == pytest.approx(1.0) and same["psnr"] > 60
    other = image_quality(faces, 255 - faces)
    assert other["ssim"] < 0.5 and other["psnr"] < 10


def write_untrained_recognizer(path):
    torch.manual_seed(0)
    save_recognizer(path, build_backbone("iresnet", SIZE, 16, 4), arch="iresnet", image_size=SIZE,
                    embedding_dim=16, width=4, identity_names=[])


def test_stage_writes_model_report_grid_and_curves(tiny_synthetic, tmp_path):
    write_untrained_recognizer(tmp_path / "recognizer.pt")
    params = parse_params({"translator": TINY | {"steps": 3, "batch_size": 8}})
    paths = dict(prepared_dir=tiny_synthetic / "data/prepared", recognizer_path=tmp_path / "recognizer.pt",
                 model_path=tmp_path / "models/translator.pt", report_path=tmp_path / "reports/translator.json",
                 grid_path=tmp_path / "reports/thermal_grid.png", live_dir=tmp_path / "plots",
                 checkpoint_dir=tmp_path / "ckpt")
    report = train_translator_stage(params, **paths)
    assert json.loads(paths["report_path"].read_text()) == report
    assert report["thermal_source"] == "synthetic" and report["steps"] == 3
    assert set(report["by_k"]) == {"k1", "k5"}
    assert report["thermal_rank1_raw"] == report["by_k"]["k1"]["thermal_rank1_raw"]
    for key in ("thermal_rank1_raw", "thermal_rank1_translated", "ssim", "psnr", "train_img_per_s"):
        assert np.isfinite(report[key])
    grid = Image.open(paths["grid_path"])
    assert grid.width == 3 * 2 * SIZE and grid.height > 2 * SIZE
    assert load_translator(paths["model_path"]).image_size == SIZE
    assert (tmp_path / "ckpt/last.pt").is_file() and (tmp_path / "plots/metrics.json").is_file()


@pytest.mark.bad_input
def test_stage_without_thermal_twins_says_how_to_get_them(tiny_synthetic, tmp_path):
    from facegan.io import atomic_dir

    source = tiny_synthetic / "data/prepared"
    with atomic_dir(tmp_path / "prepared") as out:
        for name in ("faces.npy", "prep.json"):
            (out / name).write_bytes((source / name).read_bytes())
        index = pd.read_csv(source / "index.csv")
        index.assign(domain="visible", pair=-1).to_csv(out / "index.csv", index=False)
    write_untrained_recognizer(tmp_path / "recognizer.pt")
    with pytest.raises(FaceganError, match="thermal.source"):
        train_translator_stage(parse_params({}), prepared_dir=tmp_path / "prepared",
                               recognizer_path=tmp_path / "recognizer.pt", model_path=tmp_path / "translator.pt",
                               report_path=tmp_path / "translator.json", grid_path=tmp_path / "grid.png",
                               live_dir=None, checkpoint_dir=tmp_path / "ckpt")
