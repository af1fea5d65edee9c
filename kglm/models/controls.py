"""KG control experiments: the same model fed a graph without real KG signal.

A KG-augmented model that beats its language-model baseline may do so because
of the extra parameters, not the knowledge. The controls below keep the model
and the batch's shapes conventions but destroy the KG information, so comparing
a model with ``kg_control="none"`` against the same model under a control tells
whether the KG helps:

- ``"none"``: the batch unchanged.
- ``"no_graph"``: every graph removed: all node, edge and path keys become
  empty (N = 0, E = 0, P = 0, with their trailing sizes kept) and
  ``token_entity`` is all -1. Every choice is then scored as one whose
  grounding found nothing.
- ``"permute_edges"``: edges rewired at random inside each graph. Each edge
  keeps its source node and relation type; the targets are permuted among the
  edges of the same graph, so every graph keeps its node set, its number of
  edges and its multiset of targets. KagNet paths are rewired alike: the path
  entries after the first (non-padding) are permuted among the paths of the
  same graph.
- ``"permute_relations"``: the edge types shuffled among the edges of each
  graph (and the path relations among the path hops of each graph); the
  structure stays.

The permutations are **fixed per graph and seeded**: without an explicit
``generator``, each graph's permutation is derived from a hash of the graph's
content (its nodes' KG entity ids in order) and ``seed``, not drawn from
torch's global generator. The same question therefore gets the same rewired
graph in every epoch, in the trainer's evaluation and in ``kglm evaluate``,
whatever the batch size or order. A model's seed is its config's
``kg_control_seed`` (the training seed, set by :func:`kglm.training.train`).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["KG_CONTROLS", "apply_kg_control", "graph_inputs"]

KG_CONTROLS = ("none", "no_graph", "permute_edges", "permute_relations")

_GRAPH_KEYS = (
    "node_ids", "node_type", "graph_index", "edge_index", "edge_type",
    "path_nodes", "path_relations", "path_length", "path_graph", "token_entity",
)


def _no_graph(key: str, like: Tensor, width: int = 0) -> Tensor:
    """The empty ("no graph") value of a batch's graph key, with ``like``'s dtype and
    device: ``edge_index`` ``(2, 0)``, ``path_nodes`` / ``path_relations`` ``(0, width)``,
    ``token_entity`` shaped like ``like`` and all ``-1``, any other key ``(0,)``."""
    if key == "token_entity":
        return torch.full_like(like, -1)
    if key == "edge_index":
        return like.new_zeros(2, 0)
    if key in ("path_nodes", "path_relations"):
        return like.new_zeros(0, width)
    return like.new_zeros(0)


def graph_inputs(input_ids: Tensor, path_hops: int = 1, **inputs: Tensor | None) -> dict[str, Tensor]:
    """The graph keys a model's ``forward`` received, each absent one (``None``) as its empty value.

    The empty values are those of ``"no_graph"`` (int64, on ``input_ids``' device):
    ``edge_index`` ``(2, 0)``, ``path_nodes`` ``(0, path_hops + 1)``,
    ``path_relations`` ``(0, path_hops)``, ``token_entity`` all ``-1`` shaped like
    ``input_ids``, any other key ``(0,)``.

    Example:
        >>> batch = graph_inputs(torch.zeros(1, 2, 3, dtype=torch.long), node_ids=None,
        ...                      edge_index=None, token_entity=None)
        >>> {key: tuple(value.shape) for key, value in batch.items()}
        {'node_ids': (0,), 'edge_index': (2, 0), 'token_entity': (1, 2, 3)}
    """
    empty = torch.zeros(0, dtype=torch.long, device=input_ids.device)
    widths = {"path_nodes": path_hops + 1, "path_relations": path_hops}
    return {
        key: value if value is not None else _no_graph(key, input_ids if key == "token_entity" else empty, widths.get(key, 0))
        for key, value in inputs.items()
    }


_MASK = (1 << 31) - 1


def _mix(x: Tensor) -> Tensor:
    """A 31-bit integer hash (xorshift-multiply rounds; no int64 overflow: operands stay < 2**59)."""
    x = x & _MASK
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _MASK
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _MASK
    return x ^ (x >> 16)


def _rank_within(group: Tensor) -> Tensor:
    """Position of each entry among the entries of its group (in their order)."""
    if group.numel() == 0:
        return group.clone()
    order = torch.argsort(group, stable=True)
    sorted_group = group[order]
    counts = torch.bincount(sorted_group)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(group)
    rank[order] = torch.arange(group.numel(), device=group.device) - starts[sorted_group]
    return rank


def _group_fingerprints(values: Tensor, group: Tensor, num_groups: int) -> Tensor:
    """``(num_groups,)`` content hashes: each group's ``values`` in their order."""
    out = torch.zeros(num_groups, dtype=torch.long, device=group.device)
    if group.numel():
        hashed = _mix(_mix(values.long()) * 7919 + _rank_within(group))
        out.scatter_add_(0, group, hashed)
    return out & _MASK


def _hashed_keys(group: Tensor, fingerprints: Tensor, seed: int, salt: int) -> Tensor:
    """One pseudo-random key per entry from (its group's fingerprint, its rank in the group, seed, salt)."""
    rank = _rank_within(group)
    base = _mix(fingerprints[group] * 1000003 + (int(seed) & _MASK))
    return _mix(_mix(base + salt * 104729) * 7919 + rank)


def _rand(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` uniform numbers drawn with ``generator`` (on its device), moved to ``device``."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(n, generator=generator, device=gen_device).to(device)


def _permute_within_groups(values: Tensor, group: Tensor, keys: Tensor) -> Tensor:
    """``values`` (n,) permuted among the entries with the same ``group`` id, in the order of ``keys``."""
    if values.numel() < 2:
        return values.clone()
    by_group = torch.argsort(group, stable=True)
    shuffled = torch.argsort(keys, stable=True)
    shuffled = shuffled[torch.argsort(group[shuffled], stable=True)]
    out = values.clone()
    out[by_group] = values[shuffled]
    return out


def _keys(
    group: Tensor,
    fingerprints: Tensor | None,
    generator: torch.Generator | None,
    seed: int,
    salt: int,
) -> Tensor:
    """Sort keys of a permutation: drawn from ``generator`` when given, else hashed from the content."""
    if generator is not None:
        return _rand(group.numel(), generator, group.device)
    needed = int(group.max()) + 1 if group.numel() else 0
    if fingerprints is None or fingerprints.numel() < needed:  # no node content to hash: the seed alone
        known = fingerprints if fingerprints is not None else group.new_zeros(0)
        fingerprints = torch.cat([known, group.new_zeros(max(needed - known.numel(), 0))])
    return _hashed_keys(group, fingerprints, seed, salt)


def _graph_fingerprints(batch: dict[str, Tensor]) -> Tensor | None:
    """Content hash of each graph of the batch (its nodes' entity ids in order); ``None`` without nodes."""
    if "graph_index" not in batch or "node_ids" not in batch:
        return None
    graph = batch["graph_index"]
    num_graphs = int(graph.max()) + 1 if graph.numel() else 0
    if "path_graph" in batch and batch["path_graph"].numel():
        num_graphs = max(num_graphs, int(batch["path_graph"].max()) + 1)
    return _group_fingerprints(batch["node_ids"], graph, num_graphs)


def apply_kg_control(
    batch: dict[str, Tensor],
    control: str,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Apply a KG control experiment to a model batch (see the module docstring).

    Args:
        batch: a model batch as in ``docs/architecture.md`` ("Model batches"); keys
            that are absent are left absent. The input dict and its tensors are
            never modified.
        control: ``"none"``, ``"no_graph"``, ``"permute_edges"`` or
            ``"permute_relations"``.
        generator: draw the permutations from this generator instead (then
            they depend on the batch and on the generator's state).
        seed: with no ``generator``, the seed of the fixed per-graph
            permutations (hashed with each graph's content).

    Returns:
        A new dict with the same keys; text keys and labels are the same tensors.

    Raises:
        ValueError: for an unknown ``control``.
    """
    if control not in KG_CONTROLS:
        raise ValueError(f"unknown kg control {control!r}; expected one of {KG_CONTROLS}")
    out = dict(batch)
    if control == "none":
        return out

    if control == "no_graph":
        for key in _GRAPH_KEYS:
            if key in out:
                value = out[key]
                out[key] = _no_graph(key, value, value.size(1) if value.dim() == 2 else 0)
        return out

    fingerprints = _graph_fingerprints(batch)
    has_edges = "edge_index" in out and out["edge_index"].size(1) > 0
    has_paths = "path_nodes" in out and out["path_nodes"].size(0) > 0
    if fingerprints is None and has_paths and "path_graph" in out and "node_ids" in out:
        # path batches without graph_index: hash each graph's path entries instead
        nodes = out["path_nodes"]
        group = out["path_graph"].view(-1, 1).expand_as(nodes)[nodes >= 0]
        entity = out["node_ids"][nodes[nodes >= 0]]
        fingerprints = _group_fingerprints(entity, group, int(out["path_graph"].max()) + 1)

    if control == "permute_edges":
        if has_edges:
            src, dst = out["edge_index"]
            edge_graph = out["graph_index"][src]
            keys = _keys(edge_graph, fingerprints, generator, seed, salt=1)
            out["edge_index"] = torch.stack([src, _permute_within_groups(dst, edge_graph, keys)])
        if has_paths:
            nodes = out["path_nodes"]
            tail = nodes[:, 1:]
            mask = tail >= 0
            group = out["path_graph"].view(-1, 1).expand_as(tail)[mask]
            keys = _keys(group, fingerprints, generator, seed, salt=2)
            new_tail = tail.clone()
            new_tail[mask] = _permute_within_groups(tail[mask], group, keys)
            out["path_nodes"] = torch.cat([nodes[:, :1], new_tail], dim=1)
        return out

    # permute_relations
    if "edge_type" in out and out["edge_type"].numel() > 1:
        edge_type = out["edge_type"]
        if "graph_index" in out and has_edges:
            edge_graph = out["graph_index"][out["edge_index"][0]]
        else:
            edge_graph = torch.zeros_like(edge_type)
        keys = _keys(edge_graph, fingerprints, generator, seed, salt=3)
        out["edge_type"] = _permute_within_groups(edge_type, edge_graph, keys)
    if "path_relations" in out and out["path_relations"].numel() > 0:
        relations = out["path_relations"]
        mask = relations >= 0
        if "path_graph" in out and out["path_graph"].numel() == relations.size(0):
            group = out["path_graph"].view(-1, 1).expand_as(relations)[mask]
        else:
            group = torch.zeros(int(mask.sum()), dtype=torch.long, device=relations.device)
        keys = _keys(group, fingerprints, generator, seed, salt=4)
        new = relations.clone()
        new[mask] = _permute_within_groups(relations[mask], group, keys)
        out["path_relations"] = new
    return out
