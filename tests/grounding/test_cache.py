"""GroundingCache: reuse, staleness, corruption; GroundedDataset round trip."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from kglm.grounding.cache import GroundedDataset, GroundingCache, build_grounded_dataset
from kglm.grounding.graphs import ChoiceGraph
from kglm.grounding.ground import GroundedChoice
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker

NAMES = ["milk", "cold", "fridge", "kitchen", "oven", "hot", "cow"]
TRIPLES = [[0, 0, 2], [2, 0, 3], [4, 0, 3], [4, 1, 5], [2, 1, 1], [0, 2, 6]]


@dataclass
class Example:
    id: str
    question: str
    choices: list[str]


EXAMPLES = [
    Example("q1", "Where do you keep milk cold?", ["fridge", "oven", "cow"]),
    Example("q2", "What is hot in the kitchen?", ["oven", "nothing at all"]),
]


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(NAMES, ["AtLocation", "HasProperty", "MadeBy"], TRIPLES)


@pytest.fixture(scope="module")
def linker(kg: KnowledgeGraph) -> LexiconLinker:
    return LexiconLinker.from_kg(kg, lemmatizer="rule")


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(ex.__dict__) for ex in EXAMPLES) + "\n")
    return path


def build(kg: KnowledgeGraph, linker: LexiconLinker, calls: list[int], graphs: str = "both") -> GroundedDataset:
    calls.append(1)
    return build_grounded_dataset(EXAMPLES, kg, linker, graphs=graphs, show_progress=False)


def assert_same(a: GroundedDataset, b: GroundedDataset) -> None:
    assert a.grounded == b.grounded
    assert a.metadata == b.metadata
    for x, y in ((a.graphs, b.graphs), (a.paths, b.paths)):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert [len(e) for e in x] == [len(e) for e in y]
            for gx, gy in zip(sum(x, []), sum(y, [])):
                assert gx.to_dict().keys() == gy.to_dict().keys()
                assert all(torch.equal(gx.to_dict()[k], gy.to_dict()[k]) for k in gx.to_dict())


def test_build_content(kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    data = build(kg, linker, [])
    assert [[(c.question_entities, c.answer_entities) for c in ex] for ex in data.grounded] == [
        [([0, 1], [2]), ([0, 1], [4]), ([0, 1], [6])],
        [([5, 3], [4]), ([5, 3], [])],
    ]
    assert data.metadata == {"ids": ["q1", "q2"]}
    assert data.graphs is not None and data.paths is not None
    # milk -AtLocation-> fridge; fridge -HasProperty-> cold
    g = data.graphs[0][0]
    assert g.node_ids.tolist() == [0, 1, 2]
    assert data.graphs[1][1].num_nodes == 2  # question entities only, no answer
    assert data.paths[0][0].num_paths >= 1


def test_dataset_save_load_roundtrip(tmp_path: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    data = build(kg, linker, [])
    data.save(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "graphs.safetensors", "grounded.json", "meta.json", "paths.safetensors",
    ]  # fmt: skip
    assert_same(GroundedDataset.load(tmp_path / "out"), data)
    only = GroundedDataset(data.grounded)
    only.save(tmp_path / "out")  # replaces
    back = GroundedDataset.load(tmp_path / "out")
    assert back.graphs is None and back.paths is None and back.grounded == data.grounded


def test_a_loaded_question_stores_its_mentions_once_for_all_its_choices(
    tmp_path: Path, kg: KnowledgeGraph, linker: LexiconLinker
) -> None:
    data = build(kg, linker, [])
    data.save(tmp_path / "out")
    back = GroundedDataset.load(tmp_path / "out")
    assert back.grounded == data.grounded
    first, second, third = back.grounded[0]
    assert first.question_mentions and all(
        a is b is c for a, b, c in zip(first.question_mentions, second.question_mentions, third.question_mentions)
    )  # "milk", "cold": one object each, not one per choice
    assert back.grounded[1][0].question_mentions[0] is not first.question_mentions[0]  # another question's own
    oven = [m for ex in back.grounded for c in ex for m in c.answer_mentions if m.text == "oven"]
    assert len(oven) == 2 and oven[0] is not oven[1] and oven[0].entity is oven[1].entity  # strings shared


def test_surrogates_roundtrip(tmp_path: Path, linker: LexiconLinker) -> None:
    from kglm.grounding.ground import ground_choices

    grounded = ground_choices(linker, "\ud800 milk\udfff or cold \U0001f9ca", ["fridge\ud800", "oven"])
    data = GroundedDataset([grounded])
    data.save(tmp_path / "s")
    assert GroundedDataset.load(tmp_path / "s").grounded == [grounded]


def test_empty_graphs_roundtrip(tmp_path: Path) -> None:
    data = GroundedDataset([[]], [[]], None)
    data.save(tmp_path / "e")
    assert GroundedDataset.load(tmp_path / "e").grounded == [[]]
    data = GroundedDataset([[GroundedChoice()]], [[ChoiceGraph.empty()]])
    data.save(tmp_path / "e")
    assert GroundedDataset.load(tmp_path / "e").graphs[0][0].num_nodes == 0  # type: ignore[index]


def test_reuse(tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    cache = GroundingCache(tmp_path / "cache")
    calls: list[int] = []
    first = cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), {"graphs": "both"})
    assert cache.last_hit is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), {"graphs": "both"})
    assert cache.last_hit is True and len(calls) == 1
    assert_same(first, second)


def test_default_root_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KGLM_CACHE", str(tmp_path / "env"))
    assert GroundingCache().root == tmp_path / "env"
    monkeypatch.delenv("KGLM_CACHE")
    assert GroundingCache().root == Path(".kglm_cache")


def test_changed_file_is_stale(tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    cache = GroundingCache(tmp_path / "cache")
    calls: list[int] = []
    cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), {"graphs": "both"})
    old_key = cache.key(data_file, kg, linker, {"graphs": "both"})[0]
    data_file.write_text(data_file.read_text() + "\n")
    with pytest.warns(UserWarning, match="stale"):
        cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), {"graphs": "both"})
    assert len(calls) == 2 and cache.last_hit is False and cache.last_status == "stale"
    assert not cache.path(old_key).exists()


@pytest.mark.parametrize("change", ["extraction", "linker", "kg"])
def test_other_settings_kept_side_by_side(
    tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker, change: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = GroundingCache(tmp_path / "cache")
    calls: list[int] = []
    extraction = {"graphs": "both"}
    cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), extraction)
    old_key = cache.key(data_file, kg, linker, extraction)[0]
    extraction2 = dict(extraction)
    kg2, linker2 = kg, linker
    if change == "extraction":
        extraction2 = {"graphs": "both", "max_nodes": 5}
    elif change == "linker":
        linker2 = LexiconLinker.from_kg(kg, lemmatizer="rule", keep_overlapping=True)
    else:
        kg2 = KnowledgeGraph(NAMES, ["AtLocation", "HasProperty", "MadeBy"], TRIPLES[:-1])
    caplog.set_level("INFO", logger="kglm.grounding.cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # another setting is not "stale"
        cache.load_or_build(data_file, kg2, linker2, lambda: build(kg2, linker2, calls), extraction2)
        assert cache.last_status == "other-settings" and len(calls) == 2
        assert "new settings" in caplog.text
        assert cache.path(old_key).exists()
        # alternating the two settings reuses both entries
        for _ in range(2):
            cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls), extraction)
            assert cache.last_hit is True
            cache.load_or_build(data_file, kg2, linker2, lambda: build(kg2, linker2, calls), extraction2)
            assert cache.last_hit is True
    assert len(calls) == 2
    assert len(cache.entries(data_file)) == 2


def test_entries_per_file_bounded(tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    cache = GroundingCache(tmp_path / "cache", max_entries_per_file=2)
    calls: list[int] = []
    keys = []
    for n in (5, 6, 7):
        extraction = {"graphs": "qa", "max_nodes": n}
        cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls, graphs="qa"), extraction)
        keys.append(cache.key(data_file, kg, linker, extraction)[0])
    assert [e["key"] for e in cache.entries(data_file)] == keys[1:]
    assert not cache.path(keys[0]).exists()  # least recently used evicted
    assert cache.path(keys[1]).is_dir() and cache.path(keys[2]).is_dir()


@pytest.mark.parametrize("victim", ["grounded.json", "graphs.safetensors", "paths.safetensors", "meta.json"])
def test_corrupt_rebuilds_with_warning(
    tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker, victim: str
) -> None:
    cache = GroundingCache(tmp_path / "cache")
    calls: list[int] = []
    first = cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls))
    entry = cache.path(cache.key(data_file, kg, linker)[0])
    raw = (entry / victim).read_bytes()
    (entry / victim).write_bytes(raw[: len(raw) // 2])
    with pytest.warns(UserWarning, match="corrupt"):
        again = cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls))
    assert len(calls) == 2
    assert_same(first, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, calls))
    assert len(calls) == 2  # repaired entry reused


def test_no_leftover_temp_dirs(tmp_path: Path, data_file: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    cache = GroundingCache(tmp_path / "cache")

    def boom() -> GroundedDataset:
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError):
        cache.load_or_build(data_file, kg, linker, boom)
    cache.load_or_build(data_file, kg, linker, lambda: build(kg, linker, [], graphs="qa"))
    names = sorted(p.name for p in (tmp_path / "cache" / "grounding").iterdir())
    assert [n for n in names if n.startswith(".")] == []
    assert len(names) == 2 and "index" in names
