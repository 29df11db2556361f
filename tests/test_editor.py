"""The attribute editor: conditioning, losses, models, exact resume, editing API, evaluation, stage."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facegan import distributed
from facegan.attributes import ages_known, flipped, youth
from facegan.config import EditorParams, parse_params
from facegan.data.decode import load_face
from facegan.data.store import open_prepared
from facegan.editor.conditioning import (BINARY, NAMES, YAW, YAW_SCALE, attribute_vectors, sample_targets,
                                         set_targets)
from facegan.editor.edit import edit_faces, edit_image, load_editor, save_editor
from facegan.editor.evaluate import (EVAL_YAW_TARGETS, edit_plan, edit_success, evaluate_editor,
                                     reconstruction_quality)
from facegan.editor.augment import diff_augment
from facegan.editor.generator import Blur, Generator, cylinder_turn, prior_turn
from facegan.editor.stage import train_editor_stage
from facegan.editor.train import build_models, train_editor
from facegan.editor.truth import (REGION_GROW, _ssim_l1, edit_region, kept_vs_rejected, region_ssim, synthetic_root,
                                  truth_quality)
from facegan.errors import FaceganError
from facegan.gan.losses import LOSSES, blend_partiality, d_adversarial, g_adversarial, gradient_penalty, r1_penalty
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.judges import Judges
from facegan.judges.quality import QualityCritic
from facegan.recognition.backbone import build_backbone
from facegan.recognition.dataset import FaceSource
from facegan.recognition.embed import save_recognizer
from facegan.render.truth import planned_edits, true_variants
from facegan.train.device import to_input

SIZE = 32
TINY = dict(channels=4, levels=2, res_blocks=1, d_channels=4, batch_size=4, steps=6, warmup_steps=2,
            log_every=2, monitor_every=3, checkpoint_every=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_faces(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, SIZE, SIZE, 3), dtype=np.uint8)


def tiny_attributes(n: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"eyeglasses": rng.integers(0, 2, n).astype(float), "smiling": rng.integers(0, 2, n).astype(float),
            "young": rng.integers(0, 2, n).astype(float), "yaw": rng.uniform(-40, 40, n)}


def tiny_recognizer() -> torch.nn.Module:
    torch.manual_seed(1)
    return build_backbone("iresnet", SIZE, embedding_dim=16, width=4).eval()


class StubJudges:
    """Reads attributes from mean colour channels and yaw from the left-right brightness balance:
    deterministic, and sensitive to what an edit does."""

    identity_threshold = 0.5
    quality_threshold = 0.5

    def fingerprint(self):  # what an editor's select_best keys on
        return "stub judges"

    def quality(self, faces):  # the top-left pixel's brightness: planted, so a test can move it
        return np.asarray(faces, np.float32)[:, 0, 0].mean(1) / 255

    def attributes_and_yaw(self, faces):
        f = np.asarray(faces, np.float32) / 255
        probs = {name: f[..., c].mean((1, 2)) for c, name in enumerate(("eyeglasses", "smiling", "young"))}
        half = f.shape[2] // 2
        return probs, 90 * (f[:, :, half:].mean((1, 2, 3)) - f[:, :, :half].mean((1, 2, 3)))

    def identity_embeddings(self, faces):
        e = np.asarray(faces, np.float32).reshape(len(faces), -1)[:, :64] - 127.5
        return e / np.linalg.norm(e, axis=1, keepdims=True).clip(1e-6)

    def identity_similarity(self, a, b):
        return np.sum(self.identity_embeddings(a) * self.identity_embeddings(b), axis=1)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_targets_change_only_what_they_name():
    source = attribute_vectors(tiny_attributes(5))
    edited = set_targets(source, {"eyeglasses": 1.0, "yaw": np.full(5, 45.0)})
    assert (edited[:, 0] == 1).all() and np.allclose(edited[:, -1], 1.0)
    np.testing.assert_array_equal(edited[:, 1:3], source[:, 1:3])
    with pytest.raises(ValueError, match="unknown edit target"):
        set_targets(source, {"beard": 1})
    with pytest.raises(ValueError, match="lack"):
        attribute_vectors({"eyeglasses": np.zeros(2)})


def test_judge_probabilities_become_labels():
    attrs = tiny_attributes(4) | {"smiling": np.array([0.2, 0.7, 0.5, 0.49])}
    np.testing.assert_array_equal(attribute_vectors(attrs)[:, 1], [0, 1, 1, 0])


def test_sampled_targets_are_valid_edits():
    source = torch.from_numpy(attribute_vectors(tiny_attributes(256)))
    target = sample_targets(source, torch.Generator().manual_seed(0))
    assert set(target[:, :3].unique().tolist()) <= {0.0, 1.0}
    assert target[:, -1].abs().max() <= 1.0
    changed = (target != source).any(1)
    assert changed.float().mean() > 0.9  # "change nothing" is the reconstruction pass's job


def test_a_continuous_age_stays_a_youth_and_is_redrawn_anywhere():
    attrs = tiny_attributes(256) | {"young": np.random.default_rng(1).uniform(0, 1, 256).astype(np.float32)}
    binary, continuous = attribute_vectors(attrs), attribute_vectors(attrs, continuous_age=True)
    assert set(np.unique(binary[:, 2])) <= {0.0, 1.0}
    np.testing.assert_allclose(continuous[:, 2], attrs["young"])  # youth kept, not rounded
    np.testing.assert_array_equal(continuous[:, [0, 1, 3]], binary[:, [0, 1, 3]])
    source = torch.from_numpy(continuous)
    plain = sample_targets(source, torch.Generator().manual_seed(0))
    aged = sample_targets(source, torch.Generator().manual_seed(0), continuous_age=True)
    # The other attributes get the draws a binary-age run gets; a changed youth lands anywhere in [0, 1].
    assert torch.equal(plain[:, [0, 1, 3]], aged[:, [0, 1, 3]])
    changed = aged[:, 2] != source[:, 2]
    assert torch.equal(changed, plain[:, 2] != source[:, 2])
    youth = aged[changed, 2]
    assert youth.min() >= 0 and youth.max() <= 1 and ((youth > 0.1) & (youth < 0.9)).float().mean() > 0.6
    assert abs(float(youth.mean()) - 0.5) < 0.1


def test_youth_is_one_minus_the_true_age_where_known():
    rows = pd.DataFrame({"young": [1.0, 0.0, 1.0], "age": [0.2, 0.9, np.nan]})
    np.testing.assert_allclose(youth(rows), [0.8, 0.1, 1.0], atol=1e-6)
    assert not ages_known(rows) and ages_known(rows.iloc[:2]) and not ages_known(rows[["young"]])
    np.testing.assert_array_equal(youth(rows[["young"]]), [1, 0, 1])


def test_an_age_flip_mirrors_a_youth_and_flips_a_label():
    np.testing.assert_allclose(flipped("young", np.array([0.8, 0.3, 1.0]), continuous_age=True), [0.2, 0.7, 0.01],
                               atol=1e-6)  # never exactly 0 or 1: those are the Young label's
    np.testing.assert_array_equal(flipped("young", np.array([0.8, 0.3])), [0, 1])
    np.testing.assert_array_equal(flipped("eyeglasses", np.array([0.8, 0.3]), continuous_age=True), [0, 1])
    plan = dict(edit_plan({"eyeglasses": np.zeros(2), "smiling": np.zeros(2), "young": np.array([0.8, 0.3]),
                           "yaw": np.zeros(2)}, continuous_age=True))
    np.testing.assert_allclose(plan["young flip"]["young"], [0.2, 0.7], atol=1e-6)


@pytest.mark.parametrize("kind", LOSSES)
def test_adversarial_losses_reward_the_right_side(kind):
    good_real, bad_fake = torch.full((8,), 3.0), torch.full((8,), -3.0)
    assert d_adversarial(kind, good_real, bad_fake) < d_adversarial(kind, bad_fake, good_real)
    assert g_adversarial(kind, good_real) < g_adversarial(kind, bad_fake)


def test_label_smoothing_lowers_only_the_real_target():
    real, fake = torch.full((4,), 5.0), torch.full((4,), -5.0)
    assert d_adversarial("lsgan", real, fake, 0.1) > d_adversarial("lsgan", real, fake, 0.0)
    assert d_adversarial("lsgan", torch.full((4,), 0.9), torch.zeros(4), 0.1) < 1e-6


def test_penalties():
    x = torch.randn(3, 3, 8, 8, requires_grad=True)
    assert torch.isclose(r1_penalty((2 * x).flatten(1).sum(1), x), torch.tensor(4.0 * 3 * 64))
    critic = lambda t: t.flatten(1).sum(1) / 8.0 / np.sqrt(3)  # gradient norm 1 everywhere
    gp = gradient_penalty(critic, torch.randn(3, 3, 8, 8), torch.randn(3, 3, 8, 8), torch.Generator().manual_seed(0))
    assert gp < 1e-8


def test_wgan_needs_the_gradient_penalty():
    with pytest.raises(FaceganError, match="editor.adversarial_loss wgan-gp needs editor.penalty: gp"):
        parse_params({"editor": {"adversarial_loss": "wgan-gp"}})
    parse_params({"editor": {"adversarial_loss": "wgan-gp", "penalty": "gp"}})


def test_diff_augment_shifts_and_cuts_but_keeps_gradients():
    x = torch.zeros(64, 1, SIZE, SIZE)
    x[:, :, SIZE // 2, SIZE // 2] = 1.0
    x.requires_grad_(True)
    moved = diff_augment(x, ["translation"], torch.Generator().manual_seed(0))
    rows, cols = (moved.detach()[:, 0] == 1).nonzero()[:, 1:].T - SIZE // 2
    assert len(rows) == 64 and rows.abs().max() <= SIZE // 8 and cols.abs().max() <= SIZE // 8
    assert (rows != 0).any() and (cols != 0).any()
    moved.sum().backward()
    assert (x.grad[:, 0, SIZE // 2, SIZE // 2] == 1).all()  # the centre lands in the output once: gradient 1
    again = diff_augment(x.detach(), ["translation"], torch.Generator().manual_seed(0))
    assert torch.equal(again, moved.detach())  # the step's generator decides: resumable

    cut = diff_augment(torch.ones(64, 3, SIZE, SIZE), ["cutout"], torch.Generator().manual_seed(0))
    hidden = (cut == 0).all(1).flatten(1).sum(1)
    side = SIZE // 4
    assert hidden.max() == side * side and hidden.min() > 0  # a square, clipped where it meets the border
    with pytest.raises(ValueError, match="unknown augmentation"):
        diff_augment(x, ["rotate"], torch.Generator())


def test_blur_removes_the_checkerboard():
    checker = (torch.arange(SIZE)[:, None] + torch.arange(SIZE)[None]) % 2 * 2.0 - 1
    blurred = Blur(2)(checker.expand(1, 2, SIZE, SIZE))
    assert blurred.abs().max() < 0.5 * checker.abs().max()
    assert torch.allclose(Blur(1)(torch.full((1, 1, 8, 8), 0.3)), torch.tensor(0.3))  # flat areas unchanged


def test_models_have_the_expected_shapes():
    g, d = build_models(EditorParams(**TINY), SIZE)
    x = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    y = g(x, torch.randn(2, len(NAMES)))
    assert y.shape == x.shape and y.abs().max() <= 1
    adv, attrs, yaw = d(y)
    assert adv.shape == (2,) and attrs.shape == (2, 3) and yaw.shape == (2,)
    with pytest.raises(ValueError, match="editor.levels"):
        build_models(EditorParams(levels=4), SIZE)


def train_tiny(tmp_path, name: str, max_steps=None, live=None, monitor=None, monitored_by=None, faces=None,
               **overrides):
    params = EditorParams(**(TINY | overrides))
    source = FaceSource(tiny_faces() if faces is None else faces, np.arange(12), np.zeros(12))
    return train_editor(params, source, attribute_vectors(tiny_attributes()), tiny_recognizer(), seed=0,
                        image_size=SIZE, checkpoint_dir=tmp_path / name, live=live, monitor=monitor,
                        max_steps=max_steps, device=torch.device("cpu"), monitored_by=monitored_by)


@pytest.mark.parametrize("loss, penalty, pretrain", [("hinge", "r1", 2), ("wgan-gp", "gp", 0)])
def test_resume_after_a_kill_gives_bit_identical_weights(tmp_path, loss, penalty, pretrain):
    overrides = dict(adversarial_loss=loss, penalty=penalty, penalty_every=2, heads_pretrain_steps=pretrain)
    whole = train_tiny(tmp_path, "whole", **overrides)
    train_tiny(tmp_path, "killed", max_steps=3, **overrides)
    state = torch.load(tmp_path / "killed/last.pt", weights_only=True)
    assert state["step"] == 3 and {"g", "d", "ema", "opt_g", "opt_d", "rng"} <= set(state)
    resumed = train_tiny(tmp_path, "killed", **overrides)
    assert resumed.steps == whole.steps == 6
    assert same_weights(resumed.generator, whole.generator)
    final = torch.load(tmp_path / "killed/last.pt", weights_only=True)
    reference = torch.load(tmp_path / "whole/last.pt", weights_only=True)
    assert all(torch.equal(final["d"][k], reference["d"][k]) for k in reference["d"])


def test_heads_pretraining_trains_only_the_discriminator(tmp_path):
    from facegan.editor.train import FaceganTrainer

    params = EditorParams(**(TINY | {"heads_pretrain_steps": 2}))
    source = FaceSource(tiny_faces(4), np.arange(4), np.zeros(4))
    trainer = FaceganTrainer(params, source, attribute_vectors(tiny_attributes(4)), tiny_recognizer(), seed=0,
                            image_size=SIZE, device=torch.device("cpu"))
    g0, d0 = ({k: v.clone() for k, v in m.state_dict().items()} for m in (trainer.g, trainer.d))
    losses = trainer.train_step(0, torch.Generator().manual_seed(0))
    assert set(losses) == {"d/attributes", "d/yaw"}
    assert all(torch.equal(v, g0[k]) for k, v in trainer.g.state_dict().items())
    assert not torch.equal(trainer.d.state_dict()["attributes.0.weight"], d0["attributes.0.weight"])
    trainer.train_step(1, torch.Generator().manual_seed(1))
    assert "g/attributes" in trainer.train_step(2, torch.Generator().manual_seed(2))  # step 3: the GAN


def test_select_best_keeps_the_monitored_generator_with_the_most_usable_edits(tmp_path):
    scores = {2: 0.3, 4: 0.9, 6: 0.5}  # step 4's generator is the one to keep

    def monitor(generator, step):
        return {"usable": scores[step]}, None

    best = train_tiny(tmp_path, "select", monitor=monitor, monitor_every=2)
    assert best.selected_step == 4 and best.selection == scores
    at_step_4 = train_tiny(tmp_path, "reference", max_steps=4, monitor_every=2)
    assert same_weights(best.generator, at_step_4.generator)
    last = train_tiny(tmp_path, "last", monitor=monitor, monitor_every=2, select_best=False)
    assert last.selected_step == 6 and last.selection == {} and not same_weights(last.generator, best.generator)

    # Killed after step 4's verdict: the resumed run still knows it.
    train_tiny(tmp_path, "killed", monitor=monitor, monitor_every=2, max_steps=5)
    resumed = train_tiny(tmp_path, "killed", monitor=monitor, monitor_every=2)
    assert resumed.selected_step == 4 and same_weights(resumed.generator, best.generator)


def test_a_finished_run_monitored_by_other_judges_selects_again(tmp_path):
    # Judges retrained (say a new attribute loss) score the steps differently: the finished run's
    # select_best verdict is stale, so its checkpoint must not be reused.
    old_judges = {2: 0.3, 4: 0.9, 6: 0.5}
    new_judges = {2: 0.9, 4: 0.3, 6: 0.5}
    first = train_tiny(tmp_path, "run", monitor=lambda g, step: ({"usable": old_judges[step]}, None),
                       monitor_every=2, monitored_by="old judges")
    again = train_tiny(tmp_path, "run", monitor=lambda g, step: ({"usable": new_judges[step]}, None),
                       monitor_every=2, monitored_by="new judges")
    assert (first.selected_step, again.selected_step) == (4, 2) and first.run_id != again.run_id
    assert (tmp_path / "run/stale.pt").is_file()
    same = train_tiny(tmp_path, "run", monitor=lambda g, step: ({"usable": 0.0}, None),
                      monitor_every=2, monitored_by="new judges")
    assert same.selected_step == 2  # the same judges: the finished run is reused, not rescored


def test_the_mask_penalty_makes_each_pixel_copied_or_drawn(tmp_path):
    assert blend_partiality(torch.tensor([0.0, 1.0, 1.0, 0.0])) == 0
    assert blend_partiality(torch.full((2, 1, 4, 4), 0.5)) == 1
    x = to_input(tiny_faces(8, seed=3))
    cond = torch.zeros(8, len(NAMES))
    cond[:, -1] = torch.linspace(-1, 1, 8)  # yaw changes: edits, not reconstructions

    def partiality(**overrides) -> float:
        run = train_tiny(tmp_path, f"mask{overrides}", steps=12, lr_g=0.02, warmup_steps=0, select_best=False,
                         heads_pretrain_steps=0, **overrides)
        with torch.no_grad():
            return float(blend_partiality(run.generator(x, cond, with_mask=True)[1]))

    free, penalized = partiality(), partiality(lambda_mask=20.0)
    assert free > 0.5 and penalized < 0.5 * free  # planted: the penalty is what moves the masks


def test_runs_from_before_the_mask_penalty_keep_their_fingerprint():
    from facegan.editor.train import FaceganTrainer

    source = FaceSource(tiny_faces(4), np.arange(4), np.zeros(4))

    def params_of(**overrides) -> dict:
        trainer = FaceganTrainer(EditorParams(**(TINY | overrides)), source, attribute_vectors(tiny_attributes(4)),
                                 tiny_recognizer(), seed=0, image_size=SIZE, device=torch.device("cpu"))
        return trainer.fingerprint()["params"]

    assert "lambda_mask" not in params_of() and params_of(lambda_mask=1.0)["lambda_mask"] == 1.0
    assert "lambda_cycle" not in params_of() and params_of(lambda_cycle=10.0)["lambda_cycle"] == 10.0
    assert "limb_falloff" not in params_of(limb_falloff=0.0) and params_of()["limb_falloff"] == 0.5
    assert "round_trip" not in params_of(round_trip=0.0) and params_of()["round_trip"] == 0.5
    assert ("round_trip_away" not in params_of(round_trip_away="prior")
            and params_of()["round_trip_away"] == "editor")


def test_the_cycle_loss_makes_an_edit_undoable(tmp_path):
    x = to_input(tiny_faces(8, seed=4))
    cond = torch.zeros(8, len(NAMES))
    cond[:, 1] = torch.where(torch.arange(8) % 2 == 0, 1.0, -1.0)  # smile on / off

    def round_trip(**overrides) -> float:
        # D's terms held at ~0 (a warmup longer than the run): only reconstruction and the cycle teach G
        run = train_tiny(tmp_path, f"cycle{overrides}", steps=60, lr_g=0.02, warmup_steps=10**6, lambda_id=0.0,
                         select_best=False, heads_pretrain_steps=0, **overrides)
        with torch.no_grad():
            g = run.generator
            return float((g(g(x, cond), -cond) - x).abs().mean())

    free, cycled = round_trip(), round_trip(lambda_cycle=20.0)
    assert cycled < 0.8 * free, (free, cycled)  # planted: the cycle term is what brings the face back


def smooth_faces(n: int = 12, seed: int = 0) -> np.ndarray:
    """Faces of 4 x 4 random blocks, bilinearly enlarged: what a turn loses is guessable from what it keeps."""
    coarse = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    return (F.interpolate(coarse, size=SIZE, mode="bilinear", align_corners=False) * 255).round().byte().permute(
        0, 2, 3, 1).numpy()


def test_a_round_trip_is_the_photo_turned_away_and_the_change_that_turns_it_back():
    from facegan.editor.train import FaceganTrainer

    faces = smooth_faces(8)
    x, source = to_input(faces), torch.from_numpy(attribute_vectors(tiny_attributes(8)))

    def trips(round_trip: float, away: str = "prior"):
        p = EditorParams(**(TINY | {"round_trip": round_trip, "round_trip_away": away}))
        trainer = FaceganTrainer(p, FaceSource(faces, np.arange(8), np.zeros(8)), source.numpy(), tiny_recognizer(),
                                 seed=0, image_size=SIZE, device=torch.device("cpu"))
        return trainer._round_trips(x, source, torch.Generator().manual_seed(0), distributed.Shard(8)), trainer

    (turned, cond, target), trainer = trips(1.0)
    assert torch.equal(target, x)  # the photos themselves
    back = cond[:, -1] * YAW_SCALE
    assert not cond[:, :-1].any() and (back.abs() > 1).all()  # only the yaw changes
    away = source[:, -1] * YAW_SCALE - back
    assert (away.abs() <= 45).all() and away.std() > 5  # a random yaw in the training range
    assert torch.allclose(turned, prior_turn(x, -back, trainer.p.limb_falloff)) and (turned - x).abs().mean() > 0.02
    (half, _, half_target), _ = trips(0.5)
    assert len(half) == 4 and torch.equal(half, turned[4:]) and torch.equal(half_target, x[4:])  # the batch's last
    # round_trip_away editor: the same trip, turned away by the EMA editor's own edit (the same draws)
    (by_editor, cond_e, _), editor_trainer = trips(1.0, "editor")
    assert torch.equal(cond_e, cond)
    with torch.no_grad():
        assert torch.allclose(by_editor, editor_trainer.ema(x, -cond)) and not torch.allclose(by_editor, turned)


def test_round_trips_from_the_prior_need_the_prior():
    with pytest.raises(ValueError, match="round_trip_away prior"):
        EditorParams(**(TINY | {"yaw_prior": False, "round_trip": 0.5, "round_trip_away": "prior"}))
    EditorParams(**(TINY | {"yaw_prior": False, "round_trip": 0.5, "round_trip_away": "editor"}))  # G turns them


def test_round_trips_teach_g_to_draw_what_a_turn_reveals(tmp_path):
    """Planted, with round trips from the prior's warp (a fixed input; from the EMA editor's own turn the
    input moves with G, and 60 steps without D teach this tiny G no turn to undo)."""
    faces = smooth_faces(12)
    x = to_input(faces[:8])
    back = torch.tensor([30.0, -30.0] * 4)

    def error(**overrides) -> float:
        # D's terms held at ~0 (a warmup longer than the run): reconstruction alone teaches G
        run = train_tiny(tmp_path, f"rt{overrides}", steps=60, lr_g=0.02, warmup_steps=10**6, lambda_id=0.0,
                         select_best=False, heads_pretrain_steps=0, recon_share=1.0, ema_decay=0.0, faces=faces,
                         round_trip_away="prior", **overrides)
        cond = torch.zeros(8, len(NAMES))
        cond[:, -1] = back / YAW_SCALE
        with torch.no_grad():
            return float((run.generator(prior_turn(x, -back, run.generator.limb_falloff), cond) - x).abs().mean())

    free, trained = error(round_trip=0.0), error(round_trip=1.0)
    assert trained < 0.85 * free, (free, trained)  # planted: the round trips are what bring the face back


def test_a_checkpoint_of_other_params_is_set_aside(tmp_path):
    train_tiny(tmp_path, "run", max_steps=2)
    result = train_tiny(tmp_path, "run", max_steps=2, lr_g=1e-3)
    assert result.steps == 2 and (tmp_path / "run/stale.pt").is_file()


def test_dvclive_gets_losses_judged_success_and_grids(tmp_path):
    from dvclive import Live

    from facegan.editor.stage import monitor_edits

    class Data:
        faces = tiny_faces()

    import pandas as pd
    rows = pd.DataFrame(tiny_attributes() | {"identity": np.arange(12)})
    live = lambda resume: Live(str(tmp_path / "live"), resume=resume, dvcyaml=False, save_dvc_exp=False)
    train_tiny(tmp_path, "ckpt", live=live, monitor=monitor_edits(Data, rows.head(4), StubJudges()))
    plots = tmp_path / "live/plots"
    assert (plots / "metrics/train/g/reconstruction.tsv").is_file()
    assert (plots / "metrics/monitor/yaw.tsv").read_text().count("\n") == 3  # header + steps 3 and 6
    assert sorted(p.name for p in (plots / "images/samples").iterdir()) == ["step_000003.png", "step_000006.png"]


def test_edit_faces_is_batched_and_survives_save_and_load(tmp_path):
    torch.manual_seed(0)
    g = Generator(len(NAMES), channels=4, levels=2).eval()
    faces, source = tiny_faces(5), tiny_attributes(5)
    whole = edit_faces(g, faces, {"smiling": 1.0, "yaw": 20.0}, source)
    assert whole.shape == faces.shape and whole.dtype == np.uint8
    np.testing.assert_array_equal(whole, edit_faces(g, faces, {"smiling": 1.0, "yaw": 20.0}, source, batch_size=2))
    save_editor(tmp_path / "editor.pt", g, SIZE)
    loaded = load_editor(tmp_path / "editor.pt")
    assert loaded.image_size == SIZE
    np.testing.assert_array_equal(whole, edit_faces(loaded, faces, {"smiling": 1.0, "yaw": 20.0}, source))
    # the edit is the condition: a target equal to the source is the reconstruction
    same = {"eyeglasses": source["eyeglasses"], "yaw": source["yaw"]}
    np.testing.assert_array_equal(edit_faces(g, faces, same, source), edit_faces(g, faces, {}, source))
    with pytest.raises(FaceganError, match="train_editor"):
        load_editor(tmp_path / "missing.pt")


def test_evaluation_scores_every_planned_edit():
    faces, source = tiny_faces(6), tiny_attributes(6)
    names = [name for name, _ in edit_plan(source)]
    assert names == ["eyeglasses flip", "smiling flip", "young flip", "yaw -40", "yaw -20", "yaw +20", "yaw +40"]
    psnr, ssim = reconstruction_quality(faces, faces)
    assert psnr == pytest.approx(100.0) and ssim == pytest.approx(1.0)
    torch.manual_seed(0)
    report = evaluate_editor(Generator(len(NAMES), channels=4, levels=2).eval(), faces, source, StubJudges())
    assert set(report["edit_success"]) == set(NAMES)
    assert all(0 <= v <= 1 for v in report["edit_success"].values())
    assert 0 <= report["identity"]["preserved_rate"] <= 1 and np.isfinite(report["kid"])
    assert report["n_edits"] == 7 * 6 and "identity-judge" in report["kid_features"]


def test_quality_pass_rate_and_usable_edits_follow_the_critic():
    """StubJudges' quality is the top-left pixel: planted bright on half the faces, an editor that changes
    nothing keeps it, so exactly half of every edit passes, and no failing edit counts as usable."""
    faces, source = tiny_faces(8), tiny_attributes(8)
    faces[:, 0, 0] = np.where(np.arange(8) % 2 == 0, 250, 5)[:, None]
    report = evaluate_editor(CopyEditor(), faces, source, StubJudges())
    rates = report["quality_pass_rate"]
    assert rates["by_attribute"] == {name: 0.5 for name in NAMES}
    assert rates["by_yaw_target"] == {t: 0.5 for t in ("-40", "-20", "+20", "+40")}
    assert all(v <= 0.5 for v in report["usable_rate"]["by_attribute"].values())
    assert edit_success(CopyEditor(), faces, source, StubJudges())["usable"] <= 0.5


def test_kept_and_rejected_edits_are_split_by_truth_ssim():
    ssim_values = [np.array([0.9, 0.5, 0.8]), np.array([0.7, 0.3]), np.array([0.6])]
    region = [np.array([0.4, 0.2, np.nan]), np.array([0.5, 0.1]), np.array([0.3])]  # NaN: the truth changed nothing
    kept = [np.array([True, False, True]), np.array([True, False]), np.array([True])]
    split = kept_vs_rejected([{"ssim": s, "region_ssim": r} for s, r in zip(ssim_values, region)], kept,
                             [("smiling", None), ("yaw", "+40"), ("yaw", "-20")])
    assert split["by_attribute"]["smiling"] == {
        "kept": {"n": 2, "ssim": pytest.approx(0.85), "region_ssim": pytest.approx(0.4)},
        "rejected": {"n": 1, "ssim": pytest.approx(0.5), "region_ssim": pytest.approx(0.2)}}
    assert split["by_attribute"]["yaw"] == {
        "kept": {"n": 2, "ssim": pytest.approx(0.65), "region_ssim": pytest.approx(0.4)},
        "rejected": {"n": 1, "ssim": pytest.approx(0.3), "region_ssim": pytest.approx(0.1)}}
    assert split["by_yaw_target"]["-20"] == {
        "kept": {"n": 1, "ssim": pytest.approx(0.6), "region_ssim": pytest.approx(0.3)},
        "rejected": {"n": 0, "ssim": None, "region_ssim": None}}
    assert split["overall"] == {"kept": {"n": 4, "ssim": pytest.approx(0.75), "region_ssim": pytest.approx(0.4)},
                                "rejected": {"n": 2, "ssim": pytest.approx(0.4), "region_ssim": pytest.approx(0.15)}}


def test_region_ssim_scores_the_change_itself_not_the_face_around_it():
    """A truth that adds a small patterned patch (as glasses add frames): doing nothing keeps most of the face
    and scores high on the whole face, but low over the patch; the right edit scores 1 there."""
    rng = np.random.default_rng(0)
    source = np.clip(rng.normal(128, 20, (2, 32, 32, 3)), 0, 255).astype(np.uint8)
    truth = source.copy()
    truth[:, 12:18, 8:24] = np.where(rng.random((2, 6, 16, 1)) < 0.5, 20, 230).astype(np.uint8)
    region = edit_region(source, truth)
    assert region[:, 0, 12:18, 8:24].min() == 1  # the changed pixels ...
    assert region.sum() == 2 * (6 + 2 * REGION_GROW) * (16 + 2 * REGION_GROW)  # ... grown by REGION_GROW px
    assert region[:, 0, :8].max() == 0 and region[:, 0, 24:].max() == 0
    nothing, whole_nothing = region_ssim(source, truth, region), _ssim_l1(source, truth)[0]
    assert (whole_nothing > 0.6).all() and (nothing < 0.3).all()
    np.testing.assert_allclose(region_ssim(truth, truth, region), 1.0, atol=1e-5)
    half = source.copy()
    half[:, 12:18, 8:16] = truth[:, 12:18, 8:16]  # half of the change made
    assert (nothing < region_ssim(half, truth, region)).all() and (region_ssim(half, truth, region) < 0.9).all()
    assert np.isnan(region_ssim(source, source, edit_region(source, source))).all()  # no change: no region


class CopyEditor(torch.nn.Module):
    """An editor that changes nothing."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, cond):
        return x


