"""benchmarks/gpu/run_suites.sh: the bench commands it runs (its dry run needs no GPU)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from kglm.bench.suites import get_suite

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "run_suites.sh"


def _dry_run(tmp_path: Path, *suites: str) -> list[list[str]]:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    env = dict(os.environ, RUN_SUITES_DRY_RUN="1", KGLM_DATA_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(SCRIPT), "60", *suites], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [shlex.split(line) for line in proc.stdout.splitlines()]


def test_plain_suites_run_on_cuda_with_resume(tmp_path):
    lines = _dry_run(tmp_path)  # the defaults
    assert [line[2] for line in lines] == ["csqa", "obqa", "swag"]
    assert lines[0] == ["kglm", "bench", "csqa", "--device", "cuda", "--resume",
                        "--out", "benchmarks/results/csqa-gpu", "--quiet"]


def test_knowledge_text_runs_name_real_models_and_the_merged_kg(tmp_path):
    names = ["csqa-kt-wordnet", "obqa-kt-wordnet", "swag-kt-wordnet"]
    lines = _dry_run(tmp_path, *names)
    assert len(lines) == 3
    kg = "kg={data}/conceptnet/cn100k/train.txt + {data}/wordnet"  # kglm bench expands {data}
    for name, line in zip(names, lines):
        suite = line[2]
        assert suite == name.split("-")[0]
        models = line[line.index("--models") + 1:line.index("--set")]
        known = {m.key for m in get_suite(suite).models}
        assert models[:2] == ["lm+kt", "lm+kt-shuffled"] and set(models) <= known
        sets = [line[i + 1] for i, tok in enumerate(line) if tok == "--set"]
        assert sets == [kg, "kg_format=auto"]
        assert line[line.index("--out") + 1] == f"benchmarks/results/{name}-gpu"
    assert len(lines[0][lines[0].index("--models") + 1:lines[0].index("--set")]) == 5  # with the ablations
