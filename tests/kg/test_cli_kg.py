"""Tests of the ``kglm kg`` command (kglm/cli/kg.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.kg import KnowledgeGraph

FIXTURES = Path(__file__).parent / "fixtures"


def test_build_info_export_rdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kg"
    assert main(["kg", "build", str(FIXTURES / "animals.ttl"), "-o", str(out), "--language", "en",
                 "--language", "none", "--drop-rdf-type"]) == 0
    kg = KnowledgeGraph.load(out)
    assert (kg.num_entities, kg.num_relations, kg.num_triples) == (6, 3, 4)
    assert kg.labels_of(kg.entity_id("http://example.org/Cat")) == ["cat", "kitty"]
    capsys.readouterr()
    assert main(["kg", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["num_triples"] == 4 and info["top_relations"][0] == ["http://example.org/partOf", 2]
    assert info["out_degree"] == {"mean": 0.667, "median": 0.0, "max": 2, "zero": 3}
    assert info["isolated_entities"] == 1  # ex:Dog has only a label
    assert main(["kg", "info", str(out)]) == 0
    assert "top relations:" in capsys.readouterr().out
    assert main(["kg", "export", str(out), "-o", str(tmp_path / "kg.ttl"), "--format", "ttl"]) == 0
    back = KnowledgeGraph.from_rdf(tmp_path / "kg.ttl")
    assert back.num_triples == 4 and set(back.entities) == set(kg.entities)


def test_build_conceptnet_and_triples(tmp_path: Path) -> None:
    assert main(["kg", "build", str(FIXTURES / "conceptnet_assertions.csv"), "-o", str(tmp_path / "cn")]) == 0
    assert KnowledgeGraph.load(tmp_path / "cn").num_triples == 4  # auto-detected as ConceptNet
    assert main(["kg", "build", str(FIXTURES / "cn100k_sample.txt"), "--conceptnet", "--no-merge-relations",
                 "-o", str(tmp_path / "cn100k")]) == 0
    assert KnowledgeGraph.load(tmp_path / "cn100k").relations[0] == "AtLocation"
    assert main(["kg", "build", str(FIXTURES / "triples.tsv"), str(FIXTURES / "triples.csv"), "--header", "--triples",
                 "--add-inverse", "-o", str(tmp_path / "t")]) == 0
    kg = KnowledgeGraph.load(tmp_path / "t")
    assert kg.relations == ["AtLocation", "IsA", "AtLocation_inv", "IsA_inv"]  # --header skips line 1 of each
    assert kg.num_triples == 8


def test_build_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kg", "build", str(FIXTURES / "malformed.ttl"), "-o", str(tmp_path / "x")]) == 1
    assert "malformed.ttl: invalid turtle RDF: at line 3" in capsys.readouterr().err
    assert main(["kg", "build", str(FIXTURES / "bad_columns.tsv"), "-o", str(tmp_path / "x")]) == 1
    assert "bad_columns.tsv:2: expected 3" in capsys.readouterr().err
    assert main(["kg", "build", str(FIXTURES / "animals.ttl"), str(FIXTURES / "conceptnet_assertions.csv"),
                 "-o", str(tmp_path / "x")]) == 1
    assert "mix kinds" in capsys.readouterr().err
    # three lines cannot show which column is the relation: say so and name the flags
    assert main(["kg", "build", str(FIXTURES / "triples.tsv"), "-o", str(tmp_path / "x")]) == 1
    assert "cannot tell which column holds the relation" in capsys.readouterr().err
    assert main(["kg", "build", str(FIXTURES / "triples.csv"), "-o", str(tmp_path / "y")]) == 0  # header decides
    assert KnowledgeGraph.load(tmp_path / "y").relations == ["IsA"]
    shutil.rmtree(tmp_path / "y")
    assert main(["kg", "info", str(tmp_path / "missing")]) == 1
    assert list(tmp_path.iterdir()) == []


def test_build_wordnet_dir_and_merge_by_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.kg.test_wordnet import write_wordnet

    wn_dir = write_wordnet(tmp_path / "wordnet", compress=True)
    assert main(["kg", "build", str(wn_dir), "-o", str(tmp_path / "wn")]) == 0  # detected as WordNet
    wn = KnowledgeGraph.load(tmp_path / "wn")
    assert wn.num_entities == 10 and wn.num_descriptions == 10
    triples = tmp_path / "cn.tsv"
    triples.write_text("physicist\tIsA\tscientist\nHot\tRelatedTo\tstove\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["kg", "build", str(triples), str(tmp_path / "wn"), "--triples", "--merge-by", "label",
                 "--merge-names", "cn,wn", "-o", str(tmp_path / "m")]) == 0
    assert "merged input(s)" in capsys.readouterr().out
    kg = KnowledgeGraph.load(tmp_path / "m")
    assert kg.relations[:2] == ["cn:IsA", "cn:RelatedTo"] and "wn:hypernym" in kg.relations
    assert kg.descriptions_of(kg.entity_id("physicist")) == ["a scientist trained in physics"]
    assert kg.descriptions_of(kg.entity_id("Hot")) == [
        "used of physical heat; having a high or higher than desirable temperature"]
    assert kg.metadata["merge"]["sources"] == ["cn", "wn"]
    assert main(["kg", "info", str(tmp_path / "m")]) == 0
    assert "descriptions" in capsys.readouterr().out
    assert main(["kg", "build", str(triples), "--merge-by", "label", "-o", str(tmp_path / "x")]) == 1
    assert "--merge-by needs at least two inputs" in capsys.readouterr().err
