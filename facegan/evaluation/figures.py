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


def accuracy_vs_shots(path: Path, lowshot: dict, shots: list[int]) -> None:
    """Top-1 against k for every arm of each task (visible left, thermal right); an arm measured at
    some k only (the condition-matched ones, k = 1) as points where it was."""
    tasks = [(name, lowshot[name]) for name in ("visible", "thermal") if lowshot.get(name)]
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, (task, blocks) in zip(axes[0], tasks):
        arms = list(dict.fromkeys(c for k in shots for c, v in blocks[f"k{k}"].items()
                                  if isinstance(v, dict) and "top1" in v))
        for offset, name in enumerate(arms):
            at = [k for k in shots if name in blocks[f"k{k}"]]
            entries = [blocks[f"k{k}"][name]["top1"] for k in at]
            ax.errorbar([k + 0.05 * (offset - len(arms) / 2) for k in at], [e["mean"] for e in entries],
                        yerr=_yerr(entries), marker="o", capsize=3, label=name)
        ax.set(xlabel="enrollment photos per identity (k)", ylabel="top-1 accuracy (novel identities)",
               xticks=shots, title=f"{task} probes: top-1 with 95% bootstrap interval")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def by_probe_bars(path: Path, block: dict, k: int) -> None:
    """Visible top-1 of each arm split by probe condition."""
    by_probe = {c: v["by_probe"] for c, v in block.items() if isinstance(v, dict) and "by_probe" in v}
    conditions = list(by_probe)
    probes = list(next(iter(by_probe.values())))
    width = 0.8 / len(conditions)
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, name in enumerate(conditions):
        values = [by_probe[name][p] if by_probe[name][p] is not None else 0.0 for p in probes]
        ax.bar([j + (i - (len(conditions) - 1) / 2) * width for j in range(len(probes))], values, width, label=name)
    ax.set(xticks=range(len(probes)), xticklabels=probes, ylabel="top-1 accuracy", ylim=(0, 1),
           title=f"Visible probes: top-1 by probe condition, k = {k}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    _save(fig, path)


def ablation_bars(path: Path, visible: dict) -> None:
    """Gain over `real` of one kind of variant alone: the GAN's, and the oracle's true ones."""
    sets = [(label, visible[key]) for key, label in (("ablation_k1", "GAN variants"),
                                                       ("oracle_ablation_k1", "true variants (oracle)"))
            if visible.get(key)]
    names = list(sets[0][1])
    width = 0.8 / len(sets)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for i, (label, ablation) in enumerate(sets):
        entries = [ablation[n] for n in names]
        ax.bar([j + (i - (len(sets) - 1) / 2) * width for j in range(len(names))], [e["mean"] for e in entries],
               width, yerr=_yerr(entries), capsize=4, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xticks=range(len(names)), xticklabels=names, ylabel="visible top-1 gain vs real (k = 1)",
           title="Enrolling with one kind of variant alone")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
