"""Data blindness: every model trains on base identities only.

Each training stage is run on a small prepared store as it is and on a copy in which the pixels of
every row whose `split` is not "base" (novel and val identities, visible and thermal) are replaced
by other random pixels. The saved model files must hold bit-identical tensors: no pixel of a
held-out identity reached a weight. Reports may differ (they score novel faces).

So that a pass means something, a planted leak must fail the same comparison: changing the pixels
of some base training rows instead must change each stage's weights.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from facegan.config import parse_params
from facegan.data.store import FACES_FILE, INDEX_FILE, open_prepared
from tests.conftest import recognizer_fork, write_models
from tests.test_editor import StubJudges

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# A few optimizer steps per model; the recognizer's augmentations are the default recipe's.
PARAMS = {
    "recognizer": {"arch": "iresnet", "width": 4, "embedding_dim": 16, "batch_size": 16, "epochs": 1,
                   "warmup_epochs": 0.5, "checkpoint_every": 1000},
    "judges": {"width": 4, "epochs": 1, "identity_epochs": 1, "batch_size": 16, "checkpoint_every": 1000},
    "editor": {"channels": 4, "levels": 2, "res_blocks": 1, "d_channels": 4, "batch_size": 8, "steps": 6,
               "warmup_steps": 2, "heads_pretrain_steps": 1, "log_every": 2, "monitor_every": 2, "lr_g": 0.05,
               "checkpoint_every": 1000},
    "translator": {"channels": 4, "levels": 2, "d_channels": 4, "batch_size": 8, "steps": 3, "log_every": 2,
                   "monitor_every": 2, "checkpoint_every": 1000},
    "synthesis": {"yaw_targets": [-20.0, 20.0], "base_variants_per_image": 1},
}
VARIANTS_TABLE = "variants.csv"
TIMES = {"seconds", "train_img_per_s"}  # report keys that differ between any two runs
_RECOGNIZER_SIDE = ("n_train_images", "n_extra_train_images", "n_train_identities")
BASE_SIDE = {  # report keys each stage computes from base faces alone
    "train_recognizer": _RECOGNIZER_SIDE,
    "train_judges": ("attr_acc", "attr_balanced_acc", "yaw_mae_deg", "identity_threshold", "quality_threshold",
                     "quality_auc", "n_val_images"),
    "train_editor": ("steps", "selected_step", "selection", "n_train_images"),
    "train_translator": ("steps", "n_train_pairs"),
    "train_recognizer_aug": _RECOGNIZER_SIDE + ("extra_by_kind",),
}


# -- the machinery ------------------------------------------------------------------------------

def copy_store(src: Path, dst: Path, table_file: str, rows: Callable[[pd.DataFrame], np.ndarray],
               seed: int) -> int:
    """A copy of the face store `src` whose faces.npy rows selected by `rows(table)` are new random
    pixels (each differs from the original); returns how many rows were replaced."""
    shutil.copytree(src, dst)
    table = pd.read_csv(dst / table_file, keep_default_na=True)
    replace = np.flatnonzero(rows(table))
    faces = np.load(dst / FACES_FILE, mmap_mode="r+")
    noise = np.random.default_rng(seed).integers(0, 256, size=(len(replace), *faces.shape[1:]), dtype=np.uint8)
    assert all((noise[i] != faces[r]).any() for i, r in enumerate(replace))
    faces[replace] = noise
    faces.flush()
    return len(replace)


def held_out(table: pd.DataFrame) -> np.ndarray:
    return (table["split"] != "base").to_numpy()


def no_rows(table: pd.DataFrame) -> np.ndarray:
    return np.zeros(len(table), dtype=bool)


def some_base_training(table: pd.DataFrame) -> np.ndarray:
    """Every other base training row (both domains, for the translator's twins)."""
    mask = ((table["split"] == "base") & (table["role"] == "train")).to_numpy().copy()
    mask[np.flatnonzero(mask)[1::2]] = False
    return mask


def weight_hashes(model_path: Path) -> dict[str, str]:
    """Every tensor of a saved model file (state dicts at any depth), by its key path: sha256 of
    dtype, shape and bytes."""
    out = {}

    def walk(value, key: str) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            digest = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
            out[key] = digest.hexdigest()
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}/{k}")

    walk(torch.load(model_path, map_location="cpu", weights_only=True), "")
    return out


