"""Tests of the KnowledgeGraph core (kglm/kg/graph.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from kglm.kg import graph as graph_module
from kglm.kg.graph import FORMAT_VERSION, KnowledgeGraph

ENTITIES = ["cat", "animal", "home", "mouse", "cheese"]
RELATIONS = ["IsA", "AtLocation", "Desires"]
TRIPLES = [
    [0, 0, 1],  # cat IsA animal
    [0, 1, 2],  # cat AtLocation home
    [3, 0, 1],  # mouse IsA animal
    [0, 2, 3],  # cat Desires mouse
    [3, 2, 4],  # mouse Desires cheese
    [0, 0, 1],  # duplicate
]


@pytest.fixture
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES, labels={0: ["cat", "kitty"], 4: ["cheese", "cheddar"]},
                          metadata={"source": "inline"})


def test_counts_repr_and_views(kg: KnowledgeGraph) -> None:
    assert (kg.num_entities, kg.num_relations, kg.num_triples, kg.num_labels) == (5, 3, 6, 7)
    assert repr(kg) == "KnowledgeGraph(num_entities=5, num_relations=3, num_triples=6, num_labels=7)"
    assert kg.triples.dtype == torch.long
    assert kg.head.tolist() == [0, 0, 3, 0, 3, 0]
    assert kg.relation.tolist() == [0, 1, 0, 2, 2, 0]
    assert kg.tail.tolist() == [1, 2, 1, 3, 4, 1]
    assert kg.entities == ENTITIES and kg.relations == RELATIONS


def test_lookups_and_errors(kg: KnowledgeGraph) -> None:
    assert kg.entity_id("mouse") == 3
    assert kg.relation_id("Desires") == 2
    with pytest.raises(KeyError, match="unknown entity 'dog'"):
        kg.entity_id("dog")
    with pytest.raises(KeyError, match="unknown relation 'PartOf'"):
        kg.relation_id("PartOf")


def test_labels(kg: KnowledgeGraph) -> None:
    assert kg.labels_of(0) == ["cat", "kitty"]
    assert kg.labels_of(1) == ["animal"]  # no labels given: the name
    owner, text = kg.label_index()
    assert owner.tolist() == [0, 0, 1, 2, 3, 4, 4]
    assert text == ["cat", "kitty", "animal", "home", "mouse", "cheese", "cheddar"]
    with pytest.raises(IndexError):
        kg.labels_of(5)


def test_entity_display_name_label_then_iri_tail(kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    from kglm.kg import entity_display_name as exported
    from kglm.training.predict import entity_display_name as predict_name

    assert exported is graph_module.entity_display_name is predict_name  # one function, old import path kept
    labelled = KnowledgeGraph(["http://ex.org/kb#Cat", "milk"], ["r"], [], labels={1: ["fresh milk", "milk"]})
    assert [exported(labelled, i) for i in range(2)] == ["http://ex.org/kb#Cat", "fresh milk"]
    bare = KnowledgeGraph(["http://ex.org/kb#Cat", "http://ex.org/dog/", "plain"], ["r"], [])
    monkeypatch.setattr(KnowledgeGraph, "labels_of", lambda self, i: [])
    assert [exported(bare, i) for i in range(3)] == ["Cat", "dog", "plain"]


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match=r"shape \(T, 3\)"):
        KnowledgeGraph(["a"], ["r"], [[0, 0]])
    with pytest.raises(ValueError, match="triple 1 has tail id 7 out of range"):
        KnowledgeGraph(["a", "b"], ["r"], [[0, 0, 1], [0, 0, 7]])
    with pytest.raises(ValueError, match="duplicate entity name 'a'"):
        KnowledgeGraph(["a", "a"], ["r"], [])
    with pytest.raises(ValueError, match="labels: key 3"):
        KnowledgeGraph(["a"], ["r"], [], labels={3: ["x"]})
    empty = KnowledgeGraph(["a"], [], [])
    assert empty.triples.shape == (0, 3) and empty.neighbors(0).tolist() == []


def test_csr_out_and_in(kg: KnowledgeGraph) -> None:
    ptr, nbr, rel, tid = kg.csr("out")
    assert ptr.tolist() == [0, 4, 4, 4, 6, 6]
    assert nbr.tolist() == [1, 2, 3, 1, 1, 4]
    assert rel.tolist() == [0, 1, 2, 0, 0, 2]
    assert tid.tolist() == [0, 1, 3, 5, 2, 4]
    assert kg.csr("out") is kg.csr("out")  # cached
    ptr, nbr, rel, tid = kg.csr("in")
    assert ptr.tolist() == [0, 0, 3, 4, 5, 6]
    assert nbr.tolist() == [0, 3, 0, 0, 0, 3]
    assert tid.tolist() == [0, 2, 5, 1, 3, 4]
    assert kg.degree("out").tolist() == [4, 0, 0, 2, 0]
    with pytest.raises(ValueError, match="direction"):
        kg.csr("sideways")


def test_neighbors(kg: KnowledgeGraph) -> None:
    assert kg.neighbors(0).tolist() == [1, 2, 3]
    assert kg.neighbors([0, 3]).tolist() == [1, 2, 3, 4]
    assert kg.neighbors(torch.tensor([1]), "in").tolist() == [0, 3]
    assert kg.neighbors([3], "both").tolist() == [0, 1, 4]
    assert kg.neighbors([2]).tolist() == []
    with pytest.raises(IndexError, match="entity id 9"):
        kg.neighbors([9])


def test_subgraph_keeps_given_order(kg: KnowledgeGraph) -> None:
    sub = kg.subgraph([3, 0, 1])
    assert sub.entities == ["mouse", "cat", "animal"]
    assert sub.relations == RELATIONS
    assert sub.triples.tolist() == [[1, 0, 2], [0, 0, 2], [1, 2, 0], [1, 0, 2]]
    assert sub.labels_of(1) == ["cat", "kitty"]
    with pytest.raises(ValueError, match="duplicates"):
        kg.subgraph([0, 0])


def test_add_inverse_relations(kg: KnowledgeGraph) -> None:
    inv = kg.add_inverse_relations()
    assert inv.relations == RELATIONS + ["IsA_inv", "AtLocation_inv", "Desires_inv"]
    assert inv.num_triples == 12
    assert inv.triples[6:].tolist() == [[1, 3, 0], [2, 4, 0], [1, 3, 3], [3, 5, 0], [4, 5, 3], [1, 3, 0]]


def test_deduplicate_keeps_first_occurrence_order(kg: KnowledgeGraph) -> None:
    d = kg.deduplicate()
    assert d.triples.tolist() == TRIPLES[:5]
    assert d.labels_of(4) == ["cheese", "cheddar"]
    assert "dropped_duplicates" not in d.metadata
    recorded = kg.deduplicate(record=True)  # what the builders (ConceptNet, WordNet, RDF) report
    assert recorded.triples.tolist() == TRIPLES[:5]
    assert recorded.metadata["dropped_duplicates"] == len(TRIPLES) - 5 and "dropped_duplicates" not in kg.metadata
    empty = KnowledgeGraph(["a"], ["r"], []).deduplicate(record=True)
    assert empty.num_triples == 0 and empty.metadata["dropped_duplicates"] == 0


def test_first_occurrences_both_paths() -> None:
    t = torch.tensor([[2, 1, 0], [0, 0, 1], [2, 1, 0], [1, 0, 2], [0, 0, 1]])
    assert graph_module._first_occurrences(t, 3, 2).tolist() == [0, 1, 3]
    assert graph_module._first_occurrences(t, 2**31, 2**4).tolist() == [0, 1, 3]  # row-unique fallback


def test_fingerprint_stable_and_content_sensitive(kg: KnowledgeGraph) -> None:
    same = KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES, labels={0: ["cat", "kitty"], 4: ["cheese", "cheddar"]})
    assert kg.fingerprint == same.fingerprint and len(kg.fingerprint) == 64
    other_label = KnowledgeGraph(ENTITIES, RELATIONS, TRIPLES, labels={0: ["cat"], 4: ["cheese", "cheddar"]})
    assert other_label.fingerprint != kg.fingerprint
    assert kg.deduplicate().fingerprint != kg.fingerprint


def test_to_pyg(kg: KnowledgeGraph) -> None:
    data = kg.to_pyg()
    assert data.num_nodes == 5
    assert data.edge_index.tolist() == [[0, 0, 3, 0, 3, 0], [1, 2, 1, 3, 4, 1]]
    assert data.edge_type.tolist() == [0, 1, 0, 2, 2, 0]


def test_networkx_round_trip(kg: KnowledgeGraph) -> None:
    g = kg.to_networkx()
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 6
    assert {(u, v, d["relation"]) for u, v, d in g.edges(data=True)} == {
        ("cat", "animal", "IsA"), ("cat", "home", "AtLocation"), ("mouse", "animal", "IsA"),
        ("cat", "mouse", "Desires"), ("mouse", "cheese", "Desires"),
    }
    back = KnowledgeGraph.from_networkx(g)
    assert back.fingerprint == kg.fingerprint
    assert back.triples.tolist() == TRIPLES
    assert back.metadata == {"source": "inline"}


def test_from_networkx_plain_graph() -> None:
    g = nx.DiGraph()
    g.add_edge("a", "b", relation="r1")
    g.add_edge("b", "c", relation="r2")
    kg = KnowledgeGraph.from_networkx(g)
    assert kg.entities == ["a", "b", "c"] and kg.relations == ["r1", "r2"]
    assert kg.triples.tolist() == [[0, 0, 1], [1, 1, 2]]
    g.add_edge("c", "a")
    with pytest.raises(ValueError, match="no 'relation' attribute"):
        KnowledgeGraph.from_networkx(g)


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(kg: KnowledgeGraph, tmp_path: Path, mmap: bool) -> None:
    out = tmp_path / "kg"
    kg.save(out)
    header = json.loads((out / "kg.json").read_text())
    assert header["format_version"] == FORMAT_VERSION
    assert (header["num_entities"], header["num_triples"]) == (5, 6)
    back = KnowledgeGraph.load(out, mmap=mmap)
    assert back.fingerprint == kg.fingerprint
    assert back.entities == ENTITIES and back.relations == RELATIONS
    assert back.triples.tolist() == TRIPLES
    assert back.labels_of(0) == ["cat", "kitty"]
    assert back.metadata == {"source": "inline"}
    for direction in ("out", "in"):
        for a, b in zip(back.csr(direction), kg.csr(direction)):
            assert torch.equal(a, b)
    # fingerprint recomputed from the loaded content matches
    back._fingerprint = None
    assert back.fingerprint == kg.fingerprint
    back.triples[0, 0] = 4  # copy-on-write: writable, file untouched
    assert KnowledgeGraph.load(out).triples[0, 0].item() == 0


def test_save_keeps_extras_and_overwrites(kg: KnowledgeGraph, tmp_path: Path) -> None:
    out = tmp_path / "kg"
    kg.save(out)
    (out / "extras" / "linker").mkdir(parents=True)
    (out / "extras" / "linker" / "index.json").write_text("{}")
    kg.deduplicate().save(out)
    assert (out / "extras" / "linker" / "index.json").read_text() == "{}"
    assert KnowledgeGraph.load(out).num_triples == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg"]


def test_loaded_graph_unaffected_by_a_later_save(kg: KnowledgeGraph, tmp_path: Path) -> None:
    kg.save(tmp_path / "kg")
    lazy = KnowledgeGraph.load(tmp_path / "kg")
    KnowledgeGraph(["x", "y", "z", "u", "v"], ["r"], [[0, 0, 1]]).save(tmp_path / "kg")
    assert lazy.entities == ENTITIES and lazy.labels_of(0) == ["cat", "kitty"]


def test_save_refuses_foreign_directory(kg: KnowledgeGraph, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a saved KnowledgeGraph"):
        kg.save(tmp_path)


def test_failed_save_leaves_nothing(kg: KnowledgeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kg"
    kg.save(out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real_save = np.save
    calls = {"n": 0}

    def failing_save(path: object, arr: object, *a: object, **k: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real_save(path, arr, *a, **k)

    monkeypatch.setattr(graph_module.np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        kg.deduplicate().save(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg"]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    calls["n"] = 0
    with pytest.raises(OSError):
        kg.save(tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg"]


def test_load_other_format_version(kg: KnowledgeGraph, tmp_path: Path) -> None:
    kg.save(tmp_path / "kg")
    header = json.loads((tmp_path / "kg" / "kg.json").read_text())
    header["format_version"] = 99
    (tmp_path / "kg" / "kg.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match=r"kg: KnowledgeGraph format version 99, but this kglm reads version 1"):
        KnowledgeGraph.load(tmp_path / "kg")


def test_load_missing_dir_and_file(kg: KnowledgeGraph, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such directory"):
        KnowledgeGraph.load(tmp_path / "nope")
    kg.save(tmp_path / "kg")
    os.remove(tmp_path / "kg" / "triples.npy")
    with pytest.raises(FileNotFoundError):
        KnowledgeGraph.load(tmp_path / "kg")


def test_top_level_lazy_export() -> None:
    import kglm

    assert kglm.KnowledgeGraph is KnowledgeGraph
