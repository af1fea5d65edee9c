"""``kglm link`` and ``kglm ground``: thin layers over :mod:`kglm.linking` and :mod:`kglm.grounding`.

``kglm link --kg DIR "text" ...`` prints one tab-separated line per mention
(``start  end  text  entity  score``), a blank line between texts (texts come
from the arguments, or from standard input one per line).

``kglm ground --kg DIR --data FILE -o OUT`` grounds every (question, choice)
of a multiple-choice file, extracts the graphs, writes them to ``OUT`` (a
:class:`~kglm.grounding.GroundedDataset` directory) through the on-disk cache,
and prints a summary.

Any multiple-choice file: ``--question``/``--question-template``, ``--choices``,
``--label``, ``--id``, ``--first-index`` map its columns (Social IQa:
``--question-template "{context} {question}" --choices answerA,answerB,answerC
--labels-file dev-labels.lst --first-index 1``); ids default to line numbers.
``--num-proc N`` grounds in N processes; ``--shard I/N`` grounds shard I
(from 0) of N, and ``kglm ground-merge -o OUT SHARD...`` joins the shards; all
give the same output. ``--threads N`` sets torch and BLAS threads (default 1).

``--kg`` is a saved KG directory (the linker index is kept in its
``extras/linker/``), ``demo`` (the bundled KG), an RDF file, a ConceptNet CSV
or a ConceptNet-100K ``.txt`` (converted once into the cache directory).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_PATHS_PER_PAIR, MAX_HOPS_LIMIT

__all__ = ["open_linker", "register"]


def open_linker(
    source: str,
    cache_dir: str | None = None,
    lemmatizer: str = "auto",
    keep_overlapping: bool = False,
    show_progress: bool | None = None,
    mode: str = "longest",
) -> tuple[Any, Any]:
    """Load a KG (see the module doc for ``source``) and its linker; return ``(kg, linker)``.

    A saved KG directory holds the linker index in ``extras/linker/``; for other
    sources the index is kept in the cache (:meth:`LexiconLinker.cached`).
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
    }
    if source != "demo" and path.is_dir():
        kg = KnowledgeGraph.load(path)
        return kg, LexiconLinker.load(path, kg=kg, **options)
    from kglm.training.resources import load_kg

    kg = load_kg(source, cache_dir=cache)
    return kg, LexiconLinker.cached(kg, cache, **options)


