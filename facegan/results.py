"""Read-only reports over reports/metrics.json.

`facegan results` turns one metrics.json into a Markdown page (reports/results.md);
`facegan seeds` sums up the headline gains across the runs of a `dvc exp` seed sweep
(reports/seeds.json and .md). Every number on either page is read from metrics.json.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from pathlib import Path

from facegan.errors import FaceganError
from facegan.io import atomic_write_bytes, atomic_write_json
from facegan.paths import METRICS, SUMMARY

# How `dvc exp show` names the two metrics files (a column prefix where their names clash).
METRICS_FILE = METRICS.as_posix()
SUMMARY_FILE = SUMMARY.as_posix()
# The gains a seed sweep reports, per task; each is read for every k{K} the run has.
HEADLINES = {
    "visible": ("gain_gan_vs_real", "gain_gan_vs_classical", "gain_oracle_vs_real", "gain_gan_probe_vs_real",
                "gain_oracle_probe_vs_real", "gain_gan_both_vs_real", "gan_share_of_oracle"),
    "thermal": ("gain_translated_vs_raw", "gain_translated_vs_classical", "gain_oracle_vs_raw"),
}
BACKBONE_GAIN = "gain_aug_vs_recognizer"  # metrics.backbone's paired gain per k and enrollment arm
VERDICT_ORDER = ("gain", "no clear effect", "loss", "no interval")
VERDICT_TITLES = {"gain": "Gains (interval above 0)", "no clear effect": "No clear effect (interval covers 0)",
                  "loss": "Losses (interval below 0)", "no interval": "Not judged (no interval in metrics.json)"}
# lowshot.visible key: (where, in the summary list; what varies, in the table title)
ABLATIONS = {"ablation_k1": ("ablation k=1", "GAN variant"),
             "oracle_ablation_k1": ("oracle ablation k=1", "the renderer's true variant")}
# Why the GAN's share of the oracle's gain is not given, by the oracle gain's verdict.
NO_SHARE_REASON = {"no clear effect": "covers 0", "loss": "lies below 0", "no interval": "is missing"}


# ---- reading metrics.json


def load_metrics(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"{path} not found; run dvc repro")
    try:
        metrics = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FaceganError(f"{path} is not valid JSON ({err}); run dvc repro") from err
    if not isinstance(metrics, dict):
        raise FaceganError(f"{path} does not hold a JSON object; run dvc repro")
    return metrics


def _get(d, *keys):
    """d[k1][k2]... or None where any level is missing or not a dict (any section may be absent)."""
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _mean(interval):
    mean = _get(interval, "mean")
    return mean if _is_number(mean) else None


def _bounds(interval) -> tuple[float, float] | None:
    """An interval's (low, high): metrics.json's `ci95` list, or summary.json's `lo` and `hi` (the form
    in which `dvc exp show` carries it: it drops lists)."""
    ci = _get(interval, "ci95")
    if not isinstance(ci, (list, tuple)):
        ci = (_get(interval, "lo"), _get(interval, "hi"))
    if len(ci) == 2 and all(_is_number(v) for v in ci):
        return float(ci[0]), float(ci[1])
    return None


def verdict(interval) -> str:
    """A gain only where the whole 95% interval is above 0, a loss where it is below."""
    bounds = _bounds(interval)
    if bounds is None:
        return "no interval"
    if bounds[0] > 0:
        return "gain"
    if bounds[1] < 0:
        return "loss"
    return "no clear effect"


def _shots(section) -> list[str]:
    """The k{K} keys of a task section, by K."""
    keys = [k for k in (section or {}) if re.fullmatch(r"k\d+", k)]
    return sorted(keys, key=lambda k: int(k[1:]))


def _gain_items(section) -> list[tuple[str, dict]]:
    """(label, interval) for every gain_A_vs_B in a section, in metrics.json's order."""
    return [(key[len("gain_"):].replace("_vs_", " vs "), value)
            for key, value in (section or {}).items() if key.startswith("gain_")]


def _conditions(section) -> list[tuple[str, dict]]:
    return [(name, value) for name, value in (section or {}).items() if isinstance(value, dict) and "top1" in value]


