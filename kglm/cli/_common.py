"""Options shared by several ``kglm`` sub-commands (one definition each)."""

from __future__ import annotations

import argparse
from typing import Any

from kglm.utils.machine import apply_threads  # re-exported: every command sets threads this way

__all__ = ["DEFAULT_THREADS", "add_cache_dir_argument", "add_model_dir_arguments", "add_threads_argument", "apply_threads", "quiet_libraries"]

#: torch intra-op threads of every command that trains, grounds, scores or benchmarks.
#: One: on a shared or small CPU machine more threads than free cores slow torch down
#: badly (``kglm bench demo``: 546 s with torch's default of 2 threads on a busy 2-core
#: machine, 31 s with one) and change results between runs; raise it on an idle
#: many-core machine. Results record the value used.
DEFAULT_THREADS = 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_threads_argument(parser: argparse.ArgumentParser, default: int | None = DEFAULT_THREADS) -> Any:
    """Add ``--threads N`` (torch intra-op threads, default :data:`DEFAULT_THREADS`)."""
    return parser.add_argument(
        "--threads",
        type=_positive_int,
        default=default,
        metavar="N",
        help=f"torch threads (default {DEFAULT_THREADS}: more threads than free cores slow a shared "
        "CPU machine down; raise it on an idle many-core machine); recorded with the results",
    )


def add_cache_dir_argument(parser: argparse.ArgumentParser, what: str = "cache directory") -> None:
    """Add ``--cache-dir DIR``; its help names :func:`kglm.utils.paths.cache_dir`'s default."""
    from kglm.utils.paths import CACHE_ENV, DEFAULT_CACHE_DIR

    parser.add_argument("--cache-dir", default=None, help=f"{what} (default: ${CACHE_ENV}, else ./{DEFAULT_CACHE_DIR})")


def add_model_dir_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model DIR`` (required: a directory written by ``kglm train``) and ``--kg``
    (another knowledge graph than the one recorded in training)."""
    parser.add_argument("--model", required=True, help="model directory written by 'kglm train'")
    parser.add_argument("--kg", default=None, help="knowledge graph, when not the one used in training")


def quiet_libraries() -> None:
    """Silence the libraries' own progress bars and info logs (``--quiet``): transformers'
    "Loading weights" / "Writing model shards" bars and notices, the hub client's
    download bars. Public switches only; warnings and errors still show."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars
    except ImportError:  # pragma: no cover - older hub client
        return
    disable_progress_bars()
