"""dvclive history across resumes: a resumed run's folder holds what an uninterrupted run's does.

DVC deletes a stage's dvclive folder before rerunning it, while its checkpoint persists; every
trainer that logs (recognizer, editor, translator) must rebuild the folder from the checkpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.config import EditorParams, TranslatorParams
from facegan.editor.conditioning import attribute_vectors
from facegan.editor.train import train_editor
from facegan.live import live_factory
from facegan.recognition.backbone import build_backbone
from facegan.recognition.dataset import FaceSource
from facegan.translator.train import train_translator
from tests import test_editor, test_translator
from tests.test_recognition import train_tiny as train_recognizer_tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _recognizer() -> torch.nn.Module:
    torch.manual_seed(1)  # width 8: tiny width-4 iresnets crash the process at random
    return build_backbone("iresnet", test_editor.SIZE, embedding_dim=16, width=8).eval()


def _weights_image(net: torch.nn.Module) -> Image.Image:
    """A grid stand-in that changes with the weights, so a wrong re-log would show."""
    level = int(abs(sum(float(p.detach().sum()) for p in net.parameters())) * 1e4) % 256
    return Image.fromarray(np.full((8, 8, 3), level, np.uint8))


def _train_recognizer(tmp_path, name, max_steps, live):
    train_recognizer_tiny(tmp_path, name, max_steps=max_steps, live=live, width=8)


def _train_editor(tmp_path, name, max_steps, live):
    def monitor(generator, step):
        return {"usable": float(next(generator.parameters()).sum())}, _weights_image(generator)

    source = FaceSource(test_editor.tiny_faces(), np.arange(12), np.zeros(12))
    train_editor(EditorParams(**test_editor.TINY), source, attribute_vectors(test_editor.tiny_attributes()),
                 _recognizer(), seed=0, image_size=test_editor.SIZE, checkpoint_dir=tmp_path / name, live=live,
                 monitor=monitor, max_steps=max_steps, device=torch.device("cpu"))


def _train_translator(tmp_path, name, max_steps, live):
    train_translator(TranslatorParams(**test_translator.TINY), test_translator.tiny_pairs(), _recognizer(), seed=0,
                     image_size=test_translator.SIZE, checkpoint_dir=tmp_path / name, live=live,
                     monitor=_weights_image, max_steps=max_steps, device=torch.device("cpu"))


# trainer, and its kill points: the checkpoint it resumes from, the step the killed run logged up to.
# Editor and translator checkpoint every 2 steps, at loss-log boundaries (as in params.yaml:
# the losses summed between logs are not checkpointed); the recognizer checkpoints its epoch sums.
TRAINERS = {
    "recognizer": (_train_recognizer, (6, 10)),  # 4 steps an epoch, one row an epoch
    "editor": (_train_editor, (2, 4)),  # a grid at 3, losses at 4
    "translator": (_train_translator, (2, 4)),
}


def run(trainer: str, tmp_path: Path, name: str, max_steps=None) -> Path:
    """One session of `trainer` checkpointing in tmp_path/name, logging to tmp_path/name_live, as a stage does."""
    live_dir = tmp_path / f"{name}_live"
    open_live = live_factory(live_dir)
    TRAINERS[trainer][0](tmp_path, name, max_steps, open_live)
    for opened in open_live.opened:
        opened.end()
    return live_dir


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def metric_rows(folder: Path) -> dict[str, list[str]]:
    return {name: data.decode().splitlines() for name, data in contents(folder).items() if name.endswith(".tsv")}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_a_rerun_from_the_finished_checkpoint_rebuilds_the_deleted_folder(trainer, tmp_path):
    whole = contents(run(trainer, tmp_path, "whole"))
    assert any(name.endswith(".tsv") for name in whole)
    assert trainer == "recognizer" or any(name.endswith(".png") for name in whole)
    live_dir = run(trainer, tmp_path, "done")
    shutil.rmtree(live_dir)  # what `dvc repro -f` does to the stage's outs; the checkpoint persists
    run(trainer, tmp_path, "done")
    assert metric_rows(live_dir) == metric_rows(tmp_path / "whole_live")
    assert contents(live_dir) == whole  # the sample grids and metrics.json too


@pytest.mark.parametrize("trainer", TRAINERS)
def test_a_killed_run_resumed_logs_every_step_once_with_the_uninterrupted_values(trainer, tmp_path):
    whole = contents(run(trainer, tmp_path, "whole"))
    checkpointed, killed_at = TRAINERS[trainer][1]
    run(trainer, tmp_path, "killed", max_steps=checkpointed)
    last = tmp_path / "killed/last.pt"
    saved = last.read_bytes()
    # It went on logging past that checkpoint, then died before the next one.
    run(trainer, tmp_path, "killed", max_steps=killed_at)
    last.write_bytes(saved)
    live_dir = run(trainer, tmp_path, "killed")
    rows = metric_rows(live_dir)
    for lines in rows.values():
        steps = [line.split("\t")[0] for line in lines[1:]]
        assert len(steps) == len(set(steps))
    assert rows == metric_rows(tmp_path / "whole_live")
    assert contents(live_dir) == whole


def test_the_translator_stage_rerun_on_its_finished_checkpoint_rebuilds_its_curves(tiny_synthetic, tmp_path):
    """The issue's case, `dvc repro -f -s train_translator`: the stage's plots folder is deleted, the checkpoint kept."""
    from facegan.config import parse_params
    from facegan.recognition.embed import save_recognizer
    from facegan.translator.stage import train_translator_stage

    save_recognizer(tmp_path / "recognizer.pt", _recognizer(), arch="iresnet", image_size=test_translator.SIZE,
                    embedding_dim=16, width=8, identity_names=[])
    params = parse_params({"translator": test_translator.TINY | {"steps": 4, "batch_size": 8}})
    paths = dict(prepared_dir=tiny_synthetic / "data/prepared", recognizer_path=tmp_path / "recognizer.pt",
                 model_path=tmp_path / "models/translator.pt", report_path=tmp_path / "reports/translator.json",
                 grid_path=tmp_path / "reports/thermal_grid.png", live_dir=tmp_path / "plots",
                 checkpoint_dir=tmp_path / "ckpt")
    train_translator_stage(params, **paths)
    first = contents(tmp_path / "plots")
    assert {"plots/metrics/train/g/l1.tsv", "plots/images/samples/step_000003.png"} <= set(first)
    shutil.rmtree(tmp_path / "plots")
    train_translator_stage(params, **paths)
    assert contents(tmp_path / "plots") == first
    # The model file names the run that trained it: the checkpoint's fingerprint.
    from facegan.model_file import read_model_file
    run_id = torch.load(tmp_path / "ckpt/last.pt", weights_only=True)["fingerprint"]
    assert read_model_file(paths["model_path"], "translator").fingerprint == run_id
