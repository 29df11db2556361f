"""Benchmark: prep throughput and peak memory on real CelebA photos (celeba-mini).

Prints one JSON line per figure: {name, value, unit, target, meets_target}.
Two speeds: decoding and cropping alone (`thermal.source: none`), and with a
simulated thermal twin per photo (what `thermal.source: auto` does for real
photos). Memory is measured on a quarter and on all of the images, with twins:
flat memory means the peak does not grow with the number of images (the store
is a memmap, decoded in chunks).

    python bench/prep_throughput.py [--root ../shared/data/celeba-mini] [--image-size 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from report import emit  # bench/report.py (scripts run from bench/)

REPO = Path(__file__).resolve().parents[1]
TARGET_IMG_PER_S = 1000.0
# The simulator draws each twin at the crop's own resolution (the face-crop box of the CelebA
# frame at image_size, not the whole 178x218 frame): ~1 ms per 64 px twin per core, about as much
# as decoding. CelebA's 202,599 photos and their twins in under 7 minutes on 2 cores.
TARGET_TWINS_IMG_PER_S = 500.0
# Allowed growth of peak RSS from 1/4 to all images (allocator noise, the index).
TARGET_RSS_GROWTH_MB = 64.0

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from facegan.config import parse_params
from facegan.data.prep import prepare
root, size, out, thermal = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
params = parse_params({"data": {"source": "celeba", "root": root, "image_size": size, "workers": 2},
                       "thermal": {"source": thermal}})
report = prepare(params, out)
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
# RUSAGE_CHILDREN holds the largest single worker, so this is main + largest worker.
print(json.dumps({"images": report["n_images"], "seconds": report["seconds"],
                  "peak_rss_mb": (self_kb + kids_kb) / 1024}))
"""


def subset(root: Path, fraction: float, into: Path) -> Path:
    """A consistent CelebA-layout subset (first identities), images linked not copied."""
    ids = (root / "identity_CelebA.txt").read_text().splitlines()
    idents = sorted({ln.split()[1] for ln in ids})
    keep = set(idents[: max(2, int(len(idents) * fraction))])
    rows = [ln for ln in ids if ln.split()[1] in keep]
    names = {ln.split()[0] for ln in rows}
    (into / "img_align_celeba").mkdir(parents=True)
    for name in names:
        (into / "img_align_celeba" / name).symlink_to(root / "img_align_celeba" / name)
    (into / "identity_CelebA.txt").write_text("\n".join(rows) + "\n")
    for fname in ("list_attr_celeba.txt", "list_landmarks_align_celeba.txt"):
        lines = (root / fname).read_text().splitlines()
        body = [ln for ln in lines[2:] if ln.split()[0] in names]
        (into / fname).write_text("\n".join([str(len(body)), lines[1], *body]) + "\n")
    return into


def run(root: Path, size: int, out: Path, thermal: str = "simulated") -> dict:
    result = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(size), str(out), thermal],
                            capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO.parent / "shared/data/celeba-mini")
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(args.root, args.image_size, tmp / "warmup", "none")  # page cache, imports
        decode = run(args.root, args.image_size, tmp / "decode", "none")
        quarter = run(subset(args.root.resolve(), 0.25, tmp / "quarter"), args.image_size, tmp / "q")
        full = run(args.root, args.image_size, tmp / "full")
    emit(f"prep_img_per_s_{args.image_size}px", decode["images"] / decode["seconds"], "img/s", TARGET_IMG_PER_S)
    emit(f"prep_with_simulated_thermal_img_per_s_{args.image_size}px", full["images"] / full["seconds"], "img/s",
         TARGET_TWINS_IMG_PER_S)
    emit("prep_peak_rss_mb", full["peak_rss_mb"], "MB")
    growth = full["peak_rss_mb"] - quarter["peak_rss_mb"]
    emit(f"prep_peak_rss_growth_mb_{quarter['images']}_to_{full['images']}_images", growth, "MB",
         TARGET_RSS_GROWTH_MB, higher_is_better=False)


if __name__ == "__main__":
    main()