def _all_gains(lowshot) -> list[tuple[str, str, dict]]:
    """(where, label, interval) for each gain on the page, for the summary list."""
    found = []
    for task in ("visible", "thermal"):
        for k in _shots(_get(lowshot, task)):
            found += [(f"{task} k={k[1:]}", label, iv) for label, iv in _gain_items(lowshot[task][k])]
    for key, (where, _) in ABLATIONS.items():
        found += [(where, label, iv) for label, iv in _ablation_items(_get(lowshot, "visible"), key)]
    return found


def _ablation_items(visible, key) -> list[tuple[str, dict]]:
    ablation = _get(visible, key)
    return [(f"{attr} alone vs real", iv) for attr, iv in ablation.items()] if isinstance(ablation, dict) else []


# ---- formatting


def _num(x, signed: bool = False) -> str:
    if not _is_number(x):
        return "—"
    if isinstance(x, int):  # counts (identities, probes, episodes) stay whole
        return f"{x:+d}" if signed else str(x)
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ci(interval, signed: bool = False) -> str:
    bounds = _bounds(interval)
    return "—" if bounds is None else f"[{_num(bounds[0], signed)}, {_num(bounds[1], signed)}]"


def _brief(value) -> str:
    """A number, or a small nested dict of numbers on one line: 'k1: real 0.569, gan 0.734; k5: ...'."""
    if not isinstance(value, dict):
        return _num(value)
    if all(not isinstance(v, dict) for v in value.values()):
        return ", ".join(f"{key} {_num(v)}" for key, v in value.items())
    return "; ".join(f"{key}: {_brief(v)}" for key, v in value.items())


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(row) + " |" for row in rows] + [""])


def _gains_table(items) -> list[str]:
    return _table(["gain", "mean", "95% interval", "verdict"],
                  [[label, _num(_mean(iv), signed=True), _ci(iv), verdict(iv)] for label, iv in items])


def _conditions_table(section, extra: dict[str, str]) -> list[str]:
    """Top-1 with its interval per enrollment condition, plus the `extra` columns (header: key)."""
    rows = [[name, _num(_mean(v.get("top1"))), _ci(v.get("top1"))] + [_num(v.get(key)) for key in extra.values()]
            for name, v in _conditions(section)]
    return _table(["condition", "top-1", "95% interval", *extra], rows)


def _by_probe_table(section, conditions_from: str | None = None) -> list[str]:
    split = [(name, v["by_probe"]) for name, v in _conditions(section) if isinstance(v.get("by_probe"), dict)]
    if not split:
        return []
    kinds = list(dict.fromkeys(kind for _, by in split for kind in by))
    read = " (conditions as the judges read them: the novel photos have no labels)" if conditions_from == "judges" \
        else ""
    return ([f"Top-1 by probe condition{read}:", ""]
            + _table(["condition", *kinds], [[name, *(_num(by.get(kind)) for kind in kinds)] for name, by in split]))


def _counts(section) -> str:
    return f"{_brief(section.get('n_identities'))} identities, {_brief(section.get('n_probes'))} probes"


# ---- the results page


def _header(metrics) -> list[str]:
    data, lowshot = metrics.get("data") or {}, metrics.get("lowshot") or {}
    ids = data.get("n_identities") or {}
    lines = ["# Results", "",
             "Generated by `facegan results` from metrics.json alone; rerun it after `dvc repro`.", "",
             f"- **Data:** source {data.get('source', '—')}, {data.get('image_size', '—')} px images; identities: "
             + (", ".join(f"{n} {split}" for split, n in ids.items()) or "—")
             + f"; thermal: {data.get('thermal_source') or 'none'}."]
    novel = data.get("novel") or {}
    if novel.get("source", "same") != "same":
        lines.append(f"- **Novel identities:** from {novel.get('root')} (novel.source {novel['source']}); their "
                     f"conditions from {lowshot.get('conditions_from') or '—'}.")
    used = lowshot.get("recognizer") or {}
    if used.get("source", "trained") != "trained":
        lines.append(f"- **Low-shot recognizer:** recognizer.source {used['source']} ({used.get('fingerprint')}).")
    if isinstance(metrics.get("recognizer"), dict):
        rec = metrics["recognizer"]
        lines.append(f"- **Recognizer** (novel-identity pairs): verification accuracy "
                     f"{_num(rec.get('verification_acc'))}, TAR at FAR 1e-3 {_num(rec.get('tar_at_far_1e-3'))}.")
    if _is_number(_get(metrics, "timing_s", "total")):
        lines.append(f"- **Stage time:** {metrics['timing_s']['total']:.3f} s in all.")
    lines += [f"- **Intervals:** 95%, {lowshot.get('interval_method') or 'method not given'}; "
              f"{_brief(lowshot.get('n_novel_identities'))} novel identities, "
              f"{_brief(lowshot.get('episodes'))} episodes. "
              "A gain is called a gain where its whole interval lies above 0, a loss where it lies below 0, "
              "and no clear effect where it covers 0.", ""]
    return lines


