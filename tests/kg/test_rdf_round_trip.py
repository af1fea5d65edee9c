"""to_rdf then from_rdf keeps entity and relation ids, relations without triples and (N-Triples) the fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from kglm.kg import KnowledgeGraph
from kglm.kg.rdf import ENTITY_INDEX, RELATION_INDEX, from_rdf


def _graph() -> KnowledgeGraph:
    # ids deliberately not in first-appearance order; "Unused" has no triple; "lonely" no edge
    entities = ["lonely", "animal", "dog", "bone", "cat", "http://example.org/Fish"]
    relations = ["Unused", "IsA", "Likes", "http://example.org/eats"]
    triples = [[2, 2, 3], [4, 1, 1], [2, 1, 1], [4, 3, 5]]
    return KnowledgeGraph(entities, relations, triples, labels={4: ["cat", "kitty"], 0: ["lonely one"]},
                          descriptions={2: ['a "domestic" canine\nof many breeds']})


@pytest.mark.parametrize("suffix", [".nt", ".nt.gz", ".ttl", ".rdf", ".jsonld"])
def test_round_trip_keeps_ids_and_empty_relations(tmp_path: Path, suffix: str) -> None:
    kg = _graph()
    out = tmp_path / f"kg{suffix}"
    kg.to_rdf(out)
    back = from_rdf(out)
    assert back.entities == kg.entities and back.relations == kg.relations
    assert sorted(map(tuple, back.triples.tolist())) == sorted(map(tuple, kg.triples.tolist()))
    assert [back.labels_of(i) for i in range(back.num_entities)] == [kg.labels_of(i) for i in range(kg.num_entities)]
    assert back.descriptions_dict() == kg.descriptions_dict()
    if suffix.startswith(".nt"):  # N-Triples also keep the triple order: the very same graph
        assert back.fingerprint == kg.fingerprint


def test_declarations_can_be_left_out_and_must_be_integers(tmp_path: Path) -> None:
    kg = _graph()
    kg.to_rdf(tmp_path / "plain.nt", declare_ids=False)
    text = (tmp_path / "plain.nt").read_text()
    assert ENTITY_INDEX not in text and RELATION_INDEX not in text
    assert "Unused" not in from_rdf(tmp_path / "plain.nt").relations  # no statement to appear in
    bad = tmp_path / "bad.nt"
    bad.write_text(f'<http://x/a> <http://x/p> <http://x/b> .\n<http://x/a> <{ENTITY_INDEX}> "one" .\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="must be an integer"):
        from_rdf(bad)
