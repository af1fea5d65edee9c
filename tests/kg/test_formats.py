"""One KG format detector, by content (kglm/kg/formats.py), used by `kglm kg build`, training and the API."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kglm.errors import DataFormatError
from kglm.kg import KnowledgeGraph
from kglm.kg.formats import detect_format, load_kg_file, register_kg_format, unregister_kg_format

FIXTURES = Path(__file__).parent / "fixtures"
CN100K = Path(__file__).resolve().parents[3] / "shared" / "data" / "conceptnet" / "cn100k" / "train.txt"

CN_RELATIONS = ["IsA", "AtLocation", "UsedFor", "HasA", "CapableOf", "Desires", "NotIsA", "SymbolOf"]
WN_RELATIONS = ["_hypernym", "_derivationally_related_form", "_instance_hypernym", "_also_see",
                "_member_meronym", "_synset_domain_topic_of", "_has_part", "_member_of_domain_usage",
                "_member_of_domain_region", "_verb_group", "_similar_to"]


def _cn100k_like(path: Path) -> Path:
    """ConceptNet-100K's shape: Relation<TAB>head phrase<TAB>tail phrase."""
    rng = random.Random(0)
    phrases = [f"{w} {i}" for i, w in enumerate(["person", "this", "cat", "sleep", "go to bed"] * 12)]
    lines = [f"{CN_RELATIONS[i % len(CN_RELATIONS)]}\t{rng.choice(phrases)}\t{rng.choice(phrases)}" for i in range(160)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wn18rr_like(path: Path, header: bool = False) -> Path:
    """WN18RR's shape: head<TAB>relation<TAB>tail with 8-digit synset ids."""
    rng = random.Random(1)
    ids = [f"{rng.randrange(10**8):08d}" for _ in range(150)]
    lines = ["head\trelation\ttail"] if header else []
    lines += [f"{rng.choice(ids)}\t{WN_RELATIONS[i % 11]}\t{rng.choice(ids)}" for i in range(200)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cn100k_shape_is_relation_first(tmp_path: Path) -> None:
    path = _cn100k_like(tmp_path / "train.txt")
    assert detect_format(path).format == "cn100k"
    kg = load_kg_file(path)
    names = {n for row in path.read_text().splitlines() for n in row.split("\t")[1:]}
    assert kg.num_entities == len(names)
    # the 17 merged relations plus the two unmerged ones kept under their own names
    assert kg.num_relations == 17 + 2 and {"notisa", "symbolof"} <= set(kg.relations)


def test_wn18rr_shape_is_head_relation_tail_even_as_txt(tmp_path: Path) -> None:
    path = _wn18rr_like(tmp_path / "train.txt")
    assert detect_format(path).format == "triples"
    kg = load_kg_file(path)
    assert kg.num_relations == 11 and sorted(kg.relations) == sorted(WN_RELATIONS)
    with_header = detect_format(_wn18rr_like(tmp_path / "h.tsv", header=True))
    assert with_header.format == "triples" and with_header.header
    assert load_kg_file(tmp_path / "h.tsv").num_relations == 11  # the header row is not a triple


def test_training_resolver_and_cli_use_the_detector(tmp_path: Path) -> None:
    from kglm.cli import main
    from kglm.training.resources import load_kg

    wn = _wn18rr_like(tmp_path / "wn18rr.txt")
    assert load_kg(str(wn), cache_dir=tmp_path / "cache").num_relations == 11  # was 39,627-style nonsense
    cn = _cn100k_like(tmp_path / "cn100k.txt")
    assert main(["kg", "build", str(cn), "-o", str(tmp_path / "cn")]) == 0
    assert KnowledgeGraph.load(tmp_path / "cn").num_relations == 19  # was one "relation" per head phrase
    assert main(["kg", "build", str(wn), "-o", str(tmp_path / "wn")]) == 0
    assert KnowledgeGraph.load(tmp_path / "wn").num_relations == 11


def test_other_formats_by_content(tmp_path: Path) -> None:
    nt = tmp_path / "graph.data"
    nt.write_text('<http://x/a> <http://x/p> <http://x/b> .\n', encoding="utf-8")
    assert detect_format(nt).format == "rdf"
    turtle = tmp_path / "graph.txt"
    turtle.write_text("@prefix ex: <http://x/> .\nex:a ex:p ex:b .\n", encoding="utf-8")
    assert detect_format(turtle).format == "rdf"
    assert detect_format(FIXTURES / "conceptnet_assertions.csv").format == "conceptnet"
    assert detect_format(FIXTURES / "animals.ttl").format == "rdf"
    kg = load_kg_file(FIXTURES / "animals.ttl")
    kg.save(tmp_path / "saved")
    assert detect_format(tmp_path / "saved").format == "saved"
    wordnet = tmp_path / "wn"
    wordnet.mkdir()
    (wordnet / "data.noun").write_text("", encoding="utf-8")
    assert detect_format(wordnet).format == "wordnet"


def test_ambiguous_content_names_the_flag(tmp_path: Path) -> None:
    flat = tmp_path / "flat.tsv"
    flat.write_text("a\tb\tc\n" * 5, encoding="utf-8")
    with pytest.raises(DataFormatError, match="cannot tell which column holds the relation.*--format"):
        detect_format(flat)
    with pytest.raises(DataFormatError, match="kg_format"):
        detect_format(flat, flag="kg_format")
    four = tmp_path / "four.tsv"
    four.write_text("a\tb\tc\td\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="four.tsv:1: .*4 column"):
        detect_format(four)
    ragged = _wn18rr_like(tmp_path / "ragged.tsv")
    ragged.write_text(ragged.read_text() + "x\ty\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="ragged.tsv:201: expected 3 columns"):
        detect_format(ragged)
    assert load_kg_file(flat, "triples").num_relations == 1  # an explicit format is obeyed


def test_a_registered_format_is_detected_and_loaded(tmp_path: Path) -> None:
    """The "how to add a KG format" recipe of docs/architecture.md."""
    from kglm.kg.triples import from_triples

    def detect(sample) -> bool:
        return sample.first_line.startswith("#edges")

    def load(paths, detected, **options):
        rows = [line.split() for line in paths[0].read_text().splitlines()[1:]]
        return from_triples([(h, r, t) for h, t, r in rows])  # "head tail relation"

    register_kg_format("edges", detect, load)
    try:
        path = tmp_path / "g.edges"
        path.write_text("#edges\ncat animal isa\ndog animal isa\n", encoding="utf-8")
        assert detect_format(path).format == "edges"
        kg = load_kg_file(path)
        assert kg.relations == ["isa"] and kg.num_triples == 2
    finally:
        unregister_kg_format("edges")


@pytest.mark.slow
@pytest.mark.skipif(not CN100K.exists(), reason="../shared/data/conceptnet/cn100k absent")
def test_real_conceptnet_100k(tmp_path: Path) -> None:
    assert detect_format(CN100K).format == "cn100k"
    kg = load_kg_file(CN100K)
    assert (kg.num_entities, kg.num_relations) == (78_093, 27)