def _oracle_line(section) -> str:
    oracle = section.get("gain_oracle_vs_real")
    if _mean(oracle) is None:
        return "No oracle here: the renderer's true variants exist only for faces it drew."
    oracle_verdict = verdict(oracle)
    if oracle_verdict != "gain":
        return (f"GAN share of the oracle's gain not reported: the oracle's gain interval {_ci(oracle)} "
                f"{NO_SHARE_REASON[oracle_verdict]}.")
    share = section.get("gan_share_of_oracle")
    if not _is_number(share):
        return "GAN share of the oracle's gain not reported in metrics.json."
    return (f"GAN variants reach {share:.3f} of the oracle's gain "
            f"({_num(_mean(section.get('gain_gan_vs_real')), signed=True)} of {_num(_mean(oracle), signed=True)}).")


def _visible(lowshot) -> list[str]:
    visible = _get(lowshot, "visible")
    lines = ["## Visible probes", ""]
    if not _shots(visible):
        return lines + ["Not in metrics.json (no lowshot.visible k{K} sections).", ""]
    lines += [f"Matcher: {lowshot.get('matcher') or '—'} (see Matchers).", ""]
    for k in _shots(visible):
        section = visible[k]
        lines += [f"### k={k[1:]} ({_counts(section)})", ""]
        lines += _conditions_table(section, {"coverage at p99": "coverage_at_p99",
                                             "enrolled per identity": "enrolled_per_identity"})
        lines += _by_probe_table(section, lowshot.get("conditions_from"))
        lines += _gains_table(_gain_items(section)) + [_oracle_line(section), ""]
    return lines + _ablation(visible)


def _ablation(visible) -> list[str]:
    lines = []
    for key, (_, title) in ABLATIONS.items():
        items = _ablation_items(visible, key)
        if items:
            lines += [f"### Ablation at k=1: one kind of {title} alone", ""] + _gains_table(items)
    return lines


def _thermal(lowshot) -> list[str]:
    thermal = _get(lowshot, "thermal")
    lines = ["## Thermal probes", ""]
    if not _shots(thermal):
        return lines + ["Not in metrics.json (no lowshot.thermal k{K} sections; there are none when the data "
                        "has no thermal photos).", ""]
    for k in _shots(thermal):
        section = thermal[k]
        lines += [f"### k={k[1:]} ({_counts(section)})", ""]
        lines += _conditions_table(section, {"coverage at p99": "coverage_at_p99"}) + _gains_table(_gain_items(section))
    return lines


def _matchers(lowshot) -> list[str]:
    matchers = _get(lowshot, "matchers")
    lines = ["## Matchers", ""]
    if not isinstance(matchers, dict) or not matchers:
        return lines + ["Not in metrics.json.", ""]
    rows = []
    for name, m in matchers.items():
        k1 = _get(m, "visible_k1") or {}
        gain = k1.get("gain_gan_vs_real")
        lead = _get(m, "val_gap_to_best")
        val_lead = f"{_num(_mean(lead), signed=True)} {_ci(lead)}" if lead else "—"
        rows.append([name, _num(_get(m, "val_top1_gan")), val_lead,
                     _num(_mean(k1.get("real"))), _num(_mean(k1.get("gan"))),
                     _num(_mean(gain), signed=True), _ci(gain), verdict(gain)])
    header = ["matcher", "val top-1 (gan)", "val: best's lead over it", "k=1 real", "k=1 gan", "gain gan vs real",
              "95% interval", "verdict"]
    lines += _table(header, rows)
    return lines + [f"Rule used for every table: **{lowshot.get('matcher') or '—'}**, "
                    f"chosen on {lowshot.get('matcher_chosen_on') or '(not stated)'}", ""]


