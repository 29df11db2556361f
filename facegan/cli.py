"""The `facegan` command: `facegan <stage> [--params params.yaml]` runs one pipeline stage;
`facegan preset NAME` writes params.yaml from presets/NAME.yaml; `facegan params --write` writes
it from the defaults (facegan/config.py), comments included; `facegan results` and
`facegan seeds` report on reports/metrics.json (one run, or a `dvc exp` seed sweep);
`facegan summary` prints reports/summary.json (or compares experiments); `facegan enroll` and
`facegan identify` keep a gallery of the user's own people and name them in photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan import paths
from facegan.errors import FaceganError
from facegan.stage import EXIT_USER_ERROR, run_stage
from facegan.stages.registry import STAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facegan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in STAGES.items():
        stage = sub.add_parser(name, help=(module.run.__doc__ or f"run the {name} stage").strip().splitlines()[0])
        stage.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    edit = sub.add_parser("edit", help="edit one face photo with the trained editor")
    edit.add_argument("photo", type=Path)
    edit.add_argument("--set", action="append", default=[], metavar="ATTR=0|1",
                      help="eyeglasses, smiling or young; repeatable")
    edit.add_argument("--yaw", type=float, help="target head yaw in degrees (+ = nose to image right)")
    edit.add_argument("--age", type=float, help="target age, 0 (young) .. 1 (old), for an editor trained on true "
                                                "ages (the synthetic set's); young means below 0.5")
    edit.add_argument("-o", "--out", type=Path, required=True)
    edit.add_argument("--model", type=Path, default=paths.EDITOR)
    edit.add_argument("--judges", type=Path, default=paths.JUDGES)
    edit.add_argument("--crop", action="store_true",
                      help="write the aligned face crop at the models' size instead of the whole photo")
    _gallery_commands(sub)
    preset = sub.add_parser("preset", help="write a complete params.yaml from presets/NAME.yaml")
    preset.add_argument("name")
    preset.add_argument("--out", default="params.yaml", type=Path)
    defaults = sub.add_parser("params", help="print params.yaml as the defaults in facegan/config.py make it")
    defaults.add_argument("--write", action="store_true", help="write it to --out instead of printing it")
    defaults.add_argument("--out", default="params.yaml", type=Path)
    results = sub.add_parser("results", help="write a Markdown results page from reports/metrics.json")
    results.add_argument("--metrics", type=Path, default=paths.METRICS)
    results.add_argument("--out", type=Path, default=paths.RESULTS)
    seeds = sub.add_parser("seeds", help="headline gains across a `dvc exp` seed sweep: mean, sd, min/max")
    seeds.add_argument("--metrics", type=Path, nargs="+", metavar="FILE",
                       help="aggregate these metrics.json files (seed from a params.yaml beside each) "
                            "instead of the dvc experiments")
    seeds.add_argument("--rev", help="the commit the sweep was queued from "
                                     "(default HEAD; `dvc exp show -A` lists them)")
    seeds.add_argument("--out", type=Path, default=paths.SEEDS, help="also writes the .md beside it")
    summary = sub.add_parser("summary", help="the headline numbers of reports/summary.json, one per row")
    summary.add_argument("--file", type=Path, default=paths.SUMMARY)
    summary.add_argument("--exps", action="store_true",
                         help="compare the workspace, HEAD and the dvc experiments instead (one column each)")
    args = parser.parse_args(argv)
    if args.command in ("results", "seeds", "summary"):
        return _report(args)
    if args.command == "preset":
        return _write_preset(args.name, args.out)
    if args.command == "params":
        return _write_params(args.out if args.write else None)
    if args.command == "edit":
        return _edit(args)
    if args.command in ("enroll", "identify"):
        return _enroll(args) if args.command == "enroll" else _identify(args)
    module = STAGES[args.command]
    return run_stage(args.command, module.run, args.params, distributed=module.DISTRIBUTED)


def _edit(args) -> int:
    import json

    from facegan.editor.edit import edit_image

    try:
        targets = _parse_targets(args.set, args.yaw, args.age)
        result = edit_image(args.photo, args.out, targets, args.model, args.judges, crop_only=args.crop)
    except FaceganError as err:
        print(f"error: edit: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    if result["in_domain"] is False:
        source = result["models_trained_on"].get("data", {}).get("source", "unknown")
        print(f"warning: edit: {args.photo} is unlike the faces the models were trained on (data.source {source}; "
              f"distance {result['domain_distance']}x the 99th percentile of held-out training faces): expect a "
              "wrong edit and unreliable judge readings", file=sys.stderr)
    print(json.dumps(result))
    return 0


def _gallery_commands(sub) -> None:
    from facegan.gallery.file import AUGMENTS, AUTO_MATCHER, DEFAULT_AUGMENT, FALLBACK_MATCHER, GALLERY_MATCHERS

    enroll = sub.add_parser("enroll", help="make a gallery of your people from PEOPLE_DIR/<name>/<photo> files")
    enroll.add_argument("people", type=Path, metavar="PEOPLE_DIR")
    enroll.add_argument("-o", "--out", type=Path, required=True, help="the gallery file to write (.npz)")
    enroll.add_argument("--augment", choices=AUGMENTS, default=DEFAULT_AUGMENT,
                        help="also enroll variants of each photo: classical (albumentations) or gan (the trained "
                             "editor's attribute and yaw edits the judges keep). Default none: the default run's "
                             "evaluation finds no clear gain from GAN variants over the photos alone and a loss "
                             "from classical ones (reports/results.md)")
    enroll.add_argument("--matcher", choices=(AUTO_MATCHER, *GALLERY_MATCHERS), default=AUTO_MATCHER,
                        help="the rule identify scores people with (facegan/lowshot/scoring.py). Default auto: "
                             f"the one the run's evaluation chose on val identities (lowshot.matcher in --metrics), "
                             f"{FALLBACK_MATCHER} where that is matched or there is no evaluated run")
    enroll.add_argument("--metrics", type=Path, default=paths.METRICS,
                        help="the run's metrics, for --matcher auto (default reports/metrics.json)")
    enroll.add_argument("--far", type=float, default=1e-3,
                        help="false accept rate of the identity threshold, set on the matcher's impostor scores "
                             "of the prepared store's val identities, held out of all training (default 1e-3)")
    enroll.add_argument("--threshold", type=float,
                        help="set the identity threshold (the matcher's score: a cosine for nn and ncm) by hand "
                             "instead, at no known FAR")
    enroll.add_argument("--prepared", type=Path, default=paths.PREPARED,
                        help="the prepared store the threshold is set on (default data/prepared)")
    identify = sub.add_parser("identify", help="name the enrolled person in each photo, or say unknown")
    identify.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")
    identify.add_argument("--gallery", type=Path, required=True, help="a gallery from `facegan enroll`")
    identify.add_argument("--top", type=int, default=3, help="how many best people to list per photo")
    identify.add_argument("--json", action="store_true", help="print one JSON document instead")
    identify.add_argument("--normalize", action="store_true",
                          help="first edit each photo back to the enrollment condition (no eyeglasses, not smiling, "
                               "young, frontal) where the judges accept the edit, as evaluation's gan_probe arm; off "
                               "by default: that arm loses accuracy in the default run (reports/results.md)")
    for command in (enroll, identify):
        command.add_argument("--params", type=Path, default=Path("params.yaml"),
                             help="params file naming the recognizer and crop size (default: params.yaml)")
        command.add_argument("--recognizer", type=Path, default=paths.RECOGNIZER)
        command.add_argument("--judges", type=Path, default=paths.JUDGES)
        command.add_argument("--editor", type=Path, default=paths.EDITOR)


def _enroll(args) -> int:
    from facegan.config import load_params
    from facegan.gallery.enroll import enroll

    try:
        if not 0 < args.far < 1:
            raise FaceganError(f"--far {args.far}: expected a rate between 0 and 1, e.g. 1e-3")
        people, gallery = enroll(args.people, args.out, load_params(args.params), augment=args.augment,
                                 far=args.far, recognizer=args.recognizer, judges=args.judges, editor=args.editor,
                                 prepared=args.prepared, metrics=args.metrics, matcher=args.matcher,
                                 threshold=args.threshold)
    except FaceganError as err:
        print(f"error: enroll: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    for p in people:
        variants = f", {p.variants} of {p.planned} variants kept" if args.augment != "none" else ""
        print(f"{p.name}: {len(p.photos)} photos used, {len(p.skipped)} skipped{variants}")
    print(f"total: {len(people)} people, {sum(len(p.photos) for p in people)} photos used, "
          f"{sum(len(p.skipped) for p in people)} skipped, {sum(p.variants for p in people)} variants; "
          f"matcher {gallery.matcher}; threshold {gallery.threshold:.3f} ({_threshold_note(gallery)}); "
          f"wrote {args.out}")
    return 0


def _threshold_note(gallery) -> str:
    from facegan.gallery.file import BY_HAND

    score = "hull score" if gallery.matcher == "hull" else "cosine"  # nn's and ncm's scores are cosines
    if gallery.threshold_set_on == BY_HAND:
        return f"{score}, set by hand"
    return f"{score} at FAR {gallery.far:g}, {gallery.threshold_set_on}"


def _identify(args) -> int:
    import json

    from facegan.config import load_params
    from facegan.gallery.identify import identify

    try:
        if args.top < 1:
            raise FaceganError(f"--top {args.top}: expected 1 or more")
        found = identify(args.photos, args.gallery, load_params(args.params), recognizer=args.recognizer,
                         top=args.top, normalize=args.normalize, editor=args.editor, judges=args.judges)
    except FaceganError as err:
        print(f"error: identify: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    if args.json:
        print(json.dumps(found))
    for item in [] if args.json else found["photos"]:
        if "error" in item:
            print(f"error: identify: {item['photo']}: {item['error']}", file=sys.stderr)
            continue
        scores = ", ".join(f"{b['name']} {b['score']:.3f}" for b in item["best"])
        edit = f"; edited to {item['normalized']}" if item.get("normalized") else ""
        print(f"{item['photo']}: {item['answer']}  ({scores}; threshold {found['threshold']:.3f}{edit})")
    return 0 if any("answer" in item for item in found["photos"]) else EXIT_USER_ERROR


def _parse_targets(settings: list[str], yaw: float | None, age: float | None = None) -> dict[str, float]:
    targets: dict[str, float] = {}
    for item in settings:
        name, _, value = item.partition("=")
        if name not in ("eyeglasses", "smiling", "young") or value not in ("0", "1"):
            raise FaceganError(f"--set {item}: expected eyeglasses|smiling|young=0|1")
        targets[name] = float(value)
    if yaw is not None:
        if not -45 <= yaw <= 45:
            raise FaceganError(f"--yaw {yaw}: the editor is trained for -45..45 degrees")
        targets["yaw"] = yaw
    if age is not None:
        if not 0 < age < 1 or "young" in targets:
            raise FaceganError(f"--age {age}: give one age strictly between 0 (young) and 1 (old), without --set young")
        targets["young"] = 1 - age  # the editor's young coordinate is the youth 1 - age
    if not targets:
        raise FaceganError("nothing to edit: give --set ATTR=0|1, --age A and/or --yaw DEGREES")
    return targets


def _report(args) -> int:
    from facegan.results import write_results, write_seeds
    from facegan.summary import experiments_table, read_summary, summary_table

    try:
        if args.command == "summary":
            print(experiments_table() if args.exps else summary_table(read_summary(args.file)), end="")
        elif args.command == "results":
            print(f"wrote {write_results(args.metrics, args.out)}", file=sys.stderr)
        else:
            print(write_seeds(args.metrics, out_path=args.out, rev=args.rev), end="")
            print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    except FaceganError as err:
        print(f"error: {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def _write_preset(name: str, out: Path) -> int:
    from facegan.presets import expand_preset

    try:
        expand_preset(name, out)
    except FaceganError as err:
        print(f"error: preset: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"wrote {out} from presets/{name}.yaml; run `dvc repro`", file=sys.stderr)
    return 0


def _write_params(out: Path | None) -> int:
    from facegan.io import atomic_write_bytes
    from facegan.params_file import params_text

    if out is None:
        print(params_text(), end="")
    else:
        atomic_write_bytes(out, params_text().encode())
        print(f"wrote {out} from the defaults in facegan/config.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
