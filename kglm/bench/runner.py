"""Run a benchmark suite: (model x dataset x seed) jobs over data built once, resumably.

For each dataset the tokenization, grounding, QA graphs, KagNet paths and
entity embeddings are built once (:func:`kglm.training.trainer.prepare_shared_data`,
the same resolve -> ground -> features path as one ``kglm train``) and every
job of that dataset reuses them (:func:`kglm.training.train` takes each job's
inputs with :meth:`~kglm.training.trainer.PreparedData.for_config`); with a
frozen encoder the encoder's outputs are computed once too. Jobs run seed-major (every model of seed 0, then seed
1, ...), so partial results compare like with like.

With an output directory a run is resumable (``resume=True``)::

    OUT/jobs/<job>.json      one finished job (written atomically, never rewritten)
    OUT/work/<job>/          the running job's Trainer checkpoints (deleted when it finishes)
    OUT/results.{json,md,png} every finished job, rewritten atomically after each job
    OUT/run.json             the processes that worked on the suite (command, commit, times)
    OUT/work/<job>.claim     the pid of the process running that job
    OUT/.lock                the pid of the process writing to OUT (held for a moment)

Several processes may share one OUT (one per CPU core, say: ``kglm bench csqa --out OUT --resume
--threads 1`` started twice): each takes the next job that is neither finished nor claimed, and each
rewrites the results with every job finished there. They must run the suite with the same settings.
A claim or lock whose process is gone is taken over.

A killed run loses at most the running job's steps since its last checkpoint;
SIGINT/SIGTERM stop it cleanly after the current step (the Trainer saves a
checkpoint first when it can). A second signal stops at once.

Example::

    result = run_suite("demo", out_dir="bench-out")
    print(result.table_markdown())
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kglm.bench.suites import Suite, get_suite
from kglm.errors import ConfigError, KGLMError
from kglm.utils.io import pid_alive
from kglm.utils.machine import apply_threads, git_commit, machine_info

logger = logging.getLogger(__name__)

__all__ = [
    "JobResult",
    "SuiteResult",
    "SuiteInterrupted",
    "SuiteLockedError",
    "run_suite",
    "machine_info",
    "suite_config",
    "job_id",
    "suite_eta_s",
    "suite_status",
]

#: config fields that do not change what a job computes (left out of the resume check).
_RUN_LOCAL = ("output_dir", "cache_dir", "show_progress", "save_model", "device", "threads",
              "dataloader_num_workers", "logging_steps", "save_steps")


class SuiteInterrupted(KeyboardInterrupt):
    """The suite stopped on SIGINT/SIGTERM; finished jobs are kept, ``--resume`` continues.

    A :class:`KeyboardInterrupt`, so that no ``except Exception`` on the way swallows it.
    """


class SuiteLockedError(KGLMError, RuntimeError):
    """Another live process is running a suite in the same output directory."""


@dataclass
class JobResult:
    """One (model, dataset, seed) job.

    Attributes:
        model: the model spec's display name; ``model_key`` its short key.
        dataset / seed: which data and seed.
        accuracy: dev accuracy of the best epoch (``None`` when the job failed).
        train_time_s: seconds of training of the process that finished the job
            (when ``resumed_from`` is set, only the part after the resume).
        train_examples_per_s / eval_examples_per_s: questions per second
            (training speed ``None`` for a resumed job: the Trainer's figure
            covers only the part after the resume).
        train_loss: mean training loss (``None`` for a resumed job, same reason).
        loss_first / loss_last: first and last logged training loss.
        error: the error message of a failed job.
        dev_accuracy_by_epoch: dev accuracy after each epoch.
        best_epoch: the epoch whose model is kept.
        param_group_lrs: learning rate of each optimiser parameter group (by role).
        resumed_from: the checkpoint the job was resumed from, if any.
        filled_encoder_cache: the job filled the frozen-encoder cache (one-off
            work shared with later jobs, in ``setup_time_s``, not in ``train_time_s``).
        setup_time_s: one-off work before training (model build, cache filling).
        precision / device: what the job ran with (``"bf16"``, ``"cpu"``, ...).
        finished_at: Unix time the job finished.
        dev_correct: one character per dev question, in dev order: ``"1"`` where the
            kept model chose the right answer, else ``"0"`` (for paired tests between
            jobs: :func:`kglm.bench.report.mcnemar_p`; ``None`` in records made before
            it was kept).
        dev_labels_digest: :func:`labels_digest` of the dev labels, so that two jobs'
            ``dev_correct`` are paired only when they are over the same questions in
            the same order.
    """

    model: str
    model_key: str
    dataset: str
    seed: int
    accuracy: float | None = None
    train_time_s: float | None = None
    train_examples_per_s: float | None = None
    eval_examples_per_s: float | None = None
    train_loss: float | None = None
    loss_first: float | None = None
    loss_last: float | None = None
    error: str | None = None
    dev_accuracy_by_epoch: list[float] | None = None
    best_epoch: float | None = None
    param_group_lrs: list[dict[str, Any]] | None = None
    resumed_from: str | None = None
    filled_encoder_cache: bool = False
    setup_time_s: float | None = None
    precision: str | None = None
    device: str | None = None
    finished_at: float | None = None
    dev_correct: str | None = None
    dev_labels_digest: str | None = None

    @property
    def job_id(self) -> str:
        """``dataset-model_key-seedN``: the job's file name in a suite's output directory."""
        return job_id(self.dataset, self.model_key, self.seed)


def labels_digest(labels: list[int]) -> str:
    """First 16 hex digits of the sha256 of a dev set's labels in order (``JobResult.dev_labels_digest``)."""
    return hashlib.sha256(",".join(str(int(label)) for label in labels).encode()).hexdigest()[:16]


