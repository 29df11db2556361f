#!/usr/bin/env bash
# The GPU check in one call: CUDA code paths (bench/device_check.py paths), then the celeba-gpu
# preset on a folder of CelebA photos at 128 px, stage by stage, then the figures, then the tests
# whose code picks the GPU by itself.
#
#   bash bench/device_check.sh PHOTOS [OUT] [--tiny]
#
# PHOTOS: CelebA's official layout (e.g. ../shared/data/celeba-mini or a subset of it).
# OUT: where the logs, metrics.json and the editor's grid go (default reports/device_check). --tiny
# rehearses it on a CPU: the preset's models at 128 px, a few steps each (30 identities: ~10 minutes).
# Wheels of packages the machine lacks, if any, are installed from .whl/ first; without dvc,
# bench/device_stubs stands in for it (dvclive imports it).
# Writes params.yaml, data/, models/, checkpoints/ and reports/ in the working tree: run it in a copy.
set -uo pipefail
cd "$(dirname "$0")/.."
photos=${1:?usage: bench/device_check.sh PHOTOS [OUT] [--tiny]}
out=${2:-reports/device_check}
tiny=${3:-}
mkdir -p "$out"
: > "$out/stages.log"  # this run's stages alone
export NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/*.whl || exit 1
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
python3 -c "import dvc" 2>/dev/null || export PYTHONPATH="$PYTHONPATH:$PWD/bench/device_stubs"  # dvclive needs it
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
[ -z "$tiny" ] && { python3 bench/device_check.py paths 2>&1 | tee "$out/paths.log" || exit 1; }
python3 bench/device_check.py params --root "$photos" $tiny > params.yaml || exit 1
for stage in validate render prep render_oracle train_recognizer train_judges train_editor train_translator \
             synthesize train_recognizer_aug evaluate; do
    start=$(date +%s%N)
    echo "== $stage" >> "$out/stages.log"
    python3 "pipeline/$stage.py" > "$out/stage.log" 2>&1
    code=$?
    cat "$out/stage.log" >> "$out/stages.log"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '{"stage": "%s", "exit": %d, "seconds": %d.%d}\n' "$stage" "$code" $((ms / 1000)) $((ms % 1000 / 100))
    [ "$code" -eq 0 ] || { tail -5 "$out/stage.log"; exit "$code"; }
done
rm -f "$out/stage.log"
python3 bench/device_check.py summary | tee "$out/summary.jsonl"
cp reports/metrics.json reports/figures/editor_grid.png "$out/" 2>/dev/null
# The tests whose code picks the GPU by itself (training, judging, synthesis, resume), on CUDA.
if [ -z "$tiny" ]; then
    xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 8")
    timeout 300 python3 -m pytest -m "not slow" -q -rf -p no:cacheprovider $xdist tests/test_recognition.py \
        tests/test_judges.py tests/test_synthesis.py tests/test_resume.py tests/test_amp.py \
        tests/test_enroll_identify.py > "$out/pytest.log" 2>&1
    echo "pytest exit $?"; grep -E "^FAILED|passed|failed" "$out/pytest.log" | tail -15
fi
exit 0
