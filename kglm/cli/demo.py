"""``kglm demo``: the ``demo`` benchmark suite on the bundled data, with a summary; a thin layer over :mod:`kglm.bench`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _demo(args: argparse.Namespace) -> int:
    from kglm.bench import run_suite
    from kglm.training.config import parse_overrides

    out = Path(args.out)
    if args.quiet:
        from kglm.cli._common import quiet_libraries

        quiet_libraries()
    print("kglm demo: benchmark on the bundled commonsense KG and questions (offline).")
    print("Models: LM baseline, ERNIE-style fusion, QA-GNN-style, KagNet-style, and two KG controls.\n")
    started = time.perf_counter()
    result = run_suite(
        "demo", out, seeds=args.seeds, settings=parse_overrides(args.set or []), cache_dir=args.cache_dir,
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
    """Add ``demo`` to the ``kglm`` command."""
    from kglm.cli._common import add_cache_dir_argument, add_threads_argument

    p = subparsers.add_parser("demo", help="run the demo benchmark on the bundled data, with a summary")
    p.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the seeds")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training setting (as for kglm bench --set)")
    add_cache_dir_argument(p, "grounding, KG and embedding caches")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)
