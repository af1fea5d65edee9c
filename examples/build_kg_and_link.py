"""Build a knowledge graph from RDF, link text to it and extract a question's subgraph.

Runs offline on the bundled demo KG (Turtle). Any RDF file works the same way
(``--rdf path/to/file.ttl``; N-Triples, RDF/XML, JSON-LD too).

    python examples/build_kg_and_link.py
    python examples/build_kg_and_link.py --text "Where do people keep their cars?"
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kglm.datasets.bundled import demo_kg_path
from kglm.grounding import extract_qa_subgraph, find_paths, ground_choices
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker
from kglm.kg import entity_display_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rdf", default=str(demo_kg_path()), help="RDF file (default: the bundled demo KG)")
    parser.add_argument("--text", default="Where would you keep milk so that it stays cold?")
    parser.add_argument("--choices", nargs="+", default=["fridge", "oven"])
    parser.add_argument("--out", default=None, help="save the KG (and the linker index) here")
    args = parser.parse_args(argv)

    # 1. RDF -> KnowledgeGraph: integer ids, labels for linking, CSR adjacency.
    kg = KnowledgeGraph.from_rdf(args.rdf)
    print(f"KG: {kg.num_entities} entities, {kg.num_relations} relations, {kg.num_triples} triples")

    # 2. Save it (memory-mappable directory) and build the linker index saved with it.
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="kglm-kg-"))
    kg.save(out)
    linker = LexiconLinker.load(out, kg)
    print(f"saved to {out}")

    # 3. Link text: character spans -> entity ids.
    print(f"\nmentions in {args.text!r}:")
    for m in linker(args.text):
        print(f"  [{m.start:>3}, {m.end:>3}) {m.text!r:<16} -> {entity_display_name(kg, m.entity_id)} ({m.entity})")

    # 4. Ground a multiple-choice question and extract each choice's 2-hop subgraph and paths.
    for choice, grounded in zip(args.choices, ground_choices(linker, args.text, args.choices)):
        graph = extract_qa_subgraph(kg, grounded.question_entities, grounded.answer_entities, max_nodes=50)
        paths = find_paths(kg, grounded.question_entities, grounded.answer_entities, max_hops=2)
        names = [entity_display_name(kg, e) for e in graph.node_ids.tolist()]
        print(f"\nchoice {choice!r}: {graph.num_nodes} nodes, {graph.num_edges} edges, {paths.num_paths} paths")
        print(f"  nodes: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}")

    # 5. Export the whole KG for other tools.
    data = kg.to_pyg()
    nx_graph = kg.to_networkx()
    print(f"\nPyG: {data.num_nodes} nodes, {data.edge_index.shape[1]} edges; "
          f"networkx: {nx_graph.number_of_nodes()} nodes, {nx_graph.number_of_edges()} edges")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
