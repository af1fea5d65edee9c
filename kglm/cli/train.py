"""``kglm train``, ``kglm evaluate`` and ``kglm predict``: thin layers over :mod:`kglm.training`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "parse_overrides"]


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
    from kglm.training import load_config, train

    overrides = parse_overrides(list(args.overrides))
    if args.config == "demo":
        config = load_config(None, _demo_config_overrides() + ["output_dir=runs/demo"] + overrides)
    else:
        config = load_config(args.config, overrides)
    result = train(config)
    print(json.dumps(result.to_dict(), indent=2))
    if result.model_dir:
        print(f"model saved to {result.model_dir}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from kglm.training import evaluate

    metrics = evaluate(args.model, args.data, data_format=args.format, kg=args.kg, batch_size=args.batch_size,
                       show_progress=not args.quiet)
    print(json.dumps(metrics, indent=2))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from kglm.training import Predictor

    predictor = Predictor.load(args.model, kg=args.kg)
    prediction = predictor.predict(args.question, args.choices, top_k=args.top_k)
    if args.json:
        data: dict[str, Any] = {
            "question": prediction.question,
            "answer": prediction.answer,
            "ranked": [vars(c) for c in prediction.ranked],
        }
        print(json.dumps(data, indent=2))
    else:
        print(prediction.format())
    if args.picture:
        path = predictor.draw(prediction, args.picture)
        print(f"picture of the subgraph of {prediction.answer!r} written to {path}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``train``, ``evaluate`` and ``predict`` to the ``kglm`` command."""
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML/JSON config",
        description="Train a model. CONFIG is a YAML or JSON file (or 'demo' for the bundled data); "
        "override any field with KEY=VALUE, --set section.key=VALUE or --key VALUE "
        "(e.g. --model qagnn --epochs 2 --set train.encoder_lr=1e-5).",
    )
    p.add_argument("config", help="config file (.yaml, .yml, .json) or 'demo'")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="KEY=VALUE, --set KEY=VALUE or --key VALUE")
    p.set_defaults(func=_train)

    p = subparsers.add_parser("evaluate", help="accuracy of a trained model on a data file")
    p.add_argument("--model", required=True, help="model directory written by 'kglm train'")
    p.add_argument("--data", required=True, help="labelled data file (or 'demo')")
    p.add_argument("--format", default="auto", help="reader format (auto, csqa, obqa, swag, ...)")
    p.add_argument("--kg", default=None, help="knowledge graph, when not the one used in training")
    p.add_argument("--batch-size", type=int, default=32)
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
    p.add_argument("--picture", default=None, help="write a PNG of the best choice's subgraph here")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_predict)
