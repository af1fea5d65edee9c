"""kglm.nn: graph layers for knowledge-graph-augmented language models (PyG style).

Importing this package imports torch and torch_geometric; ``KnowledgeFusion``
(``kglm/nn/fusion.py``) is resolved lazily on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from kglm.nn.greaselm import GreaseLMInteraction
from kglm.nn.kg_encoder import KGEncoder
from kglm.nn.path_encoder import PathEncoder
from kglm.nn.pooling import AttentionPooling
from kglm.nn.rgat_conv import RelationalGATConv

_LAZY: dict[str, str] = {
    "KnowledgeFusion": "kglm.nn.fusion",
}

__all__ = [
    "AttentionPooling",
    "GreaseLMInteraction",
    "KGEncoder",
    "PathEncoder",
    "RelationalGATConv",
]
# Listed only where its file exists, so ``from kglm.nn import *`` never fails.
__all__ += [
    name for name, module in _LAZY.items() if importlib.util.find_spec(module) is not None
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kglm.nn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
