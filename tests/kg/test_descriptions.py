"""Entity descriptions in KnowledgeGraph: storage, transforms, save/load, fingerprint, RDF, networkx."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kglm.kg.graph import KnowledgeGraph
from kglm.kg.rdf import from_rdf
from kglm.kg.triples import from_triples

# fingerprint of this graph computed by kglm before descriptions existed (commit c0b0abf)
OLD_FINGERPRINT = "00dbdba03664d3445800ad9d5cfb98af05d5ef7e2a18f9b5e1772e5a6df6564e"


def plain() -> KnowledgeGraph:
    return KnowledgeGraph(["cat", "animal", "dog"], ["IsA"], [[0, 0, 1], [2, 0, 1]], {0: ["cat", "kitty"]})


def described() -> KnowledgeGraph:
    return from_triples(
        [("cat", "IsA", "animal"), ("dog", "IsA", "animal")],
        descriptions={"cat": ["a small feline", "a pet", "a small feline", ""], "dog": "a canine"},
    )


def test_constructor_and_accessors() -> None:
    kg = KnowledgeGraph(["a", "b", "c"], ["r"], [[0, 0, 1]], descriptions={2: ["third", "3rd"], 0: "first"})
    assert kg.num_descriptions == 3
    assert [kg.descriptions_of(i) for i in range(3)] == [["first"], [], ["third", "3rd"]]
    assert kg.descriptions_dict() == {0: ["first"], 2: ["third", "3rd"]}
    owner, text = kg.description_index()
    assert owner.tolist() == [0, 2, 2] and text == ["first", "third", "3rd"]
    assert "num_descriptions=3" in repr(kg)
    with pytest.raises(IndexError):
        kg.descriptions_of(3)
    with pytest.raises(ValueError, match="descriptions: key 5"):
        KnowledgeGraph(["a"], ["r"], [], descriptions={5: ["x"]})


def test_from_triples_by_name_drops_empty_and_repeats() -> None:
    kg = described()
    assert kg.descriptions_dict() == {kg.entity_id("cat"): ["a small feline", "a pet"], kg.entity_id("dog"): ["a canine"]}
    assert kg.descriptions_of(kg.entity_id("animal")) == []


def test_no_descriptions_keeps_old_fingerprint_and_files(tmp_path: Path) -> None:
    kg = plain()
    assert kg.num_descriptions == 0 and kg.descriptions_dict() == {} and "num_descriptions" not in repr(kg)
    assert kg.fingerprint == OLD_FINGERPRINT
    kg.save(tmp_path / "g")
    assert not (tmp_path / "g" / "descriptions.json").exists()
    # a graph saved before descriptions existed: no num_descriptions in the header
    header = json.loads((tmp_path / "g" / "kg.json").read_text())
    del header["num_descriptions"]
    (tmp_path / "g" / "kg.json").write_text(json.dumps(header))
    loaded = KnowledgeGraph.load(tmp_path / "g")
    assert loaded.num_descriptions == 0 and loaded.descriptions_of(1) == []
    assert loaded.fingerprint == OLD_FINGERPRINT
    with_desc = KnowledgeGraph(["cat", "animal", "dog"], ["IsA"], [[0, 0, 1], [2, 0, 1]], {0: ["cat", "kitty"]},
                               descriptions={1: ["a living thing"]})
    assert with_desc.fingerprint != OLD_FINGERPRINT
    other = KnowledgeGraph(["cat", "animal", "dog"], ["IsA"], [[0, 0, 1], [2, 0, 1]], {0: ["cat", "kitty"]},
                           descriptions={1: ["a living being"]})
    assert other.fingerprint != with_desc.fingerprint


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path: Path, mmap: bool) -> None:
    kg = described()
    kg.save(tmp_path / "g")
    loaded = KnowledgeGraph.load(tmp_path / "g", mmap=mmap)
    assert loaded.num_descriptions == 3
    assert loaded.descriptions_dict() == kg.descriptions_dict()
    assert loaded.fingerprint == kg.fingerprint
    loaded.save(tmp_path / "h")  # re-save from the lazily loaded graph
    assert KnowledgeGraph.load(tmp_path / "h").descriptions_dict() == kg.descriptions_dict()


def test_load_rejects_inconsistent_description_files(tmp_path: Path) -> None:
    described().save(tmp_path / "g")
    (tmp_path / "g" / "descriptions.json").write_text(json.dumps(["only one"]))
    kg = KnowledgeGraph.load(tmp_path / "g")
    with pytest.raises(ValueError, match=r"descriptions\.json: 1 descriptions, description_ptr\.npy says 3"):
        kg.descriptions_of(0)


def test_load_rejects_inconsistent_label_files_and_bad_ids(tmp_path: Path) -> None:
    """Labels and descriptions share one lazy reader and one id check."""
    described().save(tmp_path / "g")
    (tmp_path / "g" / "labels.json").write_text(json.dumps(["only one"]))
    kg = KnowledgeGraph.load(tmp_path / "g")
    assert kg.descriptions_of(0) == described().descriptions_of(0)
    with pytest.raises(ValueError, match=r"labels\.json: 1 labels, label_ptr\.npy says \d+$"):
        kg.labels_of(0)
    for lookup in (kg.labels_of, kg.descriptions_of):
        with pytest.raises(IndexError, match=rf"entity id {kg.num_entities} out of range \[0, {kg.num_entities}\)"):
            lookup(kg.num_entities)
    owner, texts = described().description_index()
    assert [described().descriptions_of(int(i)).count(t) > 0 for i, t in zip(owner, texts)] == [True] * len(texts)


def test_transforms_keep_descriptions() -> None:
    kg = described()
    cat, animal, dog = (kg.entity_id(n) for n in ("cat", "animal", "dog"))
    sub = kg.subgraph([dog, cat])
    assert sub.entities == ["dog", "cat"]
    assert sub.descriptions_dict() == {0: ["a canine"], 1: ["a small feline", "a pet"]}
    assert kg.subgraph([animal]).num_descriptions == 0
    assert kg.add_inverse_relations().descriptions_dict() == kg.descriptions_dict()
    doubled = KnowledgeGraph(kg.entities, kg.relations, kg.triples.repeat(2, 1), descriptions=kg.descriptions_dict())
    assert doubled.deduplicate().descriptions_dict() == kg.descriptions_dict()
    back = KnowledgeGraph.from_networkx(kg.to_networkx())
    assert back.descriptions_dict() == kg.descriptions_dict() and back.fingerprint == kg.fingerprint


@pytest.mark.parametrize("suffix", ["nt", "ttl"])
def test_rdf_round_trip(tmp_path: Path, suffix: str) -> None:
    kg = described()
    kg.to_rdf(tmp_path / f"g.{suffix}")
    text = (tmp_path / f"g.{suffix}").read_text()
    assert "http://www.w3.org/2004/02/skos/core#definition" in text or "skos:definition" in text
    back = KnowledgeGraph.from_rdf(tmp_path / f"g.{suffix}")
    got = {back.entities[i]: d for i, d in back.descriptions_dict().items()}
    if suffix != "nt":  # rdflib's Turtle serializer sorts objects; N-Triples keeps the order
        got = {k: sorted(v, reverse=True) for k, v in got.items()}
    assert got == {"cat": ["a small feline", "a pet"], "dog": ["a canine"]}


def test_rdf_description_predicates_and_languages(tmp_path: Path) -> None:
    f = tmp_path / "d.ttl"
    f.write_text(
        '@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n'
        '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
        '@prefix obo: <http://purl.obolibrary.org/obo/> .\n'
        '@prefix dcterms: <http://purl.org/dc/terms/> .\n'
        '@prefix ex: <http://example.org/> .\n'
        'ex:Apple ex:isA ex:Fruit ; skos:definition "a pome"@en , "eine Kernfrucht"@de ;'
        ' obo:IAO_0000115 "fruit of Malus"@en .\n'
        'ex:Fruit rdfs:comment "a seed-bearing structure" ; dcterms:description "Frucht"@de .\n',
        encoding="utf-8")
    kg = from_rdf(f, languages=("en", None))
    apple, fruit = kg.entity_id("http://example.org/Apple"), kg.entity_id("http://example.org/Fruit")
    assert kg.descriptions_of(apple) == ["a pome", "fruit of Malus"]
    assert kg.descriptions_of(fruit) == ["a seed-bearing structure"]  # no fallback to German
    assert kg.metadata["dropped_description_languages"] == 2
    assert from_rdf(f).descriptions_of(fruit) == ["a seed-bearing structure", "Frucht"]
    only_skos = from_rdf(f, description_predicates=["skos:definition"], languages=("en",))
    assert only_skos.descriptions_dict() == {apple: ["a pome"]}
    assert only_skos.metadata["dropped_literals"] == 3


def test_attributes_round_trip(tmp_path: Path) -> None:
    attrs = {"lexname": ["noun.animal", None, "noun.animal"], "examples": [["a cat sat"], [], []]}
    kg = KnowledgeGraph(["cat", "animal", "dog"], ["IsA"], [[0, 0, 1], [2, 0, 1]], {0: ["cat", "kitty"]},
                        attributes=attrs)
    assert kg.attribute_names == ["lexname", "examples"] and kg.attribute("lexname")[2] == "noun.animal"
    assert kg.fingerprint != OLD_FINGERPRINT
    with pytest.raises(KeyError, match="unknown attribute 'x'"):
        kg.attribute("x")
    with pytest.raises(ValueError, match="attribute 'a' has 1 values, the graph has 3 entities"):
        KnowledgeGraph(["cat", "animal", "dog"], ["IsA"], [], attributes={"a": [1]})
    kg.save(tmp_path / "g")
    loaded = KnowledgeGraph.load(tmp_path / "g")
    assert loaded.attribute_names == ["lexname", "examples"]
    assert loaded.attribute("examples") == attrs["examples"] and loaded.fingerprint == kg.fingerprint
    assert loaded.subgraph([2, 0]).attribute("examples") == [[], ["a cat sat"]]
    assert loaded.deduplicate().fingerprint == kg.fingerprint
    assert loaded.add_inverse_relations().attribute("lexname") == attrs["lexname"]
    assert KnowledgeGraph.from_networkx(kg.to_networkx()).fingerprint == kg.fingerprint
    assert not plain().attribute_names
