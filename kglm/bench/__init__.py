"""Benchmark suites: (model x dataset x seed) jobs, result tables and plots.

Public API::

    from kglm.bench import SUITES, get_suite, run_suite

    result = run_suite("demo", out_dir="bench-demo")   # writes results.json/.md/.png
    print(result.summary())

Submodules are imported on first use of a name (no work at import time).
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

_NAMES: dict[str, str] = {
    "Suite": "kglm.bench.suites",
    "ModelSpec": "kglm.bench.suites",
    "DatasetSpec": "kglm.bench.suites",
    "SUITES": "kglm.bench.suites",
    "STANDARD_MODELS": "kglm.bench.suites",
    "get_suite": "kglm.bench.suites",
    "shared_data_dir": "kglm.bench.suites",
    "run_suite": "kglm.bench.runner",
    "suite_status": "kglm.bench.runner",
    "JobResult": "kglm.bench.runner",
    "SuiteResult": "kglm.bench.runner",
    "machine_info": "kglm.utils.machine",
    "write_results": "kglm.bench.report",
    "results_markdown": "kglm.bench.report",
    "plot_results": "kglm.bench.report",
    "load_results": "kglm.bench.report",
    "mcnemar_p": "kglm.bench.report",
}

__all__ = list(_NAMES)

__getattr__, __dir__ = lazy_exports(__name__, _NAMES)
