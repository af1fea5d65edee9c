"""The docstring examples of kglm.kg run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from kglm.kg import graph, triples, wordnet
from kglm.kg import merge as merge_module


@pytest.mark.parametrize("module", [graph, triples, merge_module, wordnet])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
