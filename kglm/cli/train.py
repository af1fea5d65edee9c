"""``kglm train``, ``kglm evaluate`` and ``kglm predict``: thin layers over :mod:`kglm.training`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "parse_overrides", "picture_path"]


def parse_overrides(tokens: list[str]) -> list[str]:
    """Turn ``--set k=v``, ``--key value``, ``--key=value`` and ``k=v`` tokens into ``k=v`` strings.

    Raises:
        ValueError: for a ``--key`` without a value or a bare word.
    """
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "--set":
            if i + 1 >= len(tokens):
                raise ValueError("--set needs KEY=VALUE")
            out.append(tokens[i + 1])
            i += 2
        elif tok.startswith("--"):
            key = tok[2:]
            if "=" in key:
                out.append(key)
                i += 1
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                out.append(f"{key}={tokens[i + 1]}")
                i += 2
            else:
                raise ValueError(f"option {tok} needs a value")
        elif "=" in tok:
            out.append(tok)
            i += 1
        else:
            raise ValueError(f"unexpected argument {tok!r} (overrides are KEY=VALUE or --key VALUE)")
    return out


def _demo_config_overrides() -> list[str]:
    from kglm.bench.suites import get_suite

    suite = get_suite("demo")
    items = [f"backbone={suite.backbone}", "kg=demo", "train_file=demo", "dev_file=demo"]
    for key, value in suite.settings.items():
        items.append(f"{key}={json.dumps(value)}")
    return items


def _train(args: argparse.Namespace) -> int:
    from kglm.cli._common import DEFAULT_THREADS
    from kglm.training.config import load_config
    from kglm.training.preflight import check_config

    overrides = parse_overrides(list(args.overrides))
    if args.config == "demo":
        config = load_config(None, _demo_config_overrides() + ["output_dir=runs/demo"] + overrides)
    else:
        config = load_config(args.config, overrides)
    if config.threads is None:  # neither the config nor --threads: the CLI's one default
        config = config.replace(threads=DEFAULT_THREADS)
    check_config(config)  # missing files or an unreachable backbone: one line, before any work
    from kglm.training import train

    result = train(config)
    print(json.dumps(result.to_dict(), indent=2))
    if result.model_dir:
        print(f"model saved to {result.model_dir}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from kglm.cli._common import apply_threads
    from kglm.training import evaluate

    threads = apply_threads(args.threads)
    metrics = evaluate(args.model, args.data, data_format=args.format, kg=args.kg, batch_size=args.batch_size,
                       show_progress=not args.quiet)
    print(json.dumps({**metrics, "threads": threads}, indent=2))
    return 0


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
    """Add ``train``, ``evaluate`` and ``predict`` to the ``kglm`` command."""
    from kglm.cli._common import add_threads_argument

    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML/JSON config",
        description="Train a model. CONFIG is a YAML or JSON file (or 'demo' for the bundled data); "
        "override any field with KEY=VALUE, --set section.key=VALUE or --key VALUE "
        "(e.g. --model qagnn --epochs 2 --set train.encoder_lr=1e-5). --threads N sets torch's threads "
        "(default 1 unless the config sets threads). Data, KG and backbone are checked before any work.",
    )
    p.add_argument("config", help="config file (.yaml, .yml, .json) or 'demo'")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="KEY=VALUE, --set KEY=VALUE or --key VALUE")
    p.set_defaults(func=_train)

    p = subparsers.add_parser(
        "evaluate",
        help="accuracy of a trained model on a data file",
        description="Score a labelled data file with a model directory written by 'kglm train' and print "
        "accuracy, number of questions, questions per second and threads as JSON.",
    )
    p.add_argument("--model", required=True, help="model directory written by 'kglm train'")
    p.add_argument("--data", required=True, help="labelled data file (or 'demo')")
    p.add_argument("--format", default="auto", help="reader format (auto, csqa, obqa, swag, ...)")
    p.add_argument("--kg", default=None, help="knowledge graph, when not the one used in training")
    p.add_argument("--batch-size", type=int, default=32, help="questions per batch (default 32)")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser(
        "predict",
        help="answer one question and explain why",
        description="Rank the choices of one question with a trained model and show the grounded "
        "concepts and the most attended graph nodes or paths.",
    )
    p.add_argument("--model", required=True, help="model directory written by 'kglm train'")
    p.add_argument("question", help="the question text")
    p.add_argument("--choices", nargs="+", required=True, help="the candidate answers")
    p.add_argument("--kg", default=None, help="knowledge graph, when not the one used in training")
    p.add_argument("--top-k", type=int, default=5, help="nodes or paths to show per choice")
    p.add_argument(
        "--picture", default=None, metavar="PNG",
        help="write a PNG of the best choice's subgraph (a bare file name goes into the model directory; "
        "the full path is printed)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_threads_argument(p)
    p.set_defaults(func=_predict)
