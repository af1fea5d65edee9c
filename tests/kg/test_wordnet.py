"""WordNet 3.0 database files -> KnowledgeGraph, on a hand-written fixture in the real format."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest

from kglm.errors import DataFormatError
from kglm.kg.graph import KnowledgeGraph
from kglm.kg.wordnet import POINTER_NAMES, from_wordnet, is_wordnet_dir, split_gloss

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"

DATA = {
    "noun": [
        "00001740 03 n 01 entity 0 001 ~ 00002000 n 0000 | that which is perceived or known or inferred "
        "to have its own distinct existence (living or nonliving)  ",
        '00002000 18 n 02 physicist 0 natural_philosopher 0 002 @ 00001740 n 0000 ~i 00003000 n 0000 '
        '| a scientist trained in physics; "she is a physicist"; "the physicist measured it"  ',
        "00003000 18 n 02 Einstein 0 Albert_Einstein 0 002 @i 00002000 n 0000 + 00005000 v 0101 "
        "| physicist born in Germany who formulated the special theory of relativity (1879-1955)  ",
        '00004000 18 n 02 genius 0 Einstein 0 001 @ 00002000 n 0000 | someone who has exceptional '
        'intellectual ability; "Mozart was a child genius"  ',
    ],
    "verb": [
        '00005000 31 v 01 relativize 0 002 + 00003000 n 0101 @ 00006000 v 0000 01 + 08 00 '
        '| relate to something; "he relativized the claims"  ',
        "00006000 31 v 01 think 0 001 ~ 00005000 v 0000 02 + 08 00 + 09 00 | use the mind  ",
    ],
    "adj": [
        '00001740 00 a 01 hot 0 002 ! 00002100 a 0101 & 00002300 s 0000 | used of physical heat; having a '
        'high or higher than desirable temperature; "hot stove"; "a hot day"  ',
        '00002100 00 a 01 cold 0 001 ! 00001740 a 0101 | having a low temperature; "a cold climate"  ',
        "00002300 00 s 02 scorching 0 afire(p) 0 001 & 00001740 a 0000 | hot enough to burn  ",
    ],
    "adv": ['00001000 02 r 01 hotly 0 001 \\ 00001740 a 0101 | in a hot manner; "he argued hotly"  '],
}
INDEX = {
    "noun": ["albert_einstein n 1 1 @i 1 0 00003000  ", "einstein n 2 2 @i @ 2 0 00003000 00004000  ",
             "entity n 1 1 ~ 1 1 00001740  ", "genius n 1 1 @ 1 0 00004000  ",
             "natural_philosopher n 1 1 @ 1 0 00002000  ", "physicist n 1 3 @ ~i + 1 0 00002000  "],
    "verb": ["relativize v 1 2 @ + 1 0 00005000  ", "think v 1 1 ~ 1 1 00006000  "],
    "adj": ["afire a 1 1 & 1 0 00002300  ", "cold a 1 1 ! 1 0 00002100  ", "hot a 1 2 ! & 1 0 00001740  ",
            "scorching a 1 1 & 1 0 00002300  "],
    "adv": ["hotly r 1 1 \\ 1 0 00001000  "],
}


def write_wordnet(d: Path, compress: bool = False, data: dict[str, list[str]] | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for kind, files in (("data", data or DATA), ("index", INDEX)):
        for stem, lines in files.items():
            text = (HEADER + "\n".join(lines) + "\n").encode("utf-8")
            name = d / f"{kind}.{stem}"
            if compress:
                (d / f"{name.name}.bz2").write_bytes(bz2.compress(text))
            else:
                name.write_bytes(text)
    (d / "lexnames").write_text("00\tadj.all\t3\n02\tadv.all\t4\n03\tnoun.Tops\t1\n18\tnoun.person\t1\n"
                                "31\tverb.cognition\t2\n", encoding="utf-8")
    return d


@pytest.fixture
def wn(tmp_path: Path) -> KnowledgeGraph:
    return from_wordnet(write_wordnet(tmp_path / "wn"))


def named(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    return {(kg.entities[h], kg.relations[r], kg.entities[t]) for h, r, t in kg.triples.tolist()}


def test_synsets_labels_and_glosses(wn: KnowledgeGraph) -> None:
    assert wn.entities == [
        "wn:00001740-n", "wn:00002000-n", "wn:00003000-n", "wn:00004000-n", "wn:00005000-v", "wn:00006000-v",
        "wn:00001740-a", "wn:00002100-a", "wn:00002300-a", "wn:00001000-r",
    ]
    labels = {e: wn.labels_of(i) for i, e in enumerate(wn.entities)}
    assert labels["wn:00002000-n"] == ["physicist", "natural philosopher"]
    assert labels["wn:00003000-n"] == ["Einstein", "Albert Einstein"]
    assert labels["wn:00002300-a"] == ["scorching", "afire"]  # satellite: named -a, marker (p) removed
    desc = {e: wn.descriptions_of(i) for i, e in enumerate(wn.entities)}
    assert desc["wn:00002000-n"] == ["a scientist trained in physics"]
    assert desc["wn:00001740-a"] == ["used of physical heat; having a high or higher than desirable temperature"]
    assert desc["wn:00006000-v"] == ["use the mind"]
    examples = dict(zip(wn.entities, wn.attribute("examples")))
    assert examples["wn:00002000-n"] == ["she is a physicist", "the physicist measured it"]
    assert examples["wn:00001740-a"] == ["hot stove", "a hot day"]
    assert examples["wn:00003000-n"] == []
    assert wn.attribute("pos") == ["n", "n", "n", "n", "v", "v", "a", "a", "s", "r"]
    assert wn.attribute("lexname") == ["noun.Tops", "noun.person", "noun.person", "noun.person", "verb.cognition",
                                       "verb.cognition", "adj.all", "adj.all", "adj.all", "adv.all"]
    senses = dict(zip(wn.entities, wn.attribute("sense_numbers")))
    assert senses["wn:00003000-n"] == [1, 1] and senses["wn:00004000-n"] == [1, 2]  # "Einstein": sense 1, then 2
    assert wn.metadata["synsets"] == {"noun": 4, "verb": 2, "adj": 3, "adv": 1}


def test_relations(wn: KnowledgeGraph) -> None:
    assert wn.relations == list(POINTER_NAMES.values())
    assert named(wn) == {
        ("wn:00001740-n", "hyponym", "wn:00002000-n"),
        ("wn:00002000-n", "hypernym", "wn:00001740-n"),
        ("wn:00002000-n", "instance_hyponym", "wn:00003000-n"),
        ("wn:00003000-n", "instance_hypernym", "wn:00002000-n"),
        ("wn:00003000-n", "derivation", "wn:00005000-v"),  # lexical pointer -> synset-level relation
        ("wn:00004000-n", "hypernym", "wn:00002000-n"),
        ("wn:00005000-v", "derivation", "wn:00003000-n"),
        ("wn:00005000-v", "hypernym", "wn:00006000-v"),
        ("wn:00006000-v", "hyponym", "wn:00005000-v"),
        ("wn:00001740-a", "antonym", "wn:00002100-a"),
        ("wn:00001740-a", "similar_to", "wn:00002300-a"),  # target pos s named -a
        ("wn:00002100-a", "antonym", "wn:00001740-a"),
        ("wn:00002300-a", "similar_to", "wn:00001740-a"),
        ("wn:00001000-r", "pertainym", "wn:00001740-a"),
    }
    assert wn.num_triples == 14
    assert wn.metadata["lexical_pointers"] == 5


def test_compressed_same_graph_and_save_load(tmp_path: Path, wn: KnowledgeGraph) -> None:
    packed = from_wordnet(write_wordnet(tmp_path / "bz", compress=True))
    assert packed.fingerprint == wn.fingerprint
    wn.save(tmp_path / "saved")
    loaded = KnowledgeGraph.load(tmp_path / "saved")
    assert loaded.fingerprint == wn.fingerprint
    assert loaded.attribute("examples") == wn.attribute("examples")
    assert loaded.descriptions_dict() == wn.descriptions_dict()
    assert KnowledgeGraph.from_wordnet(tmp_path / "bz").fingerprint == wn.fingerprint


def test_without_index_files_no_sense_numbers(tmp_path: Path) -> None:
    d = write_wordnet(tmp_path / "wn")
    for p in d.glob("index.*"):
        p.unlink()
    (d / "lexnames").unlink()  # falls back to WordNet 3.0's table
    kg = from_wordnet(d)
    assert "sense_numbers" not in kg.attribute_names
    assert kg.attribute("lexname")[1] == "noun.person"


@pytest.mark.parametrize("line, message", [
    ("00009000 18 n 01 thing 0 002 @ 00001740 n 0000 | too few pointers  ", r"data\.noun:6: not a wndb"),
    ("00009000 18 n 01 thing 0 001 ?? 00001740 n 0000 | odd symbol  ", r"data\.noun:6: unknown pointer symbol '\?\?'"),
    ("00009000 18 n 01 thing 0 001 @ 00001740 n 0000 no gloss  ", r"data\.noun:6: .*unexpected fields"),
    ("00009000 18 x 01 thing 0 000 | bad type  ", r"data\.noun:6: unknown synset type 'x'"),
    ("00009000 18 n 01 thing 0 001 @ 00007777 n 0000 | dangling  ", r"data\.noun:6: pointer @ to wn:00007777-n"),
])
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    data = {**DATA, "noun": DATA["noun"] + [line]}
    d = write_wordnet(tmp_path / "wn", data=data)
    with pytest.raises(DataFormatError, match=message):
        from_wordnet(d)


def test_truncated_bz2_is_one_line_error(tmp_path: Path) -> None:
    d = write_wordnet(tmp_path / "wn", compress=True)
    blob = (d / "data.noun.bz2").read_bytes()
    (d / "data.noun.bz2").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFormatError, match=r"data\.noun\.bz2: truncated or corrupt") as info:
        from_wordnet(d)
    assert "\n" not in str(info.value)


def test_not_a_wordnet_dir(tmp_path: Path) -> None:
    assert not is_wordnet_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a WordNet directory"):
        from_wordnet(tmp_path)


def test_split_gloss() -> None:
    assert split_gloss("use the mind") == ("use the mind", [])
    assert split_gloss('"only an example"') == ("", ["only an example"])
    assert split_gloss('a clash; "the conflict"--Thomas Paine; "the battle"') == ("a clash", ["the conflict", "the battle"])


REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wordnet"


@pytest.mark.slow
@pytest.mark.skipif(not (REAL / "data.noun.bz2").exists(), reason="real WordNet files (../shared/data/wordnet) absent")
def test_real_wordnet() -> None:
    kg = from_wordnet(REAL)
    assert kg.num_entities == 117659
    assert kg.metadata["synsets"] == {"noun": 82115, "verb": 13767, "adj": 18156, "adv": 3621}
    dog = kg.entity_id("wn:02084071-n")
    assert kg.labels_of(dog) == ["dog", "domestic dog", "Canis familiaris"]
    assert kg.attribute("examples")[dog] == ["the dog barked all night"]
    assert kg.attribute("lexname")[dog] == "noun.animal"
    assert kg.descriptions_of(dog)[0].startswith("a member of the genus Canis")
