"""The kglm.nn package namespace."""

import pytest

import kglm.nn


def test_public_names():
    for name in ("AttentionPooling", "GreaseLMInteraction", "KGEncoder", "PathEncoder",
                 "RelationalGATConv", "KnowledgeFusion"):
        assert name in kglm.nn.__all__
        assert getattr(kglm.nn, name).__module__.startswith("kglm.nn.")
    from kglm.nn import KnowledgeFusion
    from kglm.nn.fusion import KnowledgeFusion as Direct

    assert KnowledgeFusion is Direct
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        kglm.nn.Missing  # noqa: B018
