"""Tests of the ConceptNet builders (kglm/kg/conceptnet.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kglm.kg import KnowledgeGraph
from kglm.kg.conceptnet import MERGE_TABLE, MERGED_RELATIONS, concept_name, from_conceptnet, merge_relation

FIXTURES = Path(__file__).parent / "fixtures"
CN100K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "conceptnet" / "cn100k"


def named_triples(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    e, r = kg.entities, kg.relations
    return {(e[h], r[p], e[t]) for h, p, t in kg.triples.tolist()}


def test_merge_table() -> None:
    assert len(MERGED_RELATIONS) == 17 and set(v for v, _ in MERGE_TABLE.values()) == set(MERGED_RELATIONS)
    assert merge_relation("/r/HasA") == ("partof", True)
    assert merge_relation("MotivatedByGoal") == ("causes", True)
    assert merge_relation("distinctfrom") == ("antonym", False)
    assert merge_relation("NotIsA") is None
    assert concept_name("/c/en/ice_cream/n/wn/food") == "ice cream"
    with pytest.raises(ValueError, match="not a ConceptNet concept URI"):
        concept_name("http://dbpedia.org/resource/Cat")


def test_assertions_csv_merged() -> None:
    kg = from_conceptnet(FIXTURES / "conceptnet_assertions.csv")
    assert kg.entities == ["ice cream", "freezer", "tail", "cat", "feline", "jazz band", "jazz"]
    assert kg.relations == [*MERGED_RELATIONS, "dbpedia/genre"]
    assert named_triples(kg) == {
        ("ice cream", "atlocation", "freezer"),
        ("tail", "partof", "cat"),  # HasA reversed
        ("cat", "relatedto", "feline"),  # Synonym and RelatedTo merged, deduplicated
        ("jazz band", "dbpedia/genre", "jazz"),  # not in the table: kept under its own name
    }
    assert kg.num_triples == 4
    assert kg.labels_of(0) == ["ice cream"]
    assert kg.metadata["dropped_other_language"] == 2  # /c/fr/chat and the ExternalURL
    assert kg.metadata["dropped_duplicates"] == 1


def test_assertions_original_names_and_drop_unmerged(tmp_path: Path) -> None:
    kg = from_conceptnet(FIXTURES / "conceptnet_assertions.csv", merge_relations=False)
    assert kg.relations == ["AtLocation", "HasA", "Synonym", "RelatedTo", "dbpedia/genre"]
    assert ("cat", "HasA", "tail") in named_triples(kg) and kg.num_triples == 5
    gz = tmp_path / "assertions.csv.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "conceptnet_assertions.csv").read_bytes()))
    dropped = from_conceptnet(gz, drop_unmerged=True)
    assert dropped.relations == list(MERGED_RELATIONS)
    assert dropped.num_triples == 3 and dropped.metadata["dropped_unmerged"] == {"dbpedia/genre": 1}


def test_cn100k_tsv() -> None:
    kg = from_conceptnet(FIXTURES / "cn100k_sample.txt")
    assert named_triples(kg) == {
        ("ice cream", "atlocation", "freezer"),
        ("tail", "partof", "cat"),
        ("earn money", "causes", "go to work"),
        ("cat", "notisa", "dog"),
        ("cat", "isa", "animal"),  # IsA and DefinedAs merged
    }
    orig = from_conceptnet(FIXTURES / "cn100k_sample.txt", merge_relations=False, deduplicate=False)
    assert orig.relations == ["AtLocation", "HasA", "MotivatedByGoal", "NotIsA", "IsA", "DefinedAs"]
    assert orig.num_triples == 6


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cn100k_bad\.txt:2: expected 3 tab-separated columns"):
        from_conceptnet(FIXTURES / "cn100k_bad.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match=r"empty\.txt: empty input"):
        from_conceptnet(tmp_path / "empty.txt")
    (tmp_path / "fr.csv").write_text("/a/x\t/r/IsA\t/c/fr/chat\t/c/fr/animal\t{}\n")
    with pytest.raises(ValueError, match=r"fr\.csv: empty input, no 'en' ConceptNet triples kept \(1 lines read, 1 in other"):
        from_conceptnet(tmp_path / "fr.csv")
    with pytest.raises(ValueError, match="format must be"):
        from_conceptnet(FIXTURES / "cn100k_sample.txt", format="tsv")


@pytest.mark.slow
@pytest.mark.skipif(not (CN100K / "train.txt").exists(), reason="../shared/data/conceptnet/cn100k absent")
def test_cn100k_integration() -> None:
    kg = KnowledgeGraph.from_conceptnet([CN100K / "train.txt", CN100K / "valid.txt", CN100K / "test.txt"],
                                        merge_relations=False, deduplicate=False)
    assert kg.num_triples == 102400 and kg.num_relations == 34
    assert kg.triples[0].tolist() == [kg.entity_id("hockey"), kg.relation_id("ReceivesAction"),
                                      kg.entity_id("play on ice")]
    merged = KnowledgeGraph.from_conceptnet(CN100K / "train.txt")
    assert merged.relations[:17] == list(MERGED_RELATIONS)
    assert set(merged.relations[17:]) == {"nothasproperty", "symbolof", "notisa", "nothasa", "inheritsfrom",
                                          "desireof", "notmadeof", "locationofaction", "haspainintensity",
                                          "haspaincharacter"}
    assert merged.num_triples + merged.metadata["dropped_duplicates"] == 100000