def model_meta(model_path: Path) -> dict:
    """What a model file holds besides tensors (identity names, the judges' threshold, ...)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not isinstance(v, torch.Tensor)}
        return repr(value)

    return strip(torch.load(model_path, map_location="cpu", weights_only=True))


def report_of(model_path: Path) -> dict:
    """The report of the run that saved `model_path`, less its timings."""
    (report,) = (model_path.parents[1] / "reports").glob("*.json")
    return {k: v for k, v in json.loads(report.read_text()).items() if k not in TIMES}


def base_side(stage: str, report: dict) -> str:
    """The report's entries about training and base faces only, as text (NaN compares equal)."""
    return json.dumps({k: report[k] for k in BASE_SIDE[stage]}, sort_keys=True)


# -- the stages, each run in a folder of its own --------------------------------------------------

def run_recognizer(params, store, upstream, out: Path) -> Path:
    from facegan.recognition.stage import train_recognizer_stage

    train_recognizer_stage(params, prepared_dir=store["prepared"], model_path=out / "models/recognizer.pt",
                           report_path=out / "reports/recognizer.json", live_dir=None,
                           checkpoint_dir=out / "checkpoints")
    return out / "models/recognizer.pt"


def run_judges(params, store, upstream, out: Path) -> Path:
    from facegan.judges.stage import train_judges_stage
    from facegan.recognition.train import train_recognizer

    train_judges_stage(params, prepared_dir=store["prepared"], model_path=out / "models/judges.pt",
                       report_path=out / "reports/judges.json", checkpoint_dir=out / "checkpoints",
                       train_identity=train_recognizer)
    return out / "models/judges.pt"


def run_editor(params, store, upstream, out: Path) -> Path:
    """With judges that read colours (untrained ones score every monitored step alike, so
    select_best would always keep the first): the selected step depends on the monitor faces."""
    from facegan.editor import stage as editor_stage

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(editor_stage, "load_judges", lambda path, device: StubJudges())
        editor_stage.train_editor_stage(params, prepared_dir=store["prepared"],
                                        recognizer_path=upstream / "recognizer.pt",
                                        judges_path=upstream / "judges.pt", model_path=out / "models/editor.pt",
                                        report_path=out / "reports/editor.json",
                                        grid_path=out / "reports/editor_grid.png", live_dir=None,
                                        checkpoint_dir=out / "checkpoints")
    return out / "models/editor.pt"


def run_translator(params, store, upstream, out: Path) -> Path:
    from facegan.translator.stage import train_translator_stage

    train_translator_stage(params, prepared_dir=store["prepared"], recognizer_path=upstream / "recognizer.pt",
                           model_path=out / "models/translator.pt", report_path=out / "reports/translator.json",
                           grid_path=out / "reports/thermal_grid.png", live_dir=None,
                           checkpoint_dir=out / "checkpoints")
    return out / "models/translator.pt"


def run_recognizer_aug(params, store, upstream, out: Path) -> Path:
    """From the fork of the recognizer recipe on this copy, as the pipeline's train_recognizer writes it."""
    from facegan.stages.train_recognizer_aug import train_recognizer_aug_stage

    train_recognizer_aug_stage(params, prepared_dir=store["prepared"], variants_dir=store["variants"],
                               model_path=out / "models/recognizer_aug.pt",
                               report_path=out / "reports/recognizer_aug.json", live_dir=None,
                               checkpoint_dir=out / "checkpoints",
                               fork_path=recognizer_fork(params, store["prepared"], out / "fork"))
    return out / "models/recognizer_aug.pt"


STAGES = {"train_recognizer": run_recognizer, "train_judges": run_judges, "train_editor": run_editor,
          "train_translator": run_translator, "train_recognizer_aug": run_recognizer_aug}


