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
- ``"permute_relations"``: the edge types shuffled across all edges of the
  batch (and the path relations across all path hops); the structure stays.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["KG_CONTROLS", "apply_kg_control"]

KG_CONTROLS = ("none", "no_graph", "permute_edges", "permute_relations")

_NODE_KEYS = ("node_ids", "node_type", "graph_index")
_PATH_KEYS = ("path_length", "path_graph")


def _rand(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` uniform numbers drawn with ``generator`` (on its device), moved to ``device``."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(n, generator=generator, device=gen_device).to(device)


def _permute_within_groups(
    values: Tensor, group: Tensor, generator: torch.Generator | None
) -> Tensor:
    """``values`` (n,) randomly permuted among the entries with the same ``group`` id."""
    if values.numel() < 2:
        return values.clone()
    by_group = torch.argsort(group, stable=True)
    shuffled = torch.argsort(_rand(values.numel(), generator, values.device))
    shuffled = shuffled[torch.argsort(group[shuffled], stable=True)]
    out = values.clone()
    out[by_group] = values[shuffled]
    return out


def _random_permutation(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.argsort(_rand(n, generator, device))


def apply_kg_control(
    batch: dict[str, Tensor], control: str, generator: torch.Generator | None = None
) -> dict[str, Tensor]:
    """Apply a KG control experiment to a model batch (see the module docstring).

    Args:
        batch: a model batch as in ``docs/interfaces.md`` ("Model batches"); keys
            that are absent are left absent. The input dict and its tensors are
            never modified.
        control: ``"none"``, ``"no_graph"``, ``"permute_edges"`` or
            ``"permute_relations"``.
        generator: the random generator of the permutations; ``None`` uses
            torch's global generator.

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
        for key in (*_NODE_KEYS, "edge_type", *_PATH_KEYS):
            if key in out:
                out[key] = out[key].new_zeros(0)
        if "edge_index" in out:
            out["edge_index"] = out["edge_index"].new_zeros(2, 0)
        for key in ("path_nodes", "path_relations"):
            if key in out:
                out[key] = out[key].new_zeros(0, out[key].size(1))
        if "token_entity" in out:
            out["token_entity"] = torch.full_like(out["token_entity"], -1)
        return out

    if control == "permute_edges":
        if "edge_index" in out and out["edge_index"].size(1) > 0:
            src, dst = out["edge_index"]
            edge_graph = out["graph_index"][src]
            out["edge_index"] = torch.stack([src, _permute_within_groups(dst, edge_graph, generator)])
        if "path_nodes" in out and out["path_nodes"].size(0) > 0:
            nodes = out["path_nodes"]
            tail = nodes[:, 1:]
            mask = tail >= 0
            group = out["path_graph"].view(-1, 1).expand_as(tail)[mask]
            new_tail = tail.clone()
            new_tail[mask] = _permute_within_groups(tail[mask], group, generator)
            out["path_nodes"] = torch.cat([nodes[:, :1], new_tail], dim=1)
        return out

    # permute_relations
    if "edge_type" in out and out["edge_type"].numel() > 1:
        edge_type = out["edge_type"]
        out["edge_type"] = edge_type[_random_permutation(edge_type.numel(), generator, edge_type.device)]
    if "path_relations" in out and out["path_relations"].numel() > 0:
        relations = out["path_relations"]
        mask = relations >= 0
        hops = relations[mask]
        new = relations.clone()
        new[mask] = hops[_random_permutation(hops.numel(), generator, hops.device)]
        out["path_relations"] = new
    return out
