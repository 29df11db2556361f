"""One model file format for the recognizer, judges, editor and translator, read by one reader."""

import numpy as np
import pytest
import torch

from facegan.editor.edit import load_editor, save_editor
from facegan.editor.generator import Generator
from facegan.errors import FaceganError
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.judges import Judges, load_judges
from facegan.judges.quality import QualityCritic
from facegan.model_file import FORMAT, read_model_file
from facegan.recognition.backbone import build_backbone
from facegan.recognition.embed import load_recognizer, save_recognizer
from facegan.translator.models import UNet
from facegan.translator.translate import load_translator, save_translator

SIZE = 32
PROVENANCE = {"data": {"source": "synthetic", "root": "data/raw/synthetic"}, "image_size": SIZE,
              "n_train_identities": 3, "n_train_images": 9, "steps": 4, "seed": 0}


def _randomized(module):
    """Every weight and buffer random (BN running statistics too), so a default-initialized load cannot pass."""
    torch.manual_seed(1)
    with torch.no_grad():
        for t in module.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t))
    return module.eval()


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]) for k in sa)


def _judges():
    return Judges(_randomized(AttributeYawNet("mobilefacenet", SIZE, ["eyeglasses", "smiling", "young"], 4)),
                  _randomized(build_backbone("mobilefacenet", SIZE, 16, 4)), 0.37, 1e-3,
                  _randomized(QualityCritic("iresnet", SIZE, 4)), 0.42, 0.95)


def _save_judges(path, judges, **extra):
    judges.save(path, image_size=SIZE, attribute_arch="mobilefacenet", width=4, identity_arch="mobilefacenet",
                identity_width=4, identity_dim=16, quality_arch="iresnet", quality_width=4, **extra)


def test_every_kind_loads_bit_identical_weights(tmp_path):
    recognizer = _randomized(build_backbone("iresnet", SIZE, 16, 4))
    save_recognizer(tmp_path / "r.pt", recognizer, arch="iresnet", image_size=SIZE, embedding_dim=16, width=4,
                    identity_names=["a", "b"], provenance=PROVENANCE, fingerprint="f" * 64)
    loaded = load_recognizer(tmp_path / "r.pt")
    assert _same(recognizer, loaded) and loaded.identity_names == ["a", "b"] and loaded.trained_on == PROVENANCE

    editor = _randomized(Generator(4, channels=4, levels=2))
    save_editor(tmp_path / "e.pt", editor, SIZE)
    assert _same(editor, load_editor(tmp_path / "e.pt"))

    translator = _randomized(UNet(4, 2))
    save_translator(tmp_path / "t.pt", translator, SIZE, "synthetic")
    assert _same(translator, load_translator(tmp_path / "t.pt"))

    judges = _judges()
    domain = {"mean": np.random.default_rng(0).random(48, dtype=np.float32), "threshold": 1.5, "feature": "x"}
    _save_judges(tmp_path / "j.pt", judges, domain=domain)
    back = load_judges(tmp_path / "j.pt")
    assert _same(judges.attribute_net, back.attribute_net) and _same(judges.identity_net, back.identity_net)
    assert (back.identity_threshold, back.identity_far, back.attribute_names) == (0.37, 1e-3, judges.attribute_names)
    assert _same(judges.quality_net, back.quality_net) and (back.quality_threshold, back.quality_pass) == (0.42, 0.95)
    assert back.domain.keys() == domain.keys() and np.array_equal(back.domain["mean"], domain["mean"])


def test_every_kind_is_the_same_plain_dict(tmp_path):
    save_recognizer(tmp_path / "recognizer.pt", build_backbone("iresnet", SIZE, 16, 4), arch="iresnet",
                    image_size=SIZE, embedding_dim=16, width=4, identity_names=[], fingerprint="abc")
    save_editor(tmp_path / "editor.pt", Generator(4, channels=4, levels=2), SIZE, PROVENANCE)
    save_translator(tmp_path / "translator.pt", UNet(4, 2), SIZE, "synthetic")
    _save_judges(tmp_path / "judges.pt", _judges())
    nets = {"recognizer": {"backbone"}, "editor": {"generator"}, "translator": {"generator"},
            "judges": {"attribute", "identity", "quality"}}
    for kind, names in nets.items():
        blob = torch.load(tmp_path / f"{kind}.pt", weights_only=True)
        assert set(blob) == {"format", "kind", "config", "state_dicts", "fingerprint", "provenance"}
        assert blob["format"] == FORMAT and blob["kind"] == kind and set(blob["state_dicts"]) == names
    assert read_model_file(tmp_path / "recognizer.pt", "recognizer").fingerprint == "abc"
    assert read_model_file(tmp_path / "editor.pt", "editor").provenance == PROVENANCE
    assert read_model_file(tmp_path / "translator.pt", "translator").trained_on["data"]["source"] == "unknown"


@pytest.mark.bad_input
@pytest.mark.parametrize("blob, message", [
    ({"kind": "editor", "config": {}, "state_dict": {}, "image_size": 32},
     "the editor model was written by an older facegan (another model file format); rerun `dvc repro train_editor`"),
    ({"config": {}, "attributes": [], "state_dict": {}},  # before files recorded their kind
     "the editor model was written by an older facegan"),
    ({"kind": "judges", "attribute": {}, "identity": {}}, "holds a judges model, not the editor model"),
    ({"weight": torch.zeros(2)}, "holds no facegan model, not the editor model; give the editor model file"),
    (torch.zeros(2), "holds no facegan model"),
])
def test_an_older_or_foreign_file_is_one_line_naming_the_stage(tmp_path, blob, message):
    torch.save(blob, tmp_path / "editor.pt")
    with pytest.raises(FaceganError) as err:
        load_editor(tmp_path / "editor.pt")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.bad_input
def test_weights_that_do_not_fit_the_config_are_one_line(tmp_path):
    save_translator(tmp_path / "t.pt", UNet(4, 2), SIZE, "synthetic")
    blob = torch.load(tmp_path / "t.pt", weights_only=True)
    blob["config"]["generator"]["channels"] = 8
    torch.save(blob, tmp_path / "t.pt")
    with pytest.raises(FaceganError, match=r"does not rebuild .*; rerun `dvc repro train_translator`$") as err:
        load_translator(tmp_path / "t.pt")
    assert "\n" not in str(err.value)


@pytest.mark.bad_input
def test_a_missing_file_names_the_stage_that_writes_it(tmp_path):
    with pytest.raises(FaceganError, match=r"judges missing; run `dvc repro train_judges` first"):
        load_judges(tmp_path / "judges.pt")
    with pytest.raises(FaceganError, match=r"run `dvc repro train_recognizer_aug` first"):
        load_recognizer(tmp_path / "recognizer_aug.pt", stage="train_recognizer_aug")
