"""``kglm kg``: build, inspect and export knowledge graphs (a thin layer over :mod:`kglm.kg`).

Examples::

    kglm kg build data/demo/commonsense.ttl -o runs/kg
    kglm kg build train.txt valid.txt test.txt --conceptnet -o runs/cn100k
    kglm kg build ../shared/data/wordnet -o runs/wordnet
    kglm kg build runs/cn100k runs/wordnet --merge-by label -o runs/cn100k+wn
    kglm kg info runs/kg
    kglm kg export runs/kg -o kg.ttl --format ttl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``kg`` command with its ``build`` / ``info`` / ``export`` sub-commands."""
    kg = subparsers.add_parser("kg", help="build, inspect and export knowledge graphs",
                               description="Build, inspect and export knowledge graphs.")
    sub = kg.add_subparsers(dest="kg_command", metavar="SUBCOMMAND")
    kg.set_defaults(func=lambda _args: (kg.print_help(), 2)[1])

    b = sub.add_parser("build", help="build a KG from RDF, ConceptNet or triples files and save it",
                       description="Build a KG and save it to a directory. The input kind is detected "
                                   "from the content (kglm.kg.formats): RDF syntax or suffix, ConceptNet 5 "
                                   "assertions (5 columns, '/a/...' first), 3 columns whose first column is a "
                                   "small relation vocabulary (ConceptNet-100K 'Relation head tail'), or "
                                   "head<TAB>relation<TAB>tail triples (middle column the relation; a header "
                                   "row is detected; .csv: comma-separated). Ambiguous input is an error: "
                                   "force the kind with --rdf / --conceptnet / --triples.")
    b.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="input files (read into one graph) or directories (a WordNet database, a saved KG); "
                        "with --merge-by each INPUT is a separate graph")
    b.add_argument("-o", "--output", required=True, help="output directory")
    kind = b.add_mutually_exclusive_group()
    kind.add_argument("--conceptnet", action="store_true",
                      help="read ConceptNet (5-column assertions CSV or 3-column CN-100K 'Relation head tail')")
    kind.add_argument("--triples", action="store_true", help="read head,relation,tail TSV/CSV")
    kind.add_argument("--rdf", action="store_true", help="read RDF whatever the suffix")
    b.add_argument("--format", help="RDF format (turtle, nt, nquads, xml, json-ld, trig, n3, trix)")
    b.add_argument("--label-predicate", action="append", metavar="IRI",
                   help="RDF predicate whose literals are labels (repeatable; CURIEs like skos:prefLabel ok). "
                        "Default: rdfs:label, skos:prefLabel, skos:altLabel, oboInOwl:hasSynonym")
    b.add_argument("--language", action="append", metavar="TAG",
                   help="keep RDF labels in this language (repeatable; 'none' = untagged). Default: all")
    b.add_argument("--keep-literals", action="store_true", help="keep non-label RDF literals as attribute nodes")
    b.add_argument("--drop-rdf-type", action="store_true", help="leave out rdf:type edges")
    b.add_argument("--allow-remote-contexts", action="store_true",
                   help="JSON-LD: load @context URLs (http, file) instead of refusing the file")
    b.add_argument("--context-timeout", type=float, default=10.0, metavar="S",
                   help="seconds to wait for one JSON-LD context with --allow-remote-contexts (default 10)")
    b.add_argument("--drop-owl-restrictions", action="store_true", help="leave out OWL restriction blank nodes")
    b.add_argument("--no-merge-relations", action="store_true",
                   help="ConceptNet: keep original relation names instead of the 17 merged ones")
    b.add_argument("--drop-unmerged", action="store_true",
                   help="ConceptNet: drop relations outside the 17-relation merge table")
    b.add_argument("--description-predicate", action="append", metavar="IRI",
                   help="RDF predicate whose literals are descriptions (repeatable). Default: skos:definition, "
                        "rdfs:comment, obo:IAO_0000115, dcterms:description")
    b.add_argument("--merge-by", choices=["label"], metavar="label",
                   help="read each INPUT as its own graph and merge them, joining entities whose normalised "
                        "labels agree; relations are prefixed by source (kglm.kg.merge)")
    b.add_argument("--merge-names", metavar="A,B,...",
                   help="source names used as relation prefixes with --merge-by (default: cn, wn, kgN)")
    b.add_argument("--merge-senses", choices=["first", "all"], default="first",
                   help="with --merge-by: of several entities of one graph sharing a label, join only the most "
                        "frequent sense (first, default) or all of them")
    b.add_argument("--header", action="store_true", help="triples files: skip the first line")
    b.add_argument("--deduplicate", action="store_true", help="remove repeated triples")
    b.add_argument("--add-inverse", action="store_true", help="add inverse relations (name_inv)")
    b.set_defaults(func=_build)

    i = sub.add_parser("info", help="print counts, top relations and degree statistics of a saved KG")
    i.add_argument("directory", help="saved KG directory")
    i.add_argument("--top", type=int, default=10, help="how many relations to list (default 10)")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=_info)

    e = sub.add_parser("export", help="write a saved KG as RDF")
    e.add_argument("directory", help="saved KG directory")
    e.add_argument("-o", "--output", required=True, help="output file (.gz/.bz2 compress)")
    e.add_argument("--format", help="RDF format (ttl, nt, xml, json-ld, ...); default from the suffix")
    e.set_defaults(func=_export)


