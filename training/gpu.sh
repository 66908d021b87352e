#!/usr/bin/env bash
# Stage 1 on one CUDA GPU: the recipe of atp-tiny-12 and atp-tiny-13 (one H200, ~7 and ~4.5 minutes).
#
#   training/gpu.sh INIT_CKPT RUN [SECONDS] [DATA_SEED] [LR] [SEED]
#
# Builds DATA=../data/gpu-DATA_SEED (val + train-1..$FILES, $COUNT questions each, 16 per image; ~25 s on 16
# cores) with the generator ($DATA_BUILD: default `npm run -s data:build --`; on a machine without npm, bundle
# it with `npx esbuild tools/shapesvqa/cli/build.ts --bundle --platform=node --outfile=build.cjs` and set
# DATA_BUILD="node build.cjs"), then runs train.py from INIT_CKPT (its weights; a new optimizer and cosine
# planned over SECONDS): 64 images (~1,000 questions) a step from 8 DataLoader workers, 128 more images for
# the patch loss, 5% of the questions also asked without the image (--blind-frac, since atp-tiny-14).
# Checkpoints every 1.5 minutes into runs/RUN/ckpt.pt.
#   atp-tiny-12: training/gpu.sh runs/atp-tiny-11/ckpt.pt atp-tiny-12 450 20 8e-4 11
#   atp-tiny-13: training/gpu.sh runs/atp-tiny-12/ckpt.pt atp-tiny-13 260 30 5e-4 12
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")
INIT=$(realpath "$1")
RUN=$2
SECONDS_PLANNED=${3:-450}
DATA_SEED=${4:-20}
LR=${5:-8e-4}
SEED=${6:-11}
DATA=$HERE/../data/gpu-$DATA_SEED
BUILD=${DATA_BUILD:-npm run -s data:build --}
FILES=${FILES:-6}
PYTHON=${PYTHON:-python3}
cd "$HERE"
mkdir -p "$DATA" "runs/$RUN"
cp ../data/config.json ../data/tokenizer.json ../data/tokenizer_config.json "$DATA/"
if [[ ! -f $DATA/train-$FILES.meta.json ]]; then
  pids=()
  $BUILD --split val --out "$DATA/val" & pids+=($!)
  for k in $(seq 1 "$FILES"); do
    $BUILD --split train --seed $((DATA_SEED + k)) --count "${COUNT:-640000}" --per-image 16 --out "$DATA/train-$k" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
fi
"$PYTHON" train.py --run "$RUN" --data "$DATA" --init "$INIT" --first-file 1 --curriculum "" \
  --workers 8 --threads 4 --images 64 --aux-images 128 --blind-frac 0.05 --lr "$LR" --warmup 200 \
  --seed "$SEED" \
  --minutes "$("$PYTHON" -c "print($SECONDS_PLANNED / 60)")" --eval-every 1000 --ckpt-minutes 1.5 \
  2>&1 | tee "runs/$RUN/log.txt"
