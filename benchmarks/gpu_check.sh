#!/usr/bin/env bash
# The GPU check: one script to run on a machine with a GPU (under 8 minutes on one GPU).
#
#   bash benchmarks/gpu_check.sh            # on a GPU: CUDA tests, training benchmark, 3-minute paper-64 run
#   bash benchmarks/gpu_check.sh --smoke    # the same steps, tiny and on the CPU (a minute or two)
#
# Writes OUT/gpu_check.json (OUT: $OUT, else runs/gpu_check) and OUT/samples.png:
#   1. the tests that run on CUDA when it is there (tests/training, tests/models, tests/pipelines);
#   2. benchmarks/bench_train.py on the device for each recipe against the plain reference step;
#   3. a convergence run: train gan --preset paper-64 --batch-size 100 (the default recipe) on the
#      ModelNet10 chairs at 64^3 for 3 minutes, then the collapse guard's two numbers (occupancy,
#      diversity of the preview shapes) and a picture of 16 samples.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python3
OUT=${OUT:-runs/gpu_check}
CHAIRS=../shared/data/modelnet10-chair-vox30
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if [[ $SMOKE == 1 ]]; then
    DEVICE=cpu; PRESET=tiny-16; BATCH=8; MINUTES=0.3; RES=16; TESTS=(tests/training/test_steps.py tests/models/test_models.py)
    BENCH=(--device cpu --quick --presets paper-32 --batch 4)
else
    DEVICE=cuda; PRESET=paper-64; BATCH=100; MINUTES=3; RES=64; TESTS=(tests/training tests/models tests/pipelines)
    BENCH=(--device cuda --presets paper-64 --batch 100)
fi

started=$(date +%s)
echo "== 1. tests (${TESTS[*]})" >&2
tests_status=0
"$PY" -m pytest -q -p no:cacheprovider "${TESTS[@]}" > "$OUT/tests.log" 2>&1 || tests_status=$?
tail -n 1 "$OUT/tests.log" >&2

echo "== 2. training benchmark on $DEVICE" >&2
for recipe in paper fast robust; do
    "$PY" benchmarks/bench_train.py "${BENCH[@]}" --recipe "$recipe" > "$OUT/bench_$recipe.json"
done

echo "== 3. convergence: $PRESET, batch $BATCH, $MINUTES minutes" >&2
if [[ $SMOKE == 1 || ! -d $CHAIRS ]]; then
    DATA=builtin:chair
else
    DATA="$OUT/chairs-$RES"
    [[ -f "$DATA/cache.json" ]] || "$PY" -m shapespace data prepare "$CHAIRS" --classes chair --holdout 0.1 --res "$RES" --out "$DATA" --no-progress
fi
rm -rf "$OUT/run"
"$PY" -m shapespace train gan --data "$DATA" --preset "$PRESET" --batch-size "$BATCH" --steps 100000 --max-minutes "$MINUTES" \
    --latent-prior normal --device "$DEVICE" --log-every 10 --sample-every 0 --no-progress --out "$OUT/run" > "$OUT/train.log" 2>&1
"$PY" -m shapespace sample "$OUT/run" --n 16 --seed 0 --format png --device "$DEVICE" --out "$OUT/samples" > /dev/null
cp "$OUT"/samples/*.png "$OUT/samples.png" 2>/dev/null || true

"$PY" - "$OUT" "$tests_status" "$started" "$DEVICE" "$PRESET" "$BATCH" <<'PYTHON'
import json, sys, time
from pathlib import Path

out, tests_status, started, device, preset, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]
records = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines() if line.strip()]
last = records[-1]
bench = {}
for path in sorted(out.glob("bench_*.json")):
    rows = json.loads(path.read_text())
    bench[path.stem[len("bench_"):]] = rows
summary = {
    "device": device,
    "tests": {"exit_status": tests_status, "summary": (out / "tests.log").read_text().strip().splitlines()[-1]},
    "bench_train": bench,
    "convergence": {
        "preset": preset,
        "batch_size": int(batch),
        "steps": last["step"],
        "seconds": round(last["seconds"], 1),
        "samples_per_second": round(last["step"] * int(batch) / max(last["seconds"], 1e-9), 1),
        "sample_occupancy": last["sample_occupancy"],
        "sample_diversity": last["sample_diversity"],
        "collapsed": last["sample_diversity"] < 0.02 or last["sample_occupancy"] < 0.001,
    },
    "total_seconds": round(time.time() - started),
}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps(summary, indent=2))
PYTHON
