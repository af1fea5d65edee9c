"""Paths to the small data set bundled with kglm.

The demo knowledge graph (``commonsense.ttl``, everyday commonsense in Turtle)
and the demo multiple-choice questions (CommonsenseQA JSONL format) are written
by the kglm authors and ship inside the package under ``kglm/resources/demo``.
They drive the demo, the documentation and the tests, offline.

Example:
    >>> from kglm.datasets.bundled import demo_kg_path, demo_questions_path
    >>> demo_kg_path().name
    'commonsense.ttl'
    >>> demo_questions_path("dev").name
    'dev.jsonl'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

__all__ = ["DEMO_SPLITS", "demo_dir", "demo_kg_path", "demo_questions_path"]

DemoSplit = Literal["all", "train", "dev"]

#: split name -> file name inside the demo directory.
DEMO_SPLITS: dict[str, str] = {
    "all": "questions.jsonl",
    "train": "train.jsonl",
    "dev": "dev.jsonl",
}

_KG_FILE = "commonsense.ttl"


def demo_dir() -> Path:
    """Return the directory holding the bundled demo data.

    Looks in the installed package (``kglm/resources/demo``) first and falls
    back to ``data/demo`` of a source checkout.

    Raises:
        FileNotFoundError: neither location holds the demo knowledge graph.
    """
    package_dir = Path(__file__).resolve().parents[1]
    candidates = (
        package_dir / "resources" / "demo",
        package_dir.parent / "data" / "demo",
    )
    for candidate in candidates:
        if (candidate / _KG_FILE).is_file():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"bundled demo data not found (searched {searched})")


def demo_kg_path() -> Path:
    """Return the path of the bundled demo knowledge graph (Turtle)."""
    return demo_dir() / _KG_FILE


def demo_questions_path(split: DemoSplit = "all") -> Path:
    """Return the path of the bundled demo questions (CommonsenseQA JSONL).

    Args:
        split: ``"all"`` (every question), ``"train"`` or ``"dev"``; train and
            dev are a fixed, disjoint split of ``"all"``.

    Raises:
        ValueError: ``split`` is not one of the names above.
    """
    try:
        name = DEMO_SPLITS[split]
    except KeyError:
        raise ValueError(
            f"unknown demo split {split!r}; expected one of {', '.join(DEMO_SPLITS)}"
        ) from None
    return demo_dir() / name