def _val(lowshot) -> list[str]:
    """The editor's arms on val identities: what its settings are chosen by, apart from the report."""
    val = _get(lowshot, "val")
    if not isinstance(val, dict) or not _shots(val):
        return []
    lines = ["## Val identities (to choose settings by)", "",
             "The same arms on the val identities, held out from all training: editor and synthesis settings "
             "are compared by these gains, never by the novel identities' above.", ""]
    for k in _shots(val):
        lines += [f"### k={k[1:]} ({_counts(val[k])})", ""]
        lines += _conditions_table(val[k], {}) + _gains_table(_gain_items(val[k]))
    return lines


def _backbone(metrics) -> list[str]:
    """The recognizer trained on real base photos against the one trained on real plus generated
    ones (same optimizer steps), on the same visible episodes."""
    backbone = metrics.get("backbone")
    if not isinstance(backbone, dict) or not backbone:
        return []
    if "skipped" in backbone:
        return ["## Backbone", "", f"Not measured: {backbone['skipped']}.", ""]
    models = [(name, b) for name, b in backbone.items() if isinstance(b, dict)
              and isinstance(b.get("lowshot_top1"), dict)]
    shots = sorted({k for _, b in models for k in (b.get("lowshot_top1") or {})}, key=lambda k: int(k[1:]))
    arms = ("real", "gan")
    rows = [[name, _num(_get(b, "verification_acc")), _num(_get(b, "tar_at_far_1e-3"))]
            + [f"{_num(_mean(_get(b, 'lowshot_top1', k, arm)))} {_ci(_get(b, 'lowshot_top1', k, arm))}"
               for k in shots for arm in arms] for name, b in models]
    header = ["recognizer", "verification acc", "TAR at FAR 1e-3"] + [f"{k} {arm}" for k in shots for arm in arms]
    lines = ["## Backbone", ""] + _table(header, rows)
    gains = [(f"{k} {arm}, recognizer_aug vs recognizer", _get(backbone, "gain_aug_vs_recognizer", k, arm))
             for k in shots for arm in arms]
    gains = [(label, iv) for label, iv in gains if isinstance(iv, dict)]
    return lines + (_gains_table(gains) if gains else [])


def _where(lowshot) -> list[str]:
    groups = {v: [] for v in VERDICT_ORDER}
    for where, label, iv in _all_gains(lowshot):
        groups[verdict(iv)].append(f"- {where}, {label}: {_num(_mean(iv), signed=True)} {_ci(iv)}")
    lines = ["## Where gains are and are not", ""]
    for name in VERDICT_ORDER:
        if groups[name] or name != "no interval":  # an empty group is worth saying, except "not judged"
            lines += [f"**{VERDICT_TITLES[name]}:**", ""] + (groups[name] or ["- none"]) + [""]
    return lines


def results_markdown(metrics: dict) -> str:
    lowshot = metrics.get("lowshot") or {}
    lines = (_header(metrics) + _visible(lowshot) + _thermal(lowshot) + _matchers(lowshot) + _val(lowshot)
             + _backbone(metrics) + _where(lowshot))
    return "\n".join(lines).rstrip() + "\n"


def write_results(metrics_path: Path, out_path: Path) -> Path:
    out_path = Path(out_path)
    atomic_write_bytes(out_path, results_markdown(load_metrics(metrics_path)).encode())
    return out_path


# ---- seed sweep


def _seed(value):
    """exp_show gives params as floats: seed 1.0 and seed 1 are the same run."""
    if _is_number(value) and float(value).is_integer():
        return int(value)
    return value


