"""Class 3: a saved KG is validated on load; tampered files are an IntegrityError naming the file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from kglm.cli import main
from kglm.errors import IntegrityError, KGLMError
from kglm.kg.graph import KnowledgeGraph

NAMES = ["cat", "animal", "dog", "pet", "fish"]
RELS = ["IsA", "AtLocation"]
TRIPLES = [[0, 0, 1], [2, 0, 1], [2, 1, 3], [0, 1, 3], [4, 0, 1]]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    kg = KnowledgeGraph(NAMES, RELS, TRIPLES, labels={0: ["cat", "kitty"]}, descriptions={0: ["a small feline"]})
    kg.save(tmp_path / "kg")
    return tmp_path / "kg"


def _npy(path: Path, fn) -> None:
    arr = np.load(path)
    arr = fn(arr.copy())
    np.save(path, arr)


def _json(path: Path, fn) -> None:
    path.write_text(json.dumps(fn(json.loads(path.read_text()))))


def test_clean_graph_loads_without_warning(saved: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kg = KnowledgeGraph.load(saved)
        assert kg.fingerprint == json.loads((saved / "kg.json").read_text())["fingerprint"]
        assert kg.entities == NAMES


TAMPER = {
    "triple-id-out-of-range": ("triples.npy", lambda p: _npy(p, lambda a: (a.__setitem__((1, 2), 10**6), a)[1])),
    "negative-relation": ("triples.npy", lambda p: _npy(p, lambda a: (a.__setitem__((0, 1), -1), a)[1])),
    "csr-ptr-decreasing": ("csr_out_ptr.npy", lambda p: _npy(p, lambda a: (a.__setitem__(2, 0), a)[1])),
    "csr-ptr-past-end": ("csr_in_ptr.npy", lambda p: _npy(p, lambda a: (a.__setitem__(-1, 99), a)[1])),
    "csr-neighbor-wrong": ("csr_out_neighbor.npy", lambda p: _npy(p, lambda a: (a.__setitem__(0, 4), a)[1])),
    "csr-triple-out-of-range": ("csr_in_triple.npy", lambda p: _npy(p, lambda a: a + 100)),
    "label-ptr-decreasing": ("label_ptr.npy", lambda p: _npy(p, lambda a: (a.__setitem__(1, 5), a)[1])),
    "wrong-dtype": ("triples.npy", lambda p: _npy(p, lambda a: a.astype(np.float32))),
    "pickled-array": ("triples.npy", lambda p: np.save(p, np.array([object()], dtype=object), allow_pickle=True)),
    "truncated-npy": ("csr_out_ptr.npy", lambda p: p.write_bytes(p.read_bytes()[:20])),
    "header-count-string": ("kg.json", lambda p: _json(p, lambda h: {**h, "num_triples": "5"})),
    "header-count-negative": ("kg.json", lambda p: _json(p, lambda h: {**h, "num_entities": -1})),
    "header-count-wrong": ("kg.json", lambda p: _json(p, lambda h: {**h, "num_triples": 4})),
    "relations-not-strings": ("relations.json", lambda p: _json(p, lambda r: [1, 2])),
    "relations-duplicate": ("relations.json", lambda p: _json(p, lambda r: ["IsA", "IsA"])),
    "header-deep-json": ("kg.json", lambda p: p.write_text("[" * 200_000 + "]" * 200_000)),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_arrays_and_header(saved: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    name, tamper = TAMPER[case]
    tamper(saved / name)
    with pytest.raises(KGLMError) as info:
        kg = KnowledgeGraph.load(saved)
        kg.entities  # noqa: B018
        kg.csr("out"), kg.csr("in")  # the stored CSR indexes are checked on first use
    assert str(saved) in str(info.value)
    assert main(["kg", "info", str(saved)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kglm: error: ") and str(saved) in err[0]


@pytest.mark.parametrize(
    "case, fn",
    [
        ("duplicate-entity", lambda e: ["cat", "cat", "dog", "pet", "fish"]),
        ("entity-not-string", lambda e: ["cat", {"x": 1}, "dog", "pet", "fish"]),
        ("entity-count", lambda e: e[:-1]),
    ],
)
def test_tampered_vocabularies(saved: Path, case: str, fn) -> None:
    _json(saved / "entities.json", fn)
    kg = KnowledgeGraph.load(saved)  # vocabularies are parsed lazily, and checked then
    with pytest.raises(KGLMError if case != "entity-count" else ValueError, match="entities.json"):
        kg.entities  # noqa: B018


def test_edited_under_old_header_gets_new_fingerprint(saved: Path) -> None:
    stored = json.loads((saved / "kg.json").read_text())["fingerprint"]
    _npy(saved / "triples.npy", lambda a: a[:, [0, 1, 2]][:, :])  # same shape
    # a consistent edit: swap the relation of every triple (and the CSR copies of it)
    for f in ("triples.npy",):
        _npy(saved / f, lambda a: np.stack([a[:, 0], 1 - a[:, 1], a[:, 2]], 1))
    for direction in ("out", "in"):
        _npy(saved / f"csr_{direction}_relation.npy", lambda a: 1 - a)
    kg = KnowledgeGraph.load(saved)
    with pytest.warns(UserWarning, match="stored fingerprint does not match"):
        fp = kg.fingerprint
    assert fp != stored
    trusted = KnowledgeGraph.load(saved, validate=False)
    assert trusted.fingerprint == stored  # validate=False trusts the header


def test_csr_row_order_and_permutation(saved: Path) -> None:
    # a permutation of the triple ids that keeps every row's multiset but breaks the documented order
    kg = KnowledgeGraph.load(saved, validate=False)
    tid = np.load(saved / "csr_out_triple.npy")
    ptr = np.load(saved / "csr_out_ptr.npy")
    first = int(np.argmax(np.diff(ptr) >= 2))
    a, b = int(ptr[first]), int(ptr[first] + 1)
    for part in ("triple", "neighbor", "relation"):
        _npy(saved / f"csr_out_{part}.npy", lambda x: (x.__setitem__([a, b], x[[b, a]]), x)[1])
    with pytest.raises(IntegrityError, match="increasing order"):
        KnowledgeGraph.load(saved).csr("out")
    assert kg.num_triples == len(tid)


def test_validate_false_skips_checks(saved: Path) -> None:
    _json(saved / "relations.json", lambda r: ["IsA", "IsA"])
    with pytest.raises(IntegrityError):
        KnowledgeGraph.load(saved)
    assert KnowledgeGraph.load(saved, validate=False).num_relations == 2


def test_deep_json_vocabulary(saved: Path) -> None:
    (saved / "labels.json").write_text("[" * 200_000 + "]" * 200_000)
    kg = KnowledgeGraph.load(saved)
    with pytest.raises(IntegrityError, match="labels.json"):
        kg.labels_of(0)


def test_damaged_entity_embeddings(tmp_path: Path) -> None:
    import torch

    from kglm.kg.embeddings import EntityEmbeddings

    kg = KnowledgeGraph(NAMES, RELS, TRIPLES)
    path = tmp_path / "emb.safetensors"
    EntityEmbeddings(torch.zeros(len(NAMES), 4), kg.fingerprint, "text").save(path)
    assert EntityEmbeddings.load(path, kg).num_entities == len(NAMES)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(KGLMError, match="emb.safetensors"):
        EntityEmbeddings.load(path, kg)
