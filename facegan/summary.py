"""reports/summary.json: the few numbers a user compares across runs and experiments.

metrics.json holds every number evaluate measures (hundreds); DVC's `metrics:` entry is this
file instead, so `dvc metrics show` and `dvc exp show` list what matters: each task's top-1 per
condition with its gains and 95% intervals, the editor's gains on val identities (what its settings
are chosen by), the recognizer retrained with the variants against the
plain one (`backbone`), what the editor and synthesis achieved, and the
minutes each stage took. Every value is copied from metrics.json. `facegan summary` prints it
(or compares experiments) as a table whose rows stay under 120 characters.
"""

from __future__ import annotations

import json
from pathlib import Path

from facegan.errors import FaceganError
from facegan.io import atomic_write_json
from facegan.results import BACKBONE_GAIN, SUMMARY_FILE, _bounds, _get, _is_number, _mean, _shots, load_metrics

WIDTH = 120  # a row fits a terminal, a pull request and a log line
SECTIONS = ("visible", "thermal", "val", "backbone", "editor", "synthesis", "minutes")  # build_summary's


def _rounded(x) -> float:
    return round(float(x), 4)


def _interval(value) -> dict | None:
    """{"mean", "lo", "hi"}: DVC leaves lists out of its tables, so the bounds are keys of their own."""
    mean, bounds = _mean(value), _bounds(value)
    if mean is None:
        return None
    return {"mean": _rounded(mean)} | ({"lo": _rounded(bounds[0]), "hi": _rounded(bounds[1])} if bounds else {})


def _task(block: dict) -> dict:
    """One task at one k: top-1 of every condition, then every gain with its interval."""
    out: dict = {"top1": {}}
    for name, value in block.items():
        if isinstance(value, dict) and "top1" in value and (top1 := _mean(value["top1"])) is not None:
            out["top1"][name] = _rounded(top1)
        elif name.startswith("gain_") and (interval := _interval(value)) is not None:
            out[name] = interval
        elif "_share_of_oracle" in name and _is_number(value):  # also gan_cond_share_of_oracle_cond
            out[name] = _rounded(value)
    return out


def build_summary(metrics: dict) -> dict:
    summary: dict = {}
    for task in ("visible", "thermal"):
        section = _get(metrics, "lowshot", task)
        if section:
            summary[task] = {k: _task(section[k]) for k in _shots(section)}
    val = _get(metrics, "lowshot", "val")
    if val:  # the editor's arms on val identities: what `dvc exp show` compares editor settings by
        summary["val"] = {k: {name: v for name, v in _task(val[k]).items() if name.startswith("gain_")}
                          for k in _shots(val)}
    backbone = _get(metrics, "backbone", BACKBONE_GAIN)
    if isinstance(backbone, dict):  # the training side: recognizer_aug against the recognizer, per k and arm
        gains = {k: {arm: iv for arm, v in backbone[k].items() if (iv := _interval(v)) is not None}
                 for k in _shots(backbone)}
        if any(gains.values()):
            summary["backbone"] = {BACKBONE_GAIN: gains}
    editor = metrics.get("editor") or {}
    if editor:
        summary["editor"] = {"edit_success": {k: _rounded(v) for k, v in (editor.get("edit_success") or {}).items()
                                              if _is_number(v)}}
        kept = _get(editor, "identity", "preserved_rate")
        if _is_number(kept):
            summary["editor"]["identity_kept"] = _rounded(kept)
    synthesis = metrics.get("synthesis") or {}
    if _is_number(synthesis.get("generated")) and synthesis["generated"] > 0:
        summary["synthesis"] = {"kept_rate": _rounded(synthesis["kept"] / synthesis["generated"])}
    timing = metrics.get("timing_s") or {}
    summary["minutes"] = {stage: round(s / 60, 2) for stage, s in timing.items() if _is_number(s)}
    return summary


