"""Property tests: CSR, neighbours, subgraph and deduplicate agree with plain-Python definitions."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kglm.kg.graph import KnowledgeGraph


@st.composite
def graphs(draw: st.DrawFn) -> KnowledgeGraph:
    E = draw(st.integers(1, 8))
    R = draw(st.integers(1, 3))
    rows = draw(st.lists(st.tuples(st.integers(0, E - 1), st.integers(0, R - 1), st.integers(0, E - 1)), max_size=25))
    return KnowledgeGraph([f"e{i}" for i in range(E)], [f"r{i}" for i in range(R)], rows or [])


@settings(max_examples=60, deadline=None)
@given(graphs(), st.data())
def test_structure_matches_python_definitions(kg: KnowledgeGraph, data: st.DataObject) -> None:
    rows = [tuple(t) for t in kg.triples.tolist()]
    for direction, (src, dst) in (("out", (0, 2)), ("in", (2, 0))):
        ptr, nbr, rel, tid = kg.csr(direction)
        for e in range(kg.num_entities):
            seg = range(int(ptr[e]), int(ptr[e + 1]))
            expected = [i for i, t in enumerate(rows) if t[src] == e]
            assert [int(tid[k]) for k in seg] == expected
            assert [int(nbr[k]) for k in seg] == [rows[i][dst] for i in expected]
            assert [int(rel[k]) for k in seg] == [rows[i][1] for i in expected]
    ids = data.draw(st.lists(st.integers(0, kg.num_entities - 1), unique=True))
    out = {t[2] for t in rows if t[0] in ids}
    inn = {t[0] for t in rows if t[2] in ids}
    assert kg.neighbors(ids, "out").tolist() == sorted(out)
    assert kg.neighbors(ids, "both").tolist() == sorted(out | inn)
    sub = kg.subgraph(ids)
    pos = {e: i for i, e in enumerate(ids)}
    assert sub.triples.tolist() == [[pos[h], r, pos[t]] for h, r, t in rows if h in pos and t in pos]
    assert kg.deduplicate().triples.tolist() == [list(t) for t in dict.fromkeys(rows)]
    assert torch.equal(kg.add_inverse_relations().triples[kg.num_triples:],
                       torch.tensor([[t, r + kg.num_relations, h] for h, r, t in rows], dtype=torch.long).reshape(-1, 3))