def _dataset_entry(known: dict[str, Any] | None, measured: dict[str, Any]) -> dict[str, Any]:
    """A dataset's line in the results: this run's sizes, and an earlier run's for what this one left
    unmeasured (``None``: an LM-only run does not load the KG) when both read the same files and KG."""
    same = known is not None and all(known.get(k) == measured.get(k) for k in ("train_file", "dev_file", "kg"))
    if not same:
        return measured
    return {**measured, **{k: v for k, v in known.items() if measured.get(k) is None}}


def jobs_left_here(free: int, busy_elsewhere: int) -> int:
    """How many jobs this process is likely to run, the one it takes now included: of ``free`` jobs that no
    process has claimed (this one among them), an equal share with the ``busy_elsewhere`` other processes
    sharing the output directory (each busy with a job of its own), which take the rest as they finish."""
    if free <= 0:
        return 0
    return 1 + math.ceil((free - 1) / (busy_elsewhere + 1))


def suite_eta_s(left: int, run_times: Sequence[float], per_step: float | None = None, step: int = 0,
                max_steps: int = 0) -> float | None:
    """Seconds until the last of ``left`` jobs (the running one included) ends, or None before anything is timed.

    The running job takes its remaining steps at its own measured pace (``per_step`` seconds a step, evaluation
    not included); each job after it takes the mean of ``run_times`` (whole jobs this process ran), or else as long
    as the running job at its pace. Records from earlier runs are not used: they may come from another machine
    or precision (a 2-hour fp32 job beside a 30-minute bf16 one).
    """
    each = sum(run_times) / len(run_times) if run_times else None
    if per_step is None or max_steps <= 0:
        return None if each is None else each * left
    if each is None:
        each = per_step * max_steps
    return per_step * max(max_steps - step, 0) + each * max(left - 1, 0)


def job_id(dataset: str, model_key: str, seed: int) -> str:
    """The id of a (dataset, model, seed) job: ``"csqa-qagnn+no_graph-seed0"``."""
    return f"{dataset}-{model_key}-seed{int(seed)}"


