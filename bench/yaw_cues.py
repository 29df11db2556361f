"""Benchmark: how much of a head turn the yaw judge reads in a 2-D warp, against the renderer's true turn.

The editor's yaw prior turns a photo by warping it (a cylinder head model: facegan.editor.generator.
cylinder_turn), and D's yaw head, trained on the same labels as the judges' yaw regressor, asks G
for the rest. If the judge reads a pure warp as a much smaller turn than the true turned face,
G is pushed to paint what the warp cannot move (the back of the head swinging out, the ear, the
cheek's outline, shading), and at +-40 degrees that painting is the smear of the editor grid.
On held-out base faces, per yaw target, the mean
judged yaw of:

- `truth`: the renderer's true turn of each photo (synthetic sets only);
- `prior`: the cylinder warp alone (editor.limb_falloff as in params), no learned flow or drawing;
- `prior_x1.6`: the same warp turned 1.6 times as far (is the prior simply too timid?);
- `editor`: models/editor.pt's edit, where that file exists.

Then the ceiling of any warp, per yaw target, as truth SSIM (the editor report's figure): `warp_ceiling`
warps each face by a dense optical flow fitted to its own true turn (OpenCV's Farneback, truth to
source): what a perfect 2-D warp of the photo could reach, drawing nothing; `prior_filled` is the
prior's warp with the truth pasted into every column the cylinder cannot show (within 30 degrees of
its limb, or beyond it): what a perfect drawing of the revealed side adds to the prior; `editor`
and `none` (the source) beside them.

Then, for the truth at the largest left turn, the reading with one band of the image put back
to the unturned source's pixels: how much of the reading each part of the face carries. On
photos (CelebA, identity folders) there is no truth: the prior's and the editor's readings only.

    cd bench && python yaw_cues.py --root .. [--sources 90]

Reads --root's params.yaml, data/prepared and models/judges.pt (`dvc repro train_judges` first);
about a minute on 2 cores (rendering the true turns), seconds on photos. One JSON line per figure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from report import emit  # bench/report.py (scripts run from bench/)

from facegan.config import load_params
from facegan.data.store import open_prepared
from facegan.editor.edit import continuous_age, edit_faces, load_editor, source_attributes
from facegan.editor.evaluate import edit_plan
from facegan.editor.generator import hidden_columns, prior_turn
from facegan.editor.truth import _ssim_l1, synthetic_root, true_plan_variants
from facegan.judges.judges import load_judges
from facegan.train.device import to_input

EXAGGERATION = 1.6
# (rows, columns) of a 64 px face, scaled to the prepared size
BANDS = {"hair (top 20 rows)": ((0, 20), (0, 64)), "eyes (rows 20-32)": ((20, 32), (0, 64)),
         "nose and mouth (rows 32-48)": ((32, 48), (0, 64)), "chin and neck (rows 48-64)": ((48, 64), (0, 64)),
         "left edge (16 columns)": ((0, 64), (0, 16)), "centre (32 columns)": ((0, 64), (16, 48)),
         "right edge (16 columns)": ((0, 64), (48, 64))}


def warped(faces: np.ndarray, change: np.ndarray, falloff: float) -> np.ndarray:
    """The cylinder prior's turn of uint8 faces by `change` degrees, alone (no learned flow), as uint8."""
    x = to_input(faces)
    with torch.no_grad():
        out = prior_turn(x, torch.as_tensor(change, dtype=x.dtype), falloff)
    return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def flow_warped(faces: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """Each uint8 face warped onto its truth by a dense flow fitted to the pair (the best a warp can do)."""
    out = []
    for face, truth in zip(faces, truths):
        flow = cv2.calcOpticalFlowFarneback(cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY),
                                            cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), None, 0.5, 3, 9, 5, 5, 1.1, 0)
        h, w = flow.shape[:2]
        x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        out.append(cv2.remap(face, x + flow[..., 0], y + flow[..., 1], cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE))
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(".."), help="the pipeline (params, data, models)")
    parser.add_argument("--sources", type=int, default=90, help="held-out base faces")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering the true turns")
    args = parser.parse_args()
    params = load_params(args.root / "params.yaml")
    data = open_prepared(args.root / "data/prepared")
    root = synthetic_root(data.report)
    if root is not None and not root.is_absolute():
        root = args.root / root  # the report's paths are the pipeline's
    judges = load_judges(args.root / "models/judges.pt")
    editor_path = args.root / "models/editor.pt"
    editor = load_editor(editor_path).eval() if editor_path.is_file() else None
    rows = data.rows(split="base", role="val", domain="visible")
    rows = rows.sample(n=min(args.sources, len(rows)), random_state=0)
    faces = data.faces[rows.index.to_numpy()]
    source = source_attributes(data.faces, rows, judges)
    continuous = continuous_age(editor) if editor is not None else True
    plan = edit_plan(source, continuous)
    truths = None if root is None else true_plan_variants(rows, source, root, faces.shape[1], args.workers, continuous)

    def read(images: np.ndarray) -> float:
        return float(np.mean(judges.attributes_and_yaw(images)[1]))

    falloff = params.editor.limb_falloff
    turns = [(i, float(targets["yaw"])) for i, (_, targets) in enumerate(plan) if "yaw" in targets]
    changes = {i: target - source["yaw"] for i, target in turns}
    priors = {i: warped(faces, changes[i], falloff) for i, _ in turns}
    edited = {} if editor is None else {i: edit_faces(editor, faces, {"yaw": target}, source) for i, target in turns}
    for i, target in turns:
        read_as = ({} if truths is None else {"truth": read(truths[i])}) | {
            "prior": read(priors[i]),
            f"prior_x{EXAGGERATION}": read(warped(faces, EXAGGERATION * changes[i], falloff))}
        if editor is not None:
            read_as["editor"] = read(edited[i])
        for name, value in read_as.items():
            emit(f"yaw_cues_{name}_{target:+.0f}", value, "degrees", n_sources=len(faces))

    if truths is None:  # photos: no true turn to take apart
        return
    for i, target in turns:
        made = {"none": faces, "prior": priors[i],
                "warp_ceiling": flow_warped(faces, truths[i])}
        hidden = hidden_columns(torch.as_tensor(changes[i]), faces.shape[2]).numpy()
        made["prior_filled"] = np.where(hidden[:, None, :, None], truths[i], made["prior"])
        if editor is not None:
            made["editor"] = edited[i]
        for name, images in made.items():
            emit(f"yaw_truth_ssim_{name}_{target:+.0f}", float(_ssim_l1(images, truths[i])[0].mean()), "SSIM",
                 digits=3, n_sources=len(faces))
    i, target = min(turns, key=lambda t: t[1])
    truth = truths[i]
    scale = faces.shape[1] / 64
    whole = read(truth)
    for band, ((r0, r1), (c0, c1)) in BANDS.items():
        patched = truth.copy()
        rs, cs = slice(round(r0 * scale), round(r1 * scale)), slice(round(c0 * scale), round(c1 * scale))
        patched[:, rs, cs] = faces[:, rs, cs]
        emit(f"yaw_cues_truth_{target:+.0f}_with_source_{band.split(' (')[0].replace(' ', '_')}", read(patched),
             "degrees", band=band, truth_reads=round(whole, 1))


if __name__ == "__main__":
    main()
