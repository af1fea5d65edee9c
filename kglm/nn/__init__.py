"""kglm.nn: layers for knowledge-graph-augmented language models (PyG style).

One layer per file, re-exported here, so users write
``from kglm.nn import RelationalGATConv``. Importing this package imports
torch and torch_geometric.
"""

from __future__ import annotations

from kglm.nn.fusion import KnowledgeFusion
from kglm.nn.greaselm import GreaseLMInteraction
from kglm.nn.kg_encoder import KGEncoder
from kglm.nn.path_encoder import PathEncoder
from kglm.nn.pooling import AttentionPooling
from kglm.nn.rgat_conv import RelationalGATConv

__all__ = [
    "AttentionPooling",
    "GreaseLMInteraction",
    "KGEncoder",
    "KnowledgeFusion",
    "PathEncoder",
    "RelationalGATConv",
]
