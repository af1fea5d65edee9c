"""Batching of choice graphs and KagNet paths into the flat tensors models take.

The keys and shapes are those of the model batch in ``docs/architecture.md``:
graphs are concatenated in the given order (row-major (question, choice) for a
multiple-choice batch), node indices in ``edge_index`` and ``path_nodes`` are
offset into the concatenated nodes, and ``graph_index`` / ``path_graph`` say
which graph each node / path belongs to. Empty inputs give correctly shaped
empty tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kglm.grounding.graphs import ChoiceGraph
from kglm.grounding.paths import ChoicePaths
from kglm.utils.indexing import segment_owner

__all__ = ["collate_graphs", "collate_paths"]

_LONG = torch.long


def collate_graphs(graphs: Sequence[ChoiceGraph]) -> dict[str, torch.Tensor]:
    """Concatenate choice graphs into one batch graph.

    Equal, on the node and edge keys, to ``torch_geometric.data.Batch.from_data_list``
    of the graphs' :meth:`~kglm.grounding.graphs.ChoiceGraph.to_pyg` (``graph_index``
    is PyG's ``batch``).

    Args:
        graphs: the ``G`` graphs, in batch order.

    Returns:
        ``node_ids (N,)``, ``node_type (N,)``, ``graph_index (N,)`` (values ``0..G-1``),
        ``edge_index (2, E)`` (indices into the ``N`` nodes), ``edge_type (E,)``.

    Example:
        >>> from kglm.grounding.graphs import ChoiceGraph
        >>> g = ChoiceGraph(torch.tensor([5, 7]), torch.tensor([0, 1]),
        ...                 torch.tensor([[0], [1]]), torch.tensor([2]))
        >>> batch = collate_graphs([g, ChoiceGraph.empty(), g])
        >>> batch["graph_index"].tolist(), batch["edge_index"].tolist()
        ([0, 0, 2, 2], [[0, 2], [1, 3]])
    """
    num_nodes = torch.tensor([g.num_nodes for g in graphs], dtype=_LONG)
    num_edges = torch.tensor([g.num_edges for g in graphs], dtype=_LONG)
    offset = torch.cumsum(num_nodes, 0) - num_nodes
    if graphs:
        node_ids = torch.cat([g.node_ids for g in graphs])
        node_type = torch.cat([g.node_type for g in graphs])
        edge_index = torch.cat([g.edge_index for g in graphs], 1)
        edge_type = torch.cat([g.edge_type for g in graphs])
    else:
        node_ids, node_type, edge_type = (torch.empty(0, dtype=_LONG) for _ in range(3))
        edge_index = torch.empty(2, 0, dtype=_LONG)
    edge_shift = torch.repeat_interleave(offset, num_edges, output_size=edge_type.numel())
    return {
        "node_ids": node_ids.to(_LONG),
        "node_type": node_type.to(_LONG),
        "graph_index": segment_owner(num_nodes, node_ids.numel()),
        "edge_index": edge_index.to(_LONG) + edge_shift,
        "edge_type": edge_type.to(_LONG),
    }


def collate_paths(paths: Sequence[ChoicePaths]) -> dict[str, torch.Tensor]:
    """Concatenate the KagNet paths and schema graphs of ``G`` choices.

    The padded width ``K`` is the longest path in the batch (at least 1), so
    ``path_nodes`` is ``(P, K+1)`` and ``path_relations`` ``(P, K)`` whatever
    ``max_hops`` each :class:`~kglm.grounding.paths.ChoicePaths` was found with.

    Args:
        paths: the ``G`` path sets, in batch order.

    Returns:
        The keys of :func:`collate_graphs` for the schema graphs, plus
        ``path_nodes (P, K+1)`` (indices into the ``N`` nodes, ``-1`` padded),
        ``path_relations (P, K)`` (``-1`` padded), ``path_length (P,)`` and
        ``path_graph (P,)`` (which graph each path belongs to).
    """
    batch = collate_graphs([p.graph for p in paths])
    num_nodes = torch.tensor([p.graph.num_nodes for p in paths], dtype=_LONG)
    num_paths = torch.tensor([p.num_paths for p in paths], dtype=_LONG)
    offset = torch.cumsum(num_nodes, 0) - num_nodes
    total = int(num_paths.sum()) if paths else 0
    length = torch.cat([p.path_length for p in paths]).to(_LONG) if paths else torch.empty(0, dtype=_LONG)
    width = max(int(length.max()) if length.numel() else 1, 1)

    def fit(t: torch.Tensor, cols: int) -> torch.Tensor:
        t = t[:, :cols].to(_LONG)
        if t.shape[1] < cols:
            t = torch.cat([t, torch.full((t.shape[0], cols - t.shape[1]), -1, dtype=_LONG)], 1)
        return t

    nodes = torch.cat([fit(p.path_nodes, width + 1) for p in paths]) if paths else torch.empty(0, width + 1, dtype=_LONG)
    rels = torch.cat([fit(p.path_relations, width) for p in paths]) if paths else torch.empty(0, width, dtype=_LONG)
    shift = torch.repeat_interleave(offset, num_paths, output_size=total)
    nodes = torch.where(nodes >= 0, nodes + shift[:, None], nodes)
    batch.update(
        path_nodes=nodes,
        path_relations=rels,
        path_length=length,
        path_graph=segment_owner(num_paths, total),
    )
    return batch