class TruthEditor(torch.nn.Module):
    """An editor whose every edit is the renderer's true variant, looked up by input face and condition."""

    def __init__(self, truths: dict):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        self.truths = truths  # (face bytes, condition key) -> true variant, S x S x 3 uint8

    def forward(self, x, cond):
        faces = x.add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy()
        return to_input(np.stack([self.truths[face.tobytes(), condition_key(c)] for face, c in
                                  zip(faces, cond.numpy())]))


def condition_key(cond: np.ndarray) -> tuple:
    return tuple(np.round(cond, 4).tolist())


def tiny_judges() -> Judges:
    torch.manual_seed(0)
    return Judges(AttributeYawNet("mobilefacenet", SIZE, ["eyeglasses", "smiling", "young"], 4),
                  build_backbone("mobilefacenet", SIZE, 16, 4).eval(), 0.5, 1e-3,
                  QualityCritic("iresnet", SIZE, 4).eval(), 0.5, 0.95)


def test_every_edit_is_scored_against_its_true_variant(tiny_synthetic):
    data = open_prepared(tiny_synthetic / "data/prepared")
    rows = data.rows(split="novel", domain="visible").iloc[[0, 3]]
    faces, source, root = data.faces[rows.index], {n: rows[n].to_numpy(np.float32) for n in NAMES}, \
        synthetic_root(data.report)
    # The truths drawn here, apart from the module: each source's flips and turns, keyed by what the
    # editor is given, so a truth scored against the wrong edit or face shows.
    vectors, truths = attribute_vectors(source), {}
    for i, name in enumerate(rows["source_path"].map(lambda p: Path(p).name)):
        plan = [(a, 1.0 - float(source[a][i] >= 0.5)) for a in BINARY] + [(YAW, t) for t in EVAL_YAW_TARGETS]
        made = true_variants(root, [name] * len(plan), planned_edits(root, *zip(*plan)))
        for (kind, target), photo in zip(plan, made):
            cond = set_targets(vectors[i:i + 1], {kind: target})[0] - vectors[i]
            truths[faces[i].tobytes(), condition_key(cond)] = load_face(io.BytesIO(photo), SIZE)
    judges = tiny_judges()

    perfect = truth_quality(TruthEditor(truths), faces, rows, source, judges, root)
    assert set(perfect["by_attribute"]) == set(NAMES) and perfect["n_sources"] == 2
    assert set(perfect["by_yaw_target"]) == {"-40", "-20", "+20", "+40"}
    for scores in [*perfect["by_attribute"].values(), *perfect["by_yaw_target"].values()]:
        assert scores["ssim"] == pytest.approx(1, abs=1e-4) and scores["l1"] == pytest.approx(0, abs=1e-6)
        assert scores["region_ssim"] == pytest.approx(1, abs=1e-4)
        assert scores["identity_similarity"] == pytest.approx(1, abs=1e-4)
    assert all(s["unedited_ssim"] < 0.9 for s in perfect["by_yaw_target"].values())  # a turn is not the source
    accepted = perfect["acceptance"]
    assert accepted["overall"]["kept"]["n"] + accepted["overall"]["rejected"]["n"] == 2 * 7
    assert set(accepted["by_attribute"]) == set(NAMES) and set(accepted["by_yaw_target"]) == {"-40", "-20", "+20", "+40"}

    nothing = truth_quality(CopyEditor(), faces, rows, source, judges, root)
    for group in ("by_attribute", "by_yaw_target"):
        for scores in nothing[group].values():
            for metric in ("ssim", "region_ssim", "l1", "identity_similarity"):
                assert scores[metric] == pytest.approx(scores[f"unedited_{metric}"], abs=1e-6)
        assert {k: {m: v for m, v in s.items() if m.startswith("unedited_")} for k, s in nothing[group].items()} \
            == {k: {m: v for m, v in s.items() if m.startswith("unedited_")} for k, s in perfect[group].items()}
    assert synthetic_root({"source": "celeba", "root": "data/raw/celeba"}) is None