def _headlines(metrics: dict) -> dict[str, object]:
    """'visible.k1.gain_gan_vs_real' -> its entry in metrics (an interval dict or a plain number); the
    training side as 'backbone.k1.gain_aug_vs_recognizer.real' (the real arm's gain)."""
    found = {}
    for task, names in HEADLINES.items():
        section = _get(metrics, "lowshot", task)
        for k in _shots(section):
            found |= {f"{task}.{k}.{name}": section[k].get(name) for name in names}
    backbone = _get(metrics, "backbone", BACKBONE_GAIN)
    for k in _shots(backbone):
        found |= {f"backbone.{k}.{BACKBONE_GAIN}.{arm}": value for arm, value in backbone[k].items()}
    return found


def _headline_number(entry) -> float | None:
    """An interval's mean, or the plain number; None where the run has neither."""
    value = _mean(entry) if isinstance(entry, dict) else entry
    return float(value) if _is_number(value) else None


def headline_values(metrics: dict) -> dict[str, float]:
    """'visible.k1.gain_gan_vs_real' -> its mean (or the plain number), for the gains a run has."""
    return {name: value for name, entry in _headlines(metrics).items()
            if (value := _headline_number(entry)) is not None}


def _spread(runs: list[dict]) -> dict:
    xs = [run["value"] for run in runs]
    out = {"runs": runs, "n": len(xs), "mean": statistics.fmean(xs),
           "sd": statistics.stdev(xs) if len(xs) > 1 else None,  # sample sd (n-1); none from one run
           "min": min(xs), "max": max(xs)}
    judged = [verdict(run) for run in runs if "ci95" in run]
    if judged:  # a claim holds across seeds where each seed's own interval says so
        out["verdicts"] = {name: judged.count(name) for name in VERDICT_ORDER if judged.count(name)}
    return out


def aggregate_runs(runs: list[tuple]) -> dict:
    """Per headline gain: the value each seed gave, their mean, sd, min and max.

    A seed seen twice (the workspace and HEAD rows of exp_show are one run) counts once: the
    first row wins. Runs of unknown seed (None) are all kept: nothing says they repeat. Runs are
    listed by seed.
    """
    kept, repeated, seen = [], [], set()
    for seed, metrics in runs:
        seed = _seed(seed)
        if seed is not None and seed in seen:
            repeated.append(seed)
            continue
        seen.add(seed)
        kept.append((seed, metrics))
    # by seed, unknown seeds last
    kept.sort(key=lambda run: (not _is_number(run[0]), run[0] if _is_number(run[0]) else 0))
    per_metric: dict[str, list[dict]] = {}
    for seed, metrics in kept:
        for name, entry in _headlines(metrics).items():  # each entry read once: its value and its interval
            if (value := _headline_number(entry)) is None:
                continue
            bounds = _bounds(entry)
            per_metric.setdefault(name, []).append(
                {"seed": seed, "value": value} | ({"ci95": list(bounds)} if bounds else {}))
    return {"n_runs": len(kept), "seeds": [seed for seed, _ in kept], "repeated_seeds_dropped": repeated,
            "metrics": {name: _spread(values) for name, values in per_metric.items()}}


def _seed_of_file(metrics_path: Path):
    import yaml

    params = metrics_path.parent / "params.yaml"
    if not params.is_file():
        return None
    try:
        loaded = yaml.safe_load(params.read_text())
    except yaml.YAMLError as err:
        raise FaceganError(f"{params}: not valid YAML ({err})") from err
    return _seed(loaded.get("seed")) if isinstance(loaded, dict) else None


def runs_from_files(paths) -> list[tuple]:
    """(seed, metrics) per metrics.json; the seed from a params.yaml beside it, else None."""
    return [(_seed_of_file(Path(p)), load_metrics(p)) for p in paths]


