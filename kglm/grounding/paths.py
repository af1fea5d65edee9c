"""KagNet path finding: simple paths of at most ``k`` hops from question to answer entities.

Paths run over the undirected view of the KG: an edge ``h -r-> t`` may be
walked forward (``h -> t``, edge type ``r``) or backward (``t -> h``, edge type
``r + R``, ``R = kg.num_relations``). A path is a sequence of *distinct*
entities (a simple path; self-loops are never used). Between two adjacent
entities there may be several KG edges; each hop of a path gets one
deterministic edge type: the smallest type among all ways of walking that hop
(``r`` for every ``u -r-> v`` edge, ``r + R`` for every ``v -r-> u`` edge). So
the paths are exactly the node paths that ``networkx.all_simple_paths`` finds
on the simple undirected graph, each with one relation sequence.

The search is bidirectional and vectorised: partial paths of ``ceil(k/2)`` hops
grow from the question entities and of ``floor(k/2)`` hops from the answer
entities, as tensors over the CSR adjacency; they are joined on their middle
entity and the joins that repeat an entity are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from kglm.grounding.graphs import (
    NODE_ANSWER,
    NODE_OTHER,
    NODE_QUESTION,
    ChoiceGraph,
    EntityIds,
    _adjacency,
    _Adjacency,
    _as_ids,
    _find,
    _segments,
)

if TYPE_CHECKING:
    from kglm.kg.graph import KnowledgeGraph

__all__ = ["ChoicePaths", "find_paths", "find_paths_batch"]

_LONG = torch.long


@dataclass(eq=False)
class ChoicePaths:
    """The KagNet paths of one (question, choice) pair.

    Attributes:
        graph: the schema graph: every question and answer entity, every entity
            on a kept path, and each hop of a kept path as an edge (with its
            reverse, see :func:`find_paths`).
        path_nodes: ``(P, K+1)`` local indices into ``graph``'s nodes, from the
            question entity to the answer entity, ``-1`` padded; ``K = max_hops``.
        path_relations: ``(P, K)`` edge type of each hop (``r`` forward, ``r + R``
            backward), ``-1`` padded.
        path_length: ``(P,)`` hops of each path, ``1..K``.
    """

    graph: ChoiceGraph
    path_nodes: torch.Tensor
    path_relations: torch.Tensor
    path_length: torch.Tensor

    @property
    def num_paths(self) -> int:
        """Number of paths ``P``."""
        return int(self.path_length.shape[0])

    @property
    def max_hops(self) -> int:
        """The padded width ``K`` of ``path_relations``."""
        return int(self.path_relations.shape[1])

    def to_dict(self) -> dict[str, torch.Tensor]:
        """Plain tensors: the schema graph's fields plus the three path tensors."""
        return {
            **self.graph.to_dict(),
            "path_nodes": self.path_nodes,
            "path_relations": self.path_relations,
            "path_length": self.path_length,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChoicePaths:
        """Rebuild from :meth:`to_dict` output, checking shapes and index ranges.

        Raises:
            ValueError: when a key is missing or a tensor is malformed.
        """
        graph = ChoiceGraph.from_dict(data)
        try:
            nodes, rels, length = (torch.as_tensor(data[k], dtype=_LONG) for k in ("path_nodes", "path_relations", "path_length"))
        except KeyError as err:
            raise ValueError(f"ChoicePaths data lacks key {err.args[0]!r}") from None
        if length.dim() != 1 or rels.dim() != 2 or rels.shape[0] != length.shape[0]:
            raise ValueError(f"path shapes disagree: path_relations {tuple(rels.shape)}, path_length {tuple(length.shape)}")
        if nodes.shape != (rels.shape[0], rels.shape[1] + 1):
            raise ValueError(f"path_nodes must have shape {(rels.shape[0], rels.shape[1] + 1)}, got {tuple(nodes.shape)}")
        if length.numel() and (int(length.min()) < 1 or int(length.max()) > rels.shape[1]):
            raise ValueError(f"path_length must lie in 1..{rels.shape[1]}")
        if nodes.numel() and (int(nodes.min()) < -1 or int(nodes.max()) >= graph.num_nodes):
            raise ValueError(f"path_nodes holds an index outside -1..{graph.num_nodes - 1}")
        return cls(graph, nodes, rels, length)

    def __repr__(self) -> str:
        return f"ChoicePaths(num_paths={self.num_paths}, max_hops={self.max_hops}, graph={self.graph!r})"


def _lookup(adj: _Adjacency, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether ``u - v`` are adjacent (either direction) and the position of the pair in ``und_key``."""
    return _find(adj.und_key, u * adj.num_entities + v)


def _extend(adj: _Adjacency, paths: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """All one-hop simple extensions of ``paths`` ``(n, l+1)`` -> ``(n', l+2)``.

    With ``targets`` (sorted unique ids), keep only extensions ending in them,
    choosing the cheaper of gathering neighbours and testing the ``n x |targets|`` pairs.
    """
    last = paths[:, -1]
    if targets is not None and targets.numel() * paths.shape[0] < int(adj.und_deg[last].sum()):
        owner = torch.arange(paths.shape[0]).repeat_interleave(targets.numel())
        new = targets.repeat(paths.shape[0])
        hit, _ = _lookup(adj, last[owner], new)
        owner, new = owner[hit], new[hit]
    else:
        owner, pos = _segments(adj.und_ptr, last)
        new = adj.und_nbr[pos]
        if targets is not None:
            keep = torch.isin(new, targets)
            owner, new = owner[keep], new[keep]
    rows = paths[owner]
    simple = ~(rows == new[:, None]).any(1)
    return torch.cat([rows[simple], new[simple, None]], 1)


def _join(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Simple paths ``left ++ reversed(right)[1:]`` for each pair with the same last entity."""
    width = left.shape[1] + right.shape[1] - 1
    if not left.shape[0] or not right.shape[0]:
        return torch.empty(0, width, dtype=_LONG)
    r_end, order = torch.sort(right[:, -1])
    l_end = left[:, -1].contiguous()
    lo = torch.searchsorted(r_end, l_end)
    count = torch.searchsorted(r_end, l_end, right=True) - lo
    total = int(count.sum())
    li = torch.repeat_interleave(torch.arange(left.shape[0]), count, output_size=total)
    pos = torch.arange(total) + (lo - (torch.cumsum(count, 0) - count))[li]
    ri = order[pos]
    lrows, rrows = left[li], right[ri]
    lhead, rhead = lrows[:, :-1], rrows[:, :-1]
    clash = (lhead[:, :, None] == rhead[:, None, :]).flatten(1).any(1)
    full = torch.cat([lrows, rrows.flip(1)[:, 1:]], 1)
    return full[~clash]


def _empty_paths(graph: ChoiceGraph, max_hops: int) -> ChoicePaths:
    return ChoicePaths(
        graph,
        torch.empty(0, max_hops + 1, dtype=_LONG),
        torch.empty(0, max_hops, dtype=_LONG),
        torch.empty(0, dtype=_LONG),
    )


def find_paths(
    kg: KnowledgeGraph,
    question_ids: EntityIds,
    answer_ids: EntityIds,
    max_hops: int = 3,
    max_paths_per_pair: int | None = 64,
) -> ChoicePaths:
    """KagNet paths of one (question, choice) pair, with their schema graph.

    For each question entity ``q`` and answer entity ``a`` (an id given as both
    counts as an answer entity only, as in :func:`~kglm.grounding.graphs.extract_qa_subgraph`),
    the simple paths of ``1..max_hops`` hops from ``q`` to ``a`` over the
    undirected view of the KG; each hop carries one edge type (see the module
    docstring: the smallest of ``r`` forward and ``r + R`` backward). Per
    ``(q, a)`` pair, at most ``max_paths_per_pair`` paths are kept, shorter
    first, then lexicographically by entity ids. Paths are ordered by ``q``,
    then ``a`` (ids ascending), then that order.

    The schema graph holds the question entities (by id), the answer entities
    (by id), then the other entities on kept paths (by id); its edges are the
    hops of the kept paths, ``u -> v`` with the hop's type ``t``, plus their
    reverses ``v -> u`` with type ``(t + R) mod 2R``, without duplicates,
    sorted by (source, target, type).

    Args:
        kg: the knowledge graph.
        question_ids: KG ids of the question entities (duplicates ignored).
        answer_ids: KG ids of the answer entities (duplicates ignored).
        max_hops: the longest path, in hops (``K``), at least 1.
        max_paths_per_pair: the most paths kept per (question entity, answer
            entity) pair; ``None`` keeps all.

    Returns:
        The :class:`ChoicePaths` (``path_nodes`` of width ``max_hops + 1``).

    Raises:
        ValueError: for an entity id out of range or a bad ``max_hops`` / ``max_paths_per_pair``.

    Example:
        >>> from kglm.kg.graph import KnowledgeGraph
        >>> kg = KnowledgeGraph(["cat", "pet", "dog", "milk"], ["IsA", "Likes"],
        ...                     [[0, 0, 1], [2, 0, 1], [0, 1, 3]])
        >>> p = find_paths(kg, [0], [2], max_hops=2)
        >>> p.graph.node_ids.tolist(), p.path_nodes.tolist(), p.path_relations.tolist()
        ([0, 2, 1], [[0, 2, 1]], [[0, 2]])
    """
    if max_hops < 1:
        raise ValueError(f"max_hops must be >= 1, got {max_hops}")
    if max_paths_per_pair is not None and max_paths_per_pair < 1:
        raise ValueError(f"max_paths_per_pair must be >= 1 or None, got {max_paths_per_pair}")
    adj = _adjacency(kg)
    E, R = adj.num_entities, adj.num_relations
    a = torch.unique(_as_ids(answer_ids, E, "answer"))
    q = torch.unique(_as_ids(question_ids, E, "question"))
    q = q[~torch.isin(q, a)]

    depth_l, depth_r = (max_hops + 1) // 2, max_hops // 2
    right = [a[:, None]]
    for d in range(1, depth_r + 1):
        right.append(_extend(adj, right[-1], None))
    left = [q[:, None]]
    for d in range(1, depth_l + 1):
        targets = None
        if d == depth_l:  # the last level only matters where it meets a right end
            ends = [right[d - 1][:, -1]] + ([right[d][:, -1]] if d <= depth_r else [])
            targets = torch.unique(torch.cat(ends))
        left.append(_extend(adj, left[-1], targets))

    found = []
    for m in range(1, max_hops + 1):
        lm, rm = (m + 1) // 2, m // 2
        full = _join(left[lm], right[rm])
        pad = torch.full((full.shape[0], max_hops + 1 - full.shape[1]), -1, dtype=_LONG)
        found.append(torch.cat([full, pad], 1))
    paths = torch.cat(found) if found else torch.empty(0, max_hops + 1, dtype=_LONG)
    length = (paths >= 0).sum(1) - 1
    end = paths.gather(1, length[:, None]).squeeze(1) if paths.shape[0] else torch.empty(0, dtype=_LONG)

    # order: question id, answer id, length, then lexicographic node ids
    order = torch.arange(paths.shape[0])
    for col in range(max_hops, 0, -1):
        order = order[torch.argsort(paths[order, col], stable=True)]
    for key in (length, end, paths[:, 0]):
        order = order[torch.argsort(key[order], stable=True)]
    paths, length, end = paths[order], length[order], end[order]
    if max_paths_per_pair is not None and paths.shape[0]:
        pair = paths[:, 0] * E + end
        new_group = torch.ones_like(pair, dtype=torch.bool)
        new_group[1:] = pair[1:] != pair[:-1]
        group_start = torch.cummax(torch.where(new_group, torch.arange(pair.numel()), 0), 0).values
        keep = torch.arange(pair.numel()) - group_start < max_paths_per_pair
        paths, length = paths[keep], length[keep]

    # schema graph nodes: question, answer, then the others by id
    on_path = torch.unique(paths[paths >= 0])
    other = on_path[~torch.isin(on_path, torch.cat([q, a]))]
    node_ids = torch.cat([q, a, other])
    node_type = torch.cat([
        torch.full((q.numel(),), NODE_QUESTION, dtype=_LONG),
        torch.full((a.numel(),), NODE_ANSWER, dtype=_LONG),
        torch.full((other.numel(),), NODE_OTHER, dtype=_LONG),
    ])
    sorted_ids, perm = torch.sort(node_ids)
    valid = paths >= 0
    path_nodes = torch.full_like(paths, -1)
    path_nodes[valid] = perm[torch.searchsorted(sorted_ids, paths[valid])]

    # hop types
    hop = valid[:, 1:]
    u, v = paths[:, :-1][hop], paths[:, 1:][hop]
    _, at = _lookup(adj, u, v)
    t = adj.und_type[at]
    path_relations = torch.full((paths.shape[0], max_hops), -1, dtype=_LONG)
    path_relations[hop] = t

    lu, lv = path_nodes[:, :-1][hop], path_nodes[:, 1:][hop]
    n = node_ids.numel()
    src = torch.cat([lu, lv])
    dst = torch.cat([lv, lu])
    typ = torch.cat([t, (t + R) % (2 * R)]) if R else torch.cat([t, t])
    code = torch.unique((src * max(n, 1) + dst) * max(2 * R, 1) + typ)
    typ = code % max(2 * R, 1)
    pair = torch.div(code, max(2 * R, 1), rounding_mode="floor")
    edge_index = torch.stack([torch.div(pair, max(n, 1), rounding_mode="floor"), pair % max(n, 1)])
    graph = ChoiceGraph(node_ids, node_type, edge_index, typ)
    if not paths.shape[0]:
        return _empty_paths(graph, max_hops)
    return ChoicePaths(graph, path_nodes, path_relations, length)


def find_paths_batch(
    kg: KnowledgeGraph,
    pairs: Iterable[tuple[EntityIds, EntityIds]],
    max_hops: int = 3,
    max_paths_per_pair: int | None = 64,
    progress: bool = False,
) -> list[ChoicePaths]:
    """:func:`find_paths` for each ``(question_ids, answer_ids)`` pair, in order.

    Args:
        kg: the knowledge graph.
        pairs: ``(question_ids, answer_ids)`` per (question, choice).
        max_hops: the longest path, in hops.
        max_paths_per_pair: the most paths kept per (question entity, answer entity) pair.
        progress: show a tqdm progress bar (on stderr).
    """
    from tqdm.auto import tqdm

    items = list(pairs)
    return [
        find_paths(kg, q, a, max_hops=max_hops, max_paths_per_pair=max_paths_per_pair)
        for q, a in tqdm(items, disable=not progress, desc="paths", unit="pair")
    ]