def test_the_cylinder_turn_moves_a_face_towards_the_renderers_true_turn(tiny_synthetic):
    """The yaw prior alone (no learned flow) must bring a face nearer its true turned photo than the
    unedited face is; turned the wrong way, it does not."""

    assert cylinder_turn(torch.zeros(3), SIZE).abs().max() < 1e-6  # no change, no motion
    data = open_prepared(tiny_synthetic / "data/prepared")
    rows = data.rows(split="novel", domain="visible")
    rows = rows[rows["yaw"].abs() < 10].head(6)  # frontal sources: every target is a real turn
    faces, root = data.faces[rows.index], synthetic_root(data.report)
    names = rows["source_path"].map(lambda p: Path(p).name).tolist()
    x = to_input(faces)
    for target in (-40.0, 20.0):
        truth = np.stack([load_face(io.BytesIO(f), SIZE) for f in
                          true_variants(root, names, planned_edits(root, [YAW] * len(names), [target] * len(names)))])
        change = torch.as_tensor(target - rows["yaw"].to_numpy(), dtype=torch.float32)

        def turned(c):
            out = prior_turn(x, c)
            return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()

        nothing, prior, wrong_way = (_ssim_l1(f, truth)[0].mean() for f in (faces, turned(change), turned(-change)))
        assert prior > nothing + 0.05 and wrong_way < nothing, (target, nothing, prior, wrong_way)


