"""Tests for kglm.grounding.graphs: exact graphs on a hand-made KG, networkx reference on random KGs."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kglm.grounding.graphs import (
    NODE_ANSWER,
    NODE_OTHER,
    NODE_QUESTION,
    ChoiceGraph,
    extract_qa_subgraph,
    extract_qa_subgraphs,
)
from kglm.kg.graph import KnowledgeGraph

# 0 cat, 1 pet, 2 dog, 3 milk, 4 animal, 5 bone, 6 house; relations IsA, Likes, AtLocation
ENTITIES = ["cat", "pet", "dog", "milk", "animal", "bone", "house"]
RELATIONS = ["IsA", "Likes", "AtLocation"]
TRIPLES = [[0, 0, 1], [2, 0, 1], [0, 0, 4], [2, 0, 4], [0, 1, 3], [2, 1, 5], [1, 2, 6]]


@pytest.fixture
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES)


def edges(g: ChoiceGraph) -> list[tuple[int, int, int]]:
    return list(zip(g.edge_index[0].tolist(), g.edge_index[1].tolist(), g.edge_type.tolist()))


def test_two_hop_graph_exact(kg: KnowledgeGraph) -> None:
    g = extract_qa_subgraph(kg, [0], [2])
    assert g.node_ids.tolist() == [0, 2, 1, 4]
    assert g.node_type.tolist() == [NODE_QUESTION, NODE_ANSWER, NODE_OTHER, NODE_OTHER]
    # forward edges by source node in CSR order, then their reverses with type r + R (R = 3)
    assert edges(g) == [(0, 2, 0), (0, 3, 0), (1, 2, 0), (1, 3, 0), (2, 0, 3), (3, 0, 3), (2, 1, 3), (3, 1, 3)]
    assert (g.num_nodes, g.num_edges) == (4, 8)
    for t in (g.node_ids, g.node_type, g.edge_index, g.edge_type):
        assert t.dtype == torch.long


def test_intermediates_ordered_by_connected_entities_then_id(kg: KnowledgeGraph) -> None:
    # milk (3) joins cat and nothing else; with answer {dog, milk}: pet and animal touch cat and dog (score 2)
    g = extract_qa_subgraph(kg, [0, 6], [2])
    # house (6) is a question entity; pet (1) touches cat, dog and house: score 3 > animal (4): 2
    assert g.node_ids.tolist() == [0, 6, 2, 1, 4]
    assert g.node_type.tolist() == [0, 0, 1, 2, 2]
    fwd = {(int(g.node_ids[s]), int(g.node_ids[t]), r) for s, t, r in edges(g) if r < 3}
    assert fwd == {(0, 1, 0), (0, 4, 0), (2, 1, 0), (2, 4, 0), (1, 6, 2)}


def test_cap_priority(kg: KnowledgeGraph) -> None:
    assert extract_qa_subgraph(kg, [0, 6], [2], max_nodes=4).node_ids.tolist() == [0, 6, 2, 1]
    assert extract_qa_subgraph(kg, [0, 6], [2], max_nodes=3).node_ids.tolist() == [0, 6, 2]
    g = extract_qa_subgraph(kg, [0, 6], [2], max_nodes=2)  # answers first, then questions by id
    assert g.node_ids.tolist() == [0, 2]
    assert g.node_type.tolist() == [NODE_QUESTION, NODE_ANSWER]
    g = extract_qa_subgraph(kg, [0], [2, 5], max_nodes=1)
    assert g.node_ids.tolist() == [2] and g.num_edges == 0
    g = extract_qa_subgraph(kg, [0], [2], max_nodes=0)
    assert g.num_nodes == 0 and tuple(g.edge_index.shape) == (2, 0)
    assert extract_qa_subgraph(kg, [0], [2], max_nodes=None).node_ids.tolist() == [0, 2, 1, 4]


def test_node_scorer_reorders_and_decides_cap(kg: KnowledgeGraph) -> None:
    seen = []

    def scorer(ids: torch.Tensor) -> torch.Tensor:
        seen.append(ids.tolist())
        return (ids == 4).double()

    g = extract_qa_subgraph(kg, [0], [2], node_scorer=scorer)
    assert seen == [[1, 4]]
    assert g.node_ids.tolist() == [0, 2, 4, 1]
    assert extract_qa_subgraph(kg, [0], [2], max_nodes=3, node_scorer=scorer).node_ids.tolist() == [0, 2, 4]


def test_entity_in_question_and_answer_is_answer(kg: KnowledgeGraph) -> None:
    g = extract_qa_subgraph(kg, [0, 2, 2], [2])
    assert g.node_ids.tolist() == [0, 2, 1, 4]
    assert g.node_type.tolist() == [0, 1, 2, 2]
    g = extract_qa_subgraph(kg, [2], [2])
    assert g.node_ids.tolist() == [2] and g.node_type.tolist() == [NODE_ANSWER]


def test_one_hop_and_empty_sides(kg: KnowledgeGraph) -> None:
    g = extract_qa_subgraph(kg, [0], [1], hops=1)
    assert g.node_ids.tolist() == [0, 1] and edges(g) == [(0, 1, 0), (1, 0, 3)]
    g = extract_qa_subgraph(kg, [], [2])
    assert g.node_ids.tolist() == [2] and g.num_edges == 0
    g = extract_qa_subgraph(kg, torch.tensor([0]), torch.tensor([], dtype=torch.long))
    assert g.node_ids.tolist() == [0] and g.node_type.tolist() == [0]
    assert extract_qa_subgraph(kg, [], []).num_nodes == 0


def test_parallel_edges_and_self_loops_kept() -> None:
    kg = KnowledgeGraph(["a", "b", "c"], ["r0", "r1"], [[0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 0, 2]])
    g = extract_qa_subgraph(kg, [0], [2])
    assert g.node_ids.tolist() == [0, 2, 1]
    # sorted by (source, target) local index, parallel edges in triple order; then the reverses
    assert edges(g) == [(0, 2, 0), (0, 2, 1), (2, 1, 0), (2, 2, 1), (2, 0, 2), (2, 0, 3), (1, 2, 2), (2, 2, 3)]


def test_hub_edges_found_by_pair_lookup() -> None:
    # entity 0 has 11 outgoing triples, more than 4x the 2-node graph: edges come from pair lookups
    triples = [[0, 0, i] for i in range(1, 11)] + [[0, 1, 1], [1, 0, 0], [0, 0, 1]]
    kg = KnowledgeGraph([f"e{i}" for i in range(11)], ["r0", "r1"], triples)
    g = extract_qa_subgraph(kg, [0], [1], hops=1)
    assert g.node_ids.tolist() == [0, 1]
    assert edges(g) == [(0, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 0), (1, 0, 2), (1, 0, 3), (1, 0, 2), (0, 1, 2)]
    # the same edges when the graph is large enough for the scan
    g = extract_qa_subgraph(kg, [0, 2, 3, 4], [1], hops=1)
    assert [e for e in edges(g) if {e[0], e[1]} == {0, 4}] == [(0, 4, 0), (0, 4, 1), (0, 4, 0), (4, 0, 0), (4, 0, 2), (4, 0, 3), (4, 0, 2), (0, 4, 2)]


def test_bad_arguments(kg: KnowledgeGraph) -> None:
    with pytest.raises(ValueError, match="out of range"):
        extract_qa_subgraph(kg, [0], [7])
    with pytest.raises(ValueError, match="out of range"):
        extract_qa_subgraph(kg, [-1], [2])
    with pytest.raises(ValueError, match="hops"):
        extract_qa_subgraph(kg, [0], [2], hops=3)
    with pytest.raises(ValueError, match="max_nodes"):
        extract_qa_subgraph(kg, [0], [2], max_nodes=-1)
    with pytest.raises(ValueError, match="scores"):
        extract_qa_subgraph(kg, [0], [2], node_scorer=lambda ids: torch.zeros(1))


def test_batch_equals_single_and_scorer_gets_pair_index(kg: KnowledgeGraph) -> None:
    pairs = [([0], [2]), ([0, 6], [2]), ([], [3]), ([1], [1]), (torch.tensor([2]), torch.tensor([0]))]
    graphs = extract_qa_subgraphs(kg, pairs, batch_size=2)
    assert len(graphs) == 5
    for g, (q, a) in zip(graphs, pairs):
        assert g.equals(extract_qa_subgraph(kg, q, a))
    calls = []

    def scorer(pair: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        calls.append((pair.tolist(), ids.tolist()))
        return -ids.double()

    graphs = extract_qa_subgraphs(kg, pairs, batch_size=2, node_scorer=scorer)
    assert calls == [([0, 0, 1, 1], [1, 4, 1, 4]), ([4, 4], [1, 4])]
    assert graphs[0].node_ids.tolist() == [0, 2, 1, 4]
    assert graphs[4].node_ids.tolist() == [2, 0, 1, 4]
    assert extract_qa_subgraphs(kg, []) == []


def test_dict_round_trip_and_validation(kg: KnowledgeGraph) -> None:
    g = extract_qa_subgraph(kg, [0], [2])
    back = ChoiceGraph.from_dict({k: v.clone() for k, v in g.to_dict().items()})
    assert back.equals(g)
    assert ChoiceGraph.from_dict(ChoiceGraph.empty().to_dict()).num_nodes == 0
    bad = g.to_dict()
    bad["edge_index"] = bad["edge_index"] + 10
    with pytest.raises(ValueError, match="outside"):
        ChoiceGraph.from_dict(bad)
    with pytest.raises(ValueError, match="lacks key"):
        ChoiceGraph.from_dict({"node_ids": g.node_ids})
    with pytest.raises(ValueError, match="edge_type"):
        ChoiceGraph.from_dict({**g.to_dict(), "edge_type": g.edge_type[:-1]})


def test_to_pyg(kg: KnowledgeGraph) -> None:
    g = extract_qa_subgraph(kg, [0], [2])
    data = g.to_pyg()
    assert data.num_nodes == 4
    assert torch.equal(data.edge_index, g.edge_index)
    assert torch.equal(data.edge_type, g.edge_type)
    assert torch.equal(data.node_ids, g.node_ids)
    assert torch.equal(data.node_type, g.node_type)


# ---------------------------------------------------------------------------- networkx reference
def reference(triples, num_entities, num_relations, q, a, max_nodes, hops, score_of=None):  # type: ignore[no-untyped-def]
    """The QA-GNN definition written plainly with networkx (``score_of``: a node scorer's scores)."""
    simple = nx.Graph()
    simple.add_nodes_from(range(num_entities))
    simple.add_edges_from((h, t) for h, _, t in triples if h != t)
    answers = set(a)
    questions = set(q) - answers
    inter: set[int] = set()
    if hops == 2:
        for x in questions:
            for y in answers:
                inter |= set(simple[x]) & set(simple[y])
    inter -= questions | answers
    score = {v: sum(simple.has_edge(v, x) for x in questions | answers) for v in inter}
    if score_of is not None:
        score = {v: score_of(v) for v in inter}
    cap = len(questions) + len(answers) + len(inter) if max_nodes is None else max_nodes
    kept_a = sorted(answers)[:cap]
    kept_q = sorted(questions)[: cap - len(kept_a)]
    kept_o = sorted(inter, key=lambda v: (-score[v], v))[: cap - len(kept_a) - len(kept_q)]
    nodes = kept_q + kept_a + kept_o
    types = [NODE_QUESTION] * len(kept_q) + [NODE_ANSWER] * len(kept_a) + [NODE_OTHER] * len(kept_o)
    local = {v: i for i, v in enumerate(nodes)}
    fwd = sorted(((local[h], local[t], r) for h, r, t in triples if h in local and t in local), key=lambda e: e[:2])
    return nodes, types, fwd + [(t, h, r + num_relations) for h, t, r in fwd]


def make_kg(n: int, r: int, triples: list[tuple[int, int, int]]) -> KnowledgeGraph:
    t = torch.tensor(triples, dtype=torch.long).reshape(-1, 3)
    return KnowledgeGraph([f"e{i}" for i in range(n)], [f"r{i}" for i in range(r)], t)


@st.composite
def random_case(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 9))
    r = draw(st.integers(1, 3))
    triples = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, r - 1), st.integers(0, n - 1)), max_size=24))
    q = draw(st.lists(st.integers(0, n - 1), max_size=4))
    a = draw(st.lists(st.integers(0, n - 1), max_size=3))
    max_nodes = draw(st.one_of(st.none(), st.integers(0, 8)))
    hops = draw(st.sampled_from([1, 2]))
    return n, r, triples, q, a, max_nodes, hops


