"""``kglm link``: a thin layer over :mod:`kglm.linking`.

``kglm link --kg DIR "text" ...`` prints one tab-separated line per mention
(``start  end  text  entity  score``), a blank line between texts (texts come
from the arguments, or from standard input one per line).

``--kg`` is a saved KG directory (the linker index is kept in its
``extras/linker/``), ``demo`` (the bundled KG), an RDF file, a ConceptNet CSV
or a ConceptNet-100K ``.txt`` (converted once into the cache directory).
:func:`open_linker` and the linker options (:func:`add_linker_arguments`) are
shared with ``kglm ground`` (:mod:`kglm.cli.ground`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_linker_arguments", "open_linker", "register"]


def open_linker(
    source: str,
    cache_dir: str | None = None,
    lemmatizer: str = "auto",
    keep_overlapping: bool = False,
    show_progress: bool | None = None,
    mode: str = "longest",
    n_process: int = 1,
) -> tuple[Any, Any]:
    """Load a KG (see the module doc for ``source``) and its linker; return ``(kg, linker)``.

    A saved KG directory holds the linker index in ``extras/linker/``; for other
    sources the index is kept in the cache (:meth:`LexiconLinker.cached`). An index
    that has to be built is built in ``n_process`` worker processes (same index).
    """
    from kglm.kg.graph import KnowledgeGraph
    from kglm.linking import LexiconLinker
    from kglm.utils.paths import cache_dir as cache_root

    cache = cache_root(cache_dir)
    path = Path(source)
    options: dict[str, Any] = {
        "lemmatizer": lemmatizer,
        "keep_overlapping": keep_overlapping,
        "show_progress": show_progress,
        "mode": mode,
        "n_process": n_process,
    }
    if source != "demo" and path.is_dir():
        kg = KnowledgeGraph.load(path)
        return kg, LexiconLinker.load(path, kg=kg, **options)
    from kglm.training.resources import load_kg

    kg = load_kg(source, cache_dir=cache)
    return kg, LexiconLinker.cached(kg, cache, **options)


def _link(args: argparse.Namespace) -> int:
    from kglm.cli._common import apply_threads

    apply_threads(args.threads)
    _, linker = open_linker(
        args.kg, args.cache_dir, args.lemmatizer, args.overlapping, mode=args.mode, n_process=args.workers
    )
    texts = args.text if args.text and args.text != ["-"] else [line.rstrip("\n") for line in sys.stdin]
    for i, mentions in enumerate(linker.pipe(texts, n_process=args.workers)):
        if args.json:
            print(json.dumps([m.to_dict() for m in mentions], ensure_ascii=False))
            continue
        if i:
            print()
        for m in mentions:
            print(f"{m.start}\t{m.end}\t{m.text}\t{m.entity}\t{m.score:.3g}")
    return 0


def add_linker_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``kglm link`` and ``kglm ground``: ``--kg``, the linker's, ``--threads`` and ``--cache-dir``."""
    p.add_argument("--kg", required=True, help="saved KG directory, 'demo', an RDF file or ConceptNet file")
    p.add_argument(
        "--lemmatizer",
        default="auto",
        help="auto, spacy, spacy:<model>, lookup or rule (default: auto)",
    )
    p.add_argument("--overlapping", action="store_true", help="keep all overlapping n-gram matches")
    p.add_argument(
        "--mode",
        default="longest",
        choices=["longest", "qagnn"],
        help="longest: greedy longest match (default); qagnn: the QA-GNN reference grounding rules",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes for linking and for building a missing linker index "
                   "(default: 1; same output)")  # fmt: skip
    from kglm.cli._common import add_cache_dir_argument, add_threads_argument

    add_threads_argument(p)
    add_cache_dir_argument(p)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``link`` sub-command."""
    p = subparsers.add_parser("link", help="link text to KG entities and print the mentions")
    add_linker_arguments(p)
    p.add_argument("text", nargs="*", help="texts to link ('-' or none: one per line from stdin)")
    p.add_argument("--json", action="store_true", help="one JSON list of mentions per text")
    p.set_defaults(func=_link)
