"""``kglm predict``: a thin layer over :class:`kglm.training.Predictor`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["picture_path", "register"]


def picture_path(name: str | os.PathLike[str], model_dir: str | os.PathLike[str]) -> Path:
    """Where ``kglm predict --picture NAME`` writes: a bare file name goes into the model
    directory (not wherever the command happens to run); a path with a folder
    (``./x.png``, ``out/x.png``) or an absolute path is used as given."""
    path = Path(name).expanduser()
    if not path.is_absolute() and path.parent == Path(".") and not str(name).startswith("."):
        path = Path(model_dir) / path
    return path.resolve()


def _predict(args: argparse.Namespace) -> int:
    from kglm.cli._common import apply_threads
    from kglm.training import Predictor

    apply_threads(args.threads)
    predictor = Predictor.load(args.model, kg=args.kg)
    prediction = predictor.predict(args.question, args.choices, top_k=args.top_k)
    if args.json:
        data: dict[str, Any] = {
            "question": prediction.question,
            "answer": prediction.answer,
            "ranked": [vars(c) for c in prediction.ranked],
            "warnings": prediction.warnings,
        }
        print(json.dumps(data, indent=2))
        for warning in prediction.warnings:  # stdout is JSON: say it on stderr too
            print(f"kglm: warning: {warning}", file=sys.stderr)
    else:
        print(prediction.format())  # ends with the warnings
    if args.picture:
        path = predictor.draw(prediction, picture_path(args.picture, args.model))
        print(f"picture of the subgraph of {prediction.answer!r} written to {path}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``predict`` to the ``kglm`` command."""
    from kglm.cli._common import add_model_dir_arguments, add_threads_argument

    p = subparsers.add_parser(
        "predict",
        help="answer one question and explain why",
        description="Rank the choices of one question with a trained model and show the grounded "
        "concepts and the most attended graph nodes or paths.",
    )
    add_model_dir_arguments(p)
    p.add_argument("question", help="the question text")
    p.add_argument("--choices", nargs="+", required=True, help="the candidate answers")
    p.add_argument("--top-k", type=int, default=5, help="nodes or paths to show per choice")
    p.add_argument(
        "--picture", default=None, metavar="PNG",
        help="write a PNG of the best choice's subgraph (a bare file name goes into the model directory; "
        "the full path is printed)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_threads_argument(p)
    p.set_defaults(func=_predict)