def write_summary(metrics_path: Path, out_path: Path) -> Path:
    out_path = Path(out_path)
    atomic_write_json(out_path, build_summary(load_metrics(metrics_path)))
    return out_path


# ---- printing


def flatten(summary: dict, prefix: str = "") -> dict[str, object]:
    """'visible.k1.gain_gan_vs_real.mean' -> value: the names `dvc metrics show` uses."""
    flat: dict[str, object] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def _value(x, signed: bool) -> str:
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def rows(summary: dict) -> list[tuple[str, str]]:
    """(name, value) per number: an interval's mean/lo/hi on one row, gains signed."""
    out, flat = [], flatten(summary)
    for name, value in flat.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("lo", "hi") or not _is_number(value):
            continue
        if leaf == "mean":
            base = name.rsplit(".", 1)[0]
            lo, hi = (flat.get(f"{base}.{b}") for b in ("lo", "hi"))
            text = _value(value, True) + (f"  [{lo:+.3f}, {hi:+.3f}]" if _is_number(lo) and _is_number(hi) else "")
            out.append((base, text))
        elif name.startswith("minutes."):
            out.append((name, f"{value:.1f} min"))
        else:
            out.append((name, _value(value, "share_of_oracle" in leaf)))
    return out


def summary_table(summary: dict) -> str:
    table = rows(summary)
    width = max((len(name) for name, _ in table), default=0)
    return "".join(f"{name:<{width}}  {text}\n" for name, text in table)


def read_summary(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"{path} not found; run dvc repro (stage evaluate writes it)")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FaceganError(f"{path} is not valid JSON ({err}); rerun dvc repro evaluate") from err


def _experiment_columns(repo=None) -> list[tuple[str, dict]]:
    """(name, flat summary) of the workspace, HEAD and every experiment with a summary."""
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        exp_rows = dvc.api.exp_show(repo=repo)
    except DvcException as err:
        raise FaceganError(f"cannot list the dvc experiments here ({type(err).__name__}: {err}); "
                           "run inside the project") from err
    # exp_show names a column by its file only where two files share the name, so a bare
    # "editor.steps" is params.yaml's: params are left out by name, not by file.
    from facegan.config import Params

    params = set(flatten(Params().model_dump(mode="json")))
    columns = []
    for row in exp_rows:
        flat = {}
        for key, value in row.items():
            path, _, name = key.rpartition(":")
            ours = path == SUMMARY_FILE or (path == "" and name not in params)
            if ours and _is_number(value) and name.split(".")[0] in SECTIONS:
                flat[name] = value
        if flat:
            columns.append((row.get("Experiment") or row.get("rev") or "?", flat))
    return columns


def experiments_table(repo=None, column_width: int = 10) -> str:
    """Metrics as rows, experiments as columns (means only); as many columns as fit in WIDTH."""
    columns = _experiment_columns(repo)
    if not columns:
        raise FaceganError("no run with reports/summary.json found (dvc exp show lists none); run dvc repro")
    names = [n for n in columns[0][1] if not n.endswith((".lo", ".hi"))]
    for _, flat in columns[1:]:
        names += [n for n in flat if n not in names and not n.endswith((".lo", ".hi"))]
    label = max(len(n.removesuffix(".mean")) for n in names)
    fit = max(1, (WIDTH - label) // (column_width + 2))
    shown = columns[:fit]
    lines = [f"{'':<{label}}" + "".join(f"  {name[:column_width]:>{column_width}}" for name, _ in shown)]
    for n in names:
        cells = [flat.get(n) for _, flat in shown]
        signed = n.endswith(".mean") or "share_of_oracle" in n
        lines.append(f"{n.removesuffix('.mean'):<{label}}" + "".join(
            f"  {(_value(c, signed) if _is_number(c) else '-'):>{column_width}}" for c in cells))
    if len(columns) > fit:
        lines.append(f"({len(columns) - fit} more experiments left out to stay within {WIDTH} characters; "
                     "`dvc exp remove` the ones you are done with)")
    return "\n".join(lines) + "\n"
