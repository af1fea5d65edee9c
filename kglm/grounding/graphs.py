"""Per-choice QA subgraphs (MHGRN / QA-GNN "2-hop" graphs), extracted on CSR tensors.

For one (question, choice) pair with question entities ``Q`` and answer entities
``A``, the 2-hop QA graph holds

* every question and answer entity (an entity in both sets counts as an
  *answer* entity and appears once),
* every *intermediate* entity on a path of at most two hops between a question
  entity and an answer entity, edges taken in either direction: for
  ``hops=2`` the entities adjacent to some entity of ``Q`` and to some entity
  of ``A``; for ``hops=1`` none,
* every KG edge ``h -r-> t`` between two selected entities, with type ``r``,
  and its reverse ``t -> h`` with type ``r + R`` (``R = kg.num_relations``), so
  a message-passing model sees both directions and uses ``2R`` edge types.

Selection is vectorised over many pairs at once (gathers over CSR ranges,
``unique``, ``searchsorted``); there is no Python loop over nodes or edges.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, Union

import torch

from kglm.grounding.defaults import DEFAULT_MAX_NODES, DEFAULT_QA_HOPS
from kglm.utils.indexing import csr_segments as _segments
from kglm.utils.indexing import key_space_fits, pack_keys, segment_owner, unpack_keys
from kglm.utils.indexing import segment_ranges as _ranges

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from kglm.kg.graph import KnowledgeGraph

__all__ = [
    "NODE_QUESTION",
    "NODE_ANSWER",
    "NODE_OTHER",
    "NODE_CONTEXT",
    "ChoiceGraph",
    "extract_qa_subgraph",
    "extract_qa_subgraphs",
]

NODE_QUESTION = 0
"""Node type of a question entity."""
NODE_ANSWER = 1
"""Node type of an answer entity (also of an entity linked in both question and answer)."""
NODE_OTHER = 2
"""Node type of an intermediate entity."""
NODE_CONTEXT = 3
"""Node type of the context node that QA-GNN-style models add themselves."""

EntityIds = Union[Sequence[int], torch.Tensor]
NodeScorer = Callable[[torch.Tensor], torch.Tensor]
BatchNodeScorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_LONG = torch.long


def _long_tensors(data: Mapping[str, Any], keys: Sequence[str], what: str) -> list[torch.Tensor]:
    """``data[key]`` as an int64 tensor for each key; ``ValueError`` naming a missing key."""
    try:
        return [torch.as_tensor(data[k], dtype=_LONG) for k in keys]
    except KeyError as err:
        raise ValueError(f"{what} data lacks key {err.args[0]!r}") from None


# ---------------------------------------------------------------------------- ChoiceGraph
@dataclass(eq=False)
class ChoiceGraph:
    """The graph of one (question, choice) pair.

    Attributes:
        node_ids: ``(n,)`` KG entity ids: question entities first, then answer
            entities, then the others.
        node_type: ``(n,)`` :data:`NODE_QUESTION`, :data:`NODE_ANSWER` or :data:`NODE_OTHER`.
        edge_index: ``(2, e)`` local node indices ``(source, target)``.
        edge_type: ``(e,)`` relation id ``r`` for a KG edge ``h -r-> t``; ``r + R``
            for its reverse ``t -> h`` (``R = kg.num_relations``).

    Example:
        >>> g = ChoiceGraph.empty()
        >>> g.num_nodes, g.num_edges, tuple(g.edge_index.shape)
        (0, 0, (2, 0))
    """

    node_ids: torch.Tensor
    node_type: torch.Tensor
    edge_index: torch.Tensor
    edge_type: torch.Tensor

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``n``."""
        return int(self.node_ids.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of (directed) edges ``e``."""
        return int(self.edge_type.shape[0])

    @classmethod
    def empty(cls) -> ChoiceGraph:
        """A graph with no nodes and no edges (correctly shaped ``int64`` tensors)."""
        return cls(
            torch.empty(0, dtype=_LONG),
            torch.empty(0, dtype=_LONG),
            torch.empty(2, 0, dtype=_LONG),
            torch.empty(0, dtype=_LONG),
        )

    def to_dict(self) -> dict[str, torch.Tensor]:
        """Plain tensors keyed by field name (for safetensors / ``.npy`` caches)."""
        return {
            "node_ids": self.node_ids,
            "node_type": self.node_type,
            "edge_index": self.edge_index,
            "edge_type": self.edge_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChoiceGraph:
        """Rebuild from :meth:`to_dict` output, checking dtypes, shapes and index ranges.

        Raises:
            ValueError: when a key is missing or a tensor is malformed.
        """
        graph = cls(*_long_tensors(data, ("node_ids", "node_type", "edge_index", "edge_type"), cls.__name__))
        graph.validate()
        return graph

    def validate(self) -> None:
        """Check shapes and that every edge joins two nodes of the graph.

        Raises:
            ValueError: naming the first problem found.
        """
        n = self.node_ids.shape[0] if self.node_ids.dim() == 1 else -1
        if n < 0 or self.node_type.shape != (n,):
            raise ValueError(f"node_ids and node_type must both have shape (n,), got "
                             f"{tuple(self.node_ids.shape)} and {tuple(self.node_type.shape)}")
        if self.edge_index.dim() != 2 or self.edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, e), got {tuple(self.edge_index.shape)}")
        if self.edge_type.shape != (self.edge_index.shape[1],):
            raise ValueError(f"edge_type must have shape ({self.edge_index.shape[1]},), got {tuple(self.edge_type.shape)}")
        if self.edge_index.numel() and (int(self.edge_index.min()) < 0 or int(self.edge_index.max()) >= n):
            raise ValueError(f"edge_index holds a node index outside [0, {n})")
        if n and (int(self.node_type.min()) < 0 or int(self.node_type.max()) > NODE_CONTEXT):
            raise ValueError("node_type holds a value outside 0..3")

    def equals(self, other: ChoiceGraph) -> bool:
        """Whether both graphs hold exactly the same tensors (same order)."""
        return all(
            a.shape == b.shape and torch.equal(a, b) for a, b in zip(self.to_dict().values(), other.to_dict().values())
        )

    def to_pyg(self) -> Data:
        """A :class:`torch_geometric.data.Data` with ``node_ids``, ``node_type``,
        ``edge_index``, ``edge_type`` and ``num_nodes`` (shares the tensors)."""
        from torch_geometric.data import Data

        return Data(
            node_ids=self.node_ids,
            node_type=self.node_type,
            edge_index=self.edge_index,
            edge_type=self.edge_type,
            num_nodes=self.num_nodes,
        )

    def __repr__(self) -> str:
        return f"ChoiceGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"


# ---------------------------------------------------------------------------- adjacency
class _Adjacency:
    """Read-only index structures derived once per KG (cached per KG object).

    * ``out_ptr``, ``ht_key``, ``ht_tail``, ``ht_rel``: the KG's triples sorted by
      ``(head, tail)`` (ties in triple order), as a CSR over heads, with the keys
      ``head * E + tail``;
    * ``und_ptr, und_nbr``: the simple undirected graph: for each entity its
      distinct neighbours in either direction, sorted, without itself;
    * ``und_key``: ``u * E + v`` for each undirected CSR entry (globally sorted);
    * ``und_type``: the edge type of traversing ``u -> v``: the smallest of
      ``r`` over KG edges ``u -r-> v`` and ``r + R`` over KG edges ``v -r-> u``.
    """

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.num_entities = E = int(kg.num_entities)
        self.num_relations = R = int(kg.num_relations)
        head, rel, tail = kg.head, kg.relation, kg.tail
        ht = pack_keys((head, tail), (E, E))  # OverflowError for a KG too large for int64 keys
        order = torch.argsort(ht, stable=True)
        self.ht_key = ht[order].contiguous()
        self.ht_tail = tail[order]
        self.ht_rel = rel[order]
        self.out_ptr = torch.zeros(E + 1, dtype=_LONG)
        if E:
            torch.cumsum(torch.bincount(head, minlength=E), 0, out=self.out_ptr[1:])
        self.out_deg = self.out_ptr[1:] - self.out_ptr[:-1]
        keep = head != tail
        h, r, t = head[keep], rel[keep], tail[keep]
        keys = torch.cat([pack_keys((h, t), (E, E)), pack_keys((t, h), (E, E))])
        types = torch.cat([r, r + R])
        und_key, inverse = torch.unique(keys, sorted=True, return_inverse=True)
        und_type = torch.full((und_key.numel(),), 2 * R, dtype=_LONG)
        und_type.scatter_reduce_(0, inverse, types, reduce="amin")
        src, self.und_nbr = unpack_keys(und_key, (E, E))
        self.und_key = und_key
        self.und_type = und_type
        self.und_ptr = torch.zeros(E + 1, dtype=_LONG)
        if E:
            torch.cumsum(torch.bincount(src, minlength=E), 0, out=self.und_ptr[1:])
        self.und_deg = self.und_ptr[1:] - self.und_ptr[:-1]


_ADJ_CACHE: dict[int, tuple[weakref.ref[Any], _Adjacency]] = {}


def _adjacency(kg: KnowledgeGraph) -> _Adjacency:
    """The cached :class:`_Adjacency` of ``kg`` (built on first use)."""
    entry = _ADJ_CACHE.get(id(kg))
    if entry is not None and entry[0]() is kg:
        return entry[1]
    for key in [k for k, (ref, _) in _ADJ_CACHE.items() if ref() is None]:
        del _ADJ_CACHE[key]
    adj = _Adjacency(kg)
    try:
        _ADJ_CACHE[id(kg)] = (weakref.ref(kg), adj)
    except TypeError:  # not weak-referenceable: no caching
        pass
    return adj


def _find(sorted_keys: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Membership of ``keys`` in the sorted ``sorted_keys``: ``(hit mask, position)``
    (positions are only meaningful where ``hit``)."""
    if not sorted_keys.numel():
        return torch.zeros(keys.shape, dtype=torch.bool), torch.zeros(keys.shape, dtype=_LONG)
    at = torch.searchsorted(sorted_keys, keys).clamp_(max=sorted_keys.numel() - 1)
    return sorted_keys[at] == keys, at


def _group_rank(group: torch.Tensor, num_groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank of each element within its group, for ``group`` sorted ascending.

    Returns:
        ``(rank, counts)``: position inside the group and ``(num_groups,)`` group sizes.
    """
    counts = torch.bincount(group, minlength=num_groups)
    start = torch.cumsum(counts, 0) - counts
    return torch.arange(group.numel()) - start[group], counts


def _owner_keys(ids: torch.Tensor, sizes: torch.Tensor, num_owners: int, num_entities: int) -> torch.Tensor:
    """Sorted distinct ``(owner, entity)`` keys of concatenated id lists: the first
    ``sizes[0]`` ids belong to owner 0, the next ``sizes[1]`` to owner 1, ..."""
    return torch.unique(pack_keys((segment_owner(sizes, ids.numel()), ids), (num_owners, num_entities)))


def _as_ids(ids: EntityIds, num_entities: int, what: str) -> torch.Tensor:
    t = torch.as_tensor(ids, dtype=_LONG).reshape(-1)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_entities):
        bad = t[(t < 0) | (t >= num_entities)][0]
        raise ValueError(f"{what} entity id {int(bad)} out of range [0, {num_entities})")
    return t


# ---------------------------------------------------------------------------- extraction
def _flatten_ids(groups: Sequence[EntityIds], num_entities: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate id lists / tensors into one validated ``int64`` tensor plus ``(G,)`` sizes."""
    if all(isinstance(x, torch.Tensor) for x in groups):
        parts = [x.reshape(-1).to(_LONG) for x in groups]  # type: ignore[union-attr]
        sizes = torch.tensor([p.numel() for p in parts], dtype=_LONG)
        flat = torch.cat(parts) if parts else torch.empty(0, dtype=_LONG)
    else:
        lists = [x.reshape(-1).tolist() if isinstance(x, torch.Tensor) else list(x) for x in groups]
        sizes = torch.tensor([len(x) for x in lists], dtype=_LONG)
        flat = torch.tensor(list(chain.from_iterable(lists)), dtype=_LONG)
    return _as_ids(flat, num_entities, what), sizes


def _question_groups(questions: Sequence[EntityIds]) -> tuple[list[tuple[int, ...]], torch.Tensor]:
    """Distinct question-id lists (the choices of one question usually share theirs) and
    the ``(G,)`` index of each pair's list among them."""
    index: dict[tuple[int, ...], int] = {}
    group = []
    for q in questions:
        key = tuple(q.reshape(-1).tolist()) if isinstance(q, torch.Tensor) else tuple(q)
        group.append(index.setdefault(key, len(index)))
    return list(index), torch.tensor(group, dtype=_LONG)


def _extract_batch(
    adj: _Adjacency,
    gq_ids: torch.Tensor,
    gq_sizes: torch.Tensor,
    q_group: torch.Tensor,
    a_ids: torch.Tensor,
    a_sizes: torch.Tensor,
    max_nodes: int | None,
    hops: int,
    scorer: BatchNodeScorer | None,
) -> list[ChoiceGraph]:
    """Extract the graphs of ``G = len(q_group)`` pairs at once.

    ``gq_ids`` / ``gq_sizes``: the validated, concatenated question ids of ``K``
    distinct question groups; ``q_group`` ``(G,)``: each pair's group;
    ``a_ids`` / ``a_sizes``: the concatenated answer ids of the ``G`` pairs.
    The question side of the 2-hop search runs once per group, not per pair.
    """
    G, K = int(q_group.numel()), int(gq_sizes.numel())
    E, R = adj.num_entities, adj.num_relations
    if not key_space_fits((max(G, K), 3, E)):  # every (pair, type, entity) key below fits in int64
        raise OverflowError(f"{max(G, K)} pairs over a KG of {E} entities do not fit int64 keys; use smaller batches")
    cap = max_nodes if max_nodes is not None else torch.iinfo(torch.int64).max // 4

    def split_key(key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return unpack_keys(key, (max(G, K), E))

    gq_key = _owner_keys(gq_ids, gq_sizes, K, E)
    a_key = _owner_keys(a_ids, a_sizes, G, E)
    gq_grp, gq_ent = split_key(gq_key)
    gq_ptr = torch.zeros(K + 1, dtype=_LONG)
    torch.cumsum(torch.bincount(gq_grp, minlength=K), 0, out=gq_ptr[1:])
    owner, pos = _segments(gq_ptr, q_group)
    q_raw = pack_keys((owner, gq_ent[pos]), (G, E))  # each pair's question keys, sorted by (pair, entity)
    q_key = q_raw[~torch.isin(q_raw, a_key)]  # in both: an answer entity
    seed_key = torch.cat([q_key, a_key])

    # ---- intermediate candidates: common neighbours of the question and answer sides
    cand = torch.empty(0, dtype=_LONG)
    score = torch.empty(0, dtype=torch.float64)
    if hops >= 2 and q_key.numel() and a_key.numel():
        # question side once per group: (group, v) -> number of the group's entities next to v
        own, pos = _segments(adj.und_ptr, gq_ent)
        qk, qc = torch.unique(pack_keys((gq_grp[own], adj.und_nbr[pos]), (K, E)), return_counts=True)
        # answer side per pair: (pair, v) -> number of answer entities next to v, and how
        # many of those are also in the group's question list (not question entities here)
        a_g, a_e = split_key(a_key)
        a_in_q = torch.isin(a_key, q_raw).to(_LONG)
        own, pos = _segments(adj.und_ptr, a_e)
        ak, inverse = torch.unique(pack_keys((a_g[own], adj.und_nbr[pos]), (G, E)), return_inverse=True)
        ac = torch.bincount(inverse, minlength=ak.numel())
        overlap = torch.zeros(ak.numel(), dtype=_LONG).index_add_(0, inverse, a_in_q[own])
        ak_g, ak_e = split_key(ak)
        hit, at = _find(qk, pack_keys((q_group[ak_g], ak_e), (K, E)))
        cq = (torch.where(hit, qc[at], 0) if qk.numel() else torch.zeros_like(ak)) - overlap
        ok = (cq > 0) & ~torch.isin(ak, seed_key)
        cand, score = ak[ok], (cq[ok] + ac[ok]).to(torch.float64)
    cand_g, cand_e = split_key(cand)
    if scorer is not None and cand.numel():
        score = torch.as_tensor(scorer(cand_g, cand_e)).reshape(-1).to(torch.float64)
        if score.numel() != cand.numel():
            raise ValueError(f"node_scorer returned {score.numel()} scores for {cand.numel()} candidates")
    # priority: score descending, then entity id ascending (cand is sorted by (pair, id))
    order = torch.argsort(-score, stable=True)
    order = order[torch.argsort(cand_g[order], stable=True)]
    cand_g, cand_e = cand_g[order], cand_e[order]

    # ---- capping: answer entities, then question entities, then intermediates
    a_g, a_e = split_key(a_key)
    q_g, q_e = split_key(q_key)
    a_rank, a_cnt = _group_rank(a_g, G)
    q_rank, q_cnt = _group_rank(q_g, G)
    o_rank, _ = _group_rank(cand_g, G)
    a_keep = a_cnt.clamp(max=cap)
    q_keep = q_cnt.clamp(max=cap - a_keep)
    o_room = cap - a_keep - q_keep
    ka = a_rank < cap
    kq = q_rank < q_keep[q_g]
    ko = o_rank < o_room[cand_g]

    node_g = torch.cat([q_g[kq], a_g[ka], cand_g[ko]])
    node_e = torch.cat([q_e[kq], a_e[ka], cand_e[ko]])
    node_t = torch.cat([
        torch.full((int(kq.sum()),), NODE_QUESTION, dtype=_LONG),
        torch.full((int(ka.sum()),), NODE_ANSWER, dtype=_LONG),
        torch.full((int(ko.sum()),), NODE_OTHER, dtype=_LONG),
    ])
    node_r = torch.cat([q_rank[kq], a_rank[ka], o_rank[ko]])
    # final order: pair, type, rank (question / answer entities by id, others by priority)
    width = int(node_r.max()) + 1 if node_r.numel() else 1
    order = torch.argsort(pack_keys((node_g, node_t, node_r), (G, 3, width)))
    node_g, node_e, node_t = node_g[order], node_e[order], node_t[order]
    local, n_cnt = _group_rank(node_g, G)

    # ---- edges among the selected nodes: every triple (head, r, tail) with both selected.
    # A node with few outgoing triples scans them; a hub tests its graph's nodes instead.
    node_key = pack_keys((node_g, node_e), (G, E))
    sorted_key, perm = torch.sort(node_key)
    heavy = adj.out_deg[node_e] > 4 * n_cnt[node_g]
    light = torch.nonzero(~heavy).squeeze(1)
    own, pos = _segments(adj.out_ptr, node_e[light])
    selected = torch.zeros(E, dtype=torch.bool)
    selected[node_e] = True
    maybe = selected[adj.ht_tail[pos]]  # cheap pre-filter: the tail is selected in some graph
    own, pos = light[own[maybe]], pos[maybe]
    hit, at = _find(sorted_key, pack_keys((node_g[own], adj.ht_tail[pos]), (G, E)))
    src_i, dst_i, epos = own[hit], perm[at[hit]], pos[hit]
    hub = torch.nonzero(heavy).squeeze(1)
    if hub.numel():
        n_ptr = torch.zeros(G + 1, dtype=_LONG)
        torch.cumsum(n_cnt, 0, out=n_ptr[1:])
        own, other = _segments(n_ptr, node_g[hub])
        key = pack_keys((node_e[hub[own]], node_e[other]), (E, E))
        lo = torch.searchsorted(adj.ht_key, key)
        row, hpos = _ranges(lo, torch.searchsorted(adj.ht_key, key, right=True) - lo)
        src_i = torch.cat([src_i, hub[own[row]]])
        dst_i = torch.cat([dst_i, other[row]])
        epos = torch.cat([epos, hpos])
    # forward edges by (source, target) local index; parallel edges in triple order
    o = torch.argsort(epos)
    span = int(n_cnt.max()) if n_cnt.numel() else 1
    o = o[torch.argsort(pack_keys((src_i, local[dst_i]), (node_g.numel(), span))[o], stable=True)]
    src_i, dst_i, epos = src_i[o], dst_i[o], epos[o]
    src, dst, rel = local[src_i], local[dst_i], adj.ht_rel[epos]
    edge_g = node_g[src_i]
    f_rank, f_cnt = _group_rank(edge_g, G)
    e_start = 2 * (torch.cumsum(f_cnt, 0) - f_cnt)
    fwd_at = e_start[edge_g] + f_rank
    rev_at = fwd_at + f_cnt[edge_g]
    total = 2 * src.numel()
    edge_src = torch.empty(total, dtype=_LONG)
    edge_dst = torch.empty(total, dtype=_LONG)
    edge_typ = torch.empty(total, dtype=_LONG)
    edge_src[fwd_at], edge_dst[fwd_at], edge_typ[fwd_at] = src, dst, rel
    edge_src[rev_at], edge_dst[rev_at], edge_typ[rev_at] = dst, src, rel + R
    edge_index = torch.stack([edge_src, edge_dst])

    n_split = n_cnt.tolist()
    e_split = (2 * f_cnt).tolist()
    return [
        ChoiceGraph(ni, nt, ei, et)
        for ni, nt, ei, et in zip(
            torch.split(node_e, n_split),
            torch.split(node_t, n_split),
            torch.split(edge_index, e_split, dim=1),
            torch.split(edge_typ, e_split),
        )
    ]


def _check_args(max_nodes: int | None, hops: int) -> None:
    if max_nodes is not None and max_nodes < 0:
        raise ValueError(f"max_nodes must be >= 0 or None, got {max_nodes}")
    if hops not in (1, 2):
        raise ValueError(f"hops must be 1 or 2, got {hops}")


def extract_qa_subgraph(
    kg: KnowledgeGraph,
    question_ids: EntityIds,
    answer_ids: EntityIds,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    hops: int = DEFAULT_QA_HOPS,
    node_scorer: NodeScorer | None = None,
) -> ChoiceGraph:
    """The MHGRN / QA-GNN 2-hop QA graph of one (question, choice) pair.

    Nodes: the question entities (sorted by id), the answer entities (sorted by
    id; an id given as both question and answer entity is an answer entity),
    then the intermediate entities: for ``hops=2`` every entity adjacent (in
    either edge direction) to at least one question entity and at least one
    answer entity; for ``hops=1`` none. Edges: every KG triple ``h -r-> t``
    between two selected nodes, as ``h -> t`` with type ``r``, and its reverse
    ``t -> h`` with type ``r + R`` (``R = kg.num_relations``): for each graph,
    first all forward edges sorted by (source, target) local index, parallel
    edges in KG triple order, then their reverses in the same order. Duplicate
    triples give duplicate edges; a self-loop triple gives ``(h, h, r)`` and
    ``(h, h, r + R)``.

    Capping to ``max_nodes`` keeps nodes in priority order: answer entities
    (by id), question entities (by id), then intermediates by score descending,
    ties by id ascending. The default score of an intermediate is the number of
    question and answer entities it is adjacent to; ``node_scorer`` replaces it.
    Intermediates appear in the output in that priority order.

    The first call for a KG builds a small adjacency index (sorted undirected
    neighbour lists and (head, tail)-sorted triples; well under a second at
    ConceptNet scale), cached for as long as the KG object lives. For many
    pairs, :func:`extract_qa_subgraphs` is much faster than calling this per pair.

    Args:
        kg: the knowledge graph.
        question_ids: KG ids of the question entities (duplicates ignored).
        answer_ids: KG ids of the answer entities (duplicates ignored).
        max_nodes: the most nodes kept; ``None`` for no cap.
        hops: 2 (question, answer and intermediate entities) or 1 (only
            question and answer entities and the edges between them).
        node_scorer: called once with the ``(m,)`` candidate intermediate ids,
            returns ``(m,)`` scores (higher is kept first); for example an LM
            relevance score as in QA-GNN. Not called when there are no candidates.

    Returns:
        The :class:`ChoiceGraph`.

    Raises:
        ValueError: for an entity id out of range, a negative ``max_nodes`` or
            ``hops`` not in ``(1, 2)``.

    Example:
        >>> from kglm.kg.graph import KnowledgeGraph
        >>> kg = KnowledgeGraph(["cat", "pet", "dog", "milk"], ["IsA", "Likes"],
        ...                     [[0, 0, 1], [2, 0, 1], [0, 1, 3]])
        >>> g = extract_qa_subgraph(kg, [0], [2])
        >>> g.node_ids.tolist(), g.node_type.tolist()
        ([0, 2, 1], [0, 1, 2])
        >>> g.edge_index.tolist(), g.edge_type.tolist()
        ([[0, 1, 2, 2], [2, 2, 0, 1]], [0, 0, 2, 2])
    """
    _check_args(max_nodes, hops)
    adj = _adjacency(kg)
    q = _as_ids(question_ids, adj.num_entities, "question")
    a = _as_ids(answer_ids, adj.num_entities, "answer")
    q_sizes = torch.tensor([q.numel()], dtype=_LONG)
    a_sizes = torch.tensor([a.numel()], dtype=_LONG)
    group = torch.zeros(1, dtype=_LONG)
    scorer: BatchNodeScorer | None = None
    if node_scorer is not None:
        def scorer(_g: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            return node_scorer(ids)
    return _extract_batch(adj, q, q_sizes, group, a, a_sizes, max_nodes, hops, scorer)[0]


def extract_qa_subgraphs(
    kg: KnowledgeGraph,
    pairs: Iterable[tuple[EntityIds, EntityIds]],
    max_nodes: int | None = DEFAULT_MAX_NODES,
    hops: int = DEFAULT_QA_HOPS,
    node_scorer: BatchNodeScorer | None = None,
    batch_size: int = 512,
    progress: bool = False,
) -> list[ChoiceGraph]:
    """:func:`extract_qa_subgraph` for many ``(question_ids, answer_ids)`` pairs, vectorised.

    The pairs are processed ``batch_size`` at a time with one set of tensor
    operations per batch; the result equals calling :func:`extract_qa_subgraph`
    on each pair (with the same scores). Pairs with the same question-id list
    (the choices of one question, usually) share the question-side neighbourhood
    search; a question entity that is also an answer entity of one choice is
    removed for that choice only.

    Args:
        kg: the knowledge graph.
        pairs: ``(question_ids, answer_ids)`` per (question, choice), for example
            in row-major (question, choice) order.
        max_nodes: the most nodes per graph; ``None`` for no cap.
        hops: 1 or 2, as in :func:`extract_qa_subgraph`.
        node_scorer: called once per batch as ``node_scorer(pair_index, candidate_ids)``
            with two ``(m,)`` tensors (the index of the pair, within ``pairs``, each
            candidate belongs to, and its entity id); returns ``(m,)`` scores.
        batch_size: pairs per vectorised batch.
        progress: show a tqdm progress bar (on stderr).

    Returns:
        One :class:`ChoiceGraph` per pair, in order.
    """
    from tqdm.auto import tqdm

    _check_args(max_nodes, hops)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    adj = _adjacency(kg)
    items = list(pairs)
    out: list[ChoiceGraph] = []
    with tqdm(total=len(items), disable=not progress, desc="subgraphs", unit="graph") as bar:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            q_lists, q_group = _question_groups([q for q, _ in chunk])
            q_ids, q_sizes = _flatten_ids(q_lists, adj.num_entities, "question")
            a_ids, a_sizes = _flatten_ids([a for _, a in chunk], adj.num_entities, "answer")
            scorer: BatchNodeScorer | None = None
            if node_scorer is not None:
                def scorer(g: torch.Tensor, ids: torch.Tensor, _s: int = start) -> torch.Tensor:
                    return node_scorer(g + _s, ids)  # type: ignore[misc]
            out.extend(_extract_batch(adj, q_ids, q_sizes, q_group, a_ids, a_sizes, max_nodes, hops, scorer))
            bar.update(len(chunk))
    return out
