"""The judge interface the editor, translator and synthesis stages call.

Everything takes N x S x S x 3 uint8 faces (what synthesis writes), so a
judge scores exactly the pixels that are kept. Judges score in fp32 on every device:
under CUDA's bf16 autocast a score moves by about one bf16 step (0.4%) with the batch it
is scored in, so a verdict near its threshold would not be reproducible, nor its
threshold exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facegan.errors import FaceganError
from facegan.judges.acceptance import identity_kept
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.dlib_identity import DlibIdentity, dlib_model_dir
from facegan.judges.quality import QualityCritic, quality_scores
from facegan.judges.train_attributes import predict
from facegan.model_file import read_model_file, save_model_file
from facegan.train.checkpoint import fingerprint
from facegan.recognition.backbone import build_backbone
from facegan.train.device import to_input
from facegan.recognition.embed import embed_faces


@dataclass
class Judges:
    attribute_net: AttributeYawNet
    identity_net: torch.nn.Module | DlibIdentity
    identity_threshold: float  # cosine similarity at which the identity judge has FAR = identity_far on base pairs
    identity_far: float
    quality_net: QualityCritic
    quality_threshold: float  # critic score at which `quality_pass` of held-out real base faces pass
    quality_pass: float
    device: torch.device = torch.device("cpu")
    trained_on: dict | None = None  # ModelFile.trained_on of the saved file
    domain: dict | None = None  # judges.domain statistics of the training faces, if saved
    run_id: str | None = None  # the saved file's training fingerprint (what an editor's monitor judged with)

    def fingerprint(self) -> str:
        """What these judges decide by: their training run and thresholds (an editor's select_best keys on it)."""
        return fingerprint(run=self.run_id, identity_threshold=float(self.identity_threshold),
                           quality_threshold=float(self.quality_threshold))

    @property
    def attribute_names(self) -> list[str]:
        return self.attribute_net.attributes

    def attributes_and_yaw(self, faces: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-attribute probabilities and yaw in degrees (+ = nose to image right)."""
        probs, yaw = predict(self.attribute_net, to_input(np.asarray(faces)))
        return {name: probs[:, i] for i, name in enumerate(self.attribute_names)}, yaw

    def identity_embeddings(self, faces: np.ndarray) -> np.ndarray:
        if isinstance(self.identity_net, DlibIdentity):
            return self.identity_net.embed(faces)
        return embed_faces(self.identity_net, faces, device=self.device, flip=True, mixed_precision=False)

    def identity_similarity(self, faces_a: np.ndarray, faces_b: np.ndarray) -> np.ndarray:
        """Cosine similarity of each pair (a[i], b[i]) under the identity judge."""
        return np.sum(self.identity_embeddings(faces_a) * self.identity_embeddings(faces_b), axis=1)

    def quality(self, faces: np.ndarray) -> np.ndarray:
        """The quality critic's score per face in [0, 1] (high: a clean face); compare with quality_threshold."""
        return quality_scores(self.quality_net, np.asarray(faces))

    def same_identity(self, faces_a: np.ndarray, faces_b: np.ndarray) -> np.ndarray:
        return identity_kept(self.identity_similarity(faces_a, faces_b), self.identity_threshold)

    def save(self, path: Path, *, image_size: int, attribute_arch: str, width: int, identity_arch: str,
             identity_width: int, identity_dim: int, quality_arch: str, quality_width: int, provenance: dict | None = None, domain: dict | None = None,
             fingerprint: str | None = None) -> None:
        """The nets' architectures (`identity_*` describe a trained identity embedder; dlib's needs none),
        `provenance`: what they were trained on; `domain`: judges.domain statistics of the training faces."""
        nets = {"attribute": self.attribute_net, "quality": self.quality_net}
        if isinstance(self.identity_net, DlibIdentity):
            identity = {"kind": "dlib"}
        else:
            identity = {"kind": "trained", "arch": identity_arch, "width": identity_width,
                        "embedding_dim": identity_dim}
            nets["identity"] = self.identity_net
        config = {
            "image_size": image_size,
            "attribute": {"arch": attribute_arch, "width": width, "attributes": self.attribute_names},
            "identity": identity,
            "identity_threshold": float(self.identity_threshold),
            "identity_far": float(self.identity_far),
            "quality": {"arch": quality_arch, "width": quality_width, "threshold": float(self.quality_threshold),
                        "pass": float(self.quality_pass)},
            "domain": None if domain is None else {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                                                   for k, v in domain.items()},
        }
        save_model_file(path, "judges", config, nets, fingerprint=fingerprint, provenance=provenance)


def load_judges(path: Path, device: torch.device | str = "cpu") -> Judges:
    saved = read_model_file(path, "judges")
    device = torch.device(device)
    with saved.rebuilding():
        c = saved.config
        a, i = c["attribute"], c["identity"]
        if "quality" not in c:
            raise FaceganError(f"{path}: these judges have no quality critic (written by an older facegan); "
                               "rerun `dvc repro train_judges`")
        q = c["quality"]
        quality_net = QualityCritic(q["arch"], c["image_size"], q["width"])
        quality_net.load_state_dict(saved.state_dicts["quality"])
        attribute_net = AttributeYawNet(a["arch"], c["image_size"], a["attributes"], a["width"])
        attribute_net.load_state_dict(saved.state_dicts["attribute"])
        if i["kind"] != "dlib":
            identity_net = build_backbone(i["arch"], c["image_size"], i["embedding_dim"], i["width"])
            identity_net.load_state_dict(saved.state_dicts["identity"])
        threshold, far, domain = c["identity_threshold"], c["identity_far"], c["domain"]
    if i["kind"] == "dlib":
        model_dir = dlib_model_dir()
        if model_dir is None:
            raise FaceganError(f"{path}: these judges use dlib's face embedding; "
                               "pip install '.[judge]' or set judges.identity_judge: trained and rerun train_judges")
        identity_net = DlibIdentity(model_dir)
    else:
        identity_net = identity_net.to(device).eval()
    judges = Judges(attribute_net.to(device).eval(), identity_net, threshold, far, quality_net.to(device).eval(),
                    q["threshold"], q["pass"], device)
    judges.trained_on, judges.run_id = saved.trained_on, saved.fingerprint
    judges.domain = None if domain is None else {
        k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in domain.items()}
    return judges