# -- the data -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tiny_synthetic, tmp_path_factory):
    """The rendered set of `tiny_synthetic` prepared again with val identities; its variant store
    (synthesize with untrained models and a colour-inverting translator); the as-is, blind and
    leaky copies of both; fixed upstream models; and a cache of trained weights per (stage, copy)."""
    from facegan.data.prep import prepare
    from facegan.synthesis import stage as synthesis_stage

    root = tmp_path_factory.mktemp("blindness")
    params = parse_params(PARAMS | {
        "data": {"root": str(tiny_synthetic / "data/raw/synthetic"), "image_size": 32, "workers": 1},
        "split": {"min_images": 4, "novel_fraction": 0.3, "val_fraction": 0.2, "val_identities": 0.2}})
    prepare(params, root / "as_is/prepared")
    upstream = root / "upstream"
    write_models(upstream)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthesis_stage, "_load_translator", lambda path, device: lambda faces: 255 - faces)
        synthesis_stage.synthesize_stage(params, prepared_dir=root / "as_is/prepared",
                                         editor_path=upstream / "editor.pt", translator_path=upstream / "translator.pt",
                                         judges_path=upstream / "judges.pt", out_dir=root / "as_is/variants",
                                         report_path=root / "as_is/synthesis.json")

    stores = {"as_is": {"prepared": root / "as_is/prepared", "variants": root / "as_is/variants"}}
    replaced = {}
    for name, rows, variant_rows in (("blind", held_out, held_out), ("leak", some_base_training, no_rows)):
        stores[name] = {"prepared": root / name / "prepared", "variants": root / name / "variants"}
        replaced[name] = copy_store(stores["as_is"]["prepared"], stores[name]["prepared"], INDEX_FILE, rows, seed=1)
        replaced[name + "_variants"] = copy_store(stores["as_is"]["variants"], stores[name]["variants"],
                                                  VARIANTS_TABLE, variant_rows, seed=2)
    trained: dict[tuple[str, str], Path] = {}

    def train(stage: str, copy: str) -> Path:
        if (stage, copy) not in trained:
            trained[stage, copy] = STAGES[stage](params, stores[copy], upstream, root / "runs" / stage / copy)
        return trained[stage, copy]

    return {"params": params, "stores": stores, "replaced": replaced, "train": train}


def test_the_store_has_base_val_and_novel_identities_with_thermal_twins(world):
    index = open_prepared(world["stores"]["as_is"]["prepared"]).index
    for split in ("base", "val", "novel"):
        rows = index[index["split"] == split]
        assert rows["identity"].nunique() >= 2, split
        assert (rows["domain"] == "thermal").any() and (rows["pair"] >= 0).all(), split
    variants = pd.read_csv(world["stores"]["as_is"]["variants"] / VARIANTS_TABLE)
    assert {"base", "novel"} <= set(variants["split"]) and variants["kept"].any()
    assert variants[variants["split"] == "base"]["kept"].any()


def test_the_blind_copy_differs_exactly_in_the_held_out_rows(world):
    stores = world["stores"]
    index = open_prepared(stores["as_is"]["prepared"]).index
    a, b = (np.load(stores[c]["prepared"] / FACES_FILE) for c in ("as_is", "blind"))
    changed = (a != b).reshape(len(a), -1).any(1)
    assert np.array_equal(changed, held_out(index)) and world["replaced"]["blind"] == changed.sum()
    assert set(index["split"][changed]) == {"val", "novel"} and set(index["domain"][changed]) == {"visible", "thermal"}
    assert world["replaced"]["blind_variants"] > 0


@pytest.mark.parametrize("stage", list(STAGES))
def test_weights_do_not_depend_on_held_out_pixels(world, stage):
    as_is, blind = world["train"](stage, "as_is"), world["train"](stage, "blind")
    hashes, blind_hashes = weight_hashes(as_is), weight_hashes(blind)
    assert hashes, f"{as_is}: no tensors"
    differ = sorted(k for k in hashes.keys() | blind_hashes.keys() if hashes.get(k) != blind_hashes.get(k))
    assert not differ, f"{stage}: weights depend on novel/val pixels: {differ[:5]} (of {len(differ)})"
    assert model_meta(as_is) == model_meta(blind)
    reports = report_of(as_is), report_of(blind)
    # What was trained on and scored on held-out base faces (the judges' threshold and accuracies,
    # the editor's checkpoint selection) is the same; what is scored on novel faces moved with
    # their pixels, so each run did read its own store.
    assert base_side(stage, reports[0]) == base_side(stage, reports[1])
    assert reports[0] != reports[1]


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_planted_leak_changes_the_weights(world, stage):
    """Changing base training pixels must change the weights: the comparison above can fail."""
    hashes, leak_hashes = weight_hashes(world["train"](stage, "as_is")), weight_hashes(world["train"](stage, "leak"))
    assert hashes.keys() == leak_hashes.keys()
    assert any(hashes[k] != leak_hashes[k] for k in hashes), f"{stage}: base pixels changed, weights did not"
