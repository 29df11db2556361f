from pathlib import Path

import numpy as np
import pytest
import torch

from facegan.config import parse_params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.judges import load_judges
from facegan.judges.stage import train_judges_stage
from facegan.judges.train_attributes import predict, train_attribute_judge
from facegan.train.device import to_input
from facegan.recognition.dataset import FaceSource, TrainBatches
from facegan.recognition.train import train_recognizer

TINY_RECOGNIZER = {"width": 8, "embedding_dim": 32, "batch_size": 16, "epochs": 2, "warmup_epochs": 0.5}


def marked_faces(n=192, size=32, seed=0):
    """Noise faces carrying a learnable attribute (bright top-left square) and a yaw
    (horizontal position of a dark bar: -40 deg at the left edge, +40 at the right)."""
    rng = np.random.default_rng(seed)
    faces = rng.integers(60, 140, (n, size, size, 3)).astype(np.uint8)
    attr = rng.integers(0, 2, n)
    yaw = rng.uniform(-40, 40, n)
    for i in range(n):
        if attr[i]:
            faces[i, 2:10, 2:10] = 250
        x = int(round((yaw[i] + 40) / 80 * (size - 6))) + 1
        faces[i, 12:28, x:x + 4] = 10
    return faces, attr, yaw.astype(np.float32)


def test_attribute_judge_learns_attributes_and_yaw(tmp_path):
    faces, attr, yaw = marked_faces()
    train, test = slice(0, 160), slice(160, None)
    torch.manual_seed(0)
    net = AttributeYawNet("mobilefacenet", 32, ["marked"], width=8)
    data = TrainBatches([FaceSource(faces[train], np.arange(160), np.arange(160))], ["brightness_contrast"], 0)
    targets = np.column_stack([attr[train], yaw[train]]).astype(np.float32)
    net, _ = train_attribute_judge(net, data, targets, epochs=25, batch_size=32, lr=3e-3, seed=0,
                                   checkpoint_dir=tmp_path / "ckpt", checkpoint_every=1000, device=torch.device("cpu"))
    probs, pred_yaw = predict(net, to_input(faces[test]))
    assert ((probs[:, 0] >= 0.5) == attr[test]).mean() >= 0.9
    assert np.abs(pred_yaw - yaw[test]).mean() < 10  # vs ~20 for always predicting 0


def judges_paths(root: Path) -> dict[str, Path]:
    """Where stage train_judges writes, inside the `tiny_synthetic` project."""
    return {"prepared_dir": root / "data/prepared", "model_path": root / "models/judges.pt",
            "report_path": root / "reports/judges.json", "checkpoint_dir": root / "checkpoints/train_judges"}


def test_judges_stage_on_rendered_faces(tiny_synthetic, monkeypatch):
    monkeypatch.chdir(tiny_synthetic)
    params = parse_params({"recognizer": TINY_RECOGNIZER,
                           "judges": {"width": 8, "epochs": 2, "identity_epochs": 2, "batch_size": 16}})
    report = train_judges_stage(params, **judges_paths(tiny_synthetic), train_identity=train_recognizer)
    assert set(report["attr_acc"]) == {"eyeglasses", "smiling", "young"}
    assert all(0 <= v <= 1 for v in report["attr_acc"].values())
    assert 0 <= report["identity_eer"] <= 1 and report["yaw_mae_deg"] >= 0

    judges = load_judges(tiny_synthetic / "models/judges.pt")
    data = open_prepared(tiny_synthetic / "data/prepared")
    val = data.rows(split="base", role="val", domain="visible").index.to_numpy()
    faces = data.faces[val]
    probs, yaw = judges.attributes_and_yaw(faces)
    assert set(probs) == {"eyeglasses", "smiling", "young"} and yaw.shape == (len(val),)
    # a face is its own identity; the saved threshold decides the rest
    assert judges.same_identity(faces, faces).all()
    sims = judges.identity_similarity(faces[:-1], faces[1:])
    assert np.array_equal(judges.same_identity(faces[:-1], faces[1:]), sims >= report["identity_threshold"])
    # rerun: resumes from the finished checkpoints, same judges
    again = train_judges_stage(params, **judges_paths(tiny_synthetic), train_identity=train_recognizer)
    assert again["identity_threshold"] == report["identity_threshold"]
    assert again["attr_acc"] == report["attr_acc"]


@pytest.mark.bad_input
def test_unknown_extra_attribute_is_named(tiny_synthetic, monkeypatch):
    monkeypatch.chdir(tiny_synthetic)
    with pytest.raises(FaceganError, match="judges.extra_attributes: 'wearing_crown'"):
        train_judges_stage(parse_params({"judges": {"extra_attributes": ["wearing_crown"]}}),
                           **judges_paths(tiny_synthetic), train_identity=train_recognizer)


@pytest.mark.bad_input
def test_identity_judge_must_differ_from_the_recognizer():
    with pytest.raises(FaceganError, match="judges.identity_arch must differ"):
        parse_params({"recognizer": {"arch": "mobilefacenet"}})


@pytest.mark.bad_input
def test_missing_judges_name_the_stage(tmp_path):
    with pytest.raises(FaceganError, match="dvc repro train_judges"):
        load_judges(tmp_path / "judges.pt")


@pytest.mark.real_data
def test_dlib_identity_judge_separates_real_identities(celeba_mini, tmp_path):
    from facegan.data.decode import load_face
    from facegan.judges.dlib_identity import DlibIdentity, dlib_model_dir

    if dlib_model_dir() is None:
        pytest.skip("the [judge] extra (dlib-bin, face-recognition-models) is not installed")
    rows = [ln.split() for ln in (celeba_mini / "identity_CelebA.txt").read_text().splitlines()]
    by_id: dict[str, list[str]] = {}
    for name, ident in rows:
        by_id.setdefault(ident, []).append(name)
    people = [names[:3] for names in by_id.values() if len(names) >= 3][:6]
    faces = np.stack([load_face(str(celeba_mini / "img_align_celeba" / n), 64) for names in people for n in names])
    ids = np.repeat(np.arange(len(people)), 3)
    emb = DlibIdentity(dlib_model_dir()).embed(faces)
    sims = emb @ emb.T
    same = (ids[:, None] == ids[None]) & ~np.eye(len(ids), dtype=bool)
    assert sims[same].mean() > sims[ids[:, None] != ids[None]].mean() + 0.03


def test_attribute_loss_weights_balance_skewed_labels():
    from facegan.judges.train_attributes import MAX_POS_WEIGHT, balanced_pos_weight
    labels = np.zeros((100, 3), np.float32)
    labels[:25, 0] = 1      # 25% positive -> 3x weight on positives
    labels[:50, 1] = 1      # balanced -> 1
    labels[:1, 2] = 1       # 1% positive -> capped
    weight = balanced_pos_weight(labels).tolist()
    assert weight[0] == pytest.approx(3.0) and weight[1] == pytest.approx(1.0) and weight[2] == MAX_POS_WEIGHT