def score_of(v: int) -> float:
    """A node scorer's score for entity ``v`` (ties on purpose)."""
    return float((v * 7) % 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_matches_networkx_reference(case) -> None:  # type: ignore[no-untyped-def]
    n, r, triples, q, a, max_nodes, hops = case
    kg = make_kg(n, r, triples)
    g = extract_qa_subgraph(kg, q, a, max_nodes=max_nodes, hops=hops)
    nodes, types, edge_list = reference(triples, n, r, q, a, max_nodes, hops)
    assert g.node_ids.tolist() == nodes
    assert g.node_type.tolist() == types
    assert edges(g) == edge_list
    # invariants: edges join selected nodes, forward block then reverses, cap respected, deterministic
    e = g.num_edges // 2
    assert g.num_edges % 2 == 0
    assert torch.equal(g.edge_index[:, e:], g.edge_index[:, :e].flip(0))
    assert torch.equal(g.edge_type[e:], g.edge_type[:e] + r)
    assert bool(((g.edge_index >= 0) & (g.edge_index < g.num_nodes)).all())
    if max_nodes is not None:
        assert g.num_nodes <= max_nodes
    assert g.equals(extract_qa_subgraph(kg, list(reversed(q)) + q, a[::-1], max_nodes=max_nodes, hops=hops))
    # with a node scorer: the scorer's scores replace the default ones, ties still by id
    scored = extract_qa_subgraph(kg, q, a, max_nodes=max_nodes, hops=hops,
                                 node_scorer=lambda ids: torch.tensor([score_of(v) for v in ids.tolist()]))
    nodes, types, edge_list = reference(triples, n, r, q, a, max_nodes, hops, score_of)
    assert scored.node_ids.tolist() == nodes and scored.node_type.tolist() == types and edges(scored) == edge_list


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.lists(st.tuples(st.lists(st.integers(0, 8), max_size=4), st.lists(st.integers(0, 8), max_size=3)), max_size=6), st.integers(1, 4))
def test_batch_matches_single_on_random_graphs(case, more, batch_size) -> None:  # type: ignore[no-untyped-def]
    n, r, triples, q, a, max_nodes, hops = case
    kg = make_kg(n, r, triples)
    pairs = [(q, a)] + [([x % n for x in qq], [x % n for x in aa]) for qq, aa in more]
    batch = extract_qa_subgraphs(kg, pairs, max_nodes=max_nodes, hops=hops, batch_size=batch_size)
    for g, (qq, aa) in zip(batch, pairs, strict=True):
        assert g.equals(extract_qa_subgraph(kg, qq, aa, max_nodes=max_nodes, hops=hops))
