"""Tests for kglm.grounding.paths: exact KagNet paths on a hand-made KG, networkx reference on random KGs."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kglm.grounding.graphs import NODE_ANSWER, NODE_OTHER, NODE_QUESTION
from kglm.grounding.paths import ChoicePaths, find_paths, find_paths_batch
from kglm.kg.graph import KnowledgeGraph

# 0 cat, 1 pet, 2 dog, 3 milk, 4 animal, 5 bone, 6 house; relations IsA, Likes, AtLocation (R = 3)
ENTITIES = ["cat", "pet", "dog", "milk", "animal", "bone", "house"]
RELATIONS = ["IsA", "Likes", "AtLocation"]
TRIPLES = [[0, 0, 1], [2, 0, 1], [0, 0, 4], [2, 0, 4], [0, 1, 3], [2, 1, 5], [1, 2, 6], [3, 2, 6], [5, 2, 6]]


@pytest.fixture
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES)


def global_paths(p: ChoicePaths) -> list[tuple[list[int], list[int]]]:
    out = []
    for nodes, rels, n in zip(p.path_nodes.tolist(), p.path_relations.tolist(), p.path_length.tolist()):
        assert nodes[n + 1 :] == [-1] * (len(nodes) - n - 1) and rels[n:] == [-1] * (len(rels) - n)
        out.append(([int(p.graph.node_ids[i]) for i in nodes[: n + 1]], rels[:n]))
    return out


def test_exact_paths_cat_to_dog(kg: KnowledgeGraph) -> None:
    p = find_paths(kg, [0], [2], max_hops=3)
    assert global_paths(p) == [
        ([0, 1, 2], [0, 3]),  # cat -IsA-> pet <-IsA- dog
        ([0, 4, 2], [0, 3]),
    ]
    p = find_paths(kg, [0], [2], max_hops=4, max_paths_per_pair=64)
    assert global_paths(p) == [
        ([0, 1, 2], [0, 3]),
        ([0, 4, 2], [0, 3]),
        ([0, 1, 6, 5, 2], [0, 2, 5, 4]),  # cat -IsA-> pet -AtLocation-> house <- bone <-Likes- dog
        ([0, 3, 6, 1, 2], [1, 2, 5, 3]),
        ([0, 3, 6, 5, 2], [1, 2, 5, 4]),
    ]
    assert p.path_nodes.shape == (5, 5) and p.path_relations.shape == (5, 4)
    assert p.path_length.tolist() == [2, 2, 4, 4, 4]
    assert p.path_nodes[2].tolist() == [0, 2, 6, 5, 1]  # local: cat, dog, pet, milk, animal, bone, house
    assert p.graph.node_ids.tolist() == [0, 2, 1, 3, 4, 5, 6]


def test_schema_graph_exact(kg: KnowledgeGraph) -> None:
    p = find_paths(kg, [0, 6], [2], max_hops=2)
    # cat->dog: via pet, via animal; house->dog: via bone, via pet
    assert global_paths(p) == [
        ([0, 1, 2], [0, 3]),
        ([0, 4, 2], [0, 3]),
        ([6, 1, 2], [5, 3]),
        ([6, 5, 2], [5, 4]),
    ]
    g = p.graph
    assert g.node_ids.tolist() == [0, 6, 2, 1, 4, 5]
    assert g.node_type.tolist() == [NODE_QUESTION, NODE_QUESTION, NODE_ANSWER, NODE_OTHER, NODE_OTHER, NODE_OTHER]
    got = sorted(zip(g.edge_index[0].tolist(), g.edge_index[1].tolist(), g.edge_type.tolist()))
    ids = g.node_ids.tolist()
    fwd = {(0, 1, 0), (0, 4, 0), (2, 1, 0), (2, 4, 0), (1, 6, 2), (5, 6, 2), (2, 5, 1)}
    loc = {v: i for i, v in enumerate(ids)}
    want = sorted({(loc[h], loc[t], r) for h, t, r in fwd} | {(loc[t], loc[h], r + 3) for h, t, r in fwd})
    assert got == want
    assert list(zip(g.edge_index[0].tolist(), g.edge_index[1].tolist(), g.edge_type.tolist())) == want


def test_cap_per_pair_and_order(kg: KnowledgeGraph) -> None:
    p = find_paths(kg, [0], [2, 6], max_hops=3, max_paths_per_pair=1)
    assert global_paths(p) == [([0, 1, 2], [0, 3]), ([0, 1, 6], [0, 2])]
    p = find_paths(kg, [0], [6], max_hops=4, max_paths_per_pair=64)
    assert global_paths(p) == [
        ([0, 1, 6], [0, 2]),
        ([0, 3, 6], [1, 2]),
        ([0, 1, 2, 5, 6], [0, 3, 1, 2]),
        ([0, 4, 2, 1, 6], [0, 3, 0, 2]),
        ([0, 4, 2, 5, 6], [0, 3, 1, 2]),
    ]
    p = find_paths(kg, [0], [6], max_hops=4, max_paths_per_pair=3)
    assert [nodes for nodes, _ in global_paths(p)] == [[0, 1, 6], [0, 3, 6], [0, 1, 2, 5, 6]]
    assert find_paths(kg, [0], [6], max_hops=3).num_paths == 2


def test_parallel_edges_use_smallest_type() -> None:
    # a -r1-> b, b -r0-> a: walking a -> b may use r1 (forward) or r0 + R (backward) -> 1
    kg = KnowledgeGraph(["a", "b"], ["r0", "r1"], [[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert global_paths(find_paths(kg, [0], [1])) == [([0, 1], [1])]
    assert global_paths(find_paths(kg, [1], [0])) == [([1, 0], [0])]
    p = find_paths(kg, [0], [1])
    got = sorted(zip(p.graph.edge_index[0].tolist(), p.graph.edge_index[1].tolist(), p.graph.edge_type.tolist()))
    assert got == [(0, 1, 1), (1, 0, 3)]


def test_empty_cases(kg: KnowledgeGraph) -> None:
    p = find_paths(kg, [], [2], max_hops=3)
    assert p.num_paths == 0 and p.path_nodes.shape == (0, 4) and p.path_relations.shape == (0, 3)
    assert p.graph.node_ids.tolist() == [2] and p.graph.num_edges == 0
    p = find_paths(kg, [2], [2])  # the same entity: an answer entity, no pair
    assert p.num_paths == 0 and p.graph.node_type.tolist() == [NODE_ANSWER]
    p = find_paths(kg, [0], [2], max_hops=1)
    assert p.num_paths == 0 and p.graph.node_ids.tolist() == [0, 2]
    assert p.graph.edge_index.shape == (2, 0)


def test_bad_arguments(kg: KnowledgeGraph) -> None:
    with pytest.raises(ValueError, match="max_hops"):
        find_paths(kg, [0], [2], max_hops=0)
    with pytest.raises(ValueError, match="max_paths_per_pair"):
        find_paths(kg, [0], [2], max_paths_per_pair=0)
    with pytest.raises(ValueError, match="out of range"):
        find_paths(kg, [0], [99])


def test_dict_round_trip_and_batch(kg: KnowledgeGraph) -> None:
    p = find_paths(kg, [0, 6], [2])
    back = ChoicePaths.from_dict({k: v.clone() for k, v in p.to_dict().items()})
    assert back.graph.equals(p.graph)
    for a, b in zip((back.path_nodes, back.path_relations, back.path_length), (p.path_nodes, p.path_relations, p.path_length)):
        assert torch.equal(a, b)
    bad = p.to_dict()
    bad["path_nodes"] = bad["path_nodes"][:, :2]
    with pytest.raises(ValueError, match="path_nodes"):
        ChoicePaths.from_dict(bad)
    with pytest.raises(ValueError, match="^ChoicePaths data lacks key 'path_length'$"):
        ChoicePaths.from_dict({k: v for k, v in p.to_dict().items() if k != "path_length"})
    with pytest.raises(ValueError, match="^ChoiceGraph data lacks key 'edge_type'$"):
        ChoicePaths.from_dict({k: v for k, v in p.to_dict().items() if k != "edge_type"})
    batch = find_paths_batch(kg, [([0], [2]), ([6], [0])], max_hops=2)
    assert [global_paths(x) for x in batch] == [global_paths(find_paths(kg, [0], [2], max_hops=2)),
                                               global_paths(find_paths(kg, [6], [0], max_hops=2))]


# ---------------------------------------------------------------------------- networkx reference
def reference(triples, num_relations, n, q, a, k, cap):  # type: ignore[no-untyped-def]
    simple = nx.Graph()
    simple.add_nodes_from(range(n))
    hop_type: dict[tuple[int, int], int] = {}
    for h, r, t in triples:
        if h != t:
            simple.add_edge(h, t)
            hop_type[h, t] = min(hop_type.get((h, t), r), r)
            hop_type[t, h] = min(hop_type.get((t, h), r + num_relations), r + num_relations)
    answers = sorted(set(a))
    questions = sorted(set(q) - set(a))
    out = []
    for x in questions:
        for y in answers:
            paths = sorted(nx.all_simple_paths(simple, x, y, cutoff=k), key=lambda p: (len(p), p))
            for p in paths[:cap]:
                out.append((p, [hop_type[p[i], p[i + 1]] for i in range(len(p) - 1)]))
    return questions, answers, out


@st.composite
def random_case(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 8))
    r = draw(st.integers(1, 3))
    triples = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, r - 1), st.integers(0, n - 1)), max_size=20))
    q = draw(st.lists(st.integers(0, n - 1), max_size=3))
    a = draw(st.lists(st.integers(0, n - 1), max_size=3))
    k = draw(st.integers(1, 4))
    cap = draw(st.one_of(st.none(), st.integers(1, 4)))
    return n, r, triples, q, a, k, cap


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_matches_networkx_all_simple_paths(case) -> None:  # type: ignore[no-untyped-def]
    n, r, triples, q, a, k, cap = case
    kg = KnowledgeGraph([f"e{i}" for i in range(n)], [f"r{i}" for i in range(r)],
                        torch.tensor(triples, dtype=torch.long).reshape(-1, 3))
    p = find_paths(kg, q, a, max_hops=k, max_paths_per_pair=cap)
    questions, answers, want = reference(triples, r, n, q, a, k, cap)
    assert global_paths(p) == want
    on_paths = sorted({v for nodes, _ in want for v in nodes} - set(questions) - set(answers))
    assert p.graph.node_ids.tolist() == questions + answers + on_paths
    assert p.path_nodes.shape == (len(want), k + 1)
    # schema edges: exactly the hops of the paths and their reverses
    loc = {v: i for i, v in enumerate(p.graph.node_ids.tolist())}
    hops = {(loc[u], loc[v], t) for nodes, rels in want for u, v, t in zip(nodes, nodes[1:], rels)}
    hops |= {(v, u, (t + r) % (2 * r)) for u, v, t in hops}
    got = list(zip(p.graph.edge_index[0].tolist(), p.graph.edge_index[1].tolist(), p.graph.edge_type.tolist()))
    assert got == sorted(hops)
    again = find_paths(kg, q[::-1], a + a, max_hops=k, max_paths_per_pair=cap)
    assert torch.equal(again.path_nodes, p.path_nodes) and torch.equal(again.path_relations, p.path_relations)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.lists(st.tuples(st.lists(st.integers(0, 7), max_size=3), st.lists(st.integers(0, 7), max_size=3)), max_size=5), st.integers(1, 3))
def test_batch_matches_single_on_random_graphs(case, more, batch_size) -> None:  # type: ignore[no-untyped-def]
    n, r, triples, q, a, k, cap = case
    kg = KnowledgeGraph([f"e{i}" for i in range(n)], [f"r{i}" for i in range(r)],
                        torch.tensor(triples, dtype=torch.long).reshape(-1, 3))
    pairs = [(q, a)] + [([x % n for x in qq], [x % n for x in aa]) for qq, aa in more]
    batch = find_paths_batch(kg, pairs, max_hops=k, max_paths_per_pair=cap, batch_size=batch_size)
    for got, (qq, aa) in zip(batch, pairs, strict=True):
        want = find_paths(kg, qq, aa, max_hops=k, max_paths_per_pair=cap)
        assert got.graph.equals(want.graph)
        for x, y in zip((got.path_nodes, got.path_relations, got.path_length), (want.path_nodes, want.path_relations, want.path_length)):
            assert x.shape == y.shape and torch.equal(x, y)