def test_the_limb_falloff_takes_the_seam_out_of_the_cylinder_turn():
    """Without it the turn's offset jumps where the cylinder ends (the background stays, the head
    turns away); with it the offset fades out beyond the limb, and inside the head nothing moves."""
    change = torch.tensor([40.0, -40.0, 20.0])
    hard, soft = (cylinder_turn(change, 64, falloff) * 32 for falloff in (0.0, 0.5))  # pixels

    def seam(offset):  # the largest jump between neighbouring columns
        return (offset[:, 1:] - offset[:, :-1]).abs().max().item()

    assert seam(hard) > 4.0 and seam(soft) < 0.75 * seam(hard), (seam(hard), seam(soft))
    inside = (hard - soft).abs().amax(0) < 1e-6
    assert inside[28:36].all() and not inside.all()  # the face is untouched; only columns beyond the limb change
    assert cylinder_turn(torch.zeros(2), 64, 0.5).abs().max() < 1e-6


def write_untrained_models(tmp_path):
    """A recognizer and judges in their saved formats: the stage's wiring does not need them trained."""
    torch.manual_seed(0)
    save_recognizer(tmp_path / "recognizer.pt", build_backbone("iresnet", SIZE, 16, 4), arch="iresnet",
                    image_size=SIZE, embedding_dim=16, width=4, identity_names=[])
    judges = Judges(AttributeYawNet("mobilefacenet", SIZE, ["eyeglasses", "smiling", "young"], 4),
                    build_backbone("mobilefacenet", SIZE, 16, 4), 0.5, 1e-3, QualityCritic("iresnet", SIZE, 4), 0.5, 0.95)
    judges.save(tmp_path / "judges.pt", image_size=SIZE, attribute_arch="mobilefacenet", width=4,
                identity_arch="mobilefacenet", identity_width=4, identity_dim=16, quality_arch="iresnet",
                quality_width=4)


