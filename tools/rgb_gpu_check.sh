#!/usr/bin/env bash
# GPU check of the RGB entity stream (issue 15), prepared for a machine with a CUDA GPU; not run
# in the session that wrote it (no GPU there). Steps, each kept even if an earlier one fails:
#   1. tests/test_rgb_stream.py (with torchvision installed, its ROIAlign parity test runs too);
#   2. cost per clip of the RGB + pose model, R18/R50/R101, T=8, 224, batch 8, fp32 and AMP
#      (tools/analysis/rgb_cost.py --device cuda);
#   3. if the six MA-52 demo clips are there (DEMO_DIR), poses with the MediaPipe backend,
#      an annotation file with their videos (tools/data/ma52_converter.py), then 3 epochs of
#      mdn_ma52_rgbpose.py on them with a random-weight R50 (offline machine: no ImageNet
#      download) and its clips/s (tools/analysis/train_speed.py). A pipeline and speed check
#      on real videos, not an accuracy run (6 clips, made-up labels 0-5).
#
#   bash tools/rgb_gpu_check.sh [OUT_DIR]      (default: work_dirs/rgb_gpu_check)
#
# Environment: PYTHON (python3), DEMO_DIR (../shared/data/videos/ma52_demo), DEVICE (cuda),
# DEPTH (50), EXTRA_OPTIONS (more --cfg-options for step 3, e.g. to shrink it for a CPU try).
# Results land in OUT_DIR as *.json and *.txt; docs/benchmarks.md "RGB entity stream" says
# where to put them.
set -u
OUT_DIR=${1:-work_dirs/rgb_gpu_check}
PY=${PYTHON:-python3}
DEMO_DIR=${DEMO_DIR:-../shared/data/videos/ma52_demo}
DEVICE=${DEVICE:-cuda}
DEPTH=${DEPTH:-50}
EXTRA_OPTIONS=${EXTRA_OPTIONS:-}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
status=0

step() {  # step NAME CMD...: run, keep its output, remember a failure
    local name=$1; shift
    echo "=== $name: $*"
    "$@" 2>&1 | tee "$OUT_DIR/$name.txt"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "=== $name FAILED (exit $rc)"; status=1; }
}

if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT_DIR/gpu.txt"
fi
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
$PY -c 'import torchvision; print("torchvision", torchvision.__version__)' \
    || echo 'torchvision not importable: the ROIAlign parity test is skipped'

step tests $PY -m pytest tests/test_rgb_stream.py -q -p no:warnings -rs

if [ "$DEVICE" = cuda ]; then
    for mode in fp32 amp; do
        flag=(); [ "$mode" = amp ] && flag=(--amp)
        step "cost_$mode" $PY tools/analysis/rgb_cost.py --device cuda --depths 18 50 101 \
            --batch 8 --repeats 10 --warmup 3 --threads 4 "${flag[@]}" \
            --out-json "$OUT_DIR/cost_$mode.json"
    done
fi

if [ -d "$DEMO_DIR" ]; then
    LISTS="$OUT_DIR/lists"
    mkdir -p "$LISTS"
    : > "$LISTS/train_list_videos.txt"
    label=0
    for video in "$DEMO_DIR"/*.mp4; do
        echo "$(basename "$video") $label" >> "$LISTS/train_list_videos.txt"
        label=$((label + 1))
    done
    ANN="$OUT_DIR/ma52_demo.pkl"
    step convert $PY tools/data/ma52_converter.py --video-root "$DEMO_DIR" --list-dir "$LISTS" \
        --out "$ANN" --backend mediapipe --no-progress --overwrite
    opts=(train_cfg.max_epochs=3 train_cfg.val_interval=3 train_dataloader.batch_size=2
          train_dataloader.num_workers=2 val_dataloader.num_workers=2
          test_dataloader.num_workers=2 default_hooks.logger.interval=1 'custom_hooks=[]'
          model.rgb_encoder.backbone.depth="$DEPTH"
          model.rgb_encoder.backbone.pretrained=None)
    for loader in train val test; do
        opts+=("$loader"_dataloader.dataset.ann_file="$ANN"
               "$loader"_dataloader.dataset.split=train
               "$loader"_dataloader.dataset.data_prefix.video="$DEMO_DIR")
    done
    # shellcheck disable=SC2206  # EXTRA_OPTIONS is a list of KEY=VALUE words
    extra=($EXTRA_OPTIONS)
    step train $PY tools/train.py configs/micro_dualnet/mdn_ma52_rgbpose.py \
        --work-dir "$OUT_DIR/train" --cfg-options "${opts[@]}" "${extra[@]}"
    step train_speed $PY tools/analysis/train_speed.py "$OUT_DIR/train" --skip 2 \
        --out-json "$OUT_DIR/train_speed.json"
else
    echo "=== $DEMO_DIR not found: training step skipped"
fi
exit $status
