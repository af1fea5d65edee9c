from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kglm.models.controls import KG_CONTROLS, apply_kg_control, graph_inputs


def _batch() -> dict[str, torch.Tensor]:
    """Two graphs: graph 0 has nodes 0-3 and 5 edges, graph 1 has nodes 4-7 and 4 edges."""
    return {
        "input_ids": torch.ones(1, 2, 4, dtype=torch.long),
        "attention_mask": torch.ones(1, 2, 4, dtype=torch.long),
        "labels": torch.tensor([1]),
        "node_ids": torch.tensor([10, 11, 12, 13, 20, 21, 22, 23]),
        "node_type": torch.tensor([0, 1, 2, 2, 0, 1, 2, 2]),
        "graph_index": torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]),
        "edge_index": torch.tensor([[0, 1, 2, 3, 0, 4, 5, 6, 7], [1, 2, 3, 0, 2, 5, 6, 7, 4]]),
        "edge_type": torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8]),
        "token_entity": torch.tensor([[[-1, 0, -1, 1], [-1, 4, 5, -1]]]),
        "path_nodes": torch.tensor([[0, 1, -1], [0, 2, 1], [0, 3, 1], [4, 5, -1], [4, 6, 5]]),
        "path_relations": torch.tensor([[0, -1], [4, 1], [3, 1], [5, -1], [6, 7]]),
        "path_length": torch.tensor([1, 2, 2, 1, 2]),
        "path_graph": torch.tensor([0, 0, 0, 1, 1]),
    }


def test_none_is_identity():
    batch = _batch()
    out = apply_kg_control(batch, "none")
    assert out is not batch and out.keys() == batch.keys()
    assert all(out[k] is batch[k] for k in batch)


def test_no_graph_empties_every_graph_key():
    batch = _batch()
    out = apply_kg_control(batch, "no_graph")
    for key in ("node_ids", "node_type", "graph_index", "edge_type", "path_length", "path_graph"):
        assert out[key].shape == (0,) and out[key].dtype == torch.long, key
    assert out["edge_index"].shape == (2, 0)
    assert out["path_nodes"].shape == (0, 3)
    assert out["path_relations"].shape == (0, 2)
    assert torch.equal(out["token_entity"], torch.full((1, 2, 4), -1))
    assert out["input_ids"] is batch["input_ids"] and out["labels"] is batch["labels"]
    assert batch["node_ids"].numel() == 8  # input untouched


def test_absent_graph_keys_are_the_no_graph_values():
    """What a model's forward makes of absent keys (graph_inputs) is what "no_graph" makes of present ones."""
    batch = _batch()
    keys = [k for k in batch if k not in ("input_ids", "attention_mask", "labels")]
    hops = batch["path_relations"].size(1)
    filled = graph_inputs(batch["input_ids"], hops, **dict.fromkeys(keys))
    emptied = apply_kg_control({k: batch[k] for k in keys}, "no_graph")
    assert list(filled) == keys
    for key in keys:
        assert filled[key].dtype == torch.long and torch.equal(filled[key], emptied[key]), key
    given_ids = batch["node_ids"]
    assert graph_inputs(batch["input_ids"], node_ids=given_ids)["node_ids"] is given_ids


def test_permute_edges_rewires_within_graphs():
    batch = _batch()
    before = batch["edge_index"].clone()
    out = apply_kg_control(batch, "permute_edges", torch.Generator().manual_seed(3))
    src, dst = out["edge_index"]
    assert torch.equal(batch["edge_index"], before)  # input untouched
    assert torch.equal(src, before[0])  # sources, relations, nodes kept
    assert out["edge_type"] is batch["edge_type"] and out["node_ids"] is batch["node_ids"]
    # every target stays in the source's graph; per-graph target multisets kept
    graph = batch["graph_index"]
    assert torch.equal(graph[src], graph[dst])
    for g in (0, 1):
        in_g = graph[before[0]] == g
        assert Counter(dst[in_g].tolist()) == Counter(before[1][in_g].tolist())
    assert set(zip(src.tolist(), dst.tolist())) != set(zip(before[0].tolist(), before[1].tolist()))
    # paths: first node and padding kept, hops permuted among paths of the same graph
    pn, old = out["path_nodes"], batch["path_nodes"]
    assert torch.equal(pn[:, 0], old[:, 0]) and torch.equal(pn < 0, old < 0)
    for g, rows in ((0, [0, 1, 2]), (1, [3, 4])):
        tail_new = pn[rows, 1:][pn[rows, 1:] >= 0].tolist()
        tail_old = old[rows, 1:][old[rows, 1:] >= 0].tolist()
        assert Counter(tail_new) == Counter(tail_old)
        assert all(graph[n] == g for n in tail_new)


def test_permute_relations_shuffles_types_only():
    batch = _batch()
    out = apply_kg_control(batch, "permute_relations", torch.Generator().manual_seed(0))
    assert out["edge_index"] is batch["edge_index"]
    assert sorted(out["edge_type"].tolist()) == list(range(9))
    assert not torch.equal(out["edge_type"], batch["edge_type"])
    rel, old = out["path_relations"], batch["path_relations"]
    assert torch.equal(rel < 0, old < 0)
    assert sorted(rel[rel >= 0].tolist()) == sorted(old[old >= 0].tolist())