@dataclass
class SuiteResult:
    """All jobs of a suite run, with the machine they ran on.

    Attributes:
        settings: the training settings shared by every job (per-model
            differences are in the suite's model specs).
        wall_time_s: elapsed seconds while any of the suite's processes ran (the union of
            their intervals: processes sharing one output directory overlap).
        prepare_time_s: one-off data preparation per dataset (grounding, graphs,
            entity embeddings; summed over processes), not in any job's time.
        command / git_commit: how and from which commit it was run (the last
            process's; every process is in ``runs``).
        jobs_planned: the jobs this output directory is for (those its runs selected with
            ``--models``/``--seeds``, or the whole suite); ``len(jobs)`` are done.
        started_at / finished_at: Unix times of the first start and the last update.
        anchor: the published protocol and the reference baseline the suite stands in for.
        runs: one entry per process (pid, command, commit, start, end, jobs done).
        model_settings: per model key, the settings in which its jobs differ
            from ``settings`` (besides the seed).
    """

    suite: str
    description: str
    backbone: str
    seeds: list[int]
    jobs: list[JobResult]
    settings: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    machine: dict[str, Any]
    wall_time_s: float
    prepare_time_s: dict[str, float] = field(default_factory=dict)
    command: str | None = None
    git_commit: str | None = None
    jobs_planned: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    anchor: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    model_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with the per-model summary)."""
        data = asdict(self)
        data["summary"] = self.summary()
        return data

    def summary(self) -> list[dict[str, Any]]:
        """Per (dataset, model): accuracy mean and std over seeds, mean times and throughputs.

        Mean train time leaves out resumed jobs (their time covers only the
        part after the resume; ``None`` when every job was resumed) and jobs that
        filled a one-off cache (unless every job of the model did).
        """
        import statistics

        rows: list[dict[str, Any]] = []
        order: list[tuple[str, str]] = []
        for job in self.jobs:
            key = (job.dataset, job.model)
            if key not in order:
                order.append(key)
        for dataset, model in order:
            jobs = [j for j in self.jobs if j.dataset == dataset and j.model == model]
            ok = [j for j in jobs if j.accuracy is not None]
            accs = [j.accuracy for j in ok]
            whole = [j for j in ok if not j.resumed_from]
            timed = [j for j in whole if not j.filled_encoder_cache] or whole

            def mean(values: Sequence[float | None]) -> float | None:
                vals = [v for v in values if v is not None]
                return sum(vals) / len(vals) if vals else None

            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "model_key": jobs[0].model_key,
                    "runs": len(ok),
                    "failed": len(jobs) - len(ok),
                    "seeds": [j.seed for j in ok],
                    "accuracy_mean": mean(accs),
                    "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else (0.0 if accs else None),
                    "accuracies": accs,
                    "train_time_s": mean([j.train_time_s for j in timed]),
                    "train_examples_per_s": mean([j.train_examples_per_s for j in whole]),
                    "eval_examples_per_s": mean([j.eval_examples_per_s for j in ok]),
                    "errors": sorted({j.error for j in jobs if j.error}),
                }
            )
        return rows


def suite_config(suite: Suite, dataset_index: int = 0, **changes: Any) -> Any:
    """The :class:`~kglm.training.TrainingConfig` shared by a suite's jobs on one dataset.

    ``changes`` are applied last through :func:`kglm.training.config.apply_settings`
    (the one typed override path: ``encoder_lr``, ``train.lr``, ``model_kwargs.gnn_layers``). A change of
    ``kg``, ``train_file`` or ``dev_file`` may name ``{data}``, the shared data folder, as the suite's own
    datasets do (``kg="{data}/conceptnet/cn100k/train.txt + {data}/wordnet"``).
    """
    from kglm.training.config import TrainingConfig, apply_settings

    dataset = suite.datasets[dataset_index]
    paths = {k: v for k, v in changes.items() if k in ("kg", "train_file", "dev_file") and isinstance(v, str)}
    if paths:
        resolved = replace(dataset, **paths).resolve()
        changes = {**changes, **{k: getattr(resolved, k) for k in paths}}
    settings = {**suite.settings, "backbone": suite.backbone, **dataset.resolve().config_fields()}
    model_kwargs = settings.pop("model_kwargs", {})
    config = TrainingConfig(model="qagnn", **settings)
    config = replace(config, model_kwargs=dict(model_kwargs))
    return apply_settings(config, changes)


# ----------------------------------------------------------------------------- lock, signals


#: how long a process waits for another's short write to ``DIR/.lock`` before giving up
_LOCK_WAIT_S = 600.0


def _owner_text() -> str:
    return f"{os.getpid()} {socket.gethostname()}\n"


def _alive_here(pid: Any, host: Any) -> bool:
    """Whether process ``pid`` runs on this machine (a pid of another host cannot be checked: taken as gone)."""
    return isinstance(pid, int) and pid > 0 and host in (None, "", socket.gethostname()) and pid_alive(pid)


def _live_owner(path: Path) -> int | None:
    """The pid in an owner file (``"PID HOST"``) when that process is alive on this machine, else None."""
    try:
        pid_text, _, host = path.read_text(encoding="utf-8").strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if _alive_here(pid, host) else None


def _take(path: Path) -> int | None:
    """Create the owner file ``path`` with our pid: None when taken, else the live owner's pid (a file
    left by a dead process is taken over)."""
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _live_owner(path)
            if owner is not None:
                return owner
            logger.warning("%s: taking over from a process that is gone", path)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_owner_text())
        return None
    return -1  # pragma: no cover - lost the race three times


def _give_back(path: Path) -> None:
    """Remove the owner file ``path`` if it is ours."""
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == _owner_text():
            path.unlink()


@contextlib.contextmanager
def _suite_lock(directory: Path, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold ``directory/.lock`` (our pid) for a short write; a lock left by a dead process is taken over.

    With ``wait_s`` a lock held by a live process is waited for that long; then, or at once without it,
    :class:`SuiteLockedError`. Not re-entrant.
    """
    path = directory / ".lock"
    deadline = time.monotonic() + wait_s
    pause = 0.01
    while (owner := _take(path)) is not None:
        if time.monotonic() >= deadline:
            raise SuiteLockedError(
                f"{directory}: another process holds the lock {path} (pid {owner}); wait for it or stop it, "
                "or choose another --out"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    try:
        yield path
    finally:
        _give_back(path)


def _claim_path(out: Path, job: str) -> Path:
    """The owner file of a job being run in ``out`` (one process runs a job; others take the next one)."""
    return out / "work" / f"{job}.claim"


def _config_digest(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(_comparable(config), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _live_run(run: dict[str, Any]) -> bool:
    """Whether a ``run.json`` run entry is a process still running here (not us)."""
    return bool(run.get("active")) and run.get("pid") != os.getpid() and _alive_here(run.get("pid"), run.get("host"))


class _StopRequest:
    """SIGINT/SIGTERM -> stop after the current training step (a second signal stops at once)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise SuiteInterrupted(f"stopped by a second {signal.Signals(signum).name}")
        self.signum = signum
        print(
            f"\nkglm bench: {signal.Signals(signum).name} received: stopping after the current step "
            "(finished jobs are kept; --resume continues). Send it again to stop at once.",
            file=sys.stderr, flush=True,
        )

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def check(self) -> None:
        if self.signum is not None:
            raise SuiteInterrupted(f"stopped by {signal.Signals(self.signum).name}")


def _callbacks(stop: _StopRequest, progress: Any) -> list[Any]:
    """Trainer callbacks: checkpoint and stop on a signal; report step progress."""
    from transformers import TrainerCallback

    class _StopCallback(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if stop.signum is not None:
                control.should_save = True
                control.should_training_stop = True
            return control

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            stop.check()  # the checkpoint is on disk: leave the Trainer now
            return control

    class _ProgressCallback(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            self.start_step = state.global_step
            self.started = time.perf_counter()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> Any:
            steps = state.global_step - self.start_step
            if steps <= 0:
                return
            per_step = (time.perf_counter() - self.started) / steps
            progress(state.global_step, state.max_steps, per_step, logs or {})

    return [_StopCallback(), _ProgressCallback()]


# ----------------------------------------------------------------------------- the job records


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _RUN_LOCAL}


def _config_mismatch(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Keys whose values differ (a key recorded only on one side counts when it is not the field default)."""
    from dataclasses import MISSING, fields

    from kglm.training.config import TrainingConfig

    defaults = {
        f.name: (f.default_factory() if f.default is MISSING else f.default)  # type: ignore[misc]
        for f in fields(TrainingConfig)
    }
    keys = set(recorded) | set(current)
    bad = []
    for key in sorted(keys):
        if key in _RUN_LOCAL:
            continue
        if key in recorded and key in current:
            if recorded[key] != current[key]:
                bad.append(f"{key}: {recorded[key]!r} -> {current[key]!r}")
        elif key in current and current[key] != defaults.get(key, object()):
            bad.append(f"{key}: (not recorded) -> {current[key]!r}")
    return bad


def _load_records(directory: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    jobs = directory / "jobs"
    if not jobs.is_dir():
        return records
    for path in sorted(jobs.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            records[path.stem] = record
        except (OSError, json.JSONDecodeError) as exc:  # atomic writes make this unlikely
            logger.warning("%s: unreadable job record (%s); the job will run again", path, exc)
    return records


def _job_from_training(spec: Any, dataset: str, seed: int, result: Any) -> JobResult:
    history = list(result.log_history)
    losses = [h["loss"] for h in history if "loss" in h]
    end = next((i for i, h in enumerate(history) if "train_runtime" in h), len(history))
    evals = [h for h in history[:end] if "eval_accuracy" in h and "epoch" in h]  # not the final evaluate()
    by_epoch = [float(h["eval_accuracy"]) for h in evals]
    best_epoch = None
    if evals:
        best = max(evals, key=lambda h: h["eval_accuracy"])  # first best, as the Trainer keeps it
        best_epoch = float(best["epoch"])
    lrs = getattr(result, "param_groups", None)
    resumed = getattr(result, "resumed_from", None)
    return JobResult(
        spec.name,
        spec.key,
        dataset,
        int(seed),
        accuracy=result.best_accuracy,
        train_time_s=result.train_runtime,
        train_examples_per_s=None if resumed else result.train_samples_per_second,
        eval_examples_per_s=result.eval_samples_per_second,
        train_loss=None if resumed else result.train_loss,
        loss_first=losses[0] if losses else None,
        loss_last=losses[-1] if losses else None,
        dev_accuracy_by_epoch=by_epoch or None,
        best_epoch=best_epoch,
        param_group_lrs=[dict(g) for g in lrs] if lrs else None,
        resumed_from=resumed,
        setup_time_s=getattr(result, "setup_seconds", None),
        precision=getattr(result, "precision", None),
        device=getattr(result, "device", None),
        finished_at=time.time(),
        **_dev_correctness(getattr(result, "dev_predictions", None), getattr(result, "dev_labels", None)),
    )


def _dev_correctness(chosen: list[int] | None, labels: list[int] | None) -> dict[str, str | None]:
    """``dev_correct`` and ``dev_labels_digest`` of a job (both ``None`` without predictions)."""
    if chosen is None or labels is None:
        return {"dev_correct": None, "dev_labels_digest": None}
    return {
        "dev_correct": "".join("1" if c == label else "0" for c, label in zip(chosen, labels, strict=True)),
        "dev_labels_digest": labels_digest(labels),
    }


def _common_settings(configs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The config entries equal in every job (``model_kwargs``: the common keys)."""
    if not configs:
        return {}
    first = configs[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        if key in _RUN_LOCAL:
            continue
        if key == "model_kwargs":
            out[key] = {k: v for k, v in value.items() if all(c.get(key, {}).get(k, object()) == v
                                                                  for c in configs)}
        elif all(c.get(key, object()) == value for c in configs):
            out[key] = value
    return out


# ----------------------------------------------------------------------------- run


@dataclass
class _Job:
    dataset_index: int
    dataset: str
    spec: Any
    seed: int
    config: Any

    @property
    def id(self) -> str:
        return job_id(self.dataset, self.spec.key, self.seed)


def _plan(suite: Suite, specs: Sequence[Any], overrides: dict[str, Any]) -> list[_Job]:
    """Every job, dataset-major, then seed-major, then in the suite's model order."""
    jobs: list[_Job] = []
    for d, data_spec in enumerate(suite.datasets):
        base = suite_config(suite, d, **overrides)
        for seed in suite.seeds:
            for spec in specs:
                extra = dict(spec.settings)
                kwargs = dict(base.model_kwargs)
                kwargs.update(extra.pop("model_kwargs", {}))
                config = replace(
                    base, model=spec.model, kg_control=spec.kg_control, seed=int(seed), save_model=False,
                    model_kwargs=kwargs, **extra,
                )
                jobs.append(_Job(d, data_spec.name, spec, int(seed), config))
    return jobs


def _check_device(device: str | None) -> None:
    if device is None or device == "cpu":
        return
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {device}: no CUDA device is available here (torch {torch.__version__}, "
            f"built with CUDA {torch.version.cuda or 'none'}); use --device cpu or run on a GPU machine"
        )
    if device.startswith("cuda") and ":" in device:
        index = int(device.split(":", 1)[1])
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device.split(":")[0] not in ("cuda", "cpu", "mps"):
        raise ConfigError(f"--device {device!r}: expected cpu, cuda, cuda:N or mps")


def run_suite(
    suite: Suite | str,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    seeds: Sequence[int] | None = None,
    backbone: str | None = None,
    models: Sequence[str] | None = None,
    settings: dict[str, Any] | None = None,
    preset: str | None = None,
    cache_dir: str | None = None,
    num_threads: int | None = None,
    device: str | None = None,
    show_progress: bool = True,
    write: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    command: str | None = None,
) -> SuiteResult:
    """Run every (model x dataset x seed) job of ``suite``, seed-major.

    Args:
        suite: a :class:`Suite` or a suite name.
        out_dir: where ``results.json``, ``results.md`` and ``results.png`` go,
            with the finished jobs (``jobs/``) and the running job's checkpoints
            (``work/``); without it checkpoints go to a temporary directory.
        seeds: override the suite's seeds.
        backbone: override the suite's backbone.
        models: run only the models whose key (``"qagnn"``, ``"qagnn+no_graph"``)
            or display name is listed.
        settings: override :class:`~kglm.training.TrainingConfig` fields of every job
            (keys as for :func:`kglm.training.config.apply_settings`: ``encoder_lr``,
            ``train.lr``, ``model_kwargs.gnn_layers``; values converted to the field's type).
        preset: ``"anchor"`` applies the published protocol recorded in the
            suite's ``anchor`` (backbone and settings) under ``settings``.
        cache_dir: grounding, KG and embedding caches (``None``: :func:`kglm.utils.paths.cache_dir`).
        num_threads: torch intra-op threads (``None`` keeps torch's default; on a
            machine shared with other jobs, 1 is often much faster).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (default: the Trainer's choice).
        show_progress: tqdm bars.
        write: write the result files to ``out_dir``.
        resume: keep the finished jobs found in ``out_dir`` and continue an
            interrupted job from its last checkpoint. Without it, an ``out_dir``
            holding finished jobs is an error, unless ``overwrite``.
        overwrite: without ``resume``, delete the finished jobs, checkpoints and
            run record found in ``out_dir`` and start again (``kglm demo`` does).
        command: the command line recorded in the results (default: ``sys.argv``).

    Raises:
        SuiteInterrupted: on SIGINT/SIGTERM, after the result files are written.
        SuiteLockedError: ``overwrite`` while another live process runs a job in ``out_dir``, or its
            lock held for longer than a write takes. A second process with the same settings shares
            ``out_dir`` (it takes the jobs nobody runs); with other settings it is a ConfigError.
        ConfigError: bad overrides, a CUDA device that is not there, or finished
            jobs in ``out_dir`` made with other settings.
    """
    if isinstance(suite, str):
        suite = get_suite(suite)
    overrides: dict[str, Any] = {}
    if preset is not None:
        if preset != "anchor":
            raise ConfigError(f"unknown preset {preset!r}; known: anchor")
        if not suite.anchor.get("settings"):
            raise ConfigError(f"suite {suite.name!r} has no anchor protocol to apply")
        anchor_settings = dict(suite.anchor["settings"])
        suite = replace(suite, backbone=anchor_settings.pop("backbone", suite.backbone))
        overrides.update(anchor_settings)
    overrides.update(settings or {})
    if (settings or {}).get("kg") is not None:  # the suite's one-line description names its default KG
        suite = replace(suite, description=f"{suite.description}; KG replaced by --set kg={settings['kg']}")
    if backbone is not None:
        suite = replace(suite, backbone=backbone)
    all_seeds = tuple(suite.seeds)
    if seeds is not None:
        suite = replace(suite, seeds=tuple(int(s) for s in seeds))
    specs = list(suite.models)
    if models is not None:
        wanted = set(models)
        specs = [m for m in specs if m.key in wanted or m.name in wanted]
        unknown = wanted - {m.key for m in specs} - {m.name for m in specs}
        if unknown or not specs:
            raise ConfigError(
                f"no model of suite {suite.name!r} matches {sorted(unknown or wanted)}; "
                f"known: {', '.join(m.key for m in suite.models)}"
            )
    _check_device(device)
    from kglm.training.config import TrainingConfig

    if device is not None and "device" in {f for f in TrainingConfig.__dataclass_fields__}:
        overrides["device"] = device
    overrides.setdefault("cache_dir", cache_dir)
    overrides.setdefault("show_progress", False)
    if command is None:
        command = shlex.join(sys.argv)
    # the whole suite (for the results) and the jobs this call runs (--jobs/--seeds filters)
    every_seed = tuple(dict.fromkeys(all_seeds + suite.seeds))
    full_plan = _plan(replace(suite, seeds=every_seed), suite.models, overrides)
    wanted = {(spec.key, seed) for spec in specs for seed in suite.seeds}
    plan = [job for job in full_plan if (job.spec.key, job.seed) in wanted]
    if out_dir is None:
        return _run(suite, full_plan, plan, None, num_threads, show_progress, False, command)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if overwrite and not resume:
        with _suite_lock(out, wait_s=_LOCK_WAIT_S):
            running = sorted((p.name.removesuffix(".claim"), pid) for p in (out / "work").glob("*.claim")
                             if (pid := _live_owner(p)) is not None)
            if running:
                raise SuiteLockedError(
                    f"{out}: another process is running {running[0][0]} there (pid {running[0][1]}); "
                    "--overwrite would delete its work: wait for it or stop it, or choose another --out"
                )
            for name in ("jobs", "work"):
                shutil.rmtree(out / name, ignore_errors=True)
            (out / "run.json").unlink(missing_ok=True)
    return _run(suite, full_plan, plan, out, num_threads, show_progress, write, command, resume=resume)


def suite_status(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What a suite's output directory holds now, read without disturbing the processes running there.

    Returns ``{"finished": [(job, accuracy), ...], "running": [{"job", "pid", "step", "max_steps",
    "s_per_step", "eta_s"}, ...], "waiting": [job, ...]}``: the jobs the runs there selected
    (``--models``/``--seeds``), in their order; ``running`` holds the jobs a live process has claimed, with
    its last progress report (``None`` fields before the first one); a job whose process is gone is waiting
    (``--resume`` continues it from its checkpoint).
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no such suite directory")
    records = _load_records(out)
    meta_path = out / "run.json"
    runs = json.loads(meta_path.read_text(encoding="utf-8")).get("runs", []) if meta_path.is_file() else []
    order = list(dict.fromkeys([j for run in runs for j in run.get("jobs_selected", [])] + sorted(records)))
    finished = [(j, (records[j].get("result") or {}).get("accuracy")) for j in order if j in records]
    running, waiting = [], []
    for job in order:
        if job in records:
            continue
        pid = _live_owner(_claim_path(out, job))
        if pid is None:
            waiting.append(job)
            continue
        try:
            progress = json.loads((out / "work" / job / "progress.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            progress = {}
        running.append({"job": job, "pid": pid, **{k: progress.get(k) for k in ("step", "max_steps", "s_per_step",
                                                                                  "eta_s")}})
    return {"finished": finished, "running": running, "waiting": waiting}


def _selected(runs: list[dict[str, Any]], full_plan: list[_Job], done: dict[str, JobResult]) -> set[str]:
    """The jobs this output directory is for: those its runs selected (``--models``/``--seeds``) and those
    finished there; the whole suite when no run recorded a selection (runs from before it was recorded)."""
    chosen = [set(run["jobs_selected"]) for run in runs if "jobs_selected" in run]
    if not chosen:
        return {job.id for job in full_plan}
    return set().union(*chosen) | set(done)


def _run(
    suite: Suite,
    full_plan: list[_Job],
    plan: list[_Job],
    out: Path | None,
    num_threads: int | None,
    show_progress: bool,
    write: bool,
    command: str,
    *,
    resume: bool = False,
) -> SuiteResult:
    import torch
    from tqdm.auto import tqdm

    from kglm.training.trainer import prepare_shared_data, train
    from kglm.utils.io import atomic_write_json

    if num_threads is not None:
        apply_threads(num_threads)
    started = time.time()
    commit = git_commit()
    machine = machine_info()
    planned = {job.id: job for job in full_plan}
    done: dict[str, JobResult] = {}
    failed: dict[str, JobResult] = {}
    run_meta: dict[str, Any] = {"runs": [], "datasets": {}}
    all_configs = [job.config.to_dict() for job in full_plan]
    this_run = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "git_commit": commit,
        "torch_threads": torch.get_num_threads(),
        "started_at": started,
        "finished_at": started,
        "active": True,  # until this process ends; with a live pid, other processes sharing --out respect it
        "jobs_done": 0,
        "prepare_time_s": {},
        "load_average_start": machine.get("load_average"),
        "jobs_selected": [job.id for job in plan],
        "job_configs": {job.id: _config_digest(config) for job, config in zip(full_plan, all_configs)},
    }
    datasets: dict[str, dict[str, Any]] = {}

    def locked() -> contextlib.AbstractContextManager[Any]:
        """The short lock around reading and writing ``out`` (several processes may share it)."""
        return _suite_lock(out, wait_s=_LOCK_WAIT_S) if out is not None else contextlib.nullcontext()

    def take_in_records(first: bool = False) -> None:
        """Take in the jobs finished in ``out``, by this process or another one sharing it (under the lock)."""
        assert out is not None
        records = _load_records(out)
        if first and records and not resume:
            raise ConfigError(
                f"{out} already holds {len(records)} finished job(s) of a suite run; pass --resume "
                "(resume=True) to keep them and continue, --overwrite to start again, or choose another --out"
            )
        for name, record in records.items():
            if name in done:
                continue
            job = planned.get(name)
            if job is None:
                if first:
                    logger.warning("%s: job %s is not part of suite %s as configured now; left out", out, name,
                                   suite.name)
                continue
            bad = _config_mismatch(record.get("config", {}), _comparable(job.config.to_dict()))
            if bad:
                raise ConfigError(
                    f"{out / 'jobs' / (name + '.json')}: finished with other settings than this run "
                    f"({'; '.join(bad[:5])}); resume with the same suite and settings, or choose another --out"
                )
            # debris of a kill after the record (another process's job is removed by that process)
            if _live_owner(_claim_path(out, name)) is None:
                shutil.rmtree(out / "work" / name, ignore_errors=True)
                _claim_path(out, name).unlink(missing_ok=True)
            # earlier jobs of the suite, kept even when this run is filtered to others
            fields_ = {k: v for k, v in record.get("result", {}).items() if k in JobResult.__dataclass_fields__}
            done[name] = JobResult(**fields_)
            failed.pop(name, None)

    def merge_run_meta(first: bool = False) -> None:
        """``run_meta`` from ``run.json`` as it is now (other processes' runs), with this run in it (under the lock)."""
        assert out is not None
        meta_path = out / "run.json"
        disk = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        runs = [r for r in disk.get("runs", []) if isinstance(r, dict)]
        if first and not resume:  # a fresh start keeps only the runs still running there
            runs = [r for r in runs if _live_run(r)]
        mine = (this_run["pid"], this_run["host"], this_run["started_at"])
        runs = [r for r in runs if (r.get("pid"), r.get("host"), r.get("started_at")) != mine] + [this_run]
        run_meta.update({k: v for k, v in disk.items() if k not in ("runs", "datasets")})
        run_meta["runs"] = runs
        datasets.update({k: v for k, v in disk.get("datasets", {}).items() if k not in datasets})
        run_meta["datasets"] = datasets

    if out is not None:
        with locked():
            (out / "work").mkdir(exist_ok=True)
            take_in_records(first=True)
            merge_run_meta(first=True)
            for other in run_meta["runs"]:
                if other is this_run or not _live_run(other):
                    continue
                theirs = other.get("job_configs") or {}
                clash = [j for j, d in this_run["job_configs"].items() if j in theirs and theirs[j] != d]
                if clash:
                    raise ConfigError(
                        f"{out}: process {other['pid']} is running this suite there with other settings "
                        f"(job {clash[0]}; its command: {other.get('command')}); use the same settings to "
                        "share the directory, or choose another --out"
                    )
    else:
        run_meta["runs"].append(this_run)
    common = _common_settings(all_configs)
    model_settings: dict[str, dict[str, Any]] = {}
    for job, config in zip(full_plan, all_configs):
        own = model_settings.setdefault(job.spec.key, {})
        for key, value in _comparable(config).items():
            if key == "seed":
                continue
            if key == "model_kwargs":
                extra = {k: v for k, v in value.items() if common.get(key, {}).get(k, object()) != v}
                if extra:
                    own[key] = extra
            elif common.get(key, object()) != value:
                own[key] = value

    def result_now() -> SuiteResult:
        from kglm.bench.report import _union_seconds  # elapsed time, as merge_results reports it

        this_run["finished_at"] = time.time()
        runs = run_meta["runs"]
        order = {job.id: i for i, job in enumerate(full_plan)}
        jobs = sorted(list(done.values()) + [j for k, j in failed.items() if k not in done],
                      key=lambda j: (order.get(j.job_id, len(order)), j.dataset, j.seed, j.model_key))
        prepare: dict[str, float] = {}
        for run in runs:
            for name, value in run.get("prepare_time_s", {}).items():
                prepare[name] = prepare.get(name, 0.0) + value
        return SuiteResult(
            suite=suite.name,
            description=suite.description,
            backbone=suite.backbone,
            seeds=sorted({j.seed for j in full_plan} | {j.seed for j in jobs}),
            jobs=jobs,
            settings=common,
            datasets=datasets,
            machine=machine,
            wall_time_s=_union_seconds([(r["started_at"], r["finished_at"]) for r in runs]),
            prepare_time_s=prepare,
            command=command,
            git_commit=commit,
            jobs_planned=len(_selected(runs, full_plan, done)),
            started_at=min(r["started_at"] for r in runs),
            finished_at=this_run["finished_at"],
            anchor=dict(suite.anchor),
            runs=list(runs),
            model_settings=model_settings,
        )

    def save() -> SuiteResult:
        """The results so far, written to ``out`` with every job finished there, by any process sharing it."""
        if out is None or not write:
            return result_now()
        from kglm.bench.report import write_results

        with locked():
            take_in_records()
            merge_run_meta()
            result = result_now()
            atomic_write_json(out / "run.json", run_meta)
            write_results(result, out)
        return result

    run_times: list[float] = []  # train times of the jobs this process ran from start to end (for the ETA)

    def say(text: str) -> None:
        if show_progress:
            tqdm.write(text, file=sys.stderr)

    workroot = out / "work" if out is not None else Path(tempfile.mkdtemp(prefix=f"kglm-bench-{suite.name}-"))
    tried: set[str] = set()  # the jobs this process ran (a failed one is not retried here)

    def next_job() -> tuple[_Job | None, int]:
        """The first job of the plan that is neither finished nor run by another process sharing ``out``,
        claimed for this process; and this process's share of the jobs left, this one included
        (:func:`jobs_left_here`)."""
        with locked():
            if out is not None:
                take_in_records()
            pending = [j for j in plan if j.id not in done and j.id not in tried]
            busy = {j.id for j in pending if out is not None and _live_owner(_claim_path(out, j.id)) is not None}
            free = [j for j in pending if j.id not in busy]
            for job in free:
                if out is None or _take(_claim_path(out, job.id)) is None:
                    return job, jobs_left_here(len(free), len(busy))
            return None, 0

    def jobs_done() -> int:
        return sum(job.id in done for job in plan)

    stop = _StopRequest()
    claimed: Path | None = None
    try:
        with stop, tqdm(total=len(plan), initial=jobs_done(), desc=f"bench {suite.name}",
                        unit="job", disable=not show_progress, dynamic_ncols=True) as bar:
            if out is not None:
                save()
            data = None
            data_index = None
            while True:
                stop.check()
                job, left = next_job()
                bar.n = jobs_done()  # with the jobs other processes sharing out finished meanwhile
                bar.refresh()
                if job is None:
                    break
                tried.add(job.id)
                claimed = _claim_path(out, job.id) if out is not None else None
                if data_index != job.dataset_index:
                    data = None  # free the previous dataset first
                    base = job.config
                    # the data every pending job of this dataset needs, built once (the first job's config
                    # with every graph kind and the KG); train() takes each job's inputs from it
                    configs = [replace(base, show_progress=show_progress)] + [
                        j.config for j in plan if j.id not in done and j is not job
                        and j.dataset_index == job.dataset_index]
                    bar.set_postfix_str(f"preparing {job.dataset}")
                    t0 = time.perf_counter()
                    data = prepare_shared_data(configs)
                    this_run["prepare_time_s"][job.dataset] = time.perf_counter() - t0
                    data_index = job.dataset_index
                    datasets[job.dataset] = _dataset_entry(datasets.get(job.dataset), {
                        "train_file": base.train_file, "dev_file": base.dev_file, "kg": base.kg, **data.summary()
                    })
                    if out is not None:
                        save()  # the data and its one-off preparation time, before the first job
                    stop.check()
                eta = suite_eta_s(left, run_times)
                bar.set_postfix_str(f"{job.id} ({left} left" + (f", ETA ~{eta / 3600:.1f} h)" if eta is not None else ")"))
                workdir = workroot / job.id
                checkpoint = bool(resume and workdir.is_dir())
                if not checkpoint and workdir.exists():
                    shutil.rmtree(workdir, ignore_errors=True)

                def progress(step: int, max_steps: int, per_step: float, logs: dict[str, Any],
                             _id: str = job.id, _workdir: Path = workdir, _left: int = left) -> None:
                    eta = suite_eta_s(_left, run_times, per_step, step, max_steps)
                    text = f"{_id} ({_left} left" + (f", ETA ~{eta / 3600:.1f} h" if eta is not None else "")
                    text += f"): step {step}/{max_steps}, {per_step:.2f} s/step"
                    if "loss" in logs:
                        text += f", loss {logs['loss']:.3f}"
                    if "eval_accuracy" in logs:
                        text += f", dev {100 * logs['eval_accuracy']:.1f}%"
                    bar.set_postfix_str(text)
                    if out is not None:
                        atomic_write_json(_workdir / "progress.json", {
                            "job": _id, "jobs_left": _left, "eta_s": eta, "step": step, "max_steps": max_steps,
                            "s_per_step": per_step, "logs": logs, "time": time.time()})

                had_cache = getattr(data, "encoder_cache", None) is not None
                config = replace(job.config, output_dir=str(workdir))
                try:
                    # resume_from_checkpoint=True: the last complete checkpoint in workdir, if any
                    result = train(config, data, callbacks=_callbacks(stop, progress),
                                   resume_from_checkpoint=True if checkpoint else None)
                    stop.check()
                except SuiteInterrupted:
                    raise
                except Exception as exc:  # one failing job must not sink the suite
                    record = JobResult(job.spec.name, job.spec.key, job.dataset, job.seed,
                                       error=f"{type(exc).__name__}: {exc}", finished_at=time.time())
                    failed[job.id] = record
                    logger.warning("job %s failed:\n%s", job.id, traceback.format_exc())
                    shutil.rmtree(workdir, ignore_errors=True)
                    say(f"  {job.id}: failed: {record.error[:200]}")
                else:
                    record = _job_from_training(job.spec, job.dataset, job.seed, result)
                    if record.resumed_from:
                        record.resumed_from = Path(record.resumed_from).name
                    record.filled_encoder_cache = not had_cache and getattr(data, "encoder_cache", None) is not None
                    done[job.id] = record
                    failed.pop(job.id, None)
                    this_run["jobs_done"] += 1
                    if record.train_time_s and not record.resumed_from:
                        run_times.append(record.train_time_s)
                    if out is not None:
                        atomic_write_json(out / "jobs" / f"{job.id}.json", {
                            "result": asdict(record),
                            "config": _comparable(config.to_dict()),
                            "git_commit": commit,
                            "command": command,
                            "torch_threads": torch.get_num_threads(),
                            "load_average": [round(x, 2) for x in os.getloadavg()],
                        })
                    shutil.rmtree(workdir, ignore_errors=True)
                    minutes = (record.train_time_s or 0.0) / 60
                    say(f"  {job.id}: dev {100 * (record.accuracy or 0.0):.1f}% "
                              f"({minutes:.1f} min{', resumed' if record.resumed_from else ''})")
                if claimed is not None:
                    _give_back(claimed)
                    claimed = None
                if out is not None:
                    save()
    except (SuiteInterrupted, KeyboardInterrupt) as exc:
        this_run["active"] = False
        if out is not None and write:
            save()
        if isinstance(exc, SuiteInterrupted):
            raise
        raise SuiteInterrupted("interrupted") from exc
    finally:
        if claimed is not None:  # stopped inside a job: its checkpoint stays in work/ for --resume
            _give_back(claimed)
        if out is None:
            shutil.rmtree(workroot, ignore_errors=True)
    this_run["active"] = False
    return save() if out is not None else result_now()
