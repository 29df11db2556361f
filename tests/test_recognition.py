"""The recognizer: backbones, margin heads, verification metrics, training, resume, stage."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from facegan.config import RecognizerParams, parse_params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.model_file import read_model_file
from facegan.recognition.backbone import build_backbone, crop_box
from facegan.recognition.dataset import FaceSource, TrainBatches
from facegan.recognition.embed import embed_faces, load_recognizer
from facegan.recognition.margin import ArcFace, CosFace
from facegan.recognition.stage import train_recognizer_stage
from facegan.recognition.train import step_budget, train_recognizer
from facegan.recognition.whiten import fit_wccn
from facegan.recognition.verification import score_metrics, threshold_at_far, verification_metrics
from facegan.stages.train_recognizer_aug import train_recognizer_aug_stage
from tests.conftest import recognizer_fork

TINY = dict(arch="iresnet", width=4, embedding_dim=16, batch_size=8, epochs=3, lr=0.05, warmup_epochs=0.5,
            augment=["hflip", "brightness_contrast"], checkpoint_every=1000)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_faces(identities: int = 4, per_identity: int = 8, size: int = 32, seed: int = 0):
    """Faces whose identity is a colour pattern, with per-image noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 256, size=(identities, 4, 4, 3))
    faces, labels = [], []
    for ident in range(identities):
        base = np.kron(patterns[ident], np.ones((size // 4, size // 4, 1)))
        for _ in range(per_identity):
            faces.append(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8))
            labels.append(ident)
    return np.stack(faces), np.array(labels)


def tiny_batches(seed: int = 0, augment=("hflip", "brightness_contrast"), extra: int = 0):
    """The tiny faces, plus `extra` faces of the same identities from another draw (like kept variants)."""
    faces, labels = tiny_faces()
    sources = [FaceSource(faces, np.arange(len(faces)), labels)]
    if extra:
        more, more_labels = tiny_faces(seed=1)
        rows = np.arange(extra) * (len(more) // extra)  # spread over the identities
        sources.append(FaceSource(more, rows, more_labels[rows]))
    return TrainBatches(sources, list(augment), seed)


def train_tiny(tmp_path, name: str, max_steps=None, live=None, extra=0, total_steps=None, **overrides):
    params = RecognizerParams(**(TINY | overrides))
    return train_recognizer(params, tiny_batches(extra=extra), 4, seed=0, image_size=32,
                            checkpoint_dir=tmp_path / name, live=live, max_steps=max_steps, total_steps=total_steps)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("arch", ["iresnet", "mobilefacenet"])
@pytest.mark.parametrize("size", [32, 64])
def test_embeddings_have_the_configured_size_and_unit_norm(arch, size):
    model = build_backbone(arch, size, embedding_dim=24, width=4)
    faces = np.random.default_rng(0).integers(0, 256, size=(5, size, size, 3), dtype=np.uint8)
    for flip in (True, False):
        emb = embed_faces(model, faces, batch_size=2, flip=flip)
        assert emb.shape == (5, 24) and emb.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_backbones_accept_sizes_that_are_not_powers_of_two():
    assert build_backbone("iresnet", 48, 16, 4).eval()(torch.zeros(2, 3, 48, 48)).shape == (2, 16)


def test_a_tight_crop_sees_only_the_inner_face():
    """Pixels outside crop_box (hair, background) cannot move the embedding; pixels inside do."""
    assert crop_box(64, 0.75) == (12, 8, 48) and crop_box(64, 1.0) == (0, 0, 64)
    model = build_backbone("iresnet", 64, 16, 4, crop=0.75).eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    outside, inside = x.clone(), x.clone()
    outside[:, :, :12], outside[:, :, :, :8] = 1.0, -1.0  # above the brows, the left edge
    inside[:, :, 30:34, 30:34] = 1.0
    with torch.no_grad():
        assert torch.equal(model(x), model(outside))
        assert not torch.allclose(model(x), model(inside))


NARROW_TRAINING = """
import sys, numpy as np, torch, torch.nn.functional as F
from facegan.recognition.backbone import build_backbone
from facegan.recognition.margin import ArcFace
from facegan.train.device import to_input
width = int(sys.argv[1])
torch.manual_seed(0)
model, head = build_backbone("iresnet", 32, 16, width), ArcFace(16, 8)
optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], 1e-3)
rng = np.random.default_rng(0)
for _ in range(5):
    x = to_input(rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8))  # NHWC strides, as in training
    y = torch.from_numpy(rng.integers(0, 8, size=16))
    loss = F.cross_entropy(head(model(x), y), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
print("ok")
"""


def test_narrow_iresnet_trains_without_corrupting_the_heap():
    # A stride-2 1x1 shortcut conv with under 8 input channels on channels_last input hit a oneDNN
    # weight-gradient kernel that overruns its buffer (glibc abort, exit 134): run it in a subprocess.
    root = Path(__file__).resolve().parents[1]
    env = os.environ | {"OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1",
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    for width in (4, 5, 7):
        run = subprocess.run([sys.executable, "-c", NARROW_TRAINING, str(width)], cwd=root, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and run.stdout.strip() == "ok", (width, run.returncode, run.stderr[-2000:])


def test_arcface_reduces_the_target_logit_by_the_angular_margin():
    torch.manual_seed(0)
    head = ArcFace(8, 5, scale=10.0, margin=0.5)
    emb, labels = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    cos = head.cosine(emb)
    logits = head(emb, labels) / 10.0
    target = cos[torch.arange(6), labels]
    theta = torch.arccos(target)
    expected = torch.where(theta + 0.5 < math.pi, torch.cos(theta + 0.5), target - math.sin(math.pi - 0.5) * 0.5)
    torch.testing.assert_close(logits[torch.arange(6), labels], expected, atol=1e-5, rtol=0)
    assert (logits[torch.arange(6), labels] < target).all()
    others = torch.ones_like(cos, dtype=torch.bool)
    others[torch.arange(6), labels] = False
    torch.testing.assert_close(logits[others], cos[others])


def test_cosface_subtracts_the_margin_from_the_target_cosine():
    torch.manual_seed(0)
    head = CosFace(8, 3, scale=4.0, margin=0.35)
    emb, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 1])
    cos = head.cosine(emb)
    logits = head(emb, labels) / 4.0
    torch.testing.assert_close(logits[torch.arange(4), labels], cos[torch.arange(4), labels] - 0.35)


@pytest.mark.parametrize("head_type", [ArcFace, CosFace])
def test_margin_heads_compute_in_fp32_under_autocast(head_type):
    # On CUDA the recognizer trains under bf16 autocast; CPU autocast casts F.linear the same way.
    torch.manual_seed(0)
    head = head_type(8, 5, scale=16.0, margin=0.3)
    emb, labels = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = head(emb.bfloat16(), labels)
    assert logits.dtype == torch.float32
    torch.testing.assert_close(logits, head(emb.bfloat16().float(), labels))


def test_separable_scores_give_perfect_verification():
    rng = np.random.default_rng(0)
    m = score_metrics(rng.normal(0.8, 0.05, 3000), rng.normal(0.0, 0.05, 3000))
    assert m["verification_acc"] == 1.0 and m["tar_at_far_1e-3"] == 1.0
    assert m["eer"] == 0.0 and m["roc_auc"] == 1.0


def test_identical_score_distributions_give_chance_verification():
    rng = np.random.default_rng(0)
    m = score_metrics(rng.normal(0.0, 0.1, 3000), rng.normal(0.0, 0.1, 3000))
    assert abs(m["verification_acc"] - 0.5) < 0.05
    assert abs(m["eer"] - 0.5) < 0.05 and m["tar_at_far_1e-3"] < 0.01


def test_threshold_at_far_accepts_at_most_that_share_of_impostors():
    impostors = np.random.default_rng(0).uniform(-1, 1, 10_000)
    assert (impostors > threshold_at_far(impostors, 1e-3)).sum() == 10
    few = np.arange(200, dtype=float)  # fewer than 1/FAR: the smallest achievable FAR is 1/n
    m = score_metrics(few + 1000, few)
    assert m["far_achieved"] == pytest.approx(1 / 200) and m["tar_at_far_1e-3"] == 1.0


def test_verification_metrics_on_clustered_embeddings():
    rng = np.random.default_rng(0)
    centers = np.linalg.qr(rng.normal(size=(16, 16)))[0][:6]  # orthonormal identity directions
    ids = np.repeat(np.arange(6), 5)
    emb = centers[ids] + rng.normal(0, 0.05, (30, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    m = verification_metrics(emb, ids, seed=0)
    assert m["n_genuine_pairs"] == 6 * 10 and m["n_impostor_pairs"] == 30 * 29 // 2 - 60
    assert m["verification_acc"] == 1.0 and m["tar_at_far_1e-3"] == 1.0


class RecordingLive:
    def __init__(self):
        self.metrics, self.step = [], 0

    def log_metric(self, name, value):
        self.metrics.append((self.step, name, value))

    def next_step(self):
        pass


def test_training_lowers_the_loss(tmp_path):
    live = RecordingLive()
    train_tiny(tmp_path, "run", live=live, epochs=5)
    losses = [v for _, name, v in live.metrics if name == "train/loss"]
    assert len(losses) == 5 and losses[-1] < 0.7 * losses[0]


def test_same_seed_gives_identical_weights(tmp_path):
    assert same_weights(train_tiny(tmp_path, "a").model, train_tiny(tmp_path, "b").model)


@pytest.mark.parametrize("stop, every", [(6, 3), (8, 4)])  # 4 steps per epoch: mid-epoch, epoch end
def test_resumed_run_matches_an_uninterrupted_one(tmp_path, stop, every):
    full = train_tiny(tmp_path, "full", dropout=0.2)  # dropout: the torch RNG must be restored too
    partial = train_tiny(tmp_path, "resumed", max_steps=stop, dropout=0.2, checkpoint_every=every)
    assert partial.steps == stop and not same_weights(partial.model, full.model)
    resumed = train_tiny(tmp_path, "resumed", dropout=0.2, checkpoint_every=every)
    assert resumed.steps == full.steps == 12
    assert same_weights(resumed.model, full.model)


def test_resumed_run_on_more_data_with_the_base_budget_matches_an_uninterrupted_one(tmp_path, capsys):
    # 32 + 8 faces: 5 steps an epoch; the 32 faces' budget, 12 steps, ends 2 steps into epoch 3.
    budget = step_budget(RecognizerParams(**TINY), 32)
    live = RecordingLive()
    full = train_tiny(tmp_path, "full", live=live, extra=8, total_steps=budget, dropout=0.2)
    assert full.steps == budget == 12
    assert [step for step, name, _ in live.metrics if name == "train/loss"] == [1, 2, 3]  # the partial one too
    partial = train_tiny(tmp_path, "resumed", max_steps=11, extra=8, total_steps=budget, dropout=0.2)
    assert partial.steps == 11 and not same_weights(partial.model, full.model)
    resumed = train_tiny(tmp_path, "resumed", extra=8, total_steps=budget, dropout=0.2)
    assert resumed.steps == 12 and same_weights(resumed.model, full.model)
    train_tiny(tmp_path, "resumed", max_steps=1, extra=8, dropout=0.2)  # its own budget: another run
    assert "other params or data" in capsys.readouterr().err


def test_checkpoint_from_other_params_or_data_is_set_aside(tmp_path, capsys):
    train_tiny(tmp_path, "run", max_steps=2)
    fresh = train_tiny(tmp_path, "fresh", lr=0.01)
    changed = train_tiny(tmp_path, "run", lr=0.01)  # params changed: must not continue the old run
    assert "other params or data" in capsys.readouterr().err
    assert (tmp_path / "run" / "stale.pt").is_file()
    assert same_weights(changed.model, fresh.model)
    faces, labels = tiny_faces(seed=1)  # same identities, other pixels
    other = TrainBatches([FaceSource(faces, np.arange(len(faces)), labels)], [], 0)
    train_recognizer(RecognizerParams(**TINY), other, 4, seed=0, image_size=32, checkpoint_dir=tmp_path / "run")
    assert "other params or data" in capsys.readouterr().err


def test_unreadable_checkpoint_is_set_aside(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"truncated")
    assert train_tiny(tmp_path, "run").steps == 12
    assert "unreadable" in capsys.readouterr().err


def write_prepared(root, identities=6, per_identity=8, novel=3, size=32):
    """A minimal prepared store (faces.npy, index.csv, prep.json) of tiny pattern faces."""
    faces, ids = tiny_faces(identities, per_identity, size)
    index = pd.DataFrame({"name": [f"{i:06d}.jpg" for i in range(len(ids))], "identity": ids + 100,
                          "identity_name": [f"person{i}" for i in ids], "domain": "visible"})
    index["split"] = np.where(ids < identities - novel, "base", "novel")
    index["role"] = np.where(index["split"] == "novel", "novel",
                             np.where(np.arange(len(ids)) % per_identity == 0, "val", "train"))
    root.mkdir(parents=True)
    np.save(root / "faces.npy", faces)
    index.to_csv(root / "index.csv", index=False)
    (root / "prep.json").write_text(json.dumps({"n_images": len(ids)}))
    return root


VARIANTS = [("smiling", True), ("yaw", True), ("thermal", True), ("thermal", True), ("young", False)]


def write_variants(root, prepared):
    """A variant store (faces.npy, variants.csv, synthesis.json) for `write_prepared`'s store: the
    VARIANTS of one training face per base identity, and a kept variant of a novel face."""
    index = pd.read_csv(prepared / "index.csv")
    sources = index[index["role"] == "train"].groupby("identity").head(1)
    rows = [(source, kind, kept) for source in sources.itertuples() for kind, kept in VARIANTS]
    rows.append((next(index[index["split"] == "novel"].itertuples()), "smiling", True))
    table = pd.DataFrame({"split": [r.split for r, _, _ in rows], "identity": [r.identity for r, _, _ in rows],
                          "source_row": [r.Index for r, _, _ in rows], "kind": [k for _, k, _ in rows],
                          "kept": [kept for _, _, kept in rows]})
    root.mkdir(parents=True)
    np.save(root / "faces.npy", np.load(prepared / "faces.npy")[table["source_row"].to_numpy()])
    table.to_csv(root / "variants.csv", index=False)
    (root / "synthesis.json").write_text("{}")
    return root


def stage_params(**overrides):
    return parse_params({"recognizer": TINY | {"epochs": 2} | overrides})


def train_aug_stage(tmp_path, params, variants=None):
    prepared = write_prepared(tmp_path / "prepared")
    return train_recognizer_aug_stage(params, prepared_dir=prepared,
                                      variants_dir=variants or write_variants(tmp_path / "variants", prepared),
                                      model_path=tmp_path / "aug.pt", report_path=tmp_path / "aug.json",
                                      live_dir=None, checkpoint_dir=tmp_path / "aug_ckpt",
                                      fork_path=recognizer_fork(params, prepared, tmp_path / "plain"))


def test_stage_writes_model_and_report(tmp_path):
    prepared = write_prepared(tmp_path / "prepared")
    faces, ids = tiny_faces(2, 3, seed=1)
    report = train_recognizer_stage(stage_params(), prepared_dir=prepared, model_path=tmp_path / "m.pt",
                                    report_path=tmp_path / "r.json", live_dir=tmp_path / "live",
                                    checkpoint_dir=tmp_path / "ckpt",
                                    extra_train=(faces, np.arange(len(ids)), ids + 100))
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["n_train_images"] == 3 * 7 + 6 and report["n_train_identities"] == 3
    assert report["n_genuine_pairs"] == 3 * 28 and 0.0 <= report["verification_acc"] <= 1.0
    assert (tmp_path / "live" / "metrics.json").is_file()
    model = load_recognizer(tmp_path / "m.pt")
    assert not model.training and model.identity_names == ["person0", "person1", "person2"]
    assert embed_faces(model, faces).shape == (6, 16)
    assert report["wccn"] == RecognizerParams().wccn > 0 and model.whitening.shape == (16, 16)


def test_changing_wccn_refits_the_whitening_on_the_trained_network(tmp_path):
    prepared = write_prepared(tmp_path / "prepared")
    models = {}
    for shrink in (0.03, 0.3):
        train_recognizer_stage(stage_params(wccn=shrink), prepared_dir=prepared, model_path=tmp_path / f"{shrink}.pt",
                               report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")
        models[shrink] = read_model_file(tmp_path / f"{shrink}.pt", "recognizer")
    a, b = models.values()
    assert a.fingerprint == b.fingerprint  # the same training run, resumed finished
    assert all(torch.equal(a.state_dicts["backbone"][k], v) for k, v in b.state_dicts["backbone"].items())
    assert not torch.equal(a.state_dicts["whitening"]["matrix"], b.state_dicts["whitening"]["matrix"])


def test_the_aug_recognizer_is_whitened_by_its_real_base_photos_alone(tmp_path):
    train_aug_stage(tmp_path, stage_params())
    aug = load_recognizer(tmp_path / "aug.pt", stage="train_recognizer_aug")
    data = open_prepared(tmp_path / "prepared")
    rows = data.rows(split="base", role="train", domain="visible")
    expected = fit_wccn(embed_faces(aug, data.faces[rows.index.to_numpy()]), rows["identity"].to_numpy(),
                        RecognizerParams().wccn)
    np.testing.assert_allclose(aug.whitening, expected, atol=1e-4)


def test_stage_without_wccn_saves_no_whitening(tmp_path):
    prepared = write_prepared(tmp_path / "prepared")
    train_recognizer_stage(stage_params(wccn=0.0), prepared_dir=prepared, model_path=tmp_path / "m.pt",
                           report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")
    assert load_recognizer(tmp_path / "m.pt").whitening is None


def test_stage_saves_the_crop_the_recognizer_was_trained_with(tmp_path):
    prepared = write_prepared(tmp_path / "prepared")
    train_recognizer_stage(stage_params(crop=0.75), prepared_dir=prepared, model_path=tmp_path / "m.pt", report_path=tmp_path / "r.json",
                           live_dir=None, checkpoint_dir=tmp_path / "ckpt")
    model = load_recognizer(tmp_path / "m.pt")
    assert model.crop == crop_box(32, 0.75) == (6, 4, 24)


def test_aug_stage_takes_the_optimizer_steps_of_the_base_stage(tmp_path):
    aug = train_aug_stage(tmp_path, stage_params())
    base = train_recognizer_stage(stage_params(), prepared_dir=tmp_path / "prepared", model_path=tmp_path / "m.pt",
                                  report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")
    # 21 base faces: 2 steps an epoch, 4 in 2 epochs; with 6 variants, 27 faces would take 6.
    assert base["steps"] == aug["steps"] == 4
    assert aug["n_train_images"] == 27 and aug["epochs_equivalent"] == round(4 * 8 / 27, 3)


def _weights(path) -> dict:
    return {k: v.clone() for k, v in load_recognizer(path).state_dict().items()}


def test_the_aug_run_starts_at_the_fork_and_differs_from_the_base_run_only_by_the_variants(tmp_path):
    params = stage_params()  # 4 steps; recognizer_aug.fork 0.5: the last 2 are retrained
    prepared = write_prepared(tmp_path / "prepared")
    none_kept = tmp_path / "none_kept"
    write_variants(none_kept, prepared)
    table = pd.read_csv(none_kept / "variants.csv")
    table.assign(kept=False).to_csv(none_kept / "variants.csv", index=False)
    alone = train_aug_stage(tmp_path / "without", params, variants=none_kept)
    # Without variants it is the base run: the same steps from the same state, to the same weights.
    assert alone["started_at_step"] == 2 and alone["steps"] == 4 and alone["n_extra_train_images"] == 0
    plain, aug = _weights(tmp_path / "without/plain/recognizer.pt"), _weights(tmp_path / "without/aug.pt")
    assert all(torch.equal(plain[k], aug[k]) for k in plain)
    # It does start from the fork's state: from a nudged one it ends elsewhere.
    fork = tmp_path / "without/plain/recognizer_fork.pt"
    state = torch.load(fork, weights_only=True)
    state["model"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save(state, fork)
    train_recognizer_aug_stage(params, prepared_dir=tmp_path / "without/prepared", variants_dir=none_kept,
                               model_path=tmp_path / "nudged.pt", report_path=tmp_path / "nudged.json",
                               live_dir=None, checkpoint_dir=tmp_path / "nudged_ckpt", fork_path=fork)
    nudged = _weights(tmp_path / "nudged.pt")
    assert not all(torch.equal(plain[k], nudged[k]) for k in plain)
    # With them, the shared first half and a different second half.
    report = train_aug_stage(tmp_path / "with", params)
    assert report["started_at_step"] == 2 and report["n_extra_train_images"] == 6
    aug = _weights(tmp_path / "with/aug.pt")
    assert not all(torch.equal(plain[k], aug[k]) for k in plain)
    full = train_aug_stage(tmp_path / "scratch", parse_params({"recognizer": TINY | {"epochs": 2},
                                                                "recognizer_aug": {"fork": 1.0}}))
    assert full["started_at_step"] == 0 and full["steps"] == 4


@pytest.mark.bad_input
def test_an_aug_run_refuses_a_fork_of_another_recipe(tmp_path):
    prepared = write_prepared(tmp_path / "prepared")
    fork = recognizer_fork(stage_params(epochs=6), prepared, tmp_path / "other")  # forks at step 6 of 12
    with pytest.raises(FaceganError, match="recognizer_fork.pt: the recognizer's training state is from other"):
        train_recognizer_aug_stage(stage_params(), prepared_dir=prepared,
                                   variants_dir=write_variants(tmp_path / "variants", prepared),
                                   model_path=tmp_path / "aug.pt", report_path=tmp_path / "aug.json",
                                   live_dir=None, checkpoint_dir=tmp_path / "aug_ckpt", fork_path=fork)
    assert not (tmp_path / "aug.pt").exists()


def test_a_finished_base_run_without_its_fork_trains_again_to_write_it(tmp_path, capsys):
    prepared = write_prepared(tmp_path / "prepared")
    train_recognizer_stage(stage_params(), prepared_dir=prepared, model_path=tmp_path / "plain/recognizer.pt",
                           report_path=tmp_path / "plain/recognizer.json", live_dir=None,
                           checkpoint_dir=tmp_path / "plain/checkpoints")  # a run from before forks
    before = _weights(tmp_path / "plain/recognizer.pt")
    fork = recognizer_fork(stage_params(), prepared, tmp_path / "plain")
    assert "training from scratch to write it" in capsys.readouterr().err
    assert torch.load(fork, weights_only=True)["step"] == 2
    after = _weights(tmp_path / "plain/recognizer.pt")
    assert all(torch.equal(before[k], after[k]) for k in before)
    # Asked for another fork step, the finished run (whose fingerprint does not hold it) writes that one.
    quarter = parse_params({"recognizer": TINY | {"epochs": 2}, "recognizer_aug": {"fork": 0.25}})
    recognizer_fork(quarter, prepared, tmp_path / "plain")
    assert torch.load(fork, weights_only=True)["step"] == 3
    assert "training from scratch to write it" in capsys.readouterr().err
    # Asked again for the same, it trains no more.
    recognizer_fork(quarter, prepared, tmp_path / "plain")
    assert "training from scratch" not in capsys.readouterr().err


@pytest.mark.parametrize("sections, thermal", [({}, False), ({"recognizer_aug": {"thermal": True}}, True)])
def test_aug_stage_trains_on_thermal_translations_only_when_asked(tmp_path, sections, thermal):
    report = train_aug_stage(tmp_path, parse_params({"recognizer": TINY | {"epochs": 1}} | sections))
    assert report["thermal_included"] is thermal
    assert report["extra_by_kind"] == {"smiling": 3, "yaw": 3} | ({"thermal": 6} if thermal else {})
    assert report["n_extra_train_images"] == 6 + 6 * thermal


def test_stage_needs_two_base_identities(tmp_path):
    prepared = write_prepared(tmp_path / "prepared", identities=4, novel=3)
    with pytest.raises(FaceganError, match="at least 2 identities"):
        train_recognizer_stage(stage_params(), prepared_dir=prepared, model_path=tmp_path / "m.pt",
                               report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")
    assert not (tmp_path / "m.pt").exists()


def test_stage_without_prepared_data_names_the_prep_stage(tmp_path):
    with pytest.raises(FaceganError, match="dvc repro prep"):
        train_recognizer_stage(stage_params(), prepared_dir=tmp_path / "missing", model_path=tmp_path / "m.pt",
                               report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")


@pytest.mark.slow
@pytest.mark.real_data
def test_recognizer_learns_real_faces(celeba_mini, tmp_path):
    from facegan.data.prep import prepare

    # Default recognizer params; on celeba-mini at 64 px they gave acc 0.78, AUC 0.86.
    params = parse_params({"data": {"source": "celeba", "root": str(celeba_mini)}})
    prepare(params, tmp_path / "prepared")
    report = train_recognizer_stage(params, prepared_dir=tmp_path / "prepared", model_path=tmp_path / "m.pt",
                                    report_path=tmp_path / "r.json", live_dir=None, checkpoint_dir=tmp_path / "ckpt")
    assert report["verification_acc"] > 0.72 and report["roc_auc"] > 0.8


def test_white_balance_augment_shifts_colour_temperature_and_keeps_shape():
    """Planted: a grey-world face; the augment must tint it (warmer or cooler) in some draws and
    leave its layout (where bright and dark are) alone."""
    from facegan.recognition.augment import build_augment

    rng = np.random.default_rng(0)
    face = np.clip(rng.normal(128, 40, (64, 64, 3)), 0, 255).astype(np.uint8)
    augment = build_augment(["white_balance"], seed=0)
    outs = [augment(image=face)["image"].astype(float) for _ in range(40)]
    red_blue = np.array([o[..., 0].mean() - o[..., 2].mean() for o in outs])
    base = face[..., 0].astype(float).mean() - face[..., 2].mean()
    assert (np.abs(red_blue - base) > 5).mean() > 0.1  # tinted in some draws (p 0.5 x 0.7)
    assert (np.abs(red_blue - base) < 0.5).mean() > 0.3  # untouched in others
    grey = face.mean(-1).ravel()
    assert min(np.corrcoef(grey, o.mean(-1).ravel())[0, 1] for o in outs) > 0.95


@pytest.mark.bad_input
def test_a_batch_too_small_for_torchruns_processes_is_named(tmp_path, monkeypatch):
    """The check runs once the trainer has joined torchrun's processes (before, it saw one)."""
    from facegan import distributed

    joined = []
    monkeypatch.setattr(distributed, "setup", lambda: joined.append(True))
    monkeypatch.setattr(distributed, "world_size", lambda: 4 if joined else 1)
    with pytest.raises(FaceganError, match="recognizer.batch_size 6 leaves fewer than 2 faces"):
        train_tiny(tmp_path, "small", batch_size=6)
