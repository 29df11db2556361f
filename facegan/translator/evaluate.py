"""Scoring the translator on novel identities (never seen in training).

Recognition: low-shot episodes of `facegan.lowshot` over the novel rows; each
identity's gallery is k of its visible photos, the probes are its thermal
photos except the gallery photos' own twins (same moment). Each probe is
classified by nearest class mean of recognizer embeddings, once as the raw
thermal face and once translated to visible first. Image quality: SSIM and
PSNR (torchmetrics) of each translation against its visible twin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from facegan.config import LowshotParams
from facegan.lowshot.episodes import draw_episodes
from facegan.lowshot.scoring import mean_ci95, nearest_class_mean

# The translator's own report is a monitor; evaluate's thermal task, with lowshot.episodes and
# intervals over identities, is the result. A fixed count keeps lowshot.episodes out of this stage.
MONITOR_EPISODES = 10
from facegan.train.device import to_input


def episode_top1(novel: pd.DataFrame, embeddings: dict[str, np.ndarray], k: int, p: LowshotParams,
                 seed: int) -> dict[str, dict[str, float]]:
    """Mean and 95% CI over episodes of thermal-probe top-1, for each probe embedding set.

    `novel`: the novel rows of the index (row labels = store rows), visible and thermal;
    `embeddings`: "visible" for every visible row, and one entry per probe variant
    (e.g. "raw", "translated") for every thermal row, each aligned with `novel`'s rows.
    """
    position = pd.Series(np.arange(len(novel)), index=novel.index)
    thermal = (novel["domain"] == "thermal").to_numpy()
    hits: dict[str, list[float]] = {name: [] for name in embeddings if name != "visible"}
    n_probes = []
    for episode in draw_episodes(novel, k, MONITOR_EPISODES, p.gallery, p.neutral_max_yaw, seed):
        enrolled = {i: embeddings["visible"][position[rows].to_numpy()] for i, rows in episode.gallery.items()}
        probes = position[episode.probes].to_numpy()
        probes = probes[thermal[probes]]
        if len(probes) == 0:
            continue
        truth = novel["identity"].to_numpy()[probes]
        n_probes.append(len(probes))
        for name in hits:
            predicted, _ = nearest_class_mean(enrolled, embeddings[name][probes])
            hits[name].append(float((predicted == truth).mean()))
    out = {}
    for name, values in hits.items():
        mean, ci = mean_ci95(values)
        out[name] = {"mean": mean, "ci95": ci}
    out["n_probes_per_episode"] = float(np.mean(n_probes)) if n_probes else 0.0
    return out


def image_quality(translated: np.ndarray, visible: np.ndarray, batch_size: int = 512) -> dict[str, float]:
    """Mean per-image SSIM and PSNR (dB) of uint8 translations against their visible twins, on [0, 1]."""
    ssim, psnr = [], []
    for start in range(0, len(translated), batch_size):
        a = (to_input(translated[start:start + batch_size]) + 1) / 2
        b = (to_input(visible[start:start + batch_size]) + 1) / 2
        ssim.append(structural_similarity_index_measure(a, b, data_range=1.0, reduction="none"))
        psnr.append(peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3)))
    if not ssim:
        return {"ssim": float("nan"), "psnr": float("nan")}
    return {"ssim": float(torch.cat(ssim).mean()), "psnr": float(torch.cat(psnr).mean())}
