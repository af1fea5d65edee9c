"""Merging graphs by normalised labels: exact results on two small graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kglm.kg.graph import KnowledgeGraph
from kglm.kg.merge import merge, normalise_label, triple_sources
from kglm.kg.triples import from_triples


def cn() -> KnowledgeGraph:
    return from_triples(
        [("dog", "IsA", "animal"), ("Ice_Cream", "AtLocation", "freezer"), ("dog", "AtLocation", "kennel")],
        descriptions={"freezer": ["a cold box"]},
    )


def wn() -> KnowledgeGraph:
    # wn:1-n is the second sense of "dog" (frump), wn:2-n the first (domestic dog): sense order, not id order
    return KnowledgeGraph(
        ["wn:1-n", "wn:2-n", "wn:3-n", "wn:4-n", "wn:5-n", "kennel"], ["hypernym"], [[1, 0, 2], [3, 0, 4]],
        labels={0: ["dog", "frump"], 1: ["dog", "domestic dog"], 2: ["animal"], 3: ["ice cream"],
                4: ["frozen dessert"], 5: ["dog house"]},
        descriptions={0: ["a dull woman"], 1: ["a domestic canid"], 2: ["a living organism"], 3: ["a frozen sweet"]},
        attributes={"sense_numbers": [[2, 1], [1, 1], [1], [1], [1], [1]],
                    "lexname": ["noun.person", "noun.animal", "noun.Tops", "noun.food", "noun.food", "noun.artifact"]},
    )


def by_name(kg: KnowledgeGraph, what: str) -> dict[str, list[str]]:
    get = kg.labels_of if what == "labels" else kg.descriptions_of
    return {n: get(i) for i, n in enumerate(kg.entities)}


def test_normalise_label() -> None:
    assert normalise_label("  Ice_Cream \t cone ") == "ice cream cone"
    assert normalise_label("Dog") == normalise_label("dog")


def test_merge_first_sense_exact() -> None:
    kg = merge([cn(), wn()], names=["cn", "wn"])
    assert kg.entities == ["dog", "animal", "Ice_Cream", "freezer", "kennel", "wn:1-n", "wn:5-n", "wn:kennel"]
    assert kg.relations == ["cn:IsA", "cn:AtLocation", "wn:hypernym"]
    assert kg.triples.tolist() == [[0, 0, 1], [2, 1, 3], [0, 1, 4], [0, 2, 1], [2, 2, 6]]
    assert triple_sources(kg).tolist() == [0, 0, 0, 1, 1]
    assert by_name(kg, "labels") == {
        "dog": ["dog", "domestic dog"], "animal": ["animal"], "Ice_Cream": ["Ice_Cream", "ice cream"],
        "freezer": ["freezer"], "kennel": ["kennel"], "wn:1-n": ["dog", "frump"], "wn:5-n": ["frozen dessert"],
        "wn:kennel": ["dog house"],
    }
    assert kg.descriptions_dict() == {0: ["a domestic canid"], 1: ["a living organism"], 2: ["a frozen sweet"],
                                      3: ["a cold box"], 5: ["a dull woman"]}
    assert kg.attribute_names == ["lexname", "merged_from"]  # sense_numbers consumed by the alignment
    assert kg.attribute("lexname") == ["noun.animal", "noun.Tops", "noun.food", None, None, "noun.person",
                                       "noun.food", "noun.artifact"]
    assert kg.attribute("merged_from")[0] == [[0, "dog"], [1, "wn:2-n"]]
    assert kg.attribute("merged_from")[7] == [[1, "kennel"]]
    info = kg.metadata["merge"]
    assert info["sources"] == ["cn", "wn"] and info["joined"] == [0, 3] and info["entities_per_source"] == [5, 6]


def test_merge_all_senses() -> None:
    kg = merge([cn(), wn()], names=["cn", "wn"], senses="all")
    assert kg.entities == ["dog", "animal", "Ice_Cream", "freezer", "kennel", "wn:5-n", "wn:kennel"]
    dog = kg.entity_id("dog")
    assert kg.labels_of(dog) == ["dog", "domestic dog", "frump"]
    assert kg.descriptions_of(dog) == ["a domestic canid", "a dull woman"]  # most frequent sense first
    assert kg.metadata["merge"]["joined"] == [0, 4]


def test_merge_without_alignment_and_classmethod(tmp_path: Path) -> None:
    kg = KnowledgeGraph.merge([cn(), wn()], align=None, names=["a", "b"])
    assert kg.num_entities == 11 and kg.relations == ["a:IsA", "a:AtLocation", "b:hypernym"]
    assert "b:kennel" in kg.entities
    kg.save(tmp_path / "m")
    loaded = KnowledgeGraph.load(tmp_path / "m")
    assert loaded.fingerprint == kg.fingerprint
    assert triple_sources(loaded).tolist() == [0, 0, 0, 1, 1]


def test_default_names_and_errors() -> None:
    kg = merge([cn(), wn()])
    assert kg.metadata["merge"]["sources"] == ["kg0", "kg1"]
    with pytest.raises(ValueError, match="at least two graphs"):
        merge([cn()])
    with pytest.raises(ValueError, match="distinct"):
        merge([cn(), wn()], names=["x", "x"])
    with pytest.raises(ValueError, match="align must be"):
        merge([cn(), wn()], align="name")
    with pytest.raises(ValueError, match="not made by"):
        triple_sources(cn())
