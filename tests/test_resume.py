"""Every model trains through facegan.train.loop.fit: a run that crashes mid-run (weights already
changed since its last checkpoint) and is rerun ends with the final state of an uninterrupted run,
bit for bit: weights, optimizers, schedules and RNG states of the final checkpoint."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from facegan.editor.train import EditorTrainer
from facegan.config import RecognizerParams
from facegan.judges.attribute_net import AttributeYawNet
from facegan.judges.stage import _train_identity_judge
from facegan.judges.train_attributes import AttributeJudgeTrainer, train_attribute_judge
from facegan.recognition.dataset import FaceSource, TrainBatches
from facegan.recognition.train import RecognizerTrainer, train_recognizer
from facegan.train import loop
from facegan.translator.train import TranslatorTrainer
from tests import test_editor, test_judges, test_recognition, test_translator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Crash(Exception):
    pass


def _attribute_judge(tmp_path, name):
    faces, attr, yaw = test_judges.marked_faces(n=64)
    torch.manual_seed(0)
    net = AttributeYawNet("mobilefacenet", 32, ["marked"], width=4)
    data = TrainBatches([FaceSource(faces, np.arange(64), np.arange(64))], ["brightness_contrast"], 0)
    train_attribute_judge(net, data, np.column_stack([attr, yaw]).astype(np.float32), epochs=3, batch_size=16,
                          lr=3e-3, seed=0, checkpoint_dir=tmp_path / name, checkpoint_every=5,
                          device=torch.device("cpu"))


def _recognizer(tmp_path, name):
    test_recognition.train_tiny(tmp_path, name, dropout=0.2, checkpoint_every=5)


def _identity_judge(tmp_path, name):
    """The judges stage's identity judge: the recognizer recipe with another architecture and seed."""
    faces, labels = test_recognition.tiny_faces()
    params = RecognizerParams(**(test_recognition.TINY | {"arch": "mobilefacenet", "dropout": 0.2,
                                                          "checkpoint_every": 5}))
    _train_identity_judge(train_recognizer, params, SimpleNamespace(faces=faces, image_size=32), pd.DataFrame({"identity": labels}),
                          seed=7919, checkpoint_dir=tmp_path / name)


def _editor(tmp_path, name):
    def monitor(generator, step):  # a score that changes with the weights: select_best's state is resumed too
        return {"usable": float(next(generator.parameters()).sum())}, None

    test_editor.train_tiny(tmp_path, name, monitor=monitor, penalty="r1", penalty_every=2, heads_pretrain_steps=2)


def _translator(tmp_path, name):
    test_translator.train_tiny(tmp_path, name, lambda_cycle=10.0)


# (train(tmp_path, name), its Trainer class, the step after which it crashes: past a checkpoint, in
# another epoch than that checkpoint's where the model has epochs)
CASES = {
    "recognizer": (_recognizer, RecognizerTrainer, 6),  # 12 steps of 4 an epoch, checkpoint at 5
    "identity_judge": (_identity_judge, RecognizerTrainer, 6),
    "attribute_judge": (_attribute_judge, AttributeJudgeTrainer, 8),  # 12 steps of 4 an epoch, checkpoint at 5
    "editor": (_editor, EditorTrainer, 4),  # 6 steps, checkpoints at 2 and 4
    "translator": (_translator, TranslatorTrainer, 4),  # 6 steps, checkpoints at 2 and 4
}


def _final_state(path) -> dict:
    state = torch.load(path / "last.pt", weights_only=True)
    return {k: v for k, v in state.items() if k != "timing"}


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _crash_after(trainer_class, monkeypatch, crash_step: int) -> None:
    """`trainer_class`'s step `crash_step` (0-based) runs, then the process 'dies' before `fit` sees it."""
    train_step = trainer_class.train_step

    def crashing(self, batch, rng):
        losses = train_step(self, batch, rng)
        if self.step == crash_step:
            raise Crash
        return losses

    monkeypatch.setattr(trainer_class, "train_step", crashing)


def _crash_then_resume(tmp_path, monkeypatch, model: str) -> tuple[dict, dict]:
    train, trainer_class, crash_step = CASES[model]
    train(tmp_path, "whole")
    with monkeypatch.context() as patched:
        _crash_after(trainer_class, patched, crash_step)
        with pytest.raises(Crash):
            train(tmp_path, "crashed")
    assert torch.load(tmp_path / "crashed/last.pt", weights_only=True)["step"] < crash_step + 1
    train(tmp_path, "crashed")
    return _final_state(tmp_path / "whole"), _final_state(tmp_path / "crashed")


@pytest.mark.parametrize("model", CASES)
def test_a_run_crashed_mid_run_and_rerun_ends_bit_identical(tmp_path, monkeypatch, model):
    whole, resumed = _crash_then_resume(tmp_path, monkeypatch, model)
    assert resumed["step"] == whole["step"]
    assert _same(resumed, whole)


def test_the_check_notices_a_resume_that_forgets_the_rng_states(tmp_path, monkeypatch):
    """The judge's dropout draws from the global RNG: a resume without its saved states goes elsewhere."""
    monkeypatch.setattr(loop, "set_rng_states", lambda states: None)
    whole, resumed = _crash_then_resume(tmp_path, monkeypatch, "attribute_judge")
    assert not _same(resumed["model"], whole["model"])


class FakeCuda:
    """torch.cuda's RNG calls on a machine with `visible` GPUs, this process on `current`."""

    def __init__(self, monkeypatch, visible: int, current: int = 0):
        self.states = [torch.full((4,), i, dtype=torch.uint8) for i in range(visible)]
        self.current = current
        for name, value in {"is_available": lambda: True, "device_count": lambda: visible,
                            "current_device": lambda: self.current,
                            "get_rng_state": lambda: self.states[self.current].clone(),
                            "get_rng_state_all": lambda: [s.clone() for s in self.states],
                            "set_rng_state": self._set}.items():
            monkeypatch.setattr(torch.cuda, name, value)
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: [self._set(s, i) for i, s in
                                                                            enumerate(states)])

    def _set(self, state, device="cuda"):
        index = self.current if device == "cuda" else int(device)
        self.states[index] = state.clone()  # IndexError past the visible GPUs, as torch.cuda's own


def test_a_checkpoint_from_more_gpus_resumes_on_fewer(monkeypatch):
    from facegan.train.checkpoint import rng_states, set_rng_states

    FakeCuda(monkeypatch, visible=8, current=3)
    saved = rng_states()
    assert torch.equal(saved["cuda"], torch.full((4,), 3, dtype=torch.uint8))  # this process's GPU alone
    one_gpu = FakeCuda(monkeypatch, visible=1)
    set_rng_states(saved)
    assert torch.equal(one_gpu.states[0], saved["cuda"])
    # A checkpoint written before: every visible GPU's state. Each process takes its own, if it exists.
    older = saved | {"cuda": [torch.full((4,), i, dtype=torch.uint8) for i in range(8)]}
    set_rng_states(older)
    assert torch.equal(one_gpu.states[0], older["cuda"][0])
    one_gpu.current = 5
    one_gpu.states = [None] * 6
    set_rng_states(older)
    assert torch.equal(one_gpu.states[5], older["cuda"][5])
    set_rng_states(older | {"cuda": older["cuda"][:2]})  # this GPU was not in the older run: left as it is
