#!/usr/bin/env bash
# CUDA speed check of issue 14, one script for one GPU (about 10 minutes on an H200):
#
#   bench     Micro-DualNet vs ST-GCN at T=64, V=133, C=5 (the benchmark table's shapes):
#             train clips/s at batch 16, batch-1 latency, batch-32 throughput, in fp32 and AMP
#             (bf16 where the GPU supports it), eager;
#   compile   the same rows with the tensor core compiled and captured as CUDA graphs
#             (--compile reduce-overhead);
#   ops       ops and GPU kernel launches per training step / batch-1 inference, eager vs
#             compiled, Micro-DualNet and ST-GCN;
#   tta       time to accuracy on NW-UCLA: configs/micro_dualnet/mdn_nw_ucla_gpu.py to its
#             CPU top-1 (0.8642) vs configs/stgcn/stgcn_nw_ucla_gpu.py to its own (0.8966),
#             both fp32 eager, then Micro-DualNet again with --amp --compile reduce-overhead.
#
#   bash tools/cuda_speed_check.sh [OUT_DIR [STAGE ...]]   (defaults: docs/results, all four)
#
# JSON results land in OUT_DIR as cuda_*.json (quoted in docs/benchmarks.md, "On CUDA"), the
# console output of each step in $LOG_DIR (default work_dirs/cuda_check), training work dirs
# under $LOG_DIR/work. Every step runs even if an earlier one fails; the exit status says
# whether all passed. NW-UCLA must be at data/skeleton/nw_ucla.npz (tta only).
set -u
OUT_DIR=${1:-docs/results}
shift || true
STAGES=${*:-bench compile ops tta}
PY=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-work_dirs/cuda_check}
mkdir -p "$OUT_DIR" "$LOG_DIR/work"
export PYTHONUNBUFFERED=1
export TORCHINDUCTOR_COMPILE_THREADS=${TORCHINDUCTOR_COMPILE_THREADS:-$(nproc)}
status=0
START=$(date +%s)

step() {  # step NAME CMD...: run, keep its output, remember a failure
    local name=$1; shift
    echo "=== [$(( $(date +%s) - START )) s] $name: $*"
    "$@" 2>&1 | tee "$LOG_DIR/$name.txt"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "=== $name FAILED (exit $rc)"; status=1; }
}
want() { [[ " $STAGES " == *" $1 "* ]]; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$LOG_DIR/gpu.txt"
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"bf16", torch.cuda.is_bf16_supported())' | tee -a "$LOG_DIR/gpu.txt"

MDN=configs/micro_dualnet/mdn_synthetic.py
STGCN=configs/stgcn/stgcn_synthetic.py
SHAPE=(--layout coco_wholebody_133 --clip-len 64 --batch-train 16 --batch-infer 32
       --repeats 20 --warmup 5 --device cuda)

for kind in eager compile; do
    want "$( [ $kind = eager ] && echo bench || echo compile )" || continue
    cflag=(); [ $kind = compile ] && cflag=(--compile reduce-overhead)
    for prec in fp32 amp; do
        aflag=(); [ $prec = amp ] && aflag=(--amp)
        step "bench_${prec}_$kind" $PY tools/benchmark.py $MDN --compare $STGCN "${SHAPE[@]}" \
            "${aflag[@]}" "${cflag[@]}" --out-json "$OUT_DIR/cuda_bench_T64_V133_${prec}_$kind.json"
    done
done

if want ops; then
    for kind in eager compile; do
        cflag=(); [ $kind = compile ] && cflag=(--compile reduce-overhead)
        step "ops_$kind" $PY tools/benchmark.py $MDN --compare $STGCN "${SHAPE[@]}" --count-ops \
            "${cflag[@]}" --out-json "$OUT_DIR/cuda_ops_T64_V133_$kind.json"
    done
fi

if want tta; then
    if [ ! -f data/skeleton/nw_ucla.npz ]; then
        echo "=== tta SKIPPED: data/skeleton/nw_ucla.npz not found"; status=1
    else
        TTA=tools/analysis/time_to_accuracy.py
        step tta_mdn $PY $TTA configs/micro_dualnet/mdn_nw_ucla_gpu.py --target 0.8642 \
            --work-dir "$LOG_DIR/work/tta_mdn" --out-json "$OUT_DIR/cuda_tta_nw_ucla_mdn.json"
        step tta_stgcn $PY $TTA configs/stgcn/stgcn_nw_ucla_gpu.py --target 0.8966 \
            --work-dir "$LOG_DIR/work/tta_stgcn" --out-json "$OUT_DIR/cuda_tta_nw_ucla_stgcn.json"
        step tta_mdn_amp_compile $PY $TTA configs/micro_dualnet/mdn_nw_ucla_gpu.py \
            --target 0.8642 --amp --compile reduce-overhead \
            --work-dir "$LOG_DIR/work/tta_mdn_amp_compile" \
            --out-json "$OUT_DIR/cuda_tta_nw_ucla_mdn_amp_compile.json"
    fi
fi
echo "=== done in $(( $(date +%s) - START )) s; JSON in $OUT_DIR (cuda_*.json)"
exit $status
