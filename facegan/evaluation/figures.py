"""The evaluate stage's figures (matplotlib, no display needed)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facegan.io import atomic_write_bytes  # noqa: E402


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(Path(path), buf.getvalue())


def _yerr(entries: list[dict]) -> list[list[float]]:
    return [[e["mean"] - e["ci95"][0] for e in entries], [e["ci95"][1] - e["mean"] for e in entries]]


def accuracy_vs_shots(path: Path, lowshot: dict, shots: list[int], conditions: list[str]) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for offset, name in enumerate(conditions):
        entries = [lowshot[f"k{k}"][name]["top1"] for k in shots]
        ax.errorbar([k + 0.06 * (offset - 1.5) for k in shots], [e["mean"] for e in entries], yerr=_yerr(entries),
                    marker="o", capsize=3, label=name)
    ax.set(xlabel="enrollment photos per identity (k)", ylabel="top-1 accuracy (novel identities)",
           xticks=shots, title="Low-shot top-1, mean and 95% CI over episodes")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def by_probe_bars(path: Path, by_probe: dict[str, dict[str, float | None]], k: int) -> None:
    conditions = list(by_probe)
    probes = list(next(iter(by_probe.values())))
    width = 0.8 / len(conditions)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for i, name in enumerate(conditions):
        values = [by_probe[name][p] if by_probe[name][p] is not None else 0.0 for p in probes]
        ax.bar([j + (i - (len(conditions) - 1) / 2) * width for j in range(len(probes))], values, width, label=name)
    ax.set(xticks=range(len(probes)), xticklabels=probes, ylabel="top-1 accuracy", ylim=(0, 1),
           title=f"Top-1 by probe condition, k = {k}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=len(conditions), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    _save(fig, path)


def ablation_bars(path: Path, ablation: dict[str, dict]) -> None:
    names = list(ablation)
    entries = [ablation[n] for n in names]
    labels = [f"{n}\n(probes translated)" if n == "thermal" else n for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(labels, [e["mean"] for e in entries], yerr=_yerr(entries), capsize=4, color="tab:green")
    ax.axhline(0, color="black", lw=0.8)
    ax.set(ylabel="top-1 gain vs real (k = 1)", title="Enrolling with one kind of variant alone")
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
