"""The evaluate stage: the low-shot protocol (DESIGN §2, §4) on novel identities, with the
recognizer trained on real base faces and with the one trained on real plus generated faces;
writes reports/metrics.json and the figures."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from facegan.config import Params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.evaluation import figures
from facegan.evaluation.classical import ClassicalVariants
from facegan.evaluation.enrollment import NovelVariants, ablation_conditions, main_conditions
from facegan.evaluation.lowshot_run import EpisodeScorer, by_probe, paired_gain, summarize_condition
from facegan.evaluation.report import STAGE_REPORTS, data_section, model_sections, read_report, rounded, timing
from facegan.io import atomic_write_json
from facegan.lowshot.episodes import draw_protocol, gallery_rows
from facegan.recognition.backbone import default_device
from facegan.recognition.dataset import RowView
from facegan.recognition.embed import embed_faces, load_recognizer
from facegan.synthesis.store import open_variants

ABLATION_K = 1


def _scorer(model, data, novel, variants, nv: NovelVariants, params: Params, episodes: dict,
            classical: bool) -> EpisodeScorer:
    """Embed, in large batches, what these episodes use with this backbone: novel store rows, the
    kept variants of gallery photos, probe translations and classical variants of gallery photos."""
    device = next(model.parameters()).device

    def embed(faces):
        return embed_faces(model, faces, device=device, flip=True)

    store = np.zeros((len(data.index), model.output.fc.out_features), np.float32)
    store[novel.index.to_numpy()] = embed(RowView(data.faces, novel.index.to_numpy()))
    in_gallery = gallery_rows(episodes)
    edits = [nv.kept(r, nv.edit_kinds) for r in in_gallery]
    needed = np.unique(np.concatenate(edits + [np.asarray(list(nv.translation_of.values()), np.int64)]))
    variant = np.zeros((len(variants.table), store.shape[1]), np.float32)
    if len(needed):
        variant[needed] = embed(RowView(variants.faces, needed))
    extra = None
    if classical:
        extra = ClassicalVariants(params.recognizer.augment, data.faces, embed, params.seed)
        extra.embeddings([(int(r), j) for r, made in zip(in_gallery, edits) for j in range(len(made))])
    return EpisodeScorer(novel, store, variant, nv, extra, params.lowshot.neutral_max_yaw)


def _lowshot(scorer: EpisodeScorer, episodes_by_k: dict, conditions: dict) -> dict:
    out = {}
    for k, episodes in episodes_by_k.items():
        scores = {name: [scorer.score(e, cond) for e in episodes] for name, cond in conditions.items()}
        block = {name: summarize_condition(s) for name, s in scores.items()}
        if "gan" in scores:
            block["gain_gan_vs_real"] = paired_gain(scores["gan"], scores["real"])
        if "classical" in scores:
            block["gain_gan_vs_classical"] = paired_gain(scores["gan"], scores["classical"])
            block["gain_gan_classical_vs_real"] = paired_gain(scores["gan_classical"], scores["real"])
            block["gain_gan_vs_real_visible_probes"] = paired_gain(scores["gan"], scores["real"], "visible_top1")
        block["by_probe"] = {name: by_probe(s) for name, s in scores.items()}
        block["n_episodes"] = len(episodes)
        block["n_identities"] = len(episodes[0].gallery) if episodes else 0
        block["n_probes"] = int(np.mean([len(e.probes) for e in episodes])) if episodes else 0
        out[f"k{k}"] = block
    return out


def _ablation(scorer: EpisodeScorer, episodes, translate: bool) -> dict:
    real = [scorer.score(e, main_conditions((), False)["real"]) for e in episodes]
    return {kind: paired_gain([scorer.score(e, cond) for e in episodes], real)
            for kind, cond in ablation_conditions(scorer.all_kinds, translate).items()}


def evaluate_stage(params: Params, prepared_dir: Path = Path("data/prepared"),
                   variants_dir: Path = Path("data/synthetic_variants"),
                   recognizer_path: Path = Path("models/recognizer.pt"),
                   recognizer_aug_path: Path = Path("models/recognizer_aug.pt"),
                   metrics_path: Path = Path("reports/metrics.json"),
                   figures_dir: Path = Path("reports/figures"),
                   stage_reports: dict[str, Path] = STAGE_REPORTS) -> dict:
    started = time.perf_counter()
    device = default_device()
    data = open_prepared(prepared_dir)
    variants = open_variants(variants_dir)
    novel = data.index[data.index["split"] == "novel"]
    lp = params.lowshot
    shots = list(lp.shots)
    episodes_by_k = draw_protocol(novel, shots, lp.episodes, lp.gallery, lp.neutral_max_yaw, params.seed)
    empty = [k for k, e in episodes_by_k.items() if not e]
    if empty:
        raise FaceganError(f"{prepared_dir}: no novel identity has more than {empty[0]} visible photos, so "
                           f"lowshot.shots {empty[0]} leaves nothing to recognize; lower lowshot.shots or add data")
    nv = NovelVariants(variants.table)
    translate = bool(nv.translation_of)

    recognizer = load_recognizer(recognizer_path, device)
    scorer = _scorer(recognizer, data, novel, variants, nv, params, episodes_by_k, classical=True)
    main = main_conditions(nv.edit_kinds, translate)
    lowshot = _lowshot(scorer, {k: episodes_by_k[k] for k in shots}, main)
    lowshot[f"ablation_k{ABLATION_K}"] = _ablation(scorer, episodes_by_k[ABLATION_K], translate)
    lowshot["protocol"] = {"gallery": lp.gallery, "episodes": lp.episodes, "classifier": "nearest class mean",
                           "thermal_probes": "translated to visible in the gan conditions" if translate else "none"}

    aug = load_recognizer(recognizer_aug_path, device)
    aug_scorer = _scorer(aug, data, novel, variants, nv, params, episodes_by_k, classical=False)
    pair = {name: main[name] for name in ("real", "gan")}
    aug_lowshot = _lowshot(aug_scorer, {k: episodes_by_k[k] for k in shots}, pair)
    reports = {stage: read_report(path) for stage, path in stage_reports.items()}
    backbone = {}
    for name, report, block in (("recognizer", reports["train_recognizer"], lowshot),
                                ("recognizer_aug", reports["train_recognizer_aug"], aug_lowshot)):
        backbone[name] = {"verification_acc": (report or {}).get("verification_acc"),
                          "tar_at_far_1e-3": (report or {}).get("tar_at_far_1e-3"),
                          "lowshot_top1": {f"k{k}": {c: block[f"k{k}"][c]["top1"]["mean"] for c in pair}
                                           for k in shots}}

    figures_dir = Path(figures_dir)
    figures.accuracy_vs_shots(figures_dir / "accuracy_vs_shots.png", lowshot, shots, list(main))
    figures.by_probe_bars(figures_dir / "by_probe.png", lowshot[f"k{shots[0]}"]["by_probe"], shots[0])
    figures.ablation_bars(figures_dir / "ablation_k1.png", lowshot[f"ablation_k{ABLATION_K}"])

    prep = data.report
    metrics = {"data": data_section(prep)} | model_sections(reports) | {
        "lowshot": lowshot, "backbone": backbone,
        "timing_s": timing(reports, round(time.perf_counter() - started, 1), prep["source"] == "synthetic")}
    metrics = rounded(metrics)
    atomic_write_json(metrics_path, metrics)
    return metrics
