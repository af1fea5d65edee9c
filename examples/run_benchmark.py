"""Run a benchmark suite from Python and read its results.

By default this runs the ``demo`` suite (bundled KG and questions, offline)
with one seed; ``--suite csqa-quick`` runs the CommonsenseQA comparison when
the benchmark data is available (set ``KGLM_DATA_DIR``).

    python examples/run_benchmark.py --out runs/example-bench
    python examples/run_benchmark.py --backbone tiny-bert --epochs 2   # a fast smoke run
"""

from __future__ import annotations

import argparse
import sys

from kglm.bench import get_suite, run_suite
from kglm.errors import KGLMError
from kglm.training.preflight import check_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="demo")
    parser.add_argument("--out", default="runs/example-bench")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--backbone", default=None, help="HF name or path, 'minilm', 'minilm-2l', 'tiny-bert'")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--models", nargs="+", default=None, help="model keys, e.g. lm qagnn qagnn+permute_edges")
    parser.add_argument("--cache-dir", default=None, help="caches (default: $KGLM_CACHE, else ./.kglm_cache)")
    args = parser.parse_args(argv)

    suite = get_suite(args.suite)
    try:  # data, KG and backbone first: one line, not a traceback after minutes of work
        check_suite(suite, backbone=args.backbone)
    except KGLMError as exc:
        print(f"run_benchmark.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"suite {suite.name}: {suite.description}")
    print("models:", ", ".join(m.name for m in suite.models))
    settings = {}
    if args.epochs is not None:  # keep the encoder frozen for the whole (shorter) run
        settings.update(num_epochs=args.epochs, freeze_encoder_epochs=args.epochs)
    result = run_suite(
        suite, args.out, seeds=args.seeds, backbone=args.backbone, models=args.models,
        settings=settings, cache_dir=args.cache_dir, show_progress=False, overwrite=True,
    )
    print(f"\n{'model':<36} {'dev accuracy':>14} {'train s':>8}")
    for row in result.summary():
        acc = "failed" if row["accuracy_mean"] is None else f"{100 * row['accuracy_mean']:.1f} %"
        print(f"{row['model']:<36} {acc:>14} {row['train_time_s'] or 0:>8.1f}")
    print(f"\nresults: {args.out}/results.json, results.md, results.png")
    return 0 if all(j.error is None for j in result.jobs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
