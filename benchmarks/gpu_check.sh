#!/usr/bin/env bash
# The GPU check: one script to run on a machine with a GPU (about 9.5 minutes on one H200).
#
#   bash benchmarks/gpu_check.sh            # on a GPU: convergence runs, training benchmark, every command on CUDA
#   bash benchmarks/gpu_check.sh --smoke    # the same steps, tiny and on the CPU (two minutes)
#
# Steps, most important first; each has its own time limit and a failing step does not stop the rest:
#   1. convergence at the paper's setting: train gan --preset paper-64 --batch-size 100 (the default
#      recipe) on the ModelNet10 training chairs at 64^3 for 3 minutes; then the collapse guard's two
#      numbers (occupancy and diversity of the preview shapes), a picture of 16 samples, and
#      eval gen (1-NNA, COV) against the held-out chairs;
#   2. benchmarks/bench_train.py on the device (the default recipe) against the plain reference step;
#   3. every other command on the device with tiny models: train gan (and --resume), train vae-gan (and
#      its warm-up), sample, interpolate, arithmetic, neighbours, reconstruct (and --samples),
#      eval classify, eval gen, report;
#   4. the convergence run for paper-32 at batch 100, 1 minute.
#
# Data: the chairs at 64^3 and 32^3 as caches of `shapespace data prepare ... --classes chair
# --holdout 0.1`. CACHE64 and CACHE32 name prepared caches; otherwise they are prepared from
# ../shared/data/modelnet10-chair-vox30, and without that the built-in chairs are used.
#
# Writes at most 8 files to OUT ($OUT, else runs/gpu_check): gpu_check.json (the summary),
# samples_<preset>.png, train_<preset>.log, bench.log and cli.log (the failing commands' logs). Work files go to WORK
# (default: a temporary folder).
set -uo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python3
OUT=${OUT:-runs/gpu_check}
WORK=${WORK:-$(mktemp -d)}
CHAIRS=../shared/data/modelnet10-chair-vox30
mkdir -p "$OUT" "$WORK"
exec 3>&2  # the steps' own messages, whatever a step's output is redirected to
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [[ $SMOKE == 1 ]]; then
    DEVICE=cpu
    RUNS=("tiny-16 16 8 0.3"); BENCH=(--device cpu --quick --presets paper-32 --batch 4); RECIPES=(paper fast robust); LIMIT=1; EVAL=(--n 16)
else
    DEVICE=${DEVICE:-cuda}
    # paper and fast were timed on an H200 before (README); the default recipe is the one left to time
    RUNS=("paper-64 64 100 3" "paper-32 32 100 1"); BENCH=(--device cuda --presets paper-64 --batch 100); RECIPES=(robust); LIMIT=4; EVAL=()
fi
started=$(date +%s)
echo "{}" > "$WORK/steps.json"

# step NAME SECONDS COMMAND...: run it under a time limit and record its exit status and seconds.
# Every step ends by DEADLINE seconds after the start (default 570), 20 s kept for the summary.
DEADLINE_AT=$(( $(date +%s) + ${DEADLINE:-570} - 20 ))
step() {
    local name=$1 limit=$2 t0 status
    shift 2
    t0=$(date +%s)
    (( limit > DEADLINE_AT - t0 )) && limit=$(( DEADLINE_AT - t0 ))
    if (( limit < 10 )); then
        echo "== $name skipped: the deadline is near" >&3
        limit=0
    fi
    if (( limit > 0 )); then
        echo "== $name (limit ${limit} s)" >&3
        timeout --kill-after=5 "$limit" "$@"
        status=$?
    else
        status=-1
    fi
    "$PY" - "$WORK/steps.json" "$name" "$status" "$(( $(date +%s) - t0 ))" <<'PYTHON'
import json, sys
path, name, status, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
steps = json.load(open(path))
steps[name] = {"skipped": True} if status == -1 else {"exit_status": status, "timed_out": status in (124, 137), "seconds": seconds}
json.dump(steps, open(path, "w"), indent=1)
PYTHON
    echo "   exit $status after $(( $(date +%s) - t0 )) s" >&3
    LAST_STATUS=$status
}