def _metrics_from_row(row: dict) -> dict:
    """Nest an exp_show row's flat 'lowshot.visible.k1.x.mean' columns back into a metrics dict.

    A column carries a 'reports/metrics.json:' prefix only where another metrics file has the
    same name; lists (ci95) and nulls never reach exp_show, and a missing value is None or '!'.
    """
    nested: dict = {}
    for key, value in row.items():
        path, _, name = key.rpartition(":")
        if path in ("", SUMMARY_FILE) and name.startswith(("visible.", "thermal.")):
            name = f"lowshot.{name}"  # summary.json, DVC's metrics file, keeps the tasks' gains at the top
        elif path in ("", SUMMARY_FILE, METRICS_FILE) and name.startswith(f"backbone.{BACKBONE_GAIN}."):
            pass  # the same path in both files
        elif path not in ("", METRICS_FILE) or not name.startswith("lowshot."):  # runs before summary.json
            continue
        if not _is_number(value):
            continue
        *parents, leaf = name.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


FINISHED = (None, "Success")  # exp_show's State of a commit (None) and of an experiment that ran through


def runs_from_experiments(repo=None, rev: str | None = None) -> list[tuple]:
    """(seed, metrics) for the workspace, the commit `rev` (HEAD by default) and every experiment
    queued from it that ran through. A running one is left out: exp_show reads its copy of the
    workspace, whose metrics are still the commit's (seed 0's numbers under the new seed). Experiments
    hang off the commit they were queued from: after a later commit, name that one."""
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        rows = dvc.api.exp_show(repo=repo, revs=rev)
    except DvcException as err:
        raise FaceganError(f"cannot list the dvc experiments here ({type(err).__name__}: {err}); "
                           "run inside the project, or give --metrics FILE ...") from err
    runs = [(_seed(row.get("seed", row.get("params.yaml:seed"))), _metrics_from_row(row)) for row in rows
            if row.get("State") in FINISHED]
    return [(seed, metrics) for seed, metrics in runs if headline_values(metrics)]


def seeds_markdown(summary: dict) -> str:
    seeds = ", ".join(str(s) for s in summary["seeds"])
    lines = ["# Seeds: training variance", "",
             f"{summary['n_runs']} runs, seeds {seeds or '—'}"
             + (f" (repeated seeds counted once: {', '.join(map(str, summary['repeated_seeds_dropped']))})"
                if summary["repeated_seeds_dropped"] else "")
             + ". sd is the sample standard deviation (n-1) across runs. Seeds' verdicts: how many seeds' own "
             "95% intervals put the gain above zero (gain), below it (loss) or across it.", ""]
    rows = [[name, str(m["n"]), _num(m["mean"], signed=True), _num(m["sd"]), _num(m["min"], signed=True),
             _num(m["max"], signed=True), _verdict_counts(m.get("verdicts")),
             ", ".join(f"{r['seed']}: {_num(r['value'], signed=True)}"
                       + (f" {_ci(r, signed=True)}" if "ci95" in r else "") for r in m["runs"])]
            for name, m in summary["metrics"].items()]
    header = ["gain", "runs", "mean", "sd", "min", "max", "seeds' verdicts", "per seed"]
    return "\n".join(lines + _table(header, rows)).rstrip() + "\n"


def _verdict_counts(verdicts: dict | None) -> str:
    return ", ".join(f"{name} {n}" for name, n in verdicts.items()) if verdicts else "—"


def write_seeds(metrics_paths=None, *, out_path: Path, rev: str | None = None) -> str:
    """Aggregate the given metrics files, or the dvc experiments of `rev`; write JSON and Markdown;
    return the Markdown."""
    runs = runs_from_files(metrics_paths) if metrics_paths else runs_from_experiments(rev=rev)
    if not runs:
        raise FaceganError("no run with low-shot gains found (dvc exp show lists none with metrics); "
                           "run the sweep first (README: Seeds: training variance)")
    if not metrics_paths and len({seed for seed, _ in runs}) < 2:
        print(f"warning: seeds: only one run found for {rev or 'HEAD'}; experiments belong to the commit they "
              "were queued from: give it with --rev (dvc exp show -A lists them)", file=sys.stderr)
    summary = aggregate_runs(runs)
    markdown = seeds_markdown(summary)
    out_path = Path(out_path)
    atomic_write_json(out_path, summary)
    atomic_write_bytes(out_path.with_suffix(".md"), markdown.encode())
    return markdown
