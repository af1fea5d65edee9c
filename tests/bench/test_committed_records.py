"""``kglm bench --resume`` keeps accepting the finished jobs already on disk.

A resumed suite compares each finished job's recorded settings with the job
the current code plans (:func:`kglm.bench.runner._config_mismatch`); any change
to a suite's settings, to the job names or to how a job's config is built
would make ``--resume`` refuse the long runs' result directories. These tests
replay the command recorded in each committed job record through the real CLI
(only the training is left out) and check that every finished job is still
planned, under the same name, with the same settings.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from kglm.bench import runner
from kglm.bench import suites as suites_module

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
RECORDS = sorted(RESULTS.glob("*/jobs/*.json"))


class _Planned(BaseException):
    """Raised by the stand-in for the runner's job loop, carrying the plan."""

    def __init__(self, suite, full_plan):
        super().__init__()
        self.suite, self.full_plan = suite, full_plan


def _replay(command: str, out: Path, data_root: Path, monkeypatch) -> dict[str, object]:
    """The jobs ``kglm bench`` plans for the recorded ``command`` (with ``--out`` moved to ``out``)."""
    from kglm.cli import main

    tokens = shlex.split(command)
    args = tokens[tokens.index("bench"):]
    if "--out" in args:
        args[args.index("--out") + 1] = str(out)

    def plan_only(suite, full_plan, plan, *rest, **kwargs):
        raise _Planned(suite, full_plan)

    monkeypatch.setattr(runner, "_run", plan_only)
    monkeypatch.setattr("kglm.training.preflight.check_suite", lambda *a, **k: None)
    monkeypatch.setattr(suites_module, "shared_data_dir", lambda: data_root)
    with pytest.raises(_Planned) as planned:
        main(args)
    return {job.id: job for job in planned.value.full_plan}


@pytest.mark.skipif(not RECORDS, reason="no committed benchmark job records")
@pytest.mark.parametrize("record_path", RECORDS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_committed_job_records_still_resume(record_path, tmp_path, monkeypatch):
    record = json.loads(record_path.read_text(encoding="utf-8"))
    train_file = Path(record["config"]["train_file"])
    data_root = train_file.parents[1]  # {data}/<dataset>/<file>
    planned = _replay(record["command"], tmp_path / "out", data_root, monkeypatch)
    name = record_path.stem
    assert name in planned, f"{name} is no longer a job of the suite: --resume would leave it out"
    current = runner._comparable(planned[name].config.to_dict())
    assert runner._config_mismatch(record["config"], current) == []


#: sha256 (first 16 hex digits) of every suite's planned jobs: names and the settings a resume compares.
#: A change here means existing result directories of that suite no longer resume; update a value only
#: for an intended change of the protocol (and start those suites in a fresh --out), for a new
#: TrainingConfig field at its default (last: knowledge_scorer), which changes every digest but no job,
#: or for a model added to a suite (last: lm+kt-descriptions-shuffled in csqa/obqa/swag), which adds
#: jobs and leaves the others' settings as they were: the records above still resume
#: (test_committed_job_records_still_resume).
PLAN_DIGESTS = {
    "demo": "c468d1f9b9ac98b0",
    "csqa-quick": "2568385884096361",
    "csqa-quick-ft": "55b25c2cc0f1f269",
    "csqa": "e08fb98715ee4258",
    "obqa": "48fa15b14df3ceae",
    "swag": "f234f1a0411815d1",
}


def _plan_digest(suite) -> str:
    plan = runner._plan(suite, suite.models, {"cache_dir": "/cache", "show_progress": False})
    blob = json.dumps([[job.id, runner._comparable(job.config.to_dict())] for job in plan], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_suite_plans_are_unchanged(monkeypatch):
    monkeypatch.setattr(suites_module, "shared_data_dir", lambda: Path("/data"))
    digests = {name: _plan_digest(suite) for name, suite in suites_module.SUITES.items()}
    assert digests == PLAN_DIGESTS
