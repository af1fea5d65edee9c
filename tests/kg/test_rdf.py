"""Tests of the RDF builder and exporter (kglm/kg/rdf.py)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest

from kglm.kg import KnowledgeGraph
from kglm.kg.rdf import (
    ENTITY_NS,
    from_rdf,
    guess_format,
    iter_ntriples,
    local_name_label,
    local_name_labels,
    to_rdf,
)

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EX = "http://example.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

ANIMAL_ENTITIES = {EX + n for n in ("Cat", "Pet", "Animal", "LivingRoom", "House", "RevolvingDoor", "Dog")}
ANIMAL_RELATIONS = {RDF_TYPE, EX + "isA", EX + "atLocation", EX + "partOf"}
ANIMAL_TRIPLES = {
    (EX + "Cat", RDF_TYPE, EX + "Pet"),
    (EX + "Cat", EX + "isA", EX + "Animal"),
    (EX + "Cat", EX + "atLocation", EX + "LivingRoom"),
    (EX + "LivingRoom", EX + "partOf", EX + "House"),
    (EX + "RevolvingDoor", EX + "partOf", EX + "House"),
}
ANIMAL_LABELS_EN = {
    EX + "Cat": ["cat", "kitty"],  # "Katze"@de filtered out
    EX + "Pet": ["pet"],  # local name
    EX + "Animal": ["animal"],
    EX + "LivingRoom": ["living room"],  # camelCase split
    EX + "House": ["house"],
    EX + "RevolvingDoor": ["revolving door"],
    EX + "Dog": ["Hund"],  # only a German label: kept rather than none
}


def named_triples(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    e, r = kg.entities, kg.relations
    return {(e[h], r[p], e[t]) for h, p, t in kg.triples.tolist()}


def labels_by_name(kg: KnowledgeGraph) -> dict[str, list[str]]:
    return {kg.entities[i]: sorted(kg.labels_of(i)) for i in range(kg.num_entities)}


@pytest.mark.parametrize("name, reader", [
    ("animals.ttl", "auto"), ("animals.nt", "oxigraph"), ("animals.nt", "python"), ("animals.nt", "rdflib"),
    ("animals.rdf", "auto"), ("animals.jsonld", "auto"),
])
def test_formats_give_the_same_graph(name: str, reader: str) -> None:
    kg = from_rdf(FIXTURES / name, languages=("en", None), ntriples_reader=reader)
    assert set(kg.entities) == ANIMAL_ENTITIES
    assert set(kg.relations) == ANIMAL_RELATIONS
    assert named_triples(kg) == ANIMAL_TRIPLES and kg.num_triples == 5
    assert labels_by_name(kg) == ANIMAL_LABELS_EN
    assert kg.metadata["dropped_literals"] == 1  # ex:weight (rdfs:comment is a description)
    assert kg.descriptions_dict() == {kg.entity_id(EX + "RevolvingDoor"): ["spins"]}
    assert kg.metadata["description_statements"] == 1
    assert kg.metadata["dropped_label_languages"] == 1
    assert kg.metadata["label_language_fallbacks"] == 1


def test_default_keeps_all_languages_and_document_order() -> None:
    kg = from_rdf(FIXTURES / "animals.ttl")
    assert kg.labels_of(kg.entity_id(EX + "Cat")) == ["cat", "Katze", "kitty"]
    assert kg.fingerprint == from_rdf(FIXTURES / "animals.rdf").fingerprint
    assert kg.fingerprint == from_rdf(FIXTURES / "animals.jsonld").fingerprint
    nt = from_rdf(FIXTURES / "animals.nt", ntriples_reader="python")
    assert nt.fingerprint == from_rdf(FIXTURES / "animals.nt", ntriples_reader="oxigraph").fingerprint
    assert nt.fingerprint == from_rdf(FIXTURES / "animals.nt", ntriples_reader="rdflib").fingerprint


def test_compressed_and_explicit_format(tmp_path: Path) -> None:
    gz = tmp_path / "animals.ttl.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "animals.ttl").read_bytes()))
    bz = tmp_path / "animals.nt.bz2"
    bz.write_bytes(bz2.compress((FIXTURES / "animals.nt").read_bytes()))
    odd = tmp_path / "animals.data"
    odd.write_bytes((FIXTURES / "animals.ttl").read_bytes())
    for kg in (from_rdf(gz), from_rdf(bz), from_rdf(bz, ntriples_reader="python"), from_rdf(odd, format="ttl")):
        assert named_triples(kg) == ANIMAL_TRIPLES
    with pytest.raises(ValueError, match=r"animals\.data: cannot guess the RDF format"):
        from_rdf(odd)


@pytest.mark.parametrize("reader", ["oxigraph", "python"])
def test_options_rdf_type_literals_and_label_predicates(reader: str) -> None:
    kg = from_rdf(FIXTURES / "animals.nt", drop_rdf_type=True, keep_literals=True,
                  label_predicates=["rdfs:label"], local_name_labels=False, ntriples_reader=reader,
                  description_predicates=())
    weight = '"4"^^<http://www.w3.org/2001/XMLSchema#integer>'
    spins = '"spins"@en'
    assert set(kg.relations) == {EX + "isA", EX + "atLocation", EX + "partOf", EX + "weight",
                                 "http://www.w3.org/2000/01/rdf-schema#comment",
                                 "http://www.w3.org/2004/02/skos/core#altLabel",
                                 "http://www.w3.org/2004/02/skos/core#prefLabel"}
    assert (EX + "Cat", EX + "weight", weight) in named_triples(kg)
    assert (EX + "Cat", "http://www.w3.org/2004/02/skos/core#altLabel", '"kitty"') in named_triples(kg)
    assert kg.labels_of(kg.entity_id(weight)) == ["4"]
    assert kg.labels_of(kg.entity_id(spins)) == ["spins"]
    assert kg.labels_of(kg.entity_id(EX + "House")) == [EX + "House"]  # no local-name label
    assert kg.metadata["dropped_rdf_type"] == 1


def test_blank_nodes_and_owl_restrictions() -> None:
    kg = from_rdf(FIXTURES / "restrictions.ttl")
    assert kg.num_triples == 7 and sum(e.startswith("_:") for e in kg.entities) == 2
    dropped = from_rdf(FIXTURES / "restrictions.ttl", drop_owl_restrictions=True)
    sub = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
    bnode = next(e for e in dropped.entities if e.startswith("_:"))
    assert named_triples(dropped) == {
        (EX + "Cat", sub, EX + "Animal"), (EX + "Mouse", EX + "hasPart", bnode), (bnode, EX + "kind", EX + "Tail"),
    }
    assert dropped.metadata["dropped_owl_restrictions"] == 1
    assert dropped.metadata["dropped_restriction_triples"] == 4


@pytest.mark.parametrize("reader", ["oxigraph", "python", "rdflib"])
def test_repeated_statements_count_once(reader: str) -> None:
    kg = from_rdf(FIXTURES / "duplicates.nt", ntriples_reader=reader)
    assert kg.triples.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert kg.metadata["dropped_duplicates"] == (0 if reader == "rdflib" else 1)


@pytest.mark.parametrize("name", ["quads.nq", "quads.trig"])
def test_quad_formats_merge_named_graphs(name: str) -> None:
    kg = from_rdf(FIXTURES / name)
    assert named_triples(kg) == {(EX + "Cat", EX + "isA", EX + "Animal"), (EX + "Mouse", EX + "isA", EX + "Animal")}
    assert kg.num_triples == 2  # the statement in two named graphs counts once
    assert labels_by_name(kg) == {EX + "Cat": ["cat"], EX + "Animal": ["animal"], EX + "Mouse": ["mouse"]}


def test_several_files_merge(tmp_path: Path) -> None:
    kg = from_rdf([FIXTURES / "animals.ttl", FIXTURES / "restrictions.ttl"])
    assert kg.num_triples == 12
    assert len(kg.metadata["sources"]) == 2


def test_local_name_label() -> None:
    assert local_name_label("http://example.org/RevolvingDoor") == "revolving door"
    assert local_name_label("http://example.org/onto#ice_cream") == "ice cream"
    assert local_name_label("http://example.org/HTTPServer") == "http server"
    assert local_name_label("urn:x:Living%20Room") == "living room"
    assert local_name_label("http://example.org/e12") == "e12"
    assert local_name_label("http://example.org/Big__Red_Door/") == "big red door"
    assert guess_format("a/b.owl.bz2") == "xml"
    iris = ["http://example.org/RevolvingDoor", "http://example.org/onto#ice_cream", "http://example.org/HTTPServer",
            "urn:x:Living%20Room", "http://example.org/e12", "http://example.org/Big__Red_Door/", "http://x.org/",
            "http://example.org/a%5Fb", "http://example.org/_lead", "Plain"]
    assert local_name_labels(iris) == [local_name_label(i) for i in iris]
    assert local_name_labels(iris)[-4:] == ["x.org", "a b", "lead", "plain"]
    assert local_name_labels([]) == []


def test_ntriples_reader_escapes(tmp_path: Path) -> None:
    p = tmp_path / "esc.nt"
    p.write_text('<http://e/a> <http://e/p> "tab\\there \\"q\\" \\u00e9"@en-GB .\n'
                 '_:x <http://e/p> <http://e/b> . # comment\n', encoding="utf-8")
    rows = list(iter_ntriples(p))
    assert rows[0] == ("http://e/a", None, "http://e/p", None, None, 'tab\there "q" \u00e9', "en-GB", None)
    assert rows[1] == (None, "x", "http://e/p", "http://e/b", None, None, None, None)


@pytest.mark.parametrize("name, reader, where", [
    ("malformed.ttl", "auto", "at line 3"),
    ("malformed.nt", "python", r"^\S*malformed\.nt:2: not a valid N-Triples statement"),
    ("malformed.nt", "oxigraph", r"invalid N-Triples: Parser error at line 2"),
    ("malformed.rdf", "auto", r"malformed\.rdf:4:4: mismatched tag"),
])
def test_malformed_rdf_names_file_and_line(name: str, reader: str, where: str) -> None:
    with pytest.raises(ValueError, match=where) as err:
        from_rdf(FIXTURES / name, ntriples_reader=reader)
    assert str(err.value).startswith(str(FIXTURES / name))


def test_empty_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"empty\.nt: empty input"):
        from_rdf(FIXTURES / "empty.nt")
    (tmp_path / "empty.ttl").write_text("@prefix ex: <http://example.org/> .\n")
    with pytest.raises(ValueError, match=r"empty\.ttl: empty input"):
        from_rdf(tmp_path / "empty.ttl")
    with pytest.raises(FileNotFoundError, match="nope.ttl: no such file"):
        from_rdf(tmp_path / "nope.ttl")


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".rdf", ".jsonld", ".nt.gz"])
def test_to_rdf_round_trip(tmp_path: Path, suffix: str) -> None:
    kg = KnowledgeGraph.from_triples([("ice cream", "AtLocation", "fridge"), ("cat", "IsA", "animal"),
                                      ("cat", "http://example.org/likes", "http://example.org/Fish")],
                                     labels={"cat": ["cat", "kitty", 'a "quoted"\nback\\slash']})
    out = tmp_path / f"kg{suffix}"
    kg.to_rdf(out)
    back = from_rdf(out)
    assert named_triples(back) == named_triples(kg)
    assert set(back.entities) == set(kg.entities) and set(back.relations) == set(kg.relations)
    assert labels_by_name(back) == labels_by_name(kg)  # every label written, so exactly the same
    assert labels_by_name(back)["cat"] == sorted(["cat", "kitty", 'a "quoted"\nback\\slash'])
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    if suffix == ".nt":
        assert f"<{ENTITY_NS}ice%20cream>" in out.read_text()


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "rdf" / "food_on.owl.bz2").exists(), reason="../shared/data/rdf/food_on.owl.bz2 absent")
def test_foodon_keeps_all_labels() -> None:
    kg = from_rdf(DATA / "rdf" / "food_on.owl.bz2")
    assert kg.metadata["statements"] == 46692
    assert kg.metadata["labels_kept"]["http://www.w3.org/2000/01/rdf-schema#label"] == 10549
    assert kg.metadata["labels_kept"]["http://www.geneontology.org/formats/oboInOwl#hasSynonym"] == 3098
    assert (kg.num_entities, kg.num_relations, kg.num_triples) == (10507, 4, 31744)
    i = kg.entity_id("http://purl.obolibrary.org/obo/FOODON_00001045")
    assert kg.labels_of(i) == ["ice cream food product"]


def test_malformed_json_ld_names_file_and_line(tmp_path: Path) -> None:
    from kglm.errors import DataFormatError

    path = tmp_path / "bad.jsonld"
    path.write_text('{"@graph": [\n  {"@id": }]}')
    with pytest.raises(DataFormatError, match=r"bad\.jsonld: invalid JSON at line 2 column 11: Expecting value$"):
        from_rdf(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataFormatError, match=r"bad\.jsonld: JSON nested too deeply$"):
        from_rdf(path)
