"""``kglm evaluate``: a thin layer over :func:`kglm.training.evaluate`."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def _evaluate(args: argparse.Namespace) -> int:
    from kglm.cli._common import apply_threads
    from kglm.training import evaluate

    threads = apply_threads(args.threads)
    metrics = evaluate(args.model, args.data, data_format=args.format, kg=args.kg, batch_size=args.batch_size,
                       show_progress=not args.quiet)
    print(json.dumps({**metrics, "threads": threads}, indent=2))
    return 0


def register(subparsers: Any) -> None:
    """Add ``evaluate`` to the ``kglm`` command."""
    from kglm.cli._common import add_model_dir_arguments, add_threads_argument

    p = subparsers.add_parser(
        "evaluate",
        help="accuracy of a trained model on a data file",
        description="Score a labelled data file with a model directory written by 'kglm train' and print "
        "accuracy, number of questions, questions per second and threads as JSON.",
    )
    add_model_dir_arguments(p)
    p.add_argument("--data", required=True, help="labelled data file (or 'demo')")
    p.add_argument("--format", default="auto", help="reader format (auto, csqa, obqa, swag, ...)")
    p.add_argument("--batch-size", type=int, default=32, help="questions per batch (default 32)")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_evaluate)