cache_for() {  # cache_for RES: echo the data specification of the chairs at RES^3
    local res=$1 given
    given=$([[ $res == 64 ]] && echo "${CACHE64:-}" || echo "${CACHE32:-}")
    if [[ $SMOKE == 1 ]]; then echo builtin:chair
    elif [[ -n $given ]]; then echo "$given"
    elif [[ -d $CHAIRS ]]; then
        [[ -f "$WORK/chairs-$res/cache.json" ]] || "$PY" -m shapespace data prepare "$CHAIRS" --classes chair --holdout 0.1 \
            --res "$res" --out "$WORK/chairs-$res" --no-progress > /dev/null
        echo "$WORK/chairs-$res"
    else echo builtin:chair
    fi
}

convergence() {  # convergence "PRESET RES BATCH MINUTES"
    local preset res batch minutes data run classes
    read -r preset res batch minutes <<< "$1"
    data=$(cache_for "$res")
    echo "$data" > "$WORK/data_$preset.txt"
    run="$WORK/run_$preset"
    rm -rf "$run"
    step "train_$preset" $(( ${minutes%.*} * 60 + 120 )) "$PY" -m shapespace train gan --data "$data" --preset "$preset" \
        --batch-size "$batch" --steps 1000000 --max-minutes "$minutes" --latent-prior normal --device "$DEVICE" \
        --log-every 10 --sample-every 0 --no-progress --out "$run" > "$OUT/train_$preset.log" 2>&1
    step "sample_$preset" 60 "$PY" -m shapespace sample "$run" --n 16 --seed 0 --format png --device "$DEVICE" \
        --out "$WORK/samples_$preset" > /dev/null
    cp "$WORK/samples_$preset"/*.png "$OUT/samples_$preset.png" 2>/dev/null
    classes=()
    [[ $data == builtin:* ]] || classes=(--classes chair)
    step "eval_$preset" $(( LIMIT * 30 )) "$PY" -m shapespace eval gen "$run" --ref "$data" "${classes[@]}" "${EVAL[@]}" --device "$DEVICE" \
        --no-progress --out "$WORK/eval_$preset.json" > /dev/null
}

convergence "${RUNS[0]}"

for recipe in "${RECIPES[@]}"; do
    step "bench_$recipe" $(( LIMIT * 15 + 15 )) "$PY" benchmarks/bench_train.py "${BENCH[@]}" --recipe "$recipe" \
        > "$WORK/bench_$recipe.json" 2>> "$OUT/bench.log"
done

# The other command-line paths on the device, with tiny models (the test suite runs its models on the
# CPU, and on a GPU machine its subprocess tests cost most of the time: this is what exercises CUDA).
cli() {  # cli NAME ARGS...: one shapespace command, its log in $WORK/cli and, if it fails, in OUT/cli.log
    local name=$1
    shift
    step "cli_$name" 60 "$PY" -m shapespace "$@" > "$WORK/cli/$name.log" 2>&1
    [[ $LAST_STATUS == 0 ]] || { echo "== cli_$name: exit $LAST_STATUS"; tail -n 20 "$WORK/cli/$name.log"; } >> "$OUT/cli.log"
}
mkdir -p "$WORK/cli"
C="$WORK/cli"
cli train_gan train gan --data builtin:chair --preset tiny-16 --steps 20 --batch-size 8 --latent-prior normal --device "$DEVICE" \
    --no-progress --sample-every 10 --out "$C/gan"
cli train_gan_resume train gan --data builtin:chair --preset tiny-16 --steps 30 --batch-size 8 --latent-prior normal \
    --device "$DEVICE" --no-progress --sample-every 0 --out "$C/gan" --resume
cli train_vae_gan train vae-gan --data builtin:all --init-from "$C/gan" --steps 10 --batch-size 8 --device "$DEVICE" --no-progress \
    --sample-every 5 --out "$C/vae"
cli train_vae_warm_up train vae-gan --data builtin:all --init-from "$C/gan" --gan-weight 0 --steps 10 --batch-size 8 \
    --device "$DEVICE" --no-progress --sample-every 0 --out "$C/vae-warm"
cli sample sample "$C/gan" --n 4 --seed 0 --format npy,png,obj --device "$DEVICE" --out "$C/samples"
cli interpolate interpolate "$C/gan" --seeds 0 1 --steps 4 --device "$DEVICE" --out "$C/interpolation"
cli arithmetic arithmetic "$C/gan" --seeds 0 1 2 --device "$DEVICE" --out "$C/arithmetic"
cli neighbours neighbours "$C/gan" --data builtin:chair --n 4 --device "$DEVICE" --out "$C/neighbours"
"$PY" -c 'import sys; import numpy as np; from PIL import Image
for i in range(2): Image.fromarray((np.random.default_rng(i).random((96, 128, 3)) * 255).astype("uint8")).save(f"{sys.argv[1]}/photo{i}.png")' "$C"
cli reconstruct reconstruct "$C/vae" "$C/photo0.png" "$C/photo1.png" --device "$DEVICE" --out "$C/reconstructions"
cli reconstruct_samples reconstruct "$C/vae" "$C/photo0.png" --samples 4 --device "$DEVICE" --out "$C/reconstructions-4"
cli eval_classify eval classify "$C/gan" --data builtin:all --device "$DEVICE" --no-progress
cli eval_gen eval gen "$C/gan" --ref builtin:chair --n 8 --device "$DEVICE" --no-progress
cli report report "$C/gan" --out "$C/report.html"
for spec in "${RUNS[@]:1}"; do convergence "$spec"; done

"$PY" - "$OUT" "$WORK" "$started" "$DEVICE" "${RUNS[@]}" <<'PYTHON'
import json, sys, time
from pathlib import Path

out, work, started, device, runs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]


CURVE_KEYS = ("step", "seconds", "sample_occupancy", "sample_diversity", "d_accuracy")


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


summary = {"device": device, "steps": read_json(work / "steps.json"), "convergence": {}, "bench_train": {}}
try:
    import torch

    summary["torch"] = torch.__version__
    summary["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
except Exception as exc:  # the summary is written whatever broke
    summary["torch"] = f"not importable: {exc}"
for spec in runs:
    preset, res, batch, minutes = spec.split()
    entry = {"batch_size": int(batch), "minutes": float(minutes), "data": (work / f"data_{preset}.txt").read_text().strip()}
    metrics = work / f"run_{preset}" / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.exists() else []
    if records:
        last = records[-1]
        guarded = [r for r in records if "sample_diversity" in r]
        entry.update(
            steps=last["step"],
            seconds=round(last["seconds"], 1),
            samples_per_second=round(last["step"] * int(batch) / max(last["seconds"], 1e-9), 1),
            sample_occupancy=last.get("sample_occupancy"),
            sample_diversity=last.get("sample_diversity"),
            d_accuracy=last.get("d_accuracy"),
            loss_d=last.get("loss_d"),
            loss_g=last.get("loss_g"),
            # the collapse guard's thresholds (training/guard.py): diversity near 0 or occupancy below 0.1%
            collapsed=(last.get("sample_diversity") or 0) < 0.02 or (last.get("sample_occupancy") or 0) < 0.001,
                        # the collapse guard's numbers at about 12 points spread over the run
            curve=[{k: r.get(k) for k in CURVE_KEYS} for r in guarded[:: max(1, len(guarded) // 12)]],
        )
    evaluation = read_json(work / f"eval_{preset}.json")
    if evaluation:
        entry["eval_gen"] = evaluation
    summary["convergence"][preset] = entry
for path in sorted(work.glob("bench_*.json")):
    summary["bench_train"][path.stem[len("bench_"):]] = read_json(path)
cli = {name[len("cli_"):]: step for name, step in (summary["steps"] or {}).items() if name.startswith("cli_")}
summary["cli"] = {"passed": sum(s.get("exit_status") == 0 for s in cli.values()), "of": len(cli)}
summary["total_seconds"] = round(time.time() - started)
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps({k: v for k, v in summary.items() if k != "bench_train"}, indent=1)[:6000])
PYTHON
