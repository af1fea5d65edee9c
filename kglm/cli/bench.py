"""``kglm bench SUITE`` and ``kglm demo``: thin layers over :mod:`kglm.bench`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _settings(items: list[str]) -> dict[str, Any]:
    from kglm.training.config import parse_overrides

    return parse_overrides(items or [])


def _bench(args: argparse.Namespace) -> int:
    from kglm.bench import run_suite
    from kglm.bench.runner import SuiteInterrupted

    from kglm.training.preflight import check_suite

    check_suite(args.suite, backbone=args.backbone)  # data, KG, backbone: one line, before any work
    if args.quiet:
        from kglm.cli._common import quiet_libraries

        quiet_libraries()
    out = args.out or f"runs/bench/{args.suite}"
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


def _demo(args: argparse.Namespace) -> int:
    from kglm.bench import run_suite

    out = Path(args.out)
    if args.quiet:
        from kglm.cli._common import quiet_libraries

        quiet_libraries()
    print("kglm demo: benchmark on the bundled commonsense KG and questions (offline).")
    print("Models: LM baseline, ERNIE-style fusion, QA-GNN-style, KagNet-style, and two KG controls.\n")
    started = time.perf_counter()
    result = run_suite(
        "demo", out, seeds=args.seeds, settings=_settings(args.set), cache_dir=args.cache_dir,
        num_threads=args.threads, show_progress=not args.quiet, overwrite=True,
    )
    elapsed = time.perf_counter() - started
    info = next(iter(result.datasets.values()))
    print(
        f"\nData: {info['train_examples']} training and {info['dev_examples']} dev questions, "
        f"KG with {info['kg_entities']} concepts and {info['kg_triples']} triples."
    )
    print(f"Backbone: {result.backbone} (frozen, mean-pooled); seeds {', '.join(map(str, result.seeds))}.\n")
    from kglm.bench.report import controls_reading, results_text

    print(results_text(result))
    failed = [j for j in result.jobs if j.error]
    for job in failed:
        print(f"  {job.model} (seed {job.seed}) failed: {job.error}")
    reading = controls_reading(result)
    if reading:
        print("\nReading: " + reading)
    print(
        f"\nThe dev set has only {info['dev_examples']} questions, so read this as a check of the whole "
        "pipeline (linking, grounding, graphs, training, evaluation) and of the controls, not as a result."
    )
    print(f"Done in {elapsed:.0f} s. Table: {out / 'results.md'}, chart: {out / 'results.png'}.")
    print("Next: 'kglm bench csqa-quick' runs the same comparison on CommonsenseQA with ConceptNet-100K.")
    return 0 if not failed else 1


def register(subparsers: Any) -> None:
    """Add ``bench`` and ``demo`` to the ``kglm`` command."""
    from kglm.bench.suites import SUITES
    from kglm.cli._common import add_threads_argument

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
    p.add_argument("--cache-dir", default=None,
                   help="grounding, KG and embedding caches (default: $KGLM_CACHE, else ./.kglm_cache)")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_bench)

    p = subparsers.add_parser("demo", help="run the demo benchmark on the bundled data, with a summary")
    p.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the seeds")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training setting (as for kglm bench --set)")
    p.add_argument("--cache-dir", default=None,
                   help="grounding, KG and embedding caches (default: $KGLM_CACHE, else ./.kglm_cache)")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)
