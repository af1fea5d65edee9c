"""Tests for kglm.grounding.collate: exact batches, offsets, empty inputs, equality with PyG batching."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch

from kglm.grounding.collate import collate_graphs, collate_paths
from kglm.grounding.graphs import ChoiceGraph, extract_qa_subgraphs
from kglm.grounding.paths import find_paths
from kglm.kg.graph import KnowledgeGraph

ENTITIES = ["cat", "pet", "dog", "milk", "animal", "bone", "house"]
RELATIONS = ["IsA", "Likes", "AtLocation"]
TRIPLES = [[0, 0, 1], [2, 0, 1], [0, 0, 4], [2, 0, 4], [0, 1, 3], [2, 1, 5], [1, 2, 6], [3, 2, 6], [5, 2, 6]]
KEYS = ["node_ids", "node_type", "graph_index", "edge_index", "edge_type"]


def graph(nodes: list[int], types: list[int], edges: list[tuple[int, int, int]]) -> ChoiceGraph:
    e = torch.tensor(edges, dtype=torch.long).reshape(-1, 3)
    return ChoiceGraph(torch.tensor(nodes, dtype=torch.long), torch.tensor(types, dtype=torch.long), e[:, :2].T.contiguous(), e[:, 2])


def test_collate_graphs_exact() -> None:
    g1 = graph([4, 9], [0, 1], [(0, 1, 3), (1, 0, 5)])
    g2 = graph([9, 2, 7], [0, 1, 2], [(2, 0, 1)])
    b = collate_graphs([g1, ChoiceGraph.empty(), g2])
    assert b["node_ids"].tolist() == [4, 9, 9, 2, 7]
    assert b["node_type"].tolist() == [0, 1, 0, 1, 2]
    assert b["graph_index"].tolist() == [0, 0, 2, 2, 2]
    assert b["edge_index"].tolist() == [[0, 1, 4], [1, 0, 2]]
    assert b["edge_type"].tolist() == [3, 5, 1]
    assert all(v.dtype == torch.long for v in b.values())


def test_collate_graphs_empty() -> None:
    for b in (collate_graphs([]), collate_graphs([ChoiceGraph.empty(), ChoiceGraph.empty()])):
        assert set(b) == set(KEYS)
        assert b["edge_index"].shape == (2, 0)
        assert all(b[k].shape == (0,) for k in ("node_ids", "node_type", "graph_index", "edge_type"))


@st.composite
def random_graph(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(0, 5))
    edges = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 5)), max_size=8)) if n else []
    return graph(list(draw(st.lists(st.integers(0, 99), min_size=n, max_size=n))),
                 list(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))),
                 [(s % n, t % n, r) for s, t, r in edges])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_graph(), min_size=1, max_size=5))
def test_collate_graphs_equals_pyg_batch(graphs) -> None:  # type: ignore[no-untyped-def]
    ours = collate_graphs(graphs)
    pyg = Batch.from_data_list([g.to_pyg() for g in graphs])
    assert torch.equal(ours["edge_index"], pyg.edge_index)
    assert torch.equal(ours["edge_type"], pyg.edge_type)
    assert torch.equal(ours["node_ids"], pyg.node_ids)
    assert torch.equal(ours["node_type"], pyg.node_type)
    assert torch.equal(ours["graph_index"], pyg.batch)


def test_collate_extracted_graphs_offsets() -> None:
    kg = KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES)
    graphs = extract_qa_subgraphs(kg, [([0], [2]), ([], []), ([6], [0])])
    b = collate_graphs(graphs)
    n = [g.num_nodes for g in graphs]
    assert b["graph_index"].tolist() == [0] * n[0] + [2] * n[2]
    src, dst = b["edge_index"]
    assert bool((b["graph_index"][src] == b["graph_index"][dst]).all())
    # every batched edge maps back to the same pair of KG entities as in its graph
    want = [(int(g.node_ids[s]), int(g.node_ids[t]), int(r)) for g in graphs for (s, t), r in zip(g.edge_index.T.tolist(), g.edge_type)]
    got = list(zip(b["node_ids"][src].tolist(), b["node_ids"][dst].tolist(), b["edge_type"].tolist()))
    assert got == want


def test_collate_paths_exact_and_padding() -> None:
    kg = KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES)
    p1 = find_paths(kg, [0], [2], max_hops=2)  # 2 paths of 2 hops, 4 schema nodes
    p2 = find_paths(kg, [3], [6], max_hops=4)  # milk -> house: 1 hop first
    empty = find_paths(kg, [], [2])
    b = collate_paths([p1, empty, p2])
    assert set(b) == {*KEYS, "path_nodes", "path_relations", "path_length", "path_graph"}
    assert b["path_length"].tolist() == p1.path_length.tolist() + p2.path_length.tolist()
    k = int(b["path_length"].max())
    assert b["path_nodes"].shape == (p1.num_paths + p2.num_paths, k + 1)
    assert b["path_relations"].shape == (p1.num_paths + p2.num_paths, k)
    assert b["path_graph"].tolist() == [0] * p1.num_paths + [2] * p2.num_paths
    assert b["path_nodes"][:2].tolist() == [[0, 2, 1, -1, -1][: k + 1], [0, 3, 1, -1, -1][: k + 1]]  # cat-pet-dog, cat-animal-dog
    # the concatenated path nodes name the same KG entities as each path set's own
    for row, (pn, n) in zip(b["path_nodes"].tolist(), [(x, p) for p in (p1, p2) for x in p.path_nodes.tolist()]):
        own = [int(n.graph.node_ids[i]) for i in pn if i >= 0]
        assert [int(b["node_ids"][i]) for i in row if i >= 0] == own
        assert row[len(own):] == [-1] * (k + 1 - len(own))
    assert b["graph_index"][b["path_nodes"][:, 0]].tolist() == b["path_graph"].tolist()


def test_collate_paths_empty() -> None:
    kg = KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES)
    for b in (collate_paths([]), collate_paths([find_paths(kg, [], []), find_paths(kg, [0], [2], max_hops=1)])):
        assert b["path_nodes"].shape == (0, 2)
        assert b["path_relations"].shape == (0, 1)
        assert b["path_length"].shape == (0,) and b["path_graph"].shape == (0,)
        assert b["edge_index"].shape == (2, 0)
