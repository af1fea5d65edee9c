"""A stack of relation-aware graph convolutions over knowledge-graph subgraphs."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv, RGCNConv

from kglm.nn.rgat_conv import RelationalGATConv, check_heads

CONVS = ("qagnn", "rgcn", "gat")


class KGEncoder(nn.Module):
    r"""A residual stack of graph convolutions over typed, relational subgraphs.

    The node types are embedded and added to the input states, then every layer
    :math:`\ell` applies

    .. math::
        \mathbf{X}^{(\ell+1)} = \mathbf{X}^{(\ell)} +
            \operatorname{Dropout}\!\big(\operatorname{GELU}(
            \operatorname{Conv}^{(\ell)}(\mathbf{X}^{(\ell)}, \mathcal{E}))\big)

    where the convolution is chosen by ``conv``:

    - ``"qagnn"``: :class:`~kglm.nn.RelationalGATConv`, the relation- and
      node-type-aware attention of QA-GNN (https://arxiv.org/abs/2104.06378);
    - ``"rgcn"``: PyG's :class:`~torch_geometric.nn.conv.RGCNConv`
      (https://arxiv.org/abs/1703.06103);
    - ``"gat"``: PyG's :class:`~torch_geometric.nn.conv.GATConv` with ``heads``
      heads whose outputs are concatenated, and a learned embedding of the edge
      type as ``edge_attr`` (https://arxiv.org/abs/1710.10903).

    Args:
        hidden_size (int): size of the node states (input and output).
        num_layers (int): number of convolution layers.
        num_relations (int): number of edge types (``2R`` with inverse relations).
        num_node_types (int, optional): number of node types. (default: ``4``)
        conv (str, optional): ``"qagnn"``, ``"rgcn"`` or ``"gat"``.
            (default: ``"qagnn"``)
        heads (int, optional): attention heads of ``"qagnn"`` and ``"gat"``;
            ``hidden_size`` must be divisible by it. (default: ``2``)
        dropout (float, optional): dropout after every layer (and on the
            attention of the attention convolutions). (default: ``0.1``)

    Shapes:
        - **input:** node states :math:`(N, H)`, edge indices :math:`(2, E)`,
          edge types :math:`(E,)`, node types :math:`(N,)`; :math:`N = 0` and
          :math:`E = 0` are allowed
        - **output:** node states :math:`(N, H)`

    Example:
        >>> import torch
        >>> from kglm.nn import KGEncoder
        >>> x = torch.randn(4, 32)                              # 4 nodes
        >>> edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
        >>> edge_type = torch.tensor([0, 1, 0, 1])              # 2 relation types
        >>> node_type = torch.tensor([0, 1, 2, 2])              # question, answer, other
        >>> encoder = KGEncoder(32, num_layers=2, num_relations=2, conv="qagnn")
        >>> encoder(x, edge_index, edge_type, node_type).shape
        torch.Size([4, 32])
    """

    def __init__(
        self,
        hidden_size: int,
        num_layers: int,
        num_relations: int,
        num_node_types: int = 4,
        conv: str = "qagnn",
        heads: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"unknown conv {conv!r}; expected one of {CONVS}")
        if conv in ("qagnn", "gat"):
            check_heads(hidden_size, heads, "hidden_size")
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_relations = num_relations
        self.num_node_types = num_node_types
        self.conv = conv
        self.heads = heads
        self.dropout = dropout

        self.node_type_embedding = nn.Embedding(num_node_types, hidden_size)
        # GATConv knows no edge types: it gets them as learned edge features.
        self.relation_embedding = (
            nn.Embedding(num_relations, hidden_size) if conv == "gat" else None
        )
        self.convs = nn.ModuleList()
        for _ in range(num_layers):
            if conv == "qagnn":
                layer: nn.Module = RelationalGATConv(
                    hidden_size, hidden_size, num_relations, num_node_types,
                    heads=heads, dropout=dropout,
                )
            elif conv == "rgcn":
                layer = RGCNConv(hidden_size, hidden_size, num_relations)
            else:
                layer = GATConv(
                    hidden_size, hidden_size // heads, heads=heads,
                    dropout=dropout, edge_dim=hidden_size,
                )
            self.convs.append(layer)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        nn.init.normal_(self.node_type_embedding.weight, std=0.02)
        if self.relation_embedding is not None:
            nn.init.normal_(self.relation_embedding.weight, std=0.02)
        for layer in self.convs:
            layer.reset_parameters()

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, node_type: Tensor
    ) -> Tensor:
        """Encode the node states; see the class docstring for the rule."""
        x = x + self.node_type_embedding(node_type)
        edge_attr = (
            self.relation_embedding(edge_type) if self.relation_embedding is not None else None
        )
        # The QA-GNN layers' edge embeddings depend on each edge only through its
        # (relation, source type, target type) triple: index it once for all layers.
        edge_kind = (
            self.convs[0].edge_kind(edge_index, edge_type, node_type)
            if self.conv == "qagnn" and self.num_layers > 0
            else None
        )
        for layer in self.convs:
            if self.conv == "qagnn":
                h = layer(x, edge_index, edge_type, node_type, edge_kind=edge_kind)
            elif self.conv == "rgcn":
                h = layer(x, edge_index, edge_type)
            else:
                h = layer(x, edge_index, edge_attr=edge_attr)
            x = x + F.dropout(F.gelu(h), p=self.dropout, training=self.training)
        return x

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.hidden_size}, num_layers={self.num_layers}, "
            f"num_relations={self.num_relations}, conv={self.conv!r})"
        )
