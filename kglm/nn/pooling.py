"""Attention pooling of each graph's nodes, conditioned on a text vector."""

from __future__ import annotations

import math

from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax


class AttentionPooling(nn.Module):
    r"""Pools the nodes of every graph into one vector with attention whose query
    is that graph's text vector, as in the QA-GNN graph pooling
    (https://arxiv.org/abs/2104.06378):

    .. math::
        \alpha_i = \operatorname{softmax}_{i \in g}\left(
            \frac{(\mathbf{W}_q \mathbf{s}_g) \cdot (\mathbf{W}_k \mathbf{x}_i)}
                 {\sqrt{d}}\right),
        \qquad
        \mathbf{p}_g = \sum_{i \in g} \alpha_i \mathbf{x}_i

    where :math:`g` is the graph of node :math:`i`, :math:`\mathbf{s}_g` its
    query (text) vector and :math:`d` = ``hidden_dim``.  A graph without nodes
    pools to zeros.

    Args:
        node_dim (int): size of the node states.
        query_dim (int): size of the query (text) vectors.
        hidden_dim (int, optional): size of the attention space;
            ``None`` uses ``node_dim``. (default: ``None``)

    Shapes:
        - **input:** node states :math:`(N, F_{node})`, queries
          :math:`(G, F_{query})`, graph index :math:`(N,)` with values in
          :math:`[0, G)`
        - **output:** pooled :math:`(G, F_{node})`, attention :math:`(N,)`
          (summing to 1 over the nodes of each non-empty graph)
    """

    def __init__(self, node_dim: int, query_dim: int, hidden_dim: int | None = None) -> None:
        super().__init__()
        self.node_dim = node_dim
        self.query_dim = query_dim
        self.hidden_dim = hidden_dim if hidden_dim is not None else node_dim
        self.lin_query = nn.Linear(query_dim, self.hidden_dim)
        self.lin_key = nn.Linear(node_dim, self.hidden_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()

    def forward(
        self, x: Tensor, query: Tensor, graph_index: Tensor, num_graphs: int
    ) -> tuple[Tensor, Tensor]:
        """Pool the nodes of each graph; see the class docstring for the rule."""
        q = self.lin_query(query).index_select(0, graph_index)
        k = self.lin_key(x)
        score = (q * k).sum(dim=-1) / math.sqrt(self.hidden_dim)
        attention = softmax(score, graph_index, num_nodes=num_graphs)
        pooled = scatter(
            x * attention.unsqueeze(-1), graph_index, dim=0, dim_size=num_graphs, reduce="sum"
        )
        return pooled, attention

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.node_dim}, {self.query_dim}, "
            f"hidden_dim={self.hidden_dim})"
        )
