"""The docstring examples of kglm.knowledge_text run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from kglm.knowledge_text import core, templates


@pytest.mark.parametrize("module", [core, templates])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
