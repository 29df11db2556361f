"""editor.arch stargan: the paper's nets at our sizes, its step through the shared fit loop, its
model file, and the race bench's scoring (bench/editor_race.py)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from facegan.config import EditorParams, parse_params
from facegan.editor.conditioning import BINARY, NAMES, YAW, attribute_vectors, set_targets
from facegan.editor.edit import edit_faces, load_editor, save_editor
from facegan.editor.evaluate import edit_plan
from facegan.editor.generator import Generator
from facegan.editor.stargan import StarDiscriminator, StarGenerator, patch_layers
from facegan.editor.stage import train_editor_stage
from facegan.editor.train import build_models, editor_trainer
from facegan.errors import FaceganError
from facegan.model_file import read_model_file
from facegan.recognition.dataset import FaceSource
from facegan.train.device import to_input
from tests.conftest import REPO
from tests.test_editor import (SIZE, TINY, condition_key, same_weights, tiny_attributes, tiny_faces, tiny_recognizer,
                               train_tiny, write_untrained_models)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
STAR = {"arch": "stargan", "channels": 4, "d_channels": 4}


@pytest.mark.parametrize("size, patches", [(64, 2 * 2), (32, 2 * 2)])
def test_nets_have_the_papers_shapes_at_our_sizes(size, patches):
    g, d = build_models(EditorParams(**STAR), size)
    assert isinstance(g, StarGenerator) and isinstance(d, StarDiscriminator)
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = g(x, torch.randn(2, len(NAMES)))
    assert y.shape == x.shape and y.abs().max() <= 1
    src, attributes, yaw = d(y)
    assert src.shape == (2, patches) and attributes.shape == (2, len(BINARY)) and yaw.shape == (2,)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].kernel_size == convs[-1].kernel_size == (7, 7) and convs[0].in_channels == 3 + len(NAMES)
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules()) == 2
    assert d.cls.kernel_size == (2, 2)  # D_cls covers the whole last map
    assert [patch_layers(s) for s in (128, 64, 48, 32)] == [6, 5, 4, 4]  # 128 px: the paper's six


@pytest.mark.bad_input
def test_an_unknown_arch_is_one_line_naming_the_parameter():
    with pytest.raises(FaceganError, match=r"parameter 'editor.arch' is invalid.*'cyclegan'"):
        parse_params({"editor": {"arch": "cyclegan"}})


def test_the_default_arch_leaves_the_fingerprint_as_it_was():
    """Runs (and model files) from before editor.arch keep their fingerprint: it names only another arch."""
    args = (FaceSource(tiny_faces(4), np.arange(4), np.zeros(4)), attribute_vectors(tiny_attributes(4)),
            tiny_recognizer(), 0, SIZE, torch.device("cpu"))
    assert "arch" not in editor_trainer(EditorParams(**TINY), *args).fingerprint()["params"]
    assert editor_trainer(EditorParams(**TINY | STAR), *args).fingerprint()["params"]["arch"] == "stargan"


def test_stargan_trains_through_the_shared_loop_and_resumes_exactly(tmp_path):
    steps = 2 * 5  # two of the paper's D/G cycles (n_critic 5)
    overrides = STAR | {"steps": steps, "checkpoint_every": 4}
    whole = train_tiny(tmp_path, "whole", **overrides)
    assert whole.steps == steps and isinstance(whole.generator, StarGenerator)
    state = torch.load(tmp_path / "whole/last.pt", weights_only=True)
    assert {"g", "d", "ema", "opt_g", "opt_d"} <= set(state)
    start = train_tiny(tmp_path, "start", max_steps=4, **overrides)  # before G's first step: EMA untouched
    assert not same_weights(start.generator, whole.generator)
    train_tiny(tmp_path, "killed", max_steps=7, **overrides)
    resumed = train_tiny(tmp_path, "killed", **overrides)
    assert same_weights(resumed.generator, whole.generator)


def test_a_stargan_model_file_loads_back_as_stargan(tmp_path):
    torch.manual_seed(0)
    g = StarGenerator(len(NAMES), channels=4).eval()
    faces, source = tiny_faces(3), tiny_attributes(3)
    save_editor(tmp_path / "star.pt", g, SIZE)
    loaded = load_editor(tmp_path / "star.pt")
    assert isinstance(loaded, StarGenerator) and loaded.image_size == SIZE
    np.testing.assert_array_equal(edit_faces(g, faces, {"young": 1.0}, source),
                                  edit_faces(loaded, faces, {"young": 1.0}, source))
    save_editor(tmp_path / "facegan.pt", Generator(len(NAMES), channels=4, levels=2), SIZE)
    assert "arch" not in read_model_file(tmp_path / "facegan.pt", "editor").config  # as before the choice
    assert isinstance(load_editor(tmp_path / "facegan.pt"), Generator)


def test_the_stage_trains_saves_and_scores_a_stargan_editor(tiny_synthetic, tmp_path):
    write_untrained_models(tmp_path)
    params = parse_params({"editor": TINY | STAR | {"steps": 5, "batch_size": 8}})
    paths = dict(prepared_dir=tiny_synthetic / "data/prepared", recognizer_path=tmp_path / "recognizer.pt",
                 judges_path=tmp_path / "judges.pt", model_path=tmp_path / "editor.pt",
                 report_path=tmp_path / "editor.json", grid_path=tmp_path / "grid.png", live_dir=None,
                 checkpoint_dir=tmp_path / "ckpt")
    report = train_editor_stage(params, **paths)
    assert report["steps"] == 5 and set(report["edit_success"]) == set(NAMES)
    assert read_model_file(paths["model_path"], "editor").config["arch"] == "stargan"
    assert isinstance(load_editor(paths["model_path"]), StarGenerator)


# --- the race bench's scoring -------------------------------------------------------------------

class LookupEditor(torch.nn.Module):
    """Returns a stored face per (input face, condition); the input itself for "change nothing"."""

    def __init__(self, made: dict):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        self.made = made

    def forward(self, x, cond):
        faces = x.add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy()
        return to_input(np.stack([self.made.get((f.tobytes(), condition_key(c)), f) for f, c in
                                  zip(faces, cond.numpy())]))


class NoiseEditor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, cond):
        return torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1


class LookupJudges:
    """Reads what it was told about each face it knows (a source's identity, a variant's attributes);
    a face it does not know reads as no attribute, no yaw and nobody."""

    identity_threshold = 0.5
    quality_threshold = 0.5

    def __init__(self, n_identities: int):
        self.known, self.n = {}, n_identities

    def tell(self, face, identity: int, attributes: np.ndarray) -> None:
        self.known[face.tobytes()] = (identity, attributes)

    def attributes_and_yaw(self, faces):
        read = [self.known.get(f.tobytes(), (None, np.full(len(NAMES), np.nan))) for f in faces]
        values = np.stack([a for _, a in read])
        return {name: values[:, i] for i, name in enumerate(BINARY)}, values[:, -1]

    def quality(self, faces):  # every face looks clean: the race is decided by the other judges
        return np.ones(len(faces))

    def identity_embeddings(self, faces):
        ids = [self.known.get(f.tobytes(), (None, None))[0] for f in faces]
        return np.stack([np.eye(self.n)[i] if i is not None else np.zeros(self.n) for i in ids]).astype(np.float32)


def planted_truths(n: int, seed: int):
    """n faces, their attributes, judges that know them, a made-up true variant of each face for each
    planned edit (per edit: n faces) and the editor that makes exactly those variants."""
    faces, source = tiny_faces(n), tiny_attributes(n)
    vectors, rng = attribute_vectors(source), np.random.default_rng(seed)
    judges, made, truths = LookupJudges(n), {}, []
    for i in range(n):
        judges.tell(faces[i], i, np.r_[vectors[i, :-1], source[YAW][i]])
    for _, targets in edit_plan(source):
        truth = rng.integers(0, 256, faces.shape, dtype=np.uint8)
        wanted = set_targets(vectors, targets)
        for i in range(n):
            made[faces[i].tobytes(), condition_key(wanted[i] - vectors[i])] = truth[i]
            judges.tell(truth[i], i, np.r_[wanted[i, :-1], source[YAW][i] if YAW not in targets else targets[YAW]])
        truths.append(truth)
    return faces, source, judges, truths, LookupEditor(made)


def test_the_race_ranks_an_editor_that_makes_the_true_variants_above_noise(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    race = importlib.import_module("editor_race")
    faces, source, judges, truths, truthful = planted_truths(6, seed=5)

    good = race.race_figures(truthful, (faces, source), (faces, source, truths), judges)
    bad = race.race_figures(NoiseEditor(), (faces, source), (faces, source, truths), judges)
    assert good["success_x_kept"] == pytest.approx(1.0) and good["truth_ssim"] == pytest.approx(1.0, abs=1e-4)
    assert bad["success_x_kept"] < 0.5 and bad["truth_ssim"] < 0.5
    assert all(r > 1 for r in race.ratios({"facegan": good, "stargan": bad}).values())
    assert all(r < 1 for r in race.ratios({"facegan": bad, "stargan": good}).values())


def test_editor_arms_scores_the_truer_editor_higher_and_names_a_bad_arm(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    arms = importlib.import_module("editor_arms")
    faces, source, judges, truths, truthful = planted_truths(6, seed=7)

    good, floor = arms.figures(truthful, faces, source, judges, truths)
    bad, same_floor = arms.figures(NoiseEditor(), faces, source, judges, truths)
    assert floor == same_floor and {f for f in good if f.startswith("truth_")} == set(floor)
    truth_figures = [f for f in floor if f.startswith("truth_ssim_")]
    assert truth_figures and all(good[f] > 0.9999 and bad[f] < 0.5 for f in truth_figures)
    assert good["judged_usable"] == pytest.approx(1.0) and bad["judged_usable"] < 0.5
    assert arms.parse_arm(["mask", "editor.lambda_mask=4", "yaw_prior=True"]) == (
        "mask", {"lambda_mask": 4, "yaw_prior": True})
    with pytest.raises(SystemExit, match="mask.*not key=value"):
        arms.parse_arm(["mask", "lambda_mask"])


def test_editor_arms_gains_come_from_each_editors_own_synthesis_made_once(monkeypatch, tmp_path):
    from types import SimpleNamespace

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    arms = importlib.import_module("editor_arms")
    made = []

    def synthesize(params, **paths):
        made.append(paths["editor_path"].read_bytes())
        paths["out_dir"].mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(arms, "synthesize_stage", synthesize)
    monkeypatch.setattr(arms, "save_editor", lambda path, editor, size: path.parent.mkdir(
        parents=True, exist_ok=True) or path.write_bytes(editor))
    monkeypatch.setattr(arms, "open_variants", lambda folder: folder)
    monkeypatch.setattr(arms, "val_gains", lambda params, data, variants, embedder: {
        "k1": {"real": {"top1": {"mean": 0.5}}, "gain_gan_vs_real": {"mean": 0.01, "ci95": [-0.01, 0.03]},
               "n_probes": 3}})
    data = SimpleNamespace(image_size=32)
    figures = arms.val_figures(None, tmp_path, b"editor A", data, None, tmp_path / "run")
    assert figures == {"val_k1_gain_gan_vs_real": 0.01}
    arms.val_figures(None, tmp_path, b"editor A", data, None, tmp_path / "run")
    assert made == [b"editor A"]  # the same editor file: its variants are reused
    arms.val_figures(None, tmp_path, b"editor B", data, None, tmp_path / "run")
    assert made == [b"editor A", b"editor B"]  # another editor in the run's folder: synthesized again
    assert arms.unit("val_k1_gain_gan_vs_real") == "top-1" and arms.unit("judged_usable") == "share"
