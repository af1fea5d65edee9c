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

from kglm.grounding.defaults import (
    DEFAULT_MAX_EXPANSIONS_PER_PAIR,
    DEFAULT_MAX_HOPS,
    DEFAULT_MAX_PATHS_PER_PAIR,
    MAX_HOPS_LIMIT,
)
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
    _flatten_ids,
    _group_rank,
    _long_tensors,
    _owner_keys,
    _ranges,
    _segments,
)
from kglm.utils.indexing import key_space_fits, pack_keys, unpack_keys

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
        nodes, rels, length = _long_tensors(data, ("path_nodes", "path_relations", "path_length"), cls.__name__)
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
    return _find(adj.und_key, pack_keys((u, v), (adj.num_entities, adj.num_entities)))


def _key_ptr(keys: torch.Tensor, num_entities: int, num_graphs: int) -> torch.Tensor:
    """CSR pointer over graphs of sorted ``graph * E + entity`` keys."""
    ptr = torch.zeros(num_graphs + 1, dtype=_LONG)
    graph, _ = unpack_keys(keys, (num_graphs, num_entities))
    torch.cumsum(torch.bincount(graph, minlength=num_graphs), 0, out=ptr[1:])
    return ptr


def _extend(
    adj: _Adjacency, num_graphs: int, g: torch.Tensor, paths: torch.Tensor, targets: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """All one-hop simple extensions of the partial paths ``paths`` ``(n, l+1)`` of graphs ``g``.

    With ``targets`` (sorted unique ``graph * E + entity`` keys), keep only the
    extensions ending in a target of the path's own graph, choosing the cheaper
    of scanning neighbours and testing the (path, target) pairs.

    Returns:
        ``(g', paths')`` with ``paths'`` of shape ``(n', l+2)``.
    """
    E = adj.num_entities
    last = paths[:, -1]
    if targets is not None:
        t_ptr = _key_ptr(targets, E, num_graphs)
        pair_cost = int((t_ptr[g + 1] - t_ptr[g]).sum())
    if targets is not None and pair_cost < int(adj.und_deg[last].sum()):
        owner, pos = _segments(t_ptr, g)
        _, new = unpack_keys(targets[pos], (num_graphs, E))  # the target's graph is g[owner]
        hit, _ = _lookup(adj, last[owner], new)
        owner, new = owner[hit], new[hit]
    else:
        owner, pos = _segments(adj.und_ptr, last)
        new = adj.und_nbr[pos]
        if targets is not None:
            keep = torch.isin(pack_keys((g[owner], new), (num_graphs, E)), targets)
            owner, new = owner[keep], new[keep]
    rows = paths[owner]
    simple = ~(rows == new[:, None]).any(1)
    return g[owner][simple], torch.cat([rows[simple], new[simple, None]], 1)


def _within_budget(
    g: torch.Tensor, weight: torch.Tensor, num_graphs: int, budget: int | None, truncated: torch.Tensor
) -> torch.Tensor | None:
    """Rows to keep so that each graph's summed ``weight`` (the work or output its rows cause)
    stays within ``budget``: a graph's rows are kept in order while they fit. ``None``: keep all.
    Marks the graphs that lost rows in ``truncated``."""
    if budget is None or not g.numel():
        return None
    totals = torch.bincount(g, weights=weight.to(torch.float64), minlength=num_graphs)
    over = totals > budget
    if not bool(over.any()):
        return None
    truncated |= over
    order = torch.argsort(g, stable=True)
    gs, ws = g[order], weight[order]
    cum = torch.cumsum(ws, 0)
    first = torch.full((num_graphs,), int(cum[-1]) + 1, dtype=_LONG).scatter_reduce(0, gs, cum - ws, reduce="amin")
    keep = torch.empty_like(g, dtype=torch.bool)
    keep[order] = cum - first[gs] <= budget
    return keep


def _join(
    num_entities: int, lg: torch.Tensor, left: torch.Tensor, rg: torch.Tensor, right: torch.Tensor,
    num_graphs: int, budget: int | None = None, truncated: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Simple paths ``left ++ reversed(right)[1:]`` for each left and right path of the
    same graph with the same last entity. Returns ``(graph, paths)``."""
    width = left.shape[1] + right.shape[1] - 1
    if not left.shape[0] or not right.shape[0]:
        return torch.empty(0, dtype=_LONG), torch.empty(0, width, dtype=_LONG)
    sizes = (num_graphs, num_entities)
    r_end, order = torch.sort(pack_keys((rg, right[:, -1]), sizes))
    l_end = pack_keys((lg, left[:, -1]), sizes)
    lo = torch.searchsorted(r_end, l_end)
    count = torch.searchsorted(r_end, l_end, right=True) - lo
    if truncated is not None:  # bound the joined rows per pair before making them
        keep = _within_budget(lg, count, num_graphs, budget, truncated)
        if keep is not None:
            count = torch.where(keep, count, 0)
    li, at = _ranges(lo, count)  # each left row with the right rows ending where it ends
    ri = order[at]
    lrows, rrows = left[li], right[ri]
    clash = (lrows[:, :-1, None] == rrows[:, None, :-1]).flatten(1).any(1)
    full = torch.cat([lrows, rrows.flip(1)[:, 1:]], 1)
    return lg[li][~clash], full[~clash]


def _find_paths_batch(
    adj: _Adjacency,
    q_ids: torch.Tensor,
    q_sizes: torch.Tensor,
    a_ids: torch.Tensor,
    a_sizes: torch.Tensor,
    max_hops: int,
    max_paths_per_pair: int | None,
    max_expansions_per_pair: int | None = DEFAULT_MAX_EXPANSIONS_PER_PAIR,
) -> list[ChoicePaths]:
    """The paths of ``G = len(q_sizes)`` (question, choice) pairs at once; every
    tensor row carries the index of its pair (its graph)."""
    G = int(q_sizes.numel())
    E, R = adj.num_entities, adj.num_relations
    if not key_space_fits((G, 3, E)):  # every (pair, type, entity) key below fits in int64
        raise OverflowError(f"{G} pairs over a KG of {E} entities do not fit int64 keys; use smaller batches")
    K = max_hops

    def split_key(key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return unpack_keys(key, (G, E))

    a_key = _owner_keys(a_ids, a_sizes, G, E)
    q_key = _owner_keys(q_ids, q_sizes, G, E)
    q_key = q_key[~torch.isin(q_key, a_key)]  # in both: an answer entity
    a_g, a_e = split_key(a_key)
    q_g, q_e = split_key(q_key)

    # bidirectional expansion: ceil(K/2) hops from the question side, floor(K/2) from the answer side
    depth_l, depth_r = (K + 1) // 2, K // 2
    truncated = torch.zeros(G, dtype=torch.bool)

    def capped(g: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # bound each pair's expansion (rows x degree) before making it: hubs cannot exhaust memory
        keep = _within_budget(g, adj.und_deg[p[:, -1]], G, max_expansions_per_pair, truncated)
        return (g, p) if keep is None else (g[keep], p[keep])

    right = [(a_g, a_e[:, None])]
    for _ in range(depth_r):
        right.append(_extend(adj, G, *capped(*right[-1]), None))
    left = [(q_g, q_e[:, None])]
    for d in range(1, depth_l + 1):
        targets = None
        if d == depth_l:  # the last level only matters where it meets a right end
            ends = [right[d - 1]] + ([right[d]] if d <= depth_r else [])
            targets = torch.unique(torch.cat([pack_keys((rg, rp[:, -1]), (G, E)) for rg, rp in ends]))
        left.append(_extend(adj, G, *capped(*left[-1]), targets))

    found_g, found = [], []
    for m in range(1, K + 1):
        pg, full = _join(E, *left[(m + 1) // 2], *right[m // 2], G, max_expansions_per_pair, truncated)
        found_g.append(pg)
        found.append(torch.cat([full, torch.full((full.shape[0], K - m), -1, dtype=_LONG)], 1))
    if bool(truncated.any()):
        import warnings

        warnings.warn(
            f"path search: {int(truncated.sum())} of {G} (question, choice) pairs reached "
            f"max_expansions_per_pair={max_expansions_per_pair} (hub entities); their paths are a subset",
            stacklevel=3,
        )
    pg, paths = torch.cat(found_g), torch.cat(found)
    length = (paths >= 0).sum(1) - 1
    end = paths.gather(1, length[:, None]).squeeze(1)

    # order: graph, question entity, answer entity, length, then lexicographic entity ids
    order = torch.arange(paths.shape[0])
    for col in range(K, 0, -1):
        order = order[torch.argsort(paths[order, col], stable=True)]
    for key in (length, end, paths[:, 0], pg):
        order = order[torch.argsort(key[order], stable=True)]
    pg, paths, length, end = pg[order], paths[order], length[order], end[order]
    if max_paths_per_pair is not None and paths.shape[0]:
        new_group = torch.ones(paths.shape[0], dtype=torch.bool)
        new_group[1:] = (pg[1:] != pg[:-1]) | (paths[1:, 0] != paths[:-1, 0]) | (end[1:] != end[:-1])
        index = torch.arange(paths.shape[0])
        group_start = torch.cummax(torch.where(new_group, index, 0), 0).values
        keep = index - group_start < max_paths_per_pair
        pg, paths, length = pg[keep], paths[keep], length[keep]

    # schema graph nodes: question entities, answer entities, then the others, each by id
    valid = paths >= 0
    row_g = pg[:, None].expand_as(paths)
    entry_key = pack_keys((row_g[valid], paths[valid]), (G, E))
    on_path = torch.unique(entry_key)
    other = on_path[~torch.isin(on_path, torch.cat([q_key, a_key]))]
    node_key = torch.cat([q_key, a_key, other])
    node_t = torch.cat([
        torch.full((q_key.numel(),), NODE_QUESTION, dtype=_LONG),
        torch.full((a_key.numel(),), NODE_ANSWER, dtype=_LONG),
        torch.full((other.numel(),), NODE_OTHER, dtype=_LONG),
    ])
    node_g, node_e = split_key(node_key)
    order = torch.argsort(pack_keys((node_g, node_t, node_e), (G, 3, E)))
    node_key, node_g, node_e, node_t = node_key[order], node_g[order], node_e[order], node_t[order]
    local, n_cnt = _group_rank(node_g, G)
    sorted_key, perm = torch.sort(node_key)
    path_nodes = torch.full_like(paths, -1)
    path_nodes[valid] = local[perm[torch.searchsorted(sorted_key, entry_key)]]

    # one edge type per hop; schema edges: the hops and their reverses, deduplicated
    hop = valid[:, 1:]
    _, at = _lookup(adj, paths[:, :-1][hop], paths[:, 1:][hop])
    hop_type = adj.und_type[at]
    path_relations = torch.full((paths.shape[0], K), -1, dtype=_LONG)
    path_relations[hop] = hop_type
    hop_g = row_g[:, 1:][hop]
    lu, lv = path_nodes[:, :-1][hop], path_nodes[:, 1:][hop]
    span = max(int(n_cnt.max()) if n_cnt.numel() else 1, 1)
    types = max(2 * R, 1)
    sizes = (G, span, span, types)
    code = torch.unique(
        pack_keys(
            (torch.cat([hop_g, hop_g]), torch.cat([lu, lv]), torch.cat([lv, lu]), torch.cat([hop_type, (hop_type + R) % types])),
            sizes,
        )
    )
    e_g, e_src, e_dst, e_type = unpack_keys(code, sizes)
    edge_index = torch.stack([e_src, e_dst])

    n_split = n_cnt.tolist()
    e_split = torch.bincount(e_g, minlength=G).tolist()
    p_split = torch.bincount(pg, minlength=G).tolist()
    return [
        ChoicePaths(ChoiceGraph(ni, nt, ei, et), pn, pr, pl)
        for ni, nt, ei, et, pn, pr, pl in zip(
            torch.split(node_e, n_split),
            torch.split(node_t, n_split),
            torch.split(edge_index, e_split, dim=1),
            torch.split(e_type, e_split),
            torch.split(path_nodes, p_split),
            torch.split(path_relations, p_split),
            torch.split(length, p_split),
        )
    ]


def _check_args(max_hops: int, max_paths_per_pair: int | None, max_expansions_per_pair: int | None = 1) -> None:
    if max_hops < 1:
        raise ValueError(f"max_hops must be >= 1, got {max_hops}")
    if max_hops > MAX_HOPS_LIMIT:
        from kglm.errors import ResourceLimitError

        raise ResourceLimitError(
            f"max_hops {max_hops} is above the limit of {MAX_HOPS_LIMIT}: the number of paths grows with "
            f"the degree to the power of the hops"
        )
    if max_expansions_per_pair is not None and max_expansions_per_pair < 1:
        raise ValueError(f"max_expansions_per_pair must be >= 1 or None, got {max_expansions_per_pair}")
    if max_paths_per_pair is not None and max_paths_per_pair < 1:
        raise ValueError(f"max_paths_per_pair must be >= 1 or None, got {max_paths_per_pair}")


def find_paths(
    kg: KnowledgeGraph,
    question_ids: EntityIds,
    answer_ids: EntityIds,
    max_hops: int = DEFAULT_MAX_HOPS,
    max_paths_per_pair: int | None = DEFAULT_MAX_PATHS_PER_PAIR,
    max_expansions_per_pair: int | None = DEFAULT_MAX_EXPANSIONS_PER_PAIR,
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
        max_expansions_per_pair: the most partial paths (and joined paths) the
            search makes for the pair at each step; beyond it it keeps the first
            ones and warns (the paths are then a subset). ``None``: no bound.

    Returns:
        The :class:`ChoicePaths` (``path_nodes`` of width ``max_hops + 1``).

    Raises:
        ValueError: for an entity id out of range or a bad ``max_hops`` / ``max_paths_per_pair``.
        ResourceLimitError: ``max_hops`` above :data:`~kglm.grounding.defaults.MAX_HOPS_LIMIT`.

    Example:
        >>> from kglm.kg.graph import KnowledgeGraph
        >>> kg = KnowledgeGraph(["cat", "pet", "dog", "milk"], ["IsA", "Likes"],
        ...                     [[0, 0, 1], [2, 0, 1], [0, 1, 3]])
        >>> p = find_paths(kg, [0], [2], max_hops=2)
        >>> p.graph.node_ids.tolist(), p.path_nodes.tolist(), p.path_relations.tolist()
        ([0, 2, 1], [[0, 2, 1]], [[0, 2]])
    """
    _check_args(max_hops, max_paths_per_pair, max_expansions_per_pair)
    adj = _adjacency(kg)
    q = _as_ids(question_ids, adj.num_entities, "question")
    a = _as_ids(answer_ids, adj.num_entities, "answer")
    sizes = torch.tensor([q.numel(), a.numel()], dtype=_LONG)
    return _find_paths_batch(adj, q, sizes[:1], a, sizes[1:], max_hops, max_paths_per_pair, max_expansions_per_pair)[0]


def find_paths_batch(
    kg: KnowledgeGraph,
    pairs: Iterable[tuple[EntityIds, EntityIds]],
    max_hops: int = DEFAULT_MAX_HOPS,
    max_paths_per_pair: int | None = DEFAULT_MAX_PATHS_PER_PAIR,
    batch_size: int = 16,
    progress: bool = False,
    max_expansions_per_pair: int | None = DEFAULT_MAX_EXPANSIONS_PER_PAIR,
) -> list[ChoicePaths]:
    """:func:`find_paths` for many ``(question_ids, answer_ids)`` pairs, vectorised.

    The pairs are processed ``batch_size`` at a time with one set of tensor
    operations per batch; the result equals calling :func:`find_paths` on each pair.

    Args:
        kg: the knowledge graph.
        pairs: ``(question_ids, answer_ids)`` per (question, choice).
        max_hops: the longest path, in hops.
        max_paths_per_pair: the most paths kept per (question entity, answer entity) pair.
        batch_size: pairs per vectorised batch (memory grows with it on dense graphs).
        progress: show a tqdm progress bar (on stderr).
        max_expansions_per_pair: see :func:`find_paths`.

    Returns:
        One :class:`ChoicePaths` per pair, in order.
    """
    from tqdm.auto import tqdm

    _check_args(max_hops, max_paths_per_pair, max_expansions_per_pair)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    adj = _adjacency(kg)
    items = list(pairs)
    out: list[ChoicePaths] = []
    with tqdm(total=len(items), disable=not progress, desc="paths", unit="pair") as bar:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            q_ids, q_sizes = _flatten_ids([q for q, _ in chunk], adj.num_entities, "question")
            a_ids, a_sizes = _flatten_ids([a for _, a in chunk], adj.num_entities, "answer")
            out.extend(_find_paths_batch(adj, q_ids, q_sizes, a_ids, a_sizes, max_hops, max_paths_per_pair,
                                         max_expansions_per_pair))
            bar.update(len(chunk))
    return out
