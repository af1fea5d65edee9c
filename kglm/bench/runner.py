"""Run a benchmark suite: (model x dataset x seed) jobs over data built once.

For each dataset the tokenization, grounding, QA graphs, KagNet paths and
entity embeddings are built once (:func:`kglm.training.prepare_data`) and every
job of that dataset reuses them; with a frozen encoder the encoder's outputs
are computed once too. Jobs run one after the other with a progress bar; a job
that fails is recorded with its error and the suite goes on.

Example::

    result = run_suite("demo", out_dir="bench-out")
    print(result.table_markdown())
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kglm.bench.suites import Suite, get_suite
from kglm.utils.machine import machine_info

logger = logging.getLogger(__name__)

__all__ = ["JobResult", "SuiteResult", "run_suite", "machine_info", "suite_config"]


@dataclass
class JobResult:
    """One (model, dataset, seed) job.

    Attributes:
        model: the model spec's display name; ``model_key`` its short key.
        dataset / seed: which data and seed.
        accuracy: dev accuracy (``None`` when the job failed).
        train_time_s: seconds of training.
        train_examples_per_s / eval_examples_per_s: questions per second.
        train_loss: mean training loss.
        error: the error message of a failed job.
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


@dataclass
class SuiteResult:
    """All jobs of a suite run, with the machine they ran on."""

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with the per-model summary)."""
        data = asdict(self)
        data["summary"] = self.summary()
        return data

    def summary(self) -> list[dict[str, Any]]:
        """Per (dataset, model): accuracy mean and std over seeds, mean times and throughputs."""
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
                    "accuracy_mean": mean(accs),
                    "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else (0.0 if accs else None),
                    "accuracies": accs,
                    "train_time_s": mean([j.train_time_s for j in ok]),
                    "train_examples_per_s": mean([j.train_examples_per_s for j in ok]),
                    "eval_examples_per_s": mean([j.eval_examples_per_s for j in ok]),
                    "errors": sorted({j.error for j in jobs if j.error}),
                }
            )
        return rows


def suite_config(suite: Suite, dataset_index: int = 0, **changes: Any) -> Any:
    """The :class:`~kglm.training.TrainingConfig` shared by a suite's jobs on one dataset.

    ``changes`` are applied last through :func:`kglm.training.config.apply_settings`
    (the one typed override path: ``encoder_lr``, ``train.lr``, ``model_kwargs.gnn_layers``).
    """
    from kglm.training.config import TrainingConfig, apply_settings

    spec = suite.datasets[dataset_index].resolve()
    settings = dict(suite.settings)
    settings.update(
        backbone=suite.backbone,
        kg=spec.kg,
        kg_format=spec.kg_format,
        train_file=spec.train_file,
        dev_file=spec.dev_file,
        data_format=spec.data_format,
        max_train_examples=spec.max_train_examples,
        subset_seed=spec.subset_seed,
    )
    model_kwargs = settings.pop("model_kwargs", {})
    config = TrainingConfig(model="qagnn", **settings)
    config = replace(config, model_kwargs=dict(model_kwargs))
    return apply_settings(config, changes)


def run_suite(
    suite: Suite | str,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    seeds: Sequence[int] | None = None,
    backbone: str | None = None,
    models: Sequence[str] | None = None,
    settings: dict[str, Any] | None = None,
    cache_dir: str | None = None,
    num_threads: int | None = None,
    show_progress: bool = True,
    write: bool = True,
) -> SuiteResult:
    """Run every (model x dataset x seed) job of ``suite``.

    Args:
        suite: a :class:`Suite` or a suite name.
        out_dir: where ``results.json``, ``results.md`` and ``results.png`` go
            (checkpoints go to a temporary directory and are deleted).
        seeds: override the suite's seeds.
        backbone: override the suite's backbone.
        models: run only the models whose key (``"qagnn"``, ``"qagnn+no_graph"``)
            or display name is listed.
        settings: override :class:`~kglm.training.TrainingConfig` fields of every job.
        cache_dir: grounding, KG and embedding caches (``None``: :func:`kglm.utils.paths.cache_dir`).
        num_threads: torch intra-op threads (``None`` keeps torch's default; on a
            machine shared with other jobs, 1 is often much faster).
        show_progress: tqdm bars.
        write: write the result files to ``out_dir``.
    """
    from tqdm.auto import tqdm

    from kglm.models.registry import get_model_entry
    from kglm.training.trainer import prepare_data, train

    import torch

    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    if isinstance(suite, str):
        suite = get_suite(suite)
    if backbone is not None:
        suite = replace(suite, backbone=backbone)
    if seeds is not None:
        suite = replace(suite, seeds=tuple(int(s) for s in seeds))
    specs = list(suite.models)
    if models is not None:
        wanted = set(models)
        specs = [m for m in specs if m.key in wanted or m.name in wanted]
        if not specs:
            raise ValueError(f"no model of suite {suite.name!r} matches {sorted(wanted)}")
    overrides = dict(settings or {})
    overrides.setdefault("cache_dir", cache_dir)
    overrides.setdefault("show_progress", False)
    started = time.perf_counter()
    jobs: list[JobResult] = []
    datasets: dict[str, dict[str, Any]] = {}
    prepare_time: dict[str, float] = {}
    total = len(suite.datasets) * len(specs) * len(suite.seeds)
    workdir = Path(tempfile.mkdtemp(prefix=f"kglm-bench-{suite.name}-"))
    try:
        with tqdm(total=total, desc=f"bench {suite.name}", unit="job", disable=not show_progress) as bar:
            for d, spec in enumerate(suite.datasets):
                base = suite_config(suite, d, **overrides)
                t0 = time.perf_counter()
                entries = [get_model_entry(m.model) for m in specs]
                needs_kg = any(e.needs_kg for e in entries)
                kinds = sorted({e.graph_kind for e in entries if e.graph_kind is not None})
                bar.set_postfix_str(f"preparing {spec.name}")
                data = prepare_data(
                    replace(base, show_progress=show_progress), graph_kinds=kinds, with_kg=needs_kg
                )
                prepare_time[spec.name] = time.perf_counter() - t0
                datasets[spec.name] = {
                    "train_file": base.train_file,
                    "dev_file": base.dev_file,
                    "kg": base.kg,
                    "train_examples": len(data.train),
                    "dev_examples": len(data.dev) if data.dev is not None else 0,
                    "num_choices": len(data.dev[0].choices) if data.dev is not None and len(data.dev) else None,
                    "kg_entities": data.kg.num_entities if data.kg is not None else None,
                    "kg_triples": data.kg.num_triples if data.kg is not None else None,
                }
                for model_spec in specs:
                    for seed in suite.seeds:
                        bar.set_postfix_str(f"{spec.name} {model_spec.key} seed {seed}")
                        job = JobResult(model_spec.name, model_spec.key, spec.name, int(seed))
                        out = workdir / f"{spec.name}-{model_spec.key}-{seed}"
                        try:
                            extra = dict(model_spec.settings)
                            kwargs = dict(base.model_kwargs)
                            kwargs.update(extra.pop("model_kwargs", {}))
                            config = replace(
                                base,
                                model=model_spec.model,
                                kg_control=model_spec.kg_control,
                                seed=int(seed),
                                output_dir=str(out),
                                save_model=False,
                                model_kwargs=kwargs,
                                **extra,
                            )
                            result = train(config, data)
                            losses = [h["loss"] for h in result.log_history if "loss" in h]
                            job.accuracy = result.best_accuracy
                            job.train_time_s = result.train_runtime
                            job.train_examples_per_s = result.train_samples_per_second
                            job.eval_examples_per_s = result.eval_samples_per_second
                            job.train_loss = result.train_loss
                            job.loss_first = losses[0] if losses else None
                            job.loss_last = losses[-1] if losses else None
                        except Exception as exc:  # one failing model must not sink the suite
                            job.error = f"{type(exc).__name__}: {exc}"
                            logger.warning("job %s/%s/%s failed:\n%s", spec.name, model_spec.key, seed,
                                           traceback.format_exc())
                        finally:
                            shutil.rmtree(out, ignore_errors=True)
                        jobs.append(job)
                        bar.update(1)
                        if show_progress:
                            acc = "failed" if job.accuracy is None else f"{job.accuracy:.3f}"
                            bar.write(f"  {spec.name:<8} {model_spec.name:<36} seed {seed}: {acc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = SuiteResult(
        suite=suite.name,
        description=suite.description,
        backbone=suite.backbone,
        seeds=list(suite.seeds),
        jobs=jobs,
        settings={k: v for k, v in suite_config(suite, 0, **overrides).to_dict().items()
                  if k not in ("output_dir", "show_progress", "save_model", "cache_dir")},
        datasets=datasets,
        machine=machine_info(),
        wall_time_s=time.perf_counter() - started,
        prepare_time_s=prepare_time,
    )
    if write and out_dir is not None:
        from kglm.bench.report import write_results

        write_results(result, out_dir)
    return result
