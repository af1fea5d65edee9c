"""The bundled demo data: files present, well formed, and supported by the KG."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import rdflib
from rdflib.namespace import RDFS, SKOS

from kglm.datasets.bundled import DEMO_SPLITS, demo_dir, demo_kg_path, demo_questions_path

CONCEPT = "https://kglm.dev/demo/concept/"
RELATION = "https://kglm.dev/demo/relation/"
LABEL_PREDICATES = (RDFS.label, SKOS.altLabel)


def _questions(split: str = "all") -> list[dict]:
    with open(demo_questions_path(split), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def rdf_graph() -> rdflib.Graph:
    return rdflib.Graph().parse(demo_kg_path(), format="turtle")


@pytest.fixture(scope="module")
def label_to_concept(rdf_graph: rdflib.Graph) -> dict[str, rdflib.URIRef]:
    index: dict[str, rdflib.URIRef] = {}
    for s, p, o in rdf_graph:
        if p in LABEL_PREDICATES:
            text = str(o)
            assert text not in index, f"label {text!r} is on both {index[text]} and {s}"
            index[text] = s
    return index


@pytest.fixture(scope="module")
def concept_graph(rdf_graph: rdflib.Graph) -> nx.Graph:
    """Undirected graph of the object-valued triples (labels left out)."""
    g = nx.Graph()
    for s, p, o in rdf_graph:
        if p not in LABEL_PREDICATES:
            g.add_edge(s, o)
    return g


def test_paths_point_into_the_package() -> None:
    assert demo_dir() == demo_kg_path().parent
    assert demo_kg_path().name == "commonsense.ttl"
    assert {split: demo_questions_path(split).name for split in DEMO_SPLITS} == {
        "all": "questions.jsonl",
        "train": "train.jsonl",
        "dev": "dev.jsonl",
    }
    packaged = Path(__file__).resolve().parents[2] / "kglm" / "resources" / "demo"
    assert demo_dir().resolve() == packaged.resolve()


def test_unknown_split_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown demo split 'test'; expected one of all, train, dev"):
        demo_questions_path("test")  # type: ignore[arg-type]


def test_kg_shape(rdf_graph: rdflib.Graph, concept_graph: nx.Graph) -> None:
    labels = [(s, o) for s, p, o in rdf_graph if p == RDFS.label]
    relation_triples = [(s, p, o) for s, p, o in rdf_graph if p not in LABEL_PREDICATES]
    alt_labels = [o for s, p, o in rdf_graph if p == SKOS.altLabel]
    assert len(rdf_graph) == 699
    assert len(relation_triples) == 400
    assert len(labels) == 265
    assert len(alt_labels) == 34
    # every concept has exactly one lower-case English rdfs:label
    concepts = {s for s, _, _ in relation_triples} | {o for _, _, o in relation_triples}
    assert len(concepts) == 265
    assert {s for s, _ in labels} == concepts
    for s, label in labels + [(None, o) for o in alt_labels]:
        assert label.language == "en"
        assert str(label) == str(label).lower().strip()
    for s, p, o in relation_triples:
        assert str(s).startswith(CONCEPT) and str(o).startswith(CONCEPT)
        assert str(p).startswith(RELATION)
    relations = {str(p)[len(RELATION):] for _, p, _ in relation_triples}
    assert relations == {
        "Antonym", "AtLocation", "CapableOf", "Causes", "CausesDesire", "Desires", "HasA",
        "HasPrerequisite", "HasProperty", "HasSubevent", "IsA", "MadeOf", "MotivatedByGoal",
        "PartOf", "ReceivesAction", "RelatedTo", "UsedFor",
    }
    assert nx.is_connected(concept_graph)


def test_labels_include_multiword_phrases_and_synonyms(
    label_to_concept: dict[str, rdflib.URIRef],
) -> None:
    for phrase in ("revolving door", "ice cream", "living room", "go to sleep", "grocery store"):
        assert phrase in label_to_concept
    assert label_to_concept["refrigerator"] == label_to_concept["fridge"] == rdflib.URIRef(CONCEPT + "fridge")
    assert label_to_concept["couch"] == label_to_concept["sofa"]
    assert label_to_concept["tv"] == label_to_concept["television"]


def test_question_files_are_csqa_shaped_and_split_without_overlap() -> None:
    everything = _questions("all")
    train, dev = _questions("train"), _questions("dev")
    assert (len(everything), len(train), len(dev)) == (53, 37, 16)
    ids = [q["id"] for q in everything]
    assert len(set(ids)) == len(ids)
    assert not {q["id"] for q in train} & {q["id"] for q in dev}
    assert sorted(train + dev, key=lambda q: q["id"]) == sorted(everything, key=lambda q: q["id"])
    for q in everything:
        assert set(q) == {"answerKey", "id", "question"}
        assert set(q["question"]) == {"question_concept", "choices", "stem"}
        assert [c["label"] for c in q["question"]["choices"]] == ["A", "B", "C", "D", "E"]
        texts = [c["text"] for c in q["question"]["choices"]]
        assert len(set(texts)) == 5
        assert q["answerKey"] in "ABCDE"
    # the answer position varies
    assert len({q["answerKey"] for q in everything}) == 5


def test_questions_are_supported_by_the_kg(
    label_to_concept: dict[str, rdflib.URIRef], concept_graph: nx.Graph
) -> None:
    for q in _questions("all"):
        body = q["question"]
        concept_text = body["question_concept"]
        assert concept_text in body["stem"].lower(), q["id"]
        assert concept_text in label_to_concept, (q["id"], concept_text)
        choices = {c["label"]: c["text"] for c in body["choices"]}
        for text in choices.values():
            assert text in label_to_concept, (q["id"], text)
        distance = nx.single_source_shortest_path_length(
            concept_graph, label_to_concept[concept_text], cutoff=2
        )
        answer = label_to_concept[choices[q["answerKey"]]]
        assert answer in distance, f"{q['id']}: answer not within 2 hops of {concept_text!r}"
        for key, text in choices.items():
            if key != q["answerKey"]:
                d = distance.get(label_to_concept[text])
                assert d is None or d > distance[answer], (
                    f"{q['id']}: distractor {text!r} is as close to {concept_text!r} as the answer"
                )


def test_kg_loads_through_knowledge_graph(label_to_concept: dict[str, rdflib.URIRef]) -> None:
    pytest.importorskip("kglm.kg.rdf", reason="kglm.kg.rdf (the RDF builder) is not written yet")
    from kglm.kg.graph import KnowledgeGraph

    kg = KnowledgeGraph.from_rdf(demo_kg_path())
    assert kg.num_entities == 265
    assert kg.num_triples == 400
    assert kg.num_relations == 17
    fridge = kg.entity_id(CONCEPT + "fridge")
    assert sorted(kg.labels_of(fridge)) == ["fridge", "refrigerator"]
    _, label_texts = kg.label_index()
    assert sorted(label_texts) == sorted(label_to_concept)