def test_stage_writes_model_report_grid_and_curves(tiny_synthetic, tmp_path):
    write_untrained_models(tmp_path)
    params = parse_params({"editor": TINY | {"steps": 3, "batch_size": 8}})
    paths = dict(prepared_dir=tiny_synthetic / "data/prepared", recognizer_path=tmp_path / "recognizer.pt",
                 judges_path=tmp_path / "judges.pt", model_path=tmp_path / "models/editor.pt",
                 report_path=tmp_path / "reports/editor.json", grid_path=tmp_path / "reports/editor_grid.png",
                 live_dir=tmp_path / "plots", checkpoint_dir=tmp_path / "ckpt")
    report = train_editor_stage(params, **paths)
    assert json.loads(paths["report_path"].read_text()) == report
    assert set(report["edit_success"]) == {"eyeglasses", "smiling", "young", "yaw"}
    assert set(report["quality_pass_rate"]["by_attribute"]) == set(report["edit_success"])
    for key in ("recon_psnr", "recon_ssim", "kid", "train_img_per_s", "steps", "seconds"):
        assert np.isfinite(report[key])
    assert report["steps"] == 3 and report["identity"]["preserved_rate"] <= 1
    truth = report["truth"]  # a synthetic set: every edit scored against its re-rendered truth
    assert set(truth["by_attribute"]) == set(NAMES) and set(truth["by_yaw_target"]) == {"-40", "-20", "+20", "+40"}
    assert all(0 < s["ssim"] <= 1 and np.isfinite(s["identity_similarity"]) for s in truth["by_attribute"].values())
    grid = Image.open(paths["grid_path"])
    assert grid.width == 2 * SIZE * 9  # source, recon, 3 flips, 4 yaws; doubled
    editor = load_editor(paths["model_path"])
    assert editor.image_size == SIZE
    # The renderer's true ages: the editor's young coordinate is continuous, its age edits scored as such.
    assert editor.continuous_age and 0 <= report["age_edits"]["mean_abs_error"] <= 1
    assert (tmp_path / "ckpt/last.pt").is_file() and (tmp_path / "plots/metrics.json").is_file()

    photo = tmp_path / "photo.png"
    Image.fromarray(tiny_faces(1)[0]).resize((3 * SIZE, 3 * SIZE)).save(photo)
    judged = edit_image(photo, tmp_path / "out.png", {"eyeglasses": 1.0, "yaw": 30.0},
                        paths["model_path"], paths["judges_path"])
    assert Image.open(tmp_path / "out.png").size == (3 * SIZE, 3 * SIZE)  # the photo's own size
    assert {"judged_before", "judged_after", "judges_read_as_reached", "in_domain", "quality"} <= set(judged)
    assert judged["quality"]["passed"] == (judged["quality"]["score"] >= judged["quality"]["threshold"])
    assert judged["models_trained_on"]["data"]["source"] == "synthetic"
    edit_image(photo, tmp_path / "crop.png", {"eyeglasses": 1.0}, paths["model_path"], paths["judges_path"],
               crop_only=True)
    assert Image.open(tmp_path / "crop.png").size == (SIZE, SIZE)
    aged = edit_image(photo, tmp_path / "aged.png", {"young": 1 - 0.8}, paths["model_path"], paths["judges_path"])
    assert aged["targets"] == {"young": pytest.approx(0.2)}


@pytest.mark.bad_input
def test_a_photo_without_a_face_is_named(tmp_path):
    from facegan.editor.edit import read_face

    Image.new("RGB", (100, 40)).save(tmp_path / "wide.png")  # not a crop: MTCNN finds no face
    with pytest.raises(FaceganError, match="wide.png: no face found"):
        read_face(tmp_path / "wide.png", SIZE)
    with pytest.raises(FaceganError, match="nope.jpg: cannot read"):
        read_face(tmp_path / "nope.jpg", SIZE)
