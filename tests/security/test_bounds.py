"""Class 8: bounds on text length, path hops and path-search work per pair."""

from __future__ import annotations

import time
import warnings

import pytest
import torch

from kglm.cli import main
from kglm.errors import ResourceLimitError
from kglm.grounding.defaults import MAX_HOPS_LIMIT
from kglm.grounding.paths import find_paths, find_paths_batch
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker


@pytest.fixture(scope="module")
def linker() -> LexiconLinker:
    return LexiconLinker.from_labels(["fridge", "ice"], lemmatizer="rule")


def test_long_text_refused_fast(linker: LexiconLinker) -> None:
    text = "fridge " * 300_000  # 2.1 MB
    started = time.monotonic()
    with pytest.raises(ResourceLimitError, match="max_text_length"):
        linker(text)
    with pytest.raises(ResourceLimitError):
        list(linker.pipe(["ice", text]))
    assert time.monotonic() - started < 2


def test_text_limit_is_configurable(linker: LexiconLinker) -> None:
    text = "fridge " * 20
    linker.max_text_length = 50
    try:
        with pytest.raises(ResourceLimitError):
            linker(text)
        linker.max_text_length = None
        assert len(linker(text)) == 20
    finally:
        del linker.max_text_length  # back to the class default
    assert LexiconLinker.max_text_length == 100_000


def _hub_graph(spokes: int) -> KnowledgeGraph:
    """Two hubs joined through ``spokes`` middle nodes, which are all also joined to each other in a ring."""
    names = ["h0", "h1"] + [f"m{i}" for i in range(spokes)]
    triples = []
    for i in range(spokes):
        triples += [[0, 0, 2 + i], [2 + i, 0, 1], [2 + i, 0, 2 + (i + 1) % spokes]]
    return KnowledgeGraph(names, ["r"], triples)


def test_max_hops_upper_bound() -> None:
    kg = _hub_graph(5)
    with pytest.raises(ResourceLimitError, match="above the limit"):
        find_paths(kg, [0], [1], max_hops=MAX_HOPS_LIMIT + 1)
    with pytest.raises(ResourceLimitError):
        find_paths_batch(kg, [([0], [1])], max_hops=50)


def test_cli_max_hops_bound(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ground", "--kg", "demo", "--max-hops", "9", "x.jsonl", "-o", str(tmp_path / "o")])
    assert info.value.code == 2 and "--max-hops" in capsys.readouterr().err


def test_expansion_cap_bounds_memory_and_warns() -> None:
    kg = _hub_graph(400)
    started = time.monotonic()
    with pytest.warns(UserWarning, match="max_expansions_per_pair=2000"):
        capped = find_paths(kg, [0], [1], max_hops=5, max_paths_per_pair=None, max_expansions_per_pair=2000)
    assert 0 < capped.num_paths and time.monotonic() - started < 10
    # the same search without a cap finds more (the cap really cut the enumeration)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = find_paths(_hub_graph(6), [0], [1], max_hops=3, max_paths_per_pair=None)
        again = find_paths(_hub_graph(6), [0], [1], max_hops=3, max_paths_per_pair=None, max_expansions_per_pair=None)
    assert torch.equal(small.path_nodes, again.path_nodes)  # below the cap: identical results
