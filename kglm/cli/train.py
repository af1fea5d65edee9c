"""``kglm train``: a thin layer over :mod:`kglm.training` (``kglm evaluate`` and ``kglm predict`` are
:mod:`kglm.cli.evaluate` and :mod:`kglm.cli.predict`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kglm.cli.predict import picture_path  # re-exported: it lived here before kglm.cli.predict

__all__ = ["register", "parse_overrides", "picture_path", "end_distributed"]


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

    try:
        result = train(config)
    finally:
        end_distributed()
    print(json.dumps(result.to_dict(), indent=2))
    if result.model_dir:
        print(f"model saved to {result.model_dir}", file=sys.stderr)
    return 0


def end_distributed() -> bool:
    """Destroy the process group that the Trainer set up under ``torchrun``; return whether there was one.

    The CLI owns its process, so it ends the group before exit: left alive, gloo's threads sometimes
    abort a rank at interpreter exit ("terminate called without an active exception") after the model
    has been saved. Library callers of :func:`kglm.training.train` keep their group and end it themselves.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        return True
    return False


def register(subparsers: Any) -> None:
    """Add ``train`` to the ``kglm`` command."""
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
