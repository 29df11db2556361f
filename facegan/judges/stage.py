"""The train_judges stage: attribute/yaw judge and identity judge, trained on base faces,
scored on held-out base faces (attributes, yaw, identity threshold) and novel pairs (EER)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from facegan import distributed
from facegan.attributes import YOUNG, ages_known, youth
from facegan.config import Params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.io import atomic_write_json
from facegan.model_file import provenance
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.dlib_identity import DlibIdentity, dlib_model_dir
from facegan.judges.domain import faces_domain
from facegan.judges.judges import Judges
from facegan.judges.quality import QualityCritic, pass_threshold, quality_scores
from facegan.judges.train_quality import degradation_auc, train_quality_critic
from facegan.judges.train_attributes import ATTRIBUTE_AUGMENT, predict, train_attribute_judge
from facegan.train.checkpoint import fingerprint
from facegan.train.device import default_device, to_input
from facegan.recognition.dataset import FaceSource, RowView, TrainBatches
from facegan.recognition.verification import impostor_threshold, verification_metrics

EDITED_ATTRIBUTES = ["eyeglasses", "smiling", "young"]
# The identity judge must not share the recognizer's seed (nor its architecture):
# an independent model, so that fooling one does not mean fooling the other.
JUDGE_SEED_OFFSET = 7919


def _train_identity_judge(train_recognizer: Callable, rp, data, train, seed: int,
                          checkpoint_dir: Path) -> tuple[torch.nn.Module, str]:
    """The recognizer recipe (`train_recognizer`, facegan.recognition.train's) with another architecture and seed:
    the net and its training run's fingerprint."""
    classes = np.unique(train["identity"].to_numpy())
    labels = np.searchsorted(classes, train["identity"].to_numpy())
    batches = TrainBatches([FaceSource(data.faces, train.index.to_numpy(), labels)], rp.augment, seed)
    result = train_recognizer(rp, batches, len(classes), seed=seed, image_size=data.image_size,
                              checkpoint_dir=checkpoint_dir)
    return result.model, result.run_id


def train_judges_stage(params: Params, *, prepared_dir: Path, model_path: Path, report_path: Path,
                       checkpoint_dir: Path, train_identity: Callable) -> dict:
    """`train_identity`: the recognizer's training function (facegan.recognition.train.train_recognizer),
    passed in by the stage so that the judges do not import another concept's training code."""
    started = time.perf_counter()
    distributed.setup()  # before the device: under torchrun each process has a GPU of its own
    j, device = params.judges, default_device()
    data = open_prepared(prepared_dir)
    attributes = EDITED_ATTRIBUTES + [a for a in j.extra_attributes if a not in EDITED_ATTRIBUTES]
    unknown = [a for a in attributes if a not in data.index.columns]
    if unknown and not data.report["attributes"]:  # identity folders: photos with no labels at all
        raise FaceganError(f"data.root: {params.data.root} (data.source {params.data.source}) has no attribute "
                           "labels, so the judges and the editor cannot learn eyeglasses, smiling, age or pose from "
                           "it; train on a labelled set (data.source: celeba or synthetic) and evaluate on these "
                           "people with novel.source: folder, novel.root: " + params.data.root)
    if unknown:
        raise FaceganError(f"judges.extra_attributes: {unknown[0]!r} is not an attribute of this data set "
                           f"(known: {', '.join(sorted(data.report['attributes']))})")
    train = data.rows(split="base", role="train", domain="visible")
    val = data.rows(split="base", role="val", domain="visible")
    if train["identity"].nunique() < 2 or val["identity"].nunique() < 2:
        raise FaceganError(f"{prepared_dir}: the judges need base train and held-out (split.val_fraction > 0) "
                           "faces of at least 2 identities; add data or raise split.val_fraction")
    seed = params.seed + JUDGE_SEED_OFFSET

    # Attribute classifier + yaw regressor; young learnt as the youth 1 - age where ages are known, by
    # regression (facegan.attributes.attribute_loss), so the judge reads a continuous age.
    labels = train[attributes].assign(young=youth(train))
    continuous = ages_known(train)  # as the editor's continuous_age
    regressed = [a == YOUNG and continuous for a in attributes]
    targets = np.column_stack([labels.to_numpy(np.float32), train["yaw"].to_numpy(np.float32)])
    torch.manual_seed(seed)
    net = AttributeYawNet(j.attribute_arch, data.image_size, attributes, j.width)
    batches = TrainBatches([FaceSource(data.faces, train.index.to_numpy(), np.arange(len(train)))],
                           ATTRIBUTE_AUGMENT, seed)
    net, attribute_run = train_attribute_judge(net, batches, targets, epochs=j.epochs, batch_size=j.batch_size, lr=j.lr,
                                seed=seed, checkpoint_dir=Path(checkpoint_dir) / "attributes",
                                checkpoint_every=j.checkpoint_every, device=device, regressed=regressed)

    # Quality critic: real base faces against degraded copies of them.
    torch.manual_seed(seed)
    critic = QualityCritic(j.quality_arch, data.image_size, j.quality_width)
    critic, quality_run = train_quality_critic(
        critic, TrainBatches([FaceSource(data.faces, train.index.to_numpy(), np.zeros(len(train)))],
                             ATTRIBUTE_AUGMENT, seed),
        epochs=j.quality_epochs, batch_size=j.batch_size, lr=j.lr, seed=seed,
        checkpoint_dir=Path(checkpoint_dir) / "quality", checkpoint_every=j.checkpoint_every, device=device)

    rp = params.recognizer.model_copy(update={"arch": j.identity_arch, "epochs": j.identity_epochs,
                                              "checkpoint_every": j.checkpoint_every,
                                              "crop": 1.0})  # the whole face: a view unlike the recognizer's
    model_dir = dlib_model_dir()
    if j.identity_judge == "auto" and params.data.source != "synthetic" and model_dir is not None:
        identity_net, identity_name = DlibIdentity(model_dir), "dlib_face_recognition_resnet_model_v1 (pretrained)"
        identity_run = identity_name
    else:
        identity_net, identity_run = _train_identity_judge(train_identity, rp, data, train, seed,
                                                           Path(checkpoint_dir) / "identity")
        identity_name = f"{j.identity_arch} (trained here, seed {seed})"
    if not distributed.is_main():  # under torchrun, rank 0 scores and saves
        return {}

    val_faces = data.faces[val.index.to_numpy()]
    probs, yaw = predict(net, to_input(val_faces))
    truth = {a: val[a].to_numpy() == 1 for a in attributes}
    attr_acc = {a: float(((probs[:, i] >= 0.5) == truth[a]).mean()) for i, a in enumerate(attributes)}
    # Rare attributes (eyeglasses on CelebA: ~6%) make plain accuracy flattering; report both.
    attr_balanced = {a: float(balanced_accuracy_score(truth[a], probs[:, i] >= 0.5)) if 0 < truth[a].sum() < len(val)
                     else float("nan") for i, a in enumerate(attributes)}
    yaw_mae = float(np.abs(yaw - val["yaw"].to_numpy()).mean())
    age = val["age"].to_numpy(np.float64) if "age" in val else np.full(len(val), np.nan)
    known = np.isfinite(age)  # the judge's age is 1 - its young output (in the data's 0..1 age units)
    age_mae = float(np.abs(1 - probs[known, attributes.index("young")] - age[known]).mean()) if known.any() else None
    real_quality = quality_scores(critic, val_faces)
    judges = Judges(net, identity_net, float("nan"), j.identity_far, critic,
                    pass_threshold(real_quality, j.quality_pass), j.quality_pass, device)
    threshold, n_impostors = impostor_threshold(judges.identity_embeddings(data.faces[val.index]),
                                                val["identity"].to_numpy(), j.identity_far, params.seed)
    judges.identity_threshold = threshold
    novel = data.rows(split="novel", domain="visible")
    novel_metrics = verification_metrics(judges.identity_embeddings(RowView(data.faces, novel.index.to_numpy())),
                                         novel["identity"].to_numpy(), params.seed)
    judges.save(model_path, image_size=data.image_size, attribute_arch=j.attribute_arch, width=j.width,
                identity_arch=j.identity_arch, identity_width=rp.width, identity_dim=rp.embedding_dim,
                quality_arch=j.quality_arch, quality_width=j.quality_width, provenance=provenance(params, train, data.image_size),
                domain=faces_domain(data.faces, train.index.to_numpy(), val.index.to_numpy(), params.seed),
                fingerprint=fingerprint(attribute=attribute_run, identity=identity_run, quality=quality_run))
    report = {
        "attr_acc": attr_acc,
        "attr_balanced_acc": attr_balanced,
        "yaw_mae_deg": yaw_mae,
        **({"age_mae": age_mae} if age_mae is not None else {}),
        "identity_eer": novel_metrics["eer"],
        "identity_verification_acc": novel_metrics["verification_acc"],
        "identity_tar_at_far_1e-3": novel_metrics["tar_at_far_1e-3"],
        "identity_threshold": threshold,
        "identity_far": j.identity_far,
        "identity_judge": identity_name,
        "quality_auc": degradation_auc(critic, val_faces, real_quality, seed),
        "quality_threshold": judges.quality_threshold,
        "quality_pass": j.quality_pass,
        "n_val_images": int(len(val)),
        "n_impostor_pairs_for_threshold": n_impostors,
        "processes": distributed.world_size(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(report_path, report)
    return report
