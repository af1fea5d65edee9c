"""Tests of kglm.kg.triples.from_triples."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kglm.kg import KnowledgeGraph
from kglm.kg.triples import from_triples

FIXTURES = Path(__file__).parent / "fixtures"


def _named(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    e, r = kg.entities, kg.relations
    return {(e[h], r[p], e[t]) for h, p, t in kg.triples.tolist()}


def test_from_iterable() -> None:
    kg = KnowledgeGraph.from_triples([("cat", "IsA", "animal"), ("cat", "AtLocation", "home")],
                                     labels={"cat": ["cat", "kitty"]})
    assert kg.entities == ["cat", "animal", "home"]
    assert kg.relations == ["IsA", "AtLocation"]
    assert kg.triples.tolist() == [[0, 0, 1], [0, 1, 2]]
    assert kg.labels_of(0) == ["cat", "kitty"] and kg.labels_of(2) == ["home"]


def test_from_tsv_file() -> None:
    kg = from_triples(FIXTURES / "triples.tsv")
    assert kg.entities == ["cat", "animal", "home", "mouse"]
    assert _named(kg) == {("cat", "IsA", "animal"), ("cat", "AtLocation", "home"), ("mouse", "IsA", "animal")}
    assert kg.metadata["source"].endswith("triples.tsv")


def test_from_csv_with_header_and_quotes() -> None:
    kg = from_triples(FIXTURES / "triples.csv", header=True)
    assert _named(kg) == {("cat", "IsA", "animal"), ("cheese, cheddar", "IsA", "food")}


def test_from_gzipped_tsv(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv.gz"
    p.write_bytes(gzip.compress((FIXTURES / "triples.tsv").read_bytes()))
    assert _named(from_triples(p)) == _named(from_triples(FIXTURES / "triples.tsv"))


def test_wrong_column_count_names_line() -> None:
    with pytest.raises(ValueError, match=r"bad_columns\.tsv:2: expected 3 non-empty columns .* got 2"):
        from_triples(FIXTURES / "bad_columns.tsv")


def test_empty_input() -> None:
    with pytest.raises(ValueError, match=r"empty\.tsv: empty input"):
        from_triples(FIXTURES / "empty.tsv")
    with pytest.raises(ValueError, match="empty input"):
        from_triples([])
    with pytest.raises(ValueError, match=r"triple #0"):
        from_triples([("a", "b")])
