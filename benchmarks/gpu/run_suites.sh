#!/usr/bin/env bash
# Full-protocol suites on a CUDA machine, one command:
#   benchmarks/gpu/run_suites.sh [TOTAL_SECONDS] [SUITE ...]    (defaults: 2400; csqa obqa swag)
# Sets up .venv-gpu with PyPI's CUDA build of torch (make install; reused when present, or a
# working CUDA python given as PYTHON_GPU=/path/to/python), then runs each suite with --resume
# into benchmarks/results/<suite>-gpu/, all within TOTAL_SECONDS: rerun the same command to
# continue (finished jobs are kept; an interrupted job continues from its last checkpoint).
# Data: ../shared/data or $KGLM_DATA_DIR (csqa/, obqa/, swag_format/, conceptnet/cn100k/).
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=${1:-2400}
shift || true
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(csqa obqa swag)
END=$(( $(date +%s) + LIMIT ))

PY=${PYTHON_GPU:-}
if [ -z "$PY" ]; then
  make install VENV=.venv-gpu KGLM_TORCH="${KGLM_TORCH:-cuda}" >&2
  PY=.venv-gpu/bin/python
fi
"$PY" -c "import torch, sys; ok = torch.cuda.is_available(); \
print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if ok else 'NO GPU'); \
sys.exit(0 if ok else 3)" || { echo "run_suites.sh: no CUDA device visible to $PY" >&2; exit 3; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
status=0
for suite in "${SUITES[@]}"; do
  left=$(( END - $(date +%s) ))
  if [ "$left" -le 60 ]; then echo "time limit reached before $suite" >&2; status=124; break; fi
  echo "== $suite ($left s left) ==" >&2
  # SIGTERM at the limit: the runner checkpoints and stops cleanly; SIGKILL 60 s later if it must
  rc=0
  timeout --signal=TERM --kill-after=60 "$left" "$PY" -m kglm.cli bench "$suite" --device cuda --resume \
    --out "benchmarks/results/${suite}-gpu" --quiet || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$suite: exit $rc (124/130/137: stopped at the time limit; rerun to resume)" >&2
    status=$rc
    [ "$rc" -eq 1 ] || break  # 1: some job failed, the rest finished: go on to the next suite
  fi
done
exit $status
