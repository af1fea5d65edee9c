"""The docstring examples of kglm.nn run as written."""

import doctest

import pytest

import kglm.nn.kg_encoder
import kglm.nn.rgat_conv


@pytest.mark.parametrize("module", [kglm.nn.kg_encoder, kglm.nn.rgat_conv])
def test_docstring_examples(module):
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
