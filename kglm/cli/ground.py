"""``kglm ground`` and ``kglm ground-merge``: thin layers over :mod:`kglm.grounding`.

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

``--kg`` is read as for ``kglm link`` (:func:`kglm.cli.link.open_linker`).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from kglm.cli._common import apply_threads
from kglm.cli.link import add_linker_arguments, open_linker
from kglm.grounding.defaults import (
    DEFAULT_MAX_HOPS,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_PATHS_PER_PAIR,
    DEFAULT_QA_HOPS,
    MAX_HOPS_LIMIT,
)

__all__ = ["column_mapping", "register"]


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


def _ground(args: argparse.Namespace) -> int:
    import dataclasses

    from kglm.datasets.readers import read_examples
    from kglm.grounding.cache import GroundedDataset, GroundingCache, file_sha256
    from kglm.grounding.parallel import ground_parallel, parse_shard, shard_bounds

    apply_threads(args.threads)
    shard = parse_shard(args.shard) if args.shard else None
    show = not args.quiet
    kg, linker = open_linker(
        args.kg, args.cache_dir, args.lemmatizer, args.overlapping, show_progress=show, mode=args.mode,
        n_process=max(args.workers, args.num_proc),  # a missing index is built with as many processes
    )  # fmt: skip
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


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``ground`` and ``ground-merge`` sub-commands."""
    g = subparsers.add_parser("ground", help="ground a multiple-choice file and extract its graphs")
    add_linker_arguments(g)
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
    g.add_argument("--num-proc", type=int, default=1,
                   help="grounding processes, also for building a missing linker index (default: 1); same output")
    g.add_argument("--shard", default=None, metavar="I/N", help="ground only shard I (from 0) of N; see ground-merge")
    g.add_argument("--graphs", default="qa", choices=["qa", "paths", "both", "none"])
    g.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES,
                   help=f"QA graph node cap (default: {DEFAULT_MAX_NODES})")
    g.add_argument("--hops", type=int, default=DEFAULT_QA_HOPS, help=f"QA graph hops (default: {DEFAULT_QA_HOPS})")
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
