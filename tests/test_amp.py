"""CUDA's mixed-precision path, emulated on the CPU: autocast in bf16 (what an H100 gets) through
the code that trains or scores under it, where the rest of the CPU suite runs fp32. It finds a bf16
tensor that reaches numpy or a loss unconverted (remove the `.float()` in `embed_faces` and the
recognizer's test fails). It is not CUDA's autocast: ops CUDA runs in fp32 under autocast (acos, exp,
norms, losses) stay bf16 on the CPU, so a dtype clash between those and bf16 ops, such as the
ArcFace one the GPU check found, needs its own test (test_recognition's margin-head test)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facegan.train import device as device_module


@pytest.fixture
def bf16_autocast(monkeypatch):
    """`autocast(device)` now autocasts on the CPU too, in bf16, as it does on CUDA."""
    monkeypatch.setattr(device_module, "amp_dtype", lambda device: torch.bfloat16)
    with device_module.autocast(torch.device("cpu")):
        assert F.linear(torch.ones(1, 2), torch.ones(3, 2)).dtype == torch.bfloat16  # the emulation is on


def finite(module: torch.nn.Module) -> bool:
    return all(torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point())


def test_recognizer_trains_and_embeds_under_autocast(tmp_path, bf16_autocast):
    from facegan.recognition.embed import embed_faces
    from test_recognition import train_tiny

    result = train_tiny(tmp_path, "amp", max_steps=3)
    assert finite(result.model)
    faces = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    embeddings = embed_faces(result.model, faces, batch_size=2)  # bf16 inside, fp32 out
    assert embeddings.dtype == np.float32 and np.isfinite(embeddings).all()


def test_translator_trains_and_translates_under_autocast(tmp_path, bf16_autocast):
    from facegan.translator.translate import translate_faces
    from test_translator import SIZE, train_tiny

    result = train_tiny(tmp_path, "amp", max_steps=3)
    assert finite(result.generator)
    faces = np.random.default_rng(0).integers(0, 256, (5, SIZE, SIZE, 3), dtype=np.uint8)
    out = translate_faces(result.generator, faces)
    assert out.shape == faces.shape and out.dtype == np.uint8


def test_judges_stage_trains_under_autocast(tiny_synthetic, monkeypatch, bf16_autocast):
    from test_judges import test_judges_stage_on_rendered_faces

    test_judges_stage_on_rendered_faces(tiny_synthetic, monkeypatch)


def test_synthesis_edits_and_judges_under_autocast(bf16_autocast, request):
    report = request.getfixturevalue("synthesized")[2]  # made once the emulation is on
    assert report["generated"] > 0 and 0 <= report["kept"] <= report["generated"]


def test_judges_score_in_fp32_under_autocast(monkeypatch):
    """A judge's verdict near its threshold must not move with the batch it is scored in, as bf16
    scores do on CUDA (the GPU check's re-judging test failed at atol 1e-4): every judge scores in
    fp32 whatever the autocast policy, and its scores equal the plain fp32 ones."""
    from facegan.judges.attribute_net import AttributeYawNet
    from facegan.judges.judges import Judges
    from facegan.judges.quality import QualityCritic
    from facegan.recognition.backbone import build_backbone

    torch.manual_seed(0)
    size = 32
    judges = Judges(AttributeYawNet("mobilefacenet", size, ["eyeglasses", "smiling"], 8),
                    build_backbone("mobilefacenet", size, 32, 8), 0.5, 1e-3,
                    QualityCritic("iresnet", size, 8), 0.5, 0.95)
    faces = np.random.default_rng(0).integers(0, 256, (6, size, size, 3), dtype=np.uint8)

    def scores():
        attributes, yaw = judges.attributes_and_yaw(faces)
        return [*attributes.values(), yaw, judges.identity_embeddings(faces), judges.quality(faces)]

    plain = scores()
    monkeypatch.setattr(device_module, "amp_dtype", lambda device: torch.bfloat16)
    with device_module.autocast(torch.device("cpu")):  # a caller that autocasts, too
        for name, fp32, emulated in zip(["eyeglasses", "smiling", "yaw", "identity", "quality"], plain, scores()):
            assert emulated.dtype == np.float32, name
            np.testing.assert_allclose(emulated, fp32, rtol=1e-5, atol=1e-6, err_msg=name)


def test_gpus_without_native_bf16_autocast_in_fp16(monkeypatch):
    """A V100 or T4 reports bf16 as supported through emulation, yet has no bf16 convolutions."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert device_module.amp_dtype(torch.device("cuda")) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # an A100, an H100
    assert device_module.amp_dtype(torch.device("cuda")) == torch.bfloat16
    assert device_module.amp_dtype(torch.device("cpu")) is None