def _input_kind(path: Path, args: argparse.Namespace) -> str:
    if path.is_dir():  # a saved KG or a WordNet database: the kind flags are about files
        from kglm.kg.formats import detect_format

        return detect_format(path, flag="--conceptnet, --triples or --rdf").format
    if args.conceptnet:
        return "conceptnet"
    if args.triples:
        return "triples"
    if args.rdf or args.format:
        return "rdf"
    from kglm.kg.formats import detect_format

    kind = detect_format(path, flag="--conceptnet, --triples or --rdf").format
    return "conceptnet" if kind == "cn100k" else kind


def _build(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.inputs]
    start = time.perf_counter()
    if args.merge_by:
        from kglm.kg.merge import merge

        if len(paths) < 2:
            raise ValueError("--merge-by needs at least two inputs")
        names = [n.strip() for n in args.merge_names.split(",")] if args.merge_names else None
        graphs = [_read([p], _input_kind(p, args), args) for p in paths]
        kg = merge(graphs, align=args.merge_by, names=names, senses=args.merge_senses)
        kind = "merged"
    else:
        if args.merge_names:
            raise ValueError("--merge-names needs --merge-by")
        kinds = {_input_kind(p, args) for p in paths}
        if len(kinds) > 1:
            raise ValueError(f"inputs mix kinds {sorted(kinds)}; build them separately or force one "
                             f"with --rdf / --conceptnet / --triples (or merge them with --merge-by label)")
        kind = kinds.pop()
        kg = _read(paths, kind, args)
    if args.deduplicate:
        kg = kg.deduplicate()
    if args.add_inverse:
        kg = kg.add_inverse_relations()
    built = time.perf_counter() - start
    kg.save(args.output)
    print(f"{kg!r}\nbuilt from {len(paths)} {kind} input(s) in {built:.2f}s, saved to {args.output}")
    return 0


def _read(paths: list[Path], kind: str, args: argparse.Namespace) -> Any:
    """One graph from ``paths`` (all of ``kind``), with the command's reader options."""
    from kglm.kg.conceptnet import from_conceptnet
    from kglm.kg.rdf import DEFAULT_DESCRIPTION_PREDICATES, DEFAULT_LABEL_PREDICATES, from_rdf

    if kind == "rdf":
        languages = None if not args.language else tuple(None if x.lower() == "none" else x for x in args.language)
        kg = from_rdf(paths, format=args.format,
                      label_predicates=args.label_predicate or DEFAULT_LABEL_PREDICATES,
                      languages=languages, keep_literals=args.keep_literals,
                      description_predicates=args.description_predicate or DEFAULT_DESCRIPTION_PREDICATES,
                      drop_rdf_type=args.drop_rdf_type, drop_owl_restrictions=args.drop_owl_restrictions,
                      allow_remote_contexts=args.allow_remote_contexts, context_timeout=args.context_timeout)
    elif kind == "conceptnet":
        kg = from_conceptnet(paths, merge_relations=not args.no_merge_relations,
                             drop_unmerged=args.drop_unmerged)
    else:
        from kglm.kg.formats import load_kg_file

        kg = load_kg_file(paths, kind, **({"header": True} if args.header else {}))
    return kg


def summary(directory: str | Path, top: int = 10) -> dict[str, Any]:
    """Counts, top relations and degree statistics of a saved KG, as a JSON-ready dict."""
    import torch

    from kglm.kg import KnowledgeGraph

    kg = KnowledgeGraph.load(directory)
    rel_counts = torch.bincount(kg.relation, minlength=kg.num_relations)
    order = torch.argsort(rel_counts, descending=True, stable=True)[:top].tolist()
    stats: dict[str, Any] = {
        "directory": str(directory),
        "num_entities": kg.num_entities,
        "num_relations": kg.num_relations,
        "num_triples": kg.num_triples,
        "num_labels": kg.num_labels,
        "num_descriptions": kg.num_descriptions,
        "fingerprint": kg.fingerprint,
        "top_relations": [[kg.relations[r], int(rel_counts[r])] for r in order],
    }
    for direction in ("out", "in"):
        deg = kg.degree(direction).double()
        stats[f"{direction}_degree"] = {
            "mean": round(float(deg.mean()), 3) if deg.numel() else 0.0,
            "median": float(deg.median()) if deg.numel() else 0.0,
            "max": int(deg.max()) if deg.numel() else 0,
            "zero": int((deg == 0).sum()),
        }
    total = kg.degree("out") + kg.degree("in")
    stats["isolated_entities"] = int((total == 0).sum())
    return stats


def _info(args: argparse.Namespace) -> int:
    s = summary(args.directory, args.top)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    out = sys.stdout
    out.write(f"{s['directory']}\n")
    out.write(f"  entities   {s['num_entities']:>12,}\n  relations  {s['num_relations']:>12,}\n"
              f"  triples    {s['num_triples']:>12,}\n  labels     {s['num_labels']:>12,}\n"
              f"  descriptions {s['num_descriptions']:>10,}\n"
              f"  fingerprint {s['fingerprint'][:16]}\n")
    out.write("  top relations:\n")
    width = max((len(r) for r, _ in s["top_relations"]), default=0)
    for r, n in s["top_relations"]:
        out.write(f"    {r:<{width}}  {n:>10,}\n")
    for d in ("out", "in"):
        st = s[f"{d}_degree"]
        out.write(f"  {d}-degree: mean {st['mean']:.2f}, median {st['median']:.0f}, max {st['max']:,}, "
                  f"zero {st['zero']:,}\n")
    out.write(f"  isolated entities: {s['isolated_entities']:,}\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from kglm.kg import KnowledgeGraph

    kg = KnowledgeGraph.load(args.directory)
    kg.to_rdf(args.output, format=args.format)
    print(f"wrote {kg.num_triples:,} triples and {kg.num_labels:,} labels to {args.output}")
    return 0
