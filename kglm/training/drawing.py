"""Pictures of grounded choice graphs: :func:`draw_choice_graph` (used by
:meth:`kglm.training.Predictor.draw` and ``kglm predict --picture``).

networkx and matplotlib are imported when a picture is drawn, through
matplotlib's ``Figure`` object API (no global backend is set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # pragma: no cover
    from kglm.kg.graph import KnowledgeGraph

__all__ = ["NODE_TYPE_NAMES", "draw_choice_graph"]

NODE_TYPE_NAMES = {0: "question", 1: "answer", 2: "other", 3: "context"}
"""The name of each :attr:`~kglm.grounding.ChoiceGraph.node_type` value."""

_TYPE_COLOURS = {0: "#4C78A8", 1: "#F58518", 2: "#BAB0AC", 3: "#54A24B"}


def draw_choice_graph(
    kg: KnowledgeGraph,
    graph: Any,
    path: str | os.PathLike[str],
    node_attention: torch.Tensor | None = None,
    title: str | None = None,
    max_nodes: int = 40,
) -> Path:
    """Draw a :class:`~kglm.grounding.ChoiceGraph` to a PNG with networkx and matplotlib.

    Node colours show the node type (question blue, answer orange, other grey),
    node sizes the model's attention when given; edges are labelled with their
    relation. Graphs larger than ``max_nodes`` keep the question and answer
    nodes and the most attended (else first) others.
    """
    import networkx as nx
    from matplotlib.figure import Figure

    from kglm.kg import entity_display_name

    n = graph.num_nodes
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not any(int(t) in (0, 1) for t in graph.node_type.tolist()):
        fig = Figure(figsize=(6, 2.5))
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no concepts linked:\nneither the question nor this choice links to a KG entity",
                ha="center", va="center", fontsize=11, wrap=True)
        if title:
            ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.savefig(out, dpi=110, bbox_inches="tight")
        return out
    keep = list(range(n))
    if n > max_nodes:
        fixed = [j for j in range(n) if int(graph.node_type[j]) in (0, 1)]
        rest = [j for j in range(n) if int(graph.node_type[j]) not in (0, 1)]
        if node_attention is not None:
            rest.sort(key=lambda j: -float(node_attention[j]))
        keep = sorted(fixed + rest[: max(0, max_nodes - len(fixed))])
    kept = set(keep)
    g = nx.DiGraph()
    for j in keep:
        g.add_node(j, label=entity_display_name(kg, int(graph.node_ids[j])), kind=int(graph.node_type[j]))
    num_rel = kg.num_relations
    for (s, t), r in zip(graph.edge_index.t().tolist(), graph.edge_type.tolist()):
        if r >= num_rel or s not in kept or t not in kept:  # draw each KG edge once, forward
            continue
        g.add_edge(s, t, label=kg.relations[r].rsplit("/", 1)[-1])
    fig = Figure(figsize=(9, 7))
    ax = fig.subplots()
    pos = nx.spring_layout(g, seed=0) if g.number_of_nodes() else {}
    colours = [_TYPE_COLOURS.get(g.nodes[j]["kind"], "#999999") for j in g.nodes]
    if node_attention is not None and g.number_of_nodes():
        att = torch.as_tensor([float(node_attention[j]) for j in g.nodes])
        sizes = (300 + 2500 * att / max(float(att.max()), 1e-9)).tolist()
    else:
        sizes = [900] * g.number_of_nodes()
    nx.draw_networkx_nodes(g, pos, node_color=colours, node_size=sizes, ax=ax)
    nx.draw_networkx_labels(g, pos, labels={j: g.nodes[j]["label"] for j in g.nodes}, font_size=8, ax=ax)
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, alpha=0.5, node_size=sizes, arrowsize=14)
    nx.draw_networkx_edge_labels(g, pos, edge_labels=nx.get_edge_attributes(g, "label"), font_size=6, ax=ax)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(color=_TYPE_COLOURS[k], label=NODE_TYPE_NAMES[k]) for k in (0, 1, 2)],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    if title:
        ax.set_title(title, fontsize=9)
    ax.axis("off")
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out
