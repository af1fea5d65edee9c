"""The docstring examples of kglm.kg run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from kglm.kg import graph, triples


@pytest.mark.parametrize("module", [graph, triples])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
