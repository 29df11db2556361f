"""The evaluate stage: the low-shot protocol (docs/design.md#low-shot-protocol) as two tasks on
novel identities (visible: enrollment augmentation; thermal: thermal probes against a visible gallery), the
matching rule chosen on val identities, bootstrap intervals over identities and episodes, the
backbone comparison; writes reports/metrics.json, reports/results.md and the figures."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from facegan.config import Params
from facegan.data.store import open_prepared
from facegan.errors import FaceganError
from facegan.evaluation import figures
from facegan.evaluation.classical import ClassicalVariants, grey_clahe
from facegan.evaluation.enrollment import (ATTRIBUTE_COLUMNS, Condition, VariantLookup, ablation_conditions,
                                           claimed_attributes, conditioned_conditions, thermal_conditions,
                                           visible_conditions)
from facegan.evaluation.lowshot_run import Embedded, EpisodeScorer, TaskResults, simplest_within_noise
from facegan.evaluation.report import data_section, model_sections, read_report, rounded, timing
from facegan.io import atomic_write_json
from facegan.lowshot.bootstrap import METHOD
from facegan.lowshot.conditions import with_conditions
from facegan.lowshot.episodes import CONDITIONED_K, draw_protocol, gallery_rows
from facegan.lowshot.scoring import MATCHERS
from facegan.train.device import default_device
from facegan.recognition.dataset import RowView
from facegan.recognition.source import Embedder, TrainedEmbedder, load_embedder
from facegan.synthesis.plan import condition_keys
from facegan.synthesis.store import open_oracle, open_variants

ABLATION_K = 1
SPLITS = ("novel", "val")
VISIBLE_GAINS = (("gan", "real"), ("gan", "classical"), ("gan_classical", "real"), ("gan_probe", "real"),
                 ("gan_both", "real"), ("oracle", "real"), ("oracle_probe", "real"), ("gan_cond", "real"),
                 ("gan_cond", "classical"), ("oracle_cond", "real"))
THERMAL_GAINS = (("translated", "raw"), ("translated", "classical"), ("oracle", "raw"))


def _embed(embedder: Embedder, data, variants, oracle, lookup: VariantLookup, oracle_lookup, params: Params,
           episodes: dict, full: bool) -> Embedded:
    """Embed, in large batches, what these episodes use with this recognizer (`full`: also the
    classical and CLAHE versions, which only the main recognizer's arms use)."""
    embed = embedder.embed
    index = data.index
    rows = index.index[index["split"].isin(list(episodes))].to_numpy()  # the splits these episodes use
    dim = embedder.dim
    store = np.zeros((len(index), dim), np.float32)
    store[rows] = embed(RowView(data.faces, rows))
    attributes = np.full((len(index), len(ATTRIBUTE_COLUMNS)), np.nan)
    judged = variants.judged
    attributes[judged.index.to_numpy()] = judged[list(ATTRIBUTE_COLUMNS)].to_numpy()
    gallery = np.unique(np.concatenate([gallery_rows(e) for e in episodes.values()]))
    needed = lookup.needed(gallery, conditioned=full)
    variant = np.zeros((len(variants.table), dim), np.float32)
    if len(needed):
        variant[needed] = embed(RowView(variants.faces, needed))
    out = Embedded(store=store, attributes=attributes, variant=variant,
                   variant_attributes=claimed_attributes(variants.table, judged))
    if oracle_lookup is not None:
        out.oracle = embed(oracle.faces) if len(oracle.faces) else np.zeros((0, dim), np.float32)
        out.oracle_attributes = claimed_attributes(oracle.table, judged)
    if full:
        # Only the thermal task, on novel identities, compares CLAHE faces.
        clahe_rows = np.union1d(gallery_rows(episodes["novel"]),
                                index.index[(index["domain"] == "thermal") & (index["split"] == "novel")].to_numpy())
        out.clahe = np.zeros_like(store)
        out.clahe[clahe_rows] = embed(grey_clahe(data.faces[clahe_rows]))
        out.classical = ClassicalVariants(params.recognizer.augment, data.faces, embed, params.seed)
        out.classical.embeddings([(int(r), j) for r in gallery
                                  for j in range(len(lookup.kept(r, lookup.edit_kinds)))])
    return out


def _run(scorer: EpisodeScorer, episodes, conditions: dict[str, Condition], task: str, matcher: str,
         params: Params) -> TaskResults:
    scores = {name: [scorer.score(e, cond, task, matcher) for e in episodes] for name, cond in conditions.items()}
    return TaskResults(scores, len(episodes[0].gallery), params.lowshot.resamples, params.seed)


def _gains(results: TaskResults, pairs) -> dict:
    return {f"gain_{a}_vs_{b}": results.gain(a, b) for a, b in pairs if a in results.scores and b in results.scores}


def _share(gains: dict, ours: str, best: str) -> float | None:
    """How much of the oracle's gain an arm reaches; None where the oracle gains nothing."""
    if best not in gains or not gains[best]["mean"] > 0:
        return None
    return gains[ours]["mean"] / gains[best]["mean"]


def _visible_block(results: TaskResults, scorer: EpisodeScorer, episodes) -> dict:
    block = {name: results.summary(name, scorer.masks) for name in results.scores}
    gains = _gains(results, VISIBLE_GAINS)
    block |= gains | {"gan_share_of_oracle": _share(gains, "gain_gan_vs_real", "gain_oracle_vs_real"),
                      "gan_probe_share_of_oracle": _share(gains, "gain_gan_probe_vs_real", "gain_oracle_probe_vs_real")}
    if "gan_cond" in results.scores:
        block["gan_cond_share_of_oracle_cond"] = _share(gains, "gain_gan_cond_vs_real", "gain_oracle_cond_vs_real")
    return block | _counts(results, episodes)


def _counts(results: TaskResults, episodes) -> dict:
    return {"n_episodes": len(episodes), "n_identities": len(episodes[0].gallery),
            "n_probes": int(results.probes.sum() / len(episodes))}


def _thermal_block(scorer: EpisodeScorer, episodes, translate: bool, matcher: str, params: Params) -> dict:
    results = _run(scorer, episodes, thermal_conditions(translate), "thermal", _thermal_matcher(matcher), params)
    gains = _gains(results, THERMAL_GAINS)
    block = {name: {key: v for key, v in results.summary(name).items() if key != "enrolled_per_identity"}
             for name in results.scores}
    share = _share(gains, "gain_translated_vs_raw", "gain_oracle_vs_raw") if translate else None
    return block | gains | {"translated_share_of_oracle": share} | _counts(results, episodes)


def _ablations(scorer: EpisodeScorer, episodes, kinds, oracle: bool, matcher: str, params: Params) -> dict:
    """The gain of one kind of GAN variant (and, with an oracle, of one kind of true variant) alone."""
    out = {}
    for name, true in (("ablation", False), ("oracle_ablation", True))[:2 if oracle else 1]:
        conds = {"real": Condition()} | ablation_conditions(kinds, true)
        results = _run(scorer, episodes, conds, "visible", matcher, params)
        out[f"{name}_k{ABLATION_K}"] = {kind: results.gain(kind, "real") for kind in kinds}
    return out


def _headline(results: TaskResults) -> dict:
    return {f"visible_k{ABLATION_K}": {"real": results.top1("real"), "gan": results.top1("gan"),
                                       "gain_gan_vs_real": results.gain("gan", "real")}}


def _condition_keys(embedded: Embedded, index, params: Params, oracle: bool) -> dict[str, np.ndarray]:
    """Each store row's condition key (the variant of a gallery photo the condition-matched arms use
    against it): as the judges read it (`gan`, as synthesis read it to make the variants) and, with
    an oracle, as its labels say (`oracle`)."""
    where = (params.lowshot.neutral_max_yaw, params.synthesis.yaw_targets)
    judged = {c: embedded.attributes[:, j] for j, c in enumerate(ATTRIBUTE_COLUMNS)}
    keys = {"gan": condition_keys(judged, *where)}
    if oracle:
        keys["oracle"] = np.full(len(embedded.store), "", dtype=object)
        keys["oracle"][index.index.to_numpy()] = condition_keys({c: index[c].to_numpy() for c in ATTRIBUTE_COLUMNS},
                                                               *where)
    return keys


VAL_ARMS = ("real", "gan", "gan_probe", "gan_both")  # the editor's arms and their baseline, on val identities


def _val_block(scorer: EpisodeScorer | None, episodes: dict, matcher: str, params: Params, kinds,
               conditioned: bool) -> dict | None:
    """The editor's arms against `real` on the val identities' episodes, at every shot count (and, with
    `conditioned`, `gan_cond` at k = 1): what to choose the editor's and synthesis's settings by, as the
    matcher is chosen. Novel identities are for the report only."""
    if scorer is None:
        return None
    visible = visible_conditions(kinds, False)
    out = {}
    for k, eps in episodes.items():
        conds = {name: visible[name] for name in VAL_ARMS} | (
            conditioned_conditions(oracle=False) if conditioned and k == CONDITIONED_K else {})
        results = _run(scorer, eps, conds, "visible", matcher, params)
        out[f"k{k}"] = ({name: {"top1": results.top1(name)} for name in conds} | _gains(results, VISIBLE_GAINS)
                        | _counts(results, eps))
    return out


def val_gains(params: Params, data, variants, embedder: Embedder) -> dict | None:
    """`lowshot.val` as evaluate would write it for these variants (without the opt-in conditioned arm):
    for benches that choose editor settings on a synthesis run of their own (bench/editor_arms.py)."""
    lp = params.lowshot
    index, _ = with_conditions(data.index, variants.judged)
    val = index[index["split"] == "val"]
    episodes = draw_protocol(val, list(lp.shots), lp.episodes, lp.gallery, lp.neutral_max_yaw, params.seed)
    if not all(episodes.values()):
        return None
    lookup = VariantLookup(variants.table)
    embedded = _embed(embedder, data, variants, None, lookup, None, params, {"val": episodes}, full=False)
    scorer = EpisodeScorer(val, embedded, lookup, None, lp.neutral_max_yaw, probe_weight=lp.probe_weight)
    matcher, _, _ = _choose_matcher(params, scorer, episodes, lookup.edit_kinds)
    return _val_block(scorer, episodes, matcher, params, lookup.edit_kinds, conditioned=False)


def _thermal_matcher(matcher: str) -> str:
    # `matched` needs the probe's attributes, which a thermal photo does not show the judges.
    return "ncm" if matcher == "matched" else matcher


def _choose_matcher(params: Params, scorer: EpisodeScorer | None, episodes: dict, kinds) -> tuple[str, str, dict]:
    """The matching rule: lowshot.matcher, or (auto) chosen on val identities, never on novel ones,
    by the visible top-1 of the `gan` arm averaged over the shot counts (simplest_within_noise)."""
    lp = params.lowshot
    if lp.matcher != "auto":
        return lp.matcher, "set by lowshot.matcher", {}
    if scorer is None:
        return "ncm", ("default ncm: no val identities to choose on (split.val_identities is 0 or too few "
                       "identities)"), {}
    gan = visible_conditions(kinds, False)["gan"]
    results = [TaskResults({rule: [scorer.score(e, gan, "visible", rule) for e in episodes[k]] for rule in MATCHERS},
                           len(episodes[k][0].gallery), lp.resamples, params.seed) for k in lp.shots]
    chosen, best, val, gaps = simplest_within_noise(results, MATCHERS)
    n_val = len(episodes[lp.shots[0]][0].gallery)
    return chosen, (f"val identities ({n_val}, held out from all training): the simplest rule ({', '.join(MATCHERS)}) "
                    f"whose visible top-1 of the gan arm averaged over k in {list(lp.shots)} is not below the best "
                    f"rule's ({best}) beyond the paired bootstrap interval"), {
        rule: {"val_top1_gan": val[rule], "val_gap_to_best": gaps[rule]} for rule in MATCHERS}


def evaluate_stage(params: Params, *, prepared_dir: Path, variants_dir: Path, oracle_dir: Path, recognizer_path: Path,
                   recognizer_aug_path: Path, stage_reports: dict[str, Path], render_report: Path,
                   metrics_path: Path, accuracy_vs_shots_path: Path, by_probe_path: Path, ablation_path: Path) -> dict:
    """`stage_reports`: stage -> the report it writes (numbers and seconds copied into metrics);
    `render_report`: render's seconds, read when the faces are the rendered set."""
    started = time.perf_counter()
    device = default_device()
    data = open_prepared(prepared_dir)
    variants = open_variants(variants_dir)
    if variants.judged is None:
        raise FaceganError(f"{variants_dir}: judged.csv missing (written by an older synthesize); "
                           "rerun `dvc repro synthesize`")
    oracle = open_oracle(oracle_dir) if Path(oracle_dir).exists() else None
    lp = params.lowshot
    shots = list(lp.shots)
    # Photos without labels (a novel set of identity folders) are put in conditions by the judges'
    # reading that synthesis wrote, as synthesis chose their neutral gallery photos.
    index, conditions_from = with_conditions(data.index, variants.judged)
    episodes = {split: draw_protocol(index[index["split"] == split], shots, lp.episodes, lp.gallery,
                                     lp.neutral_max_yaw, params.seed) for split in SPLITS}
    empty = [k for k, e in episodes["novel"].items() if not e]
    if empty:
        raise FaceganError(f"{prepared_dir}: no novel identity has more than {empty[0]} visible photos, so "
                           f"lowshot.shots {empty[0]} leaves nothing to recognize; lower lowshot.shots or add data")
    episodes = {s: e for s, e in episodes.items() if all(e.values())}  # val needs episodes at every k
    lookup = VariantLookup(variants.table)
    oracle_lookup = VariantLookup(oracle.table, ("novel",)) if oracle is not None and len(oracle.table) else None
    translate = bool(lookup.translation_of)
    kinds = lookup.edit_kinds

    recognizer = load_embedder(params, recognizer_path, device)
    embedded = _embed(recognizer, data, variants, oracle, lookup, oracle_lookup, params, episodes, full=True)
    keys = _condition_keys(embedded, index, params, oracle_lookup is not None) if lp.conditioned else None
    scorers = {s: EpisodeScorer(index[index["split"] == s], embedded, lookup,
                                oracle_lookup if s == "novel" else None, lp.neutral_max_yaw, keys, lp.probe_weight)
               for s in episodes}
    matcher, chosen_on, val_scores = _choose_matcher(params, scorers.get("val"), episodes.get("val", {}), kinds)
    scorer, novel_eps = scorers["novel"], episodes["novel"]
    has_thermal = bool(scorer.is_thermal.any())

    visible_conds = visible_conditions(kinds, oracle_lookup is not None)
    visible, thermal, results = {}, {}, {}
    for k in shots:
        conds = visible_conds | (conditioned_conditions(oracle_lookup is not None)
                                 if lp.conditioned and k == CONDITIONED_K else {})
        results[k] = _run(scorer, novel_eps[k], conds, "visible", matcher, params)
        visible[f"k{k}"] = _visible_block(results[k], scorer, novel_eps[k])
        if has_thermal:
            thermal[f"k{k}"] = _thermal_block(scorer, novel_eps[k], translate, matcher, params)
    visible |= _ablations(scorer, novel_eps[ABLATION_K], kinds, oracle_lookup is not None, matcher, params)
    pair = {name: visible_conds[name] for name in ("real", "gan")}
    matchers = {rule: val_scores.get(rule, {"val_top1_gan": None}) | _headline(
        results[ABLATION_K] if rule == matcher and ABLATION_K in results else
        _run(scorer, novel_eps[ABLATION_K], pair, "visible", rule, params)) for rule in MATCHERS}

    reports = {stage: read_report(path) for stage, path in stage_reports.items()}
    if recognizer.name == "trained":
        backbone = _backbone(params, data, variants, oracle, lookup, recognizer_aug_path, device, episodes, results,
                             reports, pair, matcher, index)
    else:  # a recognizer brought from outside is not retrained on the variants: the enrollment arms measure them
        backbone = {"skipped": f"recognizer.source {recognizer.name}: recognizer_aug retrains the recognizer trained "
                               "here, not this one; the lowshot arms measure what the variants add to it"}

    val = _val_block(scorers.get("val"), episodes.get("val", {}), matcher, params, kinds, bool(lp.conditioned))
    lowshot = {"visible": visible, "thermal": thermal or None, "val": val, "matcher": matcher,
               "matcher_chosen_on": chosen_on,
               "matchers": matchers, "interval_method": f"{METHOD}, {lp.resamples} resamples",
               "n_novel_identities": len(novel_eps[shots[0]][0].gallery),
               "n_val_identities": len(episodes["val"][shots[0]][0].gallery) if "val" in episodes else 0,
               "episodes": lp.episodes,
               "novel_source": (data.report.get("novel") or {}).get("source", "same"),
               "conditions_from": conditions_from,
               "recognizer": {"source": recognizer.name, "fingerprint": recognizer.fingerprint},
               "protocol": {"gallery": lp.gallery, "visible_probes": "visible photos only",
                            "thermal_probes": "thermal photos against the visible gallery",
                            "thermal_matcher": _thermal_matcher(matcher),
                            "conditioned": (f"k = {CONDITIONED_K}: gan_cond, oracle_cond (each photo with its "
                                            "variant in the probe's condition, class mean)") if lp.conditioned else
                            "off (lowshot.conditioned)",
                            "oracle": "renderer's true variants (gallery: oracle, oracle_cond; probes: oracle_probe)"
                            if oracle_lookup is not None else
                            "none (true variants exist only for faces the renderer drew)"}}

    figures.accuracy_vs_shots(accuracy_vs_shots_path, lowshot, shots)
    figures.by_probe_bars(by_probe_path, visible[f"k{shots[0]}"], shots[0])
    figures.ablation_bars(ablation_path, visible)

    prep = data.report
    metrics = {"data": data_section(prep)} | model_sections(reports) | {
        "lowshot": lowshot, "backbone": backbone,
        "timing_s": timing(reports, round(time.perf_counter() - started, 1),
                           read_report(render_report) if prep["source"] == "synthetic" else None)}
    metrics = rounded(metrics)
    atomic_write_json(metrics_path, metrics)
    return metrics


def _backbone(params, data, variants, oracle, lookup, aug_path, device, episodes, results, reports, pair, matcher,
              index) -> dict:
    """Novel-identity verification and visible low-shot top-1 of the recognizer trained on real base
    photos against the one trained on real plus generated ones, paired on the same episodes."""
    aug = TrainedEmbedder(aug_path, device, stage="train_recognizer_aug")
    novel = {"novel": episodes["novel"]}
    embedded = _embed(aug, data, variants, oracle, lookup, None, params, novel, full=False)
    scorer = EpisodeScorer(index[index["split"] == "novel"], embedded, lookup, None, params.lowshot.neutral_max_yaw,
                           probe_weight=params.lowshot.probe_weight)
    out = {name: {"verification_acc": (reports[stage] or {}).get("verification_acc"),
                  "tar_at_far_1e-3": (reports[stage] or {}).get("tar_at_far_1e-3"), "lowshot_top1": {}}
           for name, stage in (("recognizer", "train_recognizer"), ("recognizer_aug", "train_recognizer_aug"))}
    gains = {}
    for k, base in results.items():
        mine = _run(scorer, episodes["novel"][k], pair, "visible", matcher, params)
        both = TaskResults({f"{side}_{c}": r.scores[c] for side, r in (("base", base), ("aug", mine)) for c in pair},
                           len(episodes["novel"][k][0].gallery), params.lowshot.resamples, params.seed)
        for name, side in (("recognizer", "base"), ("recognizer_aug", "aug")):
            out[name]["lowshot_top1"][f"k{k}"] = {c: both.top1(f"{side}_{c}") for c in pair}
        gains[f"k{k}"] = {c: both.gain(f"aug_{c}", f"base_{c}") for c in pair}
    return out | {"gain_aug_vs_recognizer": gains}
