#!/usr/bin/env bash
# CUDA speed check: the synthetic default trained with and without --amp (clips/s from the
# training logs), then Micro-DualNet vs the ST-GCN baseline at T=64, V=133 in fp32 and AMP.
#
#   bash tools/cuda_speed_check.sh [OUT_DIR]      (default: work_dirs/cuda_check)
#
# Training work dirs (checkpoints, logs) go to $WORK_DIR (default: OUT_DIR/work).
# Every step runs even if an earlier one fails; results land in OUT_DIR as *.json and *.txt.
# Numbers from this script are quoted in docs/benchmarks.md ("CUDA").
set -u
OUT_DIR=${1:-work_dirs/cuda_check}
PY=${PYTHON:-python3}
WORK_DIR=${WORK_DIR:-$OUT_DIR/work}
mkdir -p "$OUT_DIR" "$WORK_DIR"
export PYTHONUNBUFFERED=1
status=0

step() {  # step NAME CMD...: run, keep its output, remember a failure
    local name=$1; shift
    echo "=== $name: $*"
    "$@" 2>&1 | tee "$OUT_DIR/$name.txt"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "=== $name FAILED (exit $rc)"; status=1; }
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT_DIR/gpu.txt"
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

CFG=configs/micro_dualnet/mdn_synthetic.py
for mode in fp32 amp; do
    flag=(); [ "$mode" = amp ] && flag=(--amp)
    step "train_$mode" $PY tools/train.py $CFG --work-dir "$WORK_DIR/train_$mode" "${flag[@]}"
done
step train_speed $PY tools/analysis/train_speed.py "$WORK_DIR/train_fp32" "$WORK_DIR/train_amp" \
    --skip 2 --out-json "$OUT_DIR/train_speed.json"

for mode in fp32 amp; do
    flag=(); [ "$mode" = amp ] && flag=(--amp)
    step "bench_$mode" $PY tools/benchmark.py $CFG --compare configs/stgcn/stgcn_synthetic.py \
        --layout coco_wholebody_133 --clip-len 64 --batch-train 16 --batch-infer 32 \
        --repeats 20 --warmup 5 --device cuda "${flag[@]}" \
        --out-json "$OUT_DIR/bench_T64_V133_$mode.json"
done
exit $status
