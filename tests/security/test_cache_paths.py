"""Class 1: the grounding cache never follows, reads or deletes a path it did not make."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import pytest

from kglm.errors import UnsafeInputError
from kglm.grounding.cache import GroundedDataset, GroundingCache, build_grounded_dataset
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker

NAMES = ["milk", "cold", "fridge", "kitchen", "oven"]
TRIPLES = [[0, 0, 2], [2, 0, 3], [4, 0, 3], [2, 1, 1]]


class Ex:
    def __init__(self, id: str, question: str, choices: list[str]):
        self.id, self.question, self.choices = id, question, choices


EXAMPLES = [Ex("q1", "Where do you keep milk cold?", ["fridge", "oven"])]


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(NAMES, ["AtLocation", "HasProperty"], TRIPLES)


@pytest.fixture(scope="module")
def linker(kg: KnowledgeGraph) -> LexiconLinker:
    return LexiconLinker.from_kg(kg, lemmatizer="rule")


@pytest.fixture
def setup(tmp_path: Path, kg: KnowledgeGraph, linker: LexiconLinker):
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"id": "q1", "question": "milk?", "choices": ["fridge", "oven"]}) + "\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    cache = GroundingCache(tmp_path / "cache")
    calls: list[int] = []

    def run(**kw):
        def build() -> GroundedDataset:
            calls.append(1)
            return build_grounded_dataset(EXAMPLES, kg, linker, graphs="both", show_progress=False)

        return cache.load_or_build(data, kg, linker, build, kw.get("extraction", {"graphs": "both"}))

    return cache, data, victim, run, calls


def _victim_intact(victim: Path) -> bool:
    return (victim / "precious.txt").read_text() == "keep me"


def _index(cache: GroundingCache, data: Path) -> Path:
    return cache._index_path(data)


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "dotdot-deep", "not-hex", "upper-hex"])
def test_crafted_index_keys_never_followed(setup, kind: str) -> None:
    cache, data, victim, run, calls = setup
    run()
    bad = {
        "absolute": str(victim),
        "dotdot": "../../victim",
        "dotdot-deep": "../" * 30 + str(victim).lstrip("/"),
        "not-hex": "g" * 64,
        "upper-hex": "A" * 64,
    }[kind]
    # an index that lists the victim as an older version of the file (so it would be deleted as stale)
    index = _index(cache, data)
    index.write_text(json.dumps({"entries": [{"key": bad, "parts": {"data_sha256": "0" * 64}, "used": 0}]}))
    data.write_text(data.read_text() + "\n")  # change the file: the cache rebuilds and removes stale entries
    with pytest.warns(UserWarning, match="invalid entry"):
        run()
    assert _victim_intact(victim)
    with pytest.raises(UnsafeInputError):
        cache.path(bad)


def test_symlinked_entry_is_unlinked_not_followed(setup) -> None:
    cache, data, victim, run, calls = setup
    run()
    key = cache.entries(data)[0]["key"]
    entry = cache.path(key)
    import shutil

    shutil.rmtree(entry)
    entry.symlink_to(victim, target_is_directory=True)
    with pytest.warns(UserWarning, match="corrupt"):
        run()
    assert _victim_intact(victim)
    assert entry.is_dir() and not entry.is_symlink() and len(calls) == 2


def test_symlinked_stale_entry_not_deleted_through(setup) -> None:
    cache, data, victim, run, calls = setup
    run()
    other = "b" * 64
    cache.path(other).symlink_to(victim, target_is_directory=True)
    index = _index(cache, data)
    raw = json.loads(index.read_text())
    raw["entries"].append({"key": other, "parts": {"data_sha256": "0" * 64}, "used": 1})
    index.write_text(json.dumps(raw))
    data.write_text(data.read_text() + "\n")
    with pytest.warns(UserWarning, match="stale"):
        run()
    assert _victim_intact(victim)


def test_grounding_dir_symlink_not_used(setup, tmp_path: Path) -> None:
    cache, data, victim, run, calls = setup
    cache.root.mkdir(parents=True)
    (cache.root / "grounding").symlink_to(victim, target_is_directory=True)
    with pytest.warns(UserWarning, match="without the grounding cache"):
        run()
    assert cache.last_status == "uncached"
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


@pytest.mark.parametrize(
    "hostile", ["files-dev-zero", "meta-symlink-dev-zero", "meta-fifo", "meta-huge", "meta-deep", "grounded-deep",
                "files-escape", "meta-not-dict"]
)
def test_hostile_meta_rebuilds_fast(setup, hostile: str) -> None:
    cache, data, victim, run, calls = setup
    run()
    entry = cache.path(cache.entries(data)[0]["key"])
    meta_path = entry / "meta.json"
    meta = json.loads(meta_path.read_text())
    if hostile == "files-dev-zero":
        meta["files"]["/dev/zero"] = "0" * 64
        meta_path.write_text(json.dumps(meta))
    elif hostile == "files-escape":
        meta["files"]["../../victim/precious.txt"] = "0" * 64
        meta_path.write_text(json.dumps(meta))
    elif hostile == "meta-symlink-dev-zero":
        meta_path.unlink()
        meta_path.symlink_to("/dev/zero")
    elif hostile == "meta-fifo":
        meta_path.unlink()
        os.mkfifo(meta_path)
    elif hostile == "meta-huge":
        with open(meta_path, "r+b") as f:
            f.truncate(1 << 30)  # sparse 1 GiB
    elif hostile == "meta-deep":
        meta_path.write_text("[" * 200_000 + "]" * 200_000)
    elif hostile == "grounded-deep":
        deep = "[" * 200_000 + "]" * 200_000
        (entry / "grounded.json").write_text(deep)
        import hashlib

        meta["files"]["grounded.json"] = hashlib.sha256(deep.encode()).hexdigest()
        meta_path.write_text(json.dumps(meta))
    else:
        meta_path.write_text("[1, 2]")
    started = time.monotonic()
    with pytest.warns(UserWarning, match="corrupt"):
        run()
    assert time.monotonic() - started < 20
    assert len(calls) == 2 and cache.last_status == "corrupt"
    assert _victim_intact(victim)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run()
    assert cache.last_hit is True


def test_tampered_ids_outside_kg_are_corrupt(setup) -> None:
    cache, data, victim, run, calls = setup
    run()
    entry = cache.path(cache.entries(data)[0]["key"])
    import hashlib

    grounded = json.loads((entry / "grounded.json").read_text())
    grounded["choices"][0]["question_entities"] = [10**9]
    raw = json.dumps(grounded).encode()
    (entry / "grounded.json").write_bytes(raw)
    meta = json.loads((entry / "meta.json").read_text())
    meta["files"]["grounded.json"] = hashlib.sha256(raw).hexdigest()  # the attacker recomputes the checksum
    (entry / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="entity id outside"):
        run()
    assert len(calls) == 2


def test_load_refuses_symlinked_files(tmp_path: Path, kg: KnowledgeGraph, linker: LexiconLinker) -> None:
    data = build_grounded_dataset(EXAMPLES, kg, linker, graphs=None, show_progress=False)
    out = data.save(tmp_path / "out")
    secret = tmp_path / "secret.json"
    secret.write_text((out / "grounded.json").read_text())
    (out / "grounded.json").unlink()
    (out / "grounded.json").symlink_to(secret)
    with pytest.raises(UnsafeInputError, match="symbolic link"):
        GroundedDataset.load(out, verify=False)