def test_same_generator_seed_same_result_and_empty_batches():
    a = apply_kg_control(_batch(), "permute_edges", torch.Generator().manual_seed(7))
    b = apply_kg_control(_batch(), "permute_edges", torch.Generator().manual_seed(7))
    assert torch.equal(a["edge_index"], b["edge_index"])
    empty = apply_kg_control(_batch(), "no_graph")
    for control in KG_CONTROLS:
        out = apply_kg_control(empty, control)
        assert {k: v.shape for k, v in out.items()} == {k: v.shape for k, v in empty.items()}


def test_unknown_control():
    with pytest.raises(ValueError, match="unknown kg control"):
        apply_kg_control(_batch(), "shuffle")


@st.composite
def _random_batches(draw):
    sizes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    node_graph = torch.tensor([g for g, n in enumerate(sizes) for _ in range(n)], dtype=torch.long)
    offsets = [sum(sizes[:g]) for g in range(len(sizes))]
    src, dst = [], []
    for g, n in enumerate(sizes):
        for _ in range(draw(st.integers(0, 6)) if n else 0):
            src.append(offsets[g] + draw(st.integers(0, n - 1)))
            dst.append(offsets[g] + draw(st.integers(0, n - 1)))
    return {
        "node_ids": torch.arange(node_graph.numel()),
        "graph_index": node_graph,
        "edge_index": torch.tensor([src, dst], dtype=torch.long).view(2, -1),
        "edge_type": torch.arange(len(src)),
    }, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=50, deadline=None)
@given(_random_batches())
def test_permute_edges_invariants(case):
    batch, seed = case
    out = apply_kg_control(batch, "permute_edges", torch.Generator().manual_seed(seed))
    src, dst = batch["edge_index"]
    new_src, new_dst = out["edge_index"]
    assert torch.equal(new_src, src)
    graph = batch["graph_index"]
    assert torch.equal(graph[new_dst], graph[src])
    for g in graph.unique().tolist():
        in_g = graph[src] == g
        assert sorted(new_dst[in_g].tolist()) == sorted(dst[in_g].tolist())
    rel = apply_kg_control(batch, "permute_relations", torch.Generator().manual_seed(seed))
    assert sorted(rel["edge_type"].tolist()) == sorted(batch["edge_type"].tolist())


def _one_graph(batch: dict[str, torch.Tensor], g: int) -> dict[str, torch.Tensor]:
    """Graph ``g`` of ``batch`` alone, re-indexed as a batch of one graph."""
    nodes = (batch["graph_index"] == g).nonzero().flatten()
    first = int(nodes[0])
    edges = batch["graph_index"][batch["edge_index"][0]] == g
    paths = batch["path_graph"] == g
    path_nodes = batch["path_nodes"][paths]
    return {
        "node_ids": batch["node_ids"][nodes],
        "node_type": batch["node_type"][nodes],
        "graph_index": torch.zeros(len(nodes), dtype=torch.long),
        "edge_index": batch["edge_index"][:, edges] - first,
        "edge_type": batch["edge_type"][edges],
        "path_nodes": torch.where(path_nodes >= 0, path_nodes - first, path_nodes),
        "path_relations": batch["path_relations"][paths],
        "path_length": batch["path_length"][paths],
        "path_graph": torch.zeros(int(paths.sum()), dtype=torch.long),
    }


@pytest.mark.parametrize("control", ["permute_edges", "permute_relations"])
def test_permutations_are_fixed_per_graph_and_seeded(control):
    batch = _batch()
    first = apply_kg_control(batch, control, seed=5)
    again = apply_kg_control(_batch(), control, seed=5)
    for key in first:
        assert torch.equal(first[key], again[key]), key  # no global generator involved
    torch.manual_seed(0)
    after_global_draws = apply_kg_control(_batch(), control, seed=5)
    assert all(torch.equal(first[k], after_global_draws[k]) for k in first)
    # the same graph gets the same rewiring alone as inside a bigger batch (any batch size or order)
    for g in (0, 1):
        alone = apply_kg_control(_one_graph(batch, g), control, seed=5)
        inside = _one_graph(first, g)
        for key in ("edge_index", "edge_type", "path_nodes", "path_relations"):
            assert torch.equal(alone[key], inside[key]), (g, key)
    # the seed matters: some seed changes graph 0's rewiring
    results = {
        seed: (apply_kg_control(batch, control, seed=seed)["edge_index"].tolist(),
               apply_kg_control(batch, control, seed=seed)["edge_type"].tolist())
        for seed in range(6)
    }
    assert len({repr(v) for v in results.values()}) > 1
    # invariants as with a generator: per-graph multisets kept
    graph = batch["graph_index"]
    if control == "permute_edges":
        src, dst = first["edge_index"]
        assert torch.equal(graph[src], graph[dst])
    else:
        src = batch["edge_index"][0]
        for g in (0, 1):
            in_g = graph[src] == g
            assert sorted(first["edge_type"][in_g].tolist()) == sorted(batch["edge_type"][in_g].tolist())


def test_hashed_permutation_of_a_larger_graph_is_a_real_shuffle():
    n = 40
    batch = {
        "node_ids": torch.arange(100, 100 + n),
        "graph_index": torch.zeros(n, dtype=torch.long),
        "edge_index": torch.stack([torch.arange(n), (torch.arange(n) + 1) % n]),
        "edge_type": torch.arange(n),
    }
    out = apply_kg_control(batch, "permute_edges", seed=0)
    moved = int((out["edge_index"][1] != batch["edge_index"][1]).sum())
    assert moved > n // 2  # not the identity, not a near-identity
    assert sorted(out["edge_index"][1].tolist()) == list(range(n))
