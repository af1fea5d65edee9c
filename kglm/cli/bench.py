"""``kglm bench SUITE``: a thin layer over :mod:`kglm.bench` (``kglm demo`` is :mod:`kglm.cli.demo`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _settings(items: list[str]) -> dict[str, Any]:
    from kglm.training.config import parse_overrides

    return parse_overrides(items or [])


def _status(out: str) -> int:
    from kglm.bench.runner import suite_status

    status = suite_status(out)
    finished, running, waiting = status["finished"], status["running"], status["waiting"]
    total = len(finished) + len(running) + len(waiting)
    print(f"{out}: {len(finished)} of {total} jobs finished, {len(running)} running, {len(waiting)} waiting")
    for job, accuracy in finished:
        print(f"  finished {job}: dev {100 * accuracy:.1f}%" if accuracy is not None else f"  finished {job}: failed")
    for r in running:
        text = f"  running  {r['job']} (pid {r['pid']})"
        if r["step"] is not None:
            text += f": step {r['step']}/{r['max_steps']}, {r['s_per_step']:.2f} s/step"
        if r["eta_s"] is not None:
            text += f", this process done in ~{r['eta_s'] / 3600:.1f} h"
        print(text)
    for job in waiting:
        print(f"  waiting  {job}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from kglm.bench import run_suite
    from kglm.bench.runner import SuiteInterrupted

    out = args.out or f"runs/bench/{args.suite}"
    if args.status:
        return _status(out)
    from kglm.training.preflight import check_suite

    check_suite(args.suite, backbone=args.backbone)  # data, KG, backbone: one line, before any work
    if args.quiet:
        from kglm.cli._common import quiet_libraries

        quiet_libraries()
    models = list(args.models or [])
    for item in args.jobs or []:
        models += [m.strip() for m in item.split(",") if m.strip()]
    try:
        result = run_suite(
            args.suite,
            out,
            seeds=args.seeds,
            backbone=args.backbone,
            models=models or None,
            settings=_settings(args.set),
            preset=args.preset,
            cache_dir=args.cache_dir,
            num_threads=args.threads,
            device=args.device,
            show_progress=not args.quiet,
            resume=args.resume,
            overwrite=args.overwrite,
        )
    except SuiteInterrupted as exc:
        print(f"kglm bench: {exc}; finished jobs are in {out}; continue with the same command and --resume",
              file=sys.stderr)
        return 130
    from kglm.bench.report import results_markdown

    if not args.quiet:
        print(results_markdown(result))
    print(f"results written to {Path(out) / 'results.json'}, results.md, results.png", file=sys.stderr)
    return 0 if all(j.error is None for j in result.jobs) else 1


def register(subparsers: Any) -> None:
    """Add ``bench`` to the ``kglm`` command."""
    from kglm.bench.suites import SUITES
    from kglm.cli._common import add_cache_dir_argument, add_threads_argument

    p = subparsers.add_parser(
        "bench",
        help="run a benchmark suite",
        description="Run a suite of (model x dataset x seed) jobs, seed-major, and write results.json, "
        "results.md and results.png after every job. Full protocol (every encoder layer trained, all "
        "training questions): csqa, obqa, swag; quick smoke protocols: csqa-quick, csqa-quick-ft; "
        "offline: demo. Interrupt it at any time (Ctrl-C, SIGTERM, a kill) and rerun the same command "
        "with --resume: finished jobs are kept, the interrupted one continues from its last checkpoint.",
    )
    p.add_argument("suite", choices=sorted(SUITES), help="suite name")
    p.add_argument("--out", default=None, help="output directory (default runs/bench/SUITE)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the suite's seeds")
    p.add_argument("--backbone", default=None, help="override the backbone (HF name or path, 'minilm')")
    p.add_argument("--models", nargs="+", default=None, help="only these model keys (lm, qagnn, qagnn+no_graph, ...)")
    p.add_argument("--jobs", action="append", default=None, metavar="KEY,...",
                   help="only these model keys, comma-separated (same as --models; to split a suite into runs)")
    p.add_argument("--status", action="store_true",
                   help="print what --out holds now (finished jobs, the running ones with their step and ETA, "
                   "those waiting) and exit; runs nothing")
    p.add_argument("--resume", action="store_true",
                   help="keep the finished jobs in --out and continue the interrupted one from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the finished jobs and checkpoints in --out and start again (without it, "
                   "an --out holding finished jobs needs --resume)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: the GPU when there is one, else the CPU)")
    p.add_argument("--preset", choices=["anchor"], default=None,
                   help="anchor: the published protocol recorded in the suite (QA-GNN: roberta-large, "
                   "lr 1e-5, GNN lr 1e-3, batch 128, ...); --backbone and --set still override it")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a training setting")
    add_cache_dir_argument(p, "grounding, KG and embedding caches")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_bench)