def _link(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    _, linker = open_linker(args.kg, args.cache_dir, args.lemmatizer, args.overlapping, mode=args.mode)
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


def _summary(data: Any, seconds: float, cached: bool) -> list[str]:
    choices = [c for ex in data.grounded for c in ex]
    n = len(choices)
    both = sum(1 for c in choices if c.question_entities and c.answer_entities)
    lines = [
        f"examples: {len(data.grounded)}, choices: {n}",
        f"choices with >=1 question and >=1 answer entity: {both}/{n} ({100 * both / max(n, 1):.1f}%)",
    ]
    for name, nested in (("QA graphs", data.graphs), ("path schema graphs", data.paths)):
        if nested is None:
            continue
        graphs = [g if name == "QA graphs" else g.graph for ex in nested for g in ex]
        nodes = [g.num_nodes for g in graphs] or [0]
        edges = [g.num_edges for g in graphs] or [0]
        lines.append(
            f"{name}: nodes mean {sum(nodes) / len(nodes):.1f} max {max(nodes)}, "
            f"edges mean {sum(edges) / len(edges):.1f} max {max(edges)}"
        )
    if data.paths is not None:
        counts = [p.num_paths for ex in data.paths for p in ex] or [0]
        lines.append(f"paths per choice: mean {sum(counts) / len(counts):.1f} max {max(counts)}")
    how = "read from cache" if cached else "grounded and extracted"
    lines.append(f"{how} in {seconds:.2f} s: {n / max(seconds, 1e-9):,.0f} statements/s")
    return lines


def column_mapping(args: argparse.Namespace) -> Any:
    """The :class:`~kglm.datasets.ColumnMapping` of the column flags, or ``None`` when none is given."""
    from kglm.datasets.readers import ColumnMapping

    values = {
        key: getattr(args, key)
        for key in ("question", "question_template", "choices", "label", "id", "first_index", "label_kind")
        if getattr(args, key, None) is not None
    }
    return ColumnMapping.from_dict(values) if values else None


def set_threads(threads: int) -> None:
    """Use ``threads`` torch and BLAS threads in this process (:func:`kglm.cli._common.apply_threads`)."""
    from kglm.cli._common import apply_threads

    apply_threads(threads)


def _ground(args: argparse.Namespace) -> int:
    import dataclasses

    from kglm.datasets.readers import read_examples
    from kglm.grounding.cache import GroundedDataset, GroundingCache, file_sha256
    from kglm.grounding.parallel import ground_parallel, parse_shard, shard_bounds

    set_threads(args.threads)
    shard = parse_shard(args.shard) if args.shard else None
    show = not args.quiet
    kg, linker = open_linker(
        args.kg, args.cache_dir, args.lemmatizer, args.overlapping, show_progress=show, mode=args.mode
    )
    columns = column_mapping(args)
    examples = read_examples(args.data, format=args.format, columns=columns, labels_file=args.labels_file)
    if shard is not None:
        start, end = shard_bounds(len(examples), *shard)
        total, examples = len(examples), examples[start:end]
    graphs = None if args.graphs == "none" else args.graphs
    extraction = {
        "graphs": graphs,
        "max_nodes": args.max_nodes,
        "hops": args.hops,
        "max_hops": args.max_hops,
        "max_paths_per_pair": args.max_paths,
        "format": args.format,
    }
    if columns is not None:
        extraction["columns"] = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(columns).items()}
    if args.labels_file:
        extraction["labels_file"] = file_sha256(args.labels_file)

    def build() -> GroundedDataset:
        return ground_parallel(
            examples,
            kg,
            linker,
            num_proc=args.num_proc,
            threads=args.threads,
            graphs=graphs,
            max_nodes=args.max_nodes,
            hops=args.hops,
            max_hops=args.max_hops,
            max_paths_per_pair=args.max_paths,
            n_process=args.workers,
            show_progress=show,
        )

    started = time.perf_counter()
    if shard is not None:
        data, cached = build(), False
        data.metadata.update(shard=list(shard), num_examples_total=total)
    elif args.no_cache:
        data, cached = build(), False
    else:
        cache = GroundingCache(args.cache_dir)
        data = cache.load_or_build(args.data, kg, linker, build, extraction)
        cached = bool(cache.last_hit)
    seconds = time.perf_counter() - started
    out = data.save(args.output)
    for line in _summary(data, seconds, cached):
        print(line)
    print(f"written to {out}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from kglm.errors import DataFormatError
    from kglm.grounding.cache import GroundedDataset
    from kglm.grounding.parallel import merge_grounded

    parts = [GroundedDataset.load(d) for d in args.shards]
    found = {}
    for d, part in zip(args.shards, parts):
        shard = part.metadata.get("shard")
        if not isinstance(shard, list) or len(shard) != 2:
            raise DataFormatError(f"{d}: not a shard written by 'kglm ground --shard I/N'")
        if tuple(shard) in found:
            raise DataFormatError(f"{d}: shard {shard[0]}/{shard[1]} given twice")
        found[tuple(shard)] = part
    counts = {n for _, n in found}
    totals = {p.metadata.get("num_examples_total") for p in parts}
    if len(counts) != 1 or len(totals) != 1:
        raise DataFormatError("the shards come from different splits or data files (their I/N or sizes differ)")
    (count,) = counts
    missing = [f"{i}/{count}" for i in range(count) if (i, count) not in found]
    if missing:
        raise DataFormatError(f"missing shard(s) {', '.join(missing)}")
    merged = merge_grounded(found[(i, count)] for i in range(count))
    out = merged.save(args.output)
    print(f"merged {count} shards, {len(merged)} examples, written to {out}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--workers", type=int, default=1, help="spaCy worker processes for linking (default: 1)")
    from kglm.cli._common import add_threads_argument

    add_threads_argument(p)
    p.add_argument("--cache-dir", default=None, help="cache directory (default: $KGLM_CACHE, else ./.kglm_cache)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``link`` and ``ground`` sub-commands."""
    p = subparsers.add_parser("link", help="link text to KG entities and print the mentions")
    _common(p)
    p.add_argument("text", nargs="*", help="texts to link ('-' or none: one per line from stdin)")
    p.add_argument("--json", action="store_true", help="one JSON list of mentions per text")
    p.set_defaults(func=_link)

    g = subparsers.add_parser("ground", help="ground a multiple-choice file and extract its graphs")
    _common(g)
    g.add_argument("--data", required=True, help="multiple-choice file (CSQA/OBQA JSONL, SWAG CSV, ...)")
    g.add_argument("-o", "--output", required=True, help="output directory")
    g.add_argument("--format", default="auto", help="data format for the reader (default: auto)")
    m = g.add_argument_group("columns of a generic JSONL/CSV/TSV file")
    m.add_argument("--question", default=None, help="question field (default: question)")
    m.add_argument("--question-template", default=None, help='question from several fields: "{context} {question}"')
    m.add_argument("--choices", default=None, help="choices: one list field, or comma-separated fields sol1,sol2")
    m.add_argument("--label", default=None, help="answer field (default: label)")
    m.add_argument("--id", default=None, help="id field (default: id; missing ids are FILE-LINE)")
    m.add_argument("--first-index", type=int, default=None, help="index of the first choice in labels (default: 0)")
    m.add_argument("--label-kind", default=None, choices=["auto", "index", "letter"])
    m.add_argument("--labels-file", default=None, help="answers in a separate file, one a line (e.g. dev-labels.lst)")
    g.add_argument("--num-proc", type=int, default=1, help="grounding processes (default: 1); same output")
    g.add_argument("--shard", default=None, metavar="I/N", help="ground only shard I (from 0) of N; see ground-merge")
    g.add_argument("--graphs", default="qa", choices=["qa", "paths", "both", "none"])
    g.add_argument("--max-nodes", type=int, default=200, help="QA graph node cap (default: 200)")
    g.add_argument("--hops", type=int, default=2, help="QA graph hops (default: 2)")
    g.add_argument("--max-hops", type=int, default=DEFAULT_MAX_HOPS, choices=range(1, MAX_HOPS_LIMIT + 1),
                   metavar="K", help=f"longest KagNet path, 1..{MAX_HOPS_LIMIT} (default: {DEFAULT_MAX_HOPS})")
    g.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS_PER_PAIR,
                   help=f"paths kept per entity pair (default: {DEFAULT_MAX_PATHS_PER_PAIR})")
    g.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    g.set_defaults(func=_ground)

    mg = subparsers.add_parser("ground-merge", help="join the shards of 'kglm ground --shard I/N' into one output")
    mg.add_argument("shards", nargs="+", help="the shard output directories (any order)")
    mg.add_argument("-o", "--output", required=True, help="output directory")
    mg.set_defaults(func=_merge)
