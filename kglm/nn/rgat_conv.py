"""Relation- and node-type-aware graph attention (the QA-GNN GAT variant)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import softmax


def check_heads(size: int, heads: int, name: str) -> None:
    """``ValueError`` unless ``heads`` attention heads split a width ``size`` (called ``name``) evenly."""
    if size % heads != 0:
        raise ValueError(f"{name} ({size}) must be divisible by heads ({heads})")


class RelationalGATConv(MessagePassing):
    r"""The relation- and node-type-aware graph attention operator of
    `"QA-GNN: Reasoning with Language Models and Knowledge Graphs for Question
    Answering" <https://arxiv.org/abs/2104.06378>`_ (Yasunaga et al., 2021).

    Every edge :math:`j \to i` of relation :math:`r` gets an embedding built
    from its relation and the types of its two end nodes,

    .. math::
        \mathbf{e}_{ij} = \mathbf{R}_{r} + \mathbf{T}^{\mathrm{src}}_{t_j}
            + \mathbf{T}^{\mathrm{dst}}_{t_i},

    and the node states are updated with multi-head attention over the incoming
    edges, where message and key both see the neighbour and the edge:

    .. math::
        \mathbf{m}^h_{ij} = \mathbf{W}^h_m [\mathbf{x}_j \,\|\, \mathbf{e}_{ij}],
        \quad
        \mathbf{k}^h_{ij} = \mathbf{W}^h_k [\mathbf{x}_j \,\|\, \mathbf{e}_{ij}],
        \quad
        \mathbf{q}^h_i = \mathbf{W}^h_q \mathbf{x}_i

    .. math::
        \alpha^h_{ij} = \operatorname{softmax}_{j \in \mathcal{N}(i)}
            \left( \frac{\mathbf{q}^h_i \cdot \mathbf{k}^h_{ij}}{\sqrt{d}} \right),
        \qquad
        \mathbf{x}'_i = \mathbf{W}_{\mathrm{root}} \mathbf{x}_i +
            \big\Vert_{h=1}^{H} \sum_{j \in \mathcal{N}(i)} \alpha^h_{ij}\,
            \mathbf{m}^h_{ij}

    with :math:`d = \text{out\_channels} / H` the size of one head.  A node
    without incoming edges keeps only its root term.

    Args:
        in_channels (int): size of each input node state.
        out_channels (int): size of each output node state; divisible by ``heads``.
        num_relations (int): number of edge types (``2R`` with inverse relations).
        num_node_types (int): number of node types (4: question, answer, other,
            context).
        heads (int, optional): number of attention heads. (default: ``2``)
        dropout (float, optional): dropout on the attention coefficients during
            training. (default: ``0.1``)
        bias (bool, optional): learn an additive bias in the root term.
            (default: ``True``)

    Shapes:
        - **input:** node states :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge types :math:`(E,)`, node types :math:`(N,)`
        - **output:** node states :math:`(N, F_{out})`; with
          ``return_attention_weights=True`` also the attention :math:`(E, H)`

    Example:
        >>> import torch
        >>> from kglm.nn import RelationalGATConv
        >>> conv = RelationalGATConv(16, 32, num_relations=2, num_node_types=4, heads=2)
        >>> x = torch.randn(4, 16)
        >>> edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
        >>> out, alpha = conv(x, edge_index, torch.tensor([0, 1, 0, 1]),
        ...                   torch.tensor([0, 1, 2, 2]), return_attention_weights=True)
        >>> out.shape, alpha.shape
        (torch.Size([4, 32]), torch.Size([4, 2]))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_relations: int,
        num_node_types: int,
        heads: int = 2,
        dropout: float = 0.1,
        bias: bool = True,
    ) -> None:
        super().__init__(aggr="add", node_dim=0)
        check_heads(out_channels, heads, "out_channels")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_relations = num_relations
        self.num_node_types = num_node_types
        self.heads = heads
        self.head_dim = out_channels // heads
        self.dropout = dropout

        self.relation_embedding = nn.Embedding(num_relations, in_channels)
        self.source_type_embedding = nn.Embedding(num_node_types, in_channels)
        self.target_type_embedding = nn.Embedding(num_node_types, in_channels)
        self.lin_query = nn.Linear(in_channels, out_channels, bias=False)
        self.lin_key = nn.Linear(2 * in_channels, out_channels, bias=False)
        self.lin_message = nn.Linear(2 * in_channels, out_channels, bias=False)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        super().reset_parameters()
        for emb in (
            self.relation_embedding,
            self.source_type_embedding,
            self.target_type_embedding,
        ):
            nn.init.normal_(emb.weight, std=0.02)
        for lin in (self.lin_query, self.lin_key, self.lin_message, self.lin_root):
            lin.reset_parameters()

    def edge_embedding(
        self, edge_index: Tensor, edge_type: Tensor, node_type: Tensor
    ) -> Tensor:
        """The edge embeddings :math:`\\mathbf{e}_{ij}`, shape ``(E, in_channels)``."""
        src, dst = edge_index
        return (
            self.relation_embedding(edge_type)
            + self.source_type_embedding(node_type[src])
            + self.target_type_embedding(node_type[dst])
        )

    def edge_kind(self, edge_index: Tensor, edge_type: Tensor, node_type: Tensor) -> Tensor:
        """Each edge's (relation, source type, target type) triple as one index, shape ``(E,)``.

        :math:`\\mathbf{e}_{ij}` depends on the edge only through this triple;
        :class:`~kglm.nn.KGEncoder` computes it once and passes it to every layer.
        """
        src, dst = edge_index
        types = self.num_node_types
        return (edge_type * types + node_type.index_select(0, src)) * types + node_type.index_select(0, dst)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        node_type: Tensor,
        return_attention_weights: bool = False,
        edge_kind: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Update the node states; see the class docstring for the rule.

        ``edge_kind`` (optional) is :meth:`edge_kind` of the same edges, to skip
        recomputing it in every layer of a stack.
        """
        # Hand-optimised (CPU-bound on a few cores; every per-edge op counts):
        # key and message are linear in [x_j || e_ij] and e_ij is a sum of three
        # table rows, so W [x_j || e_ij] = (W_x x)_j + (W_e R)_r + (W_e T^src)_{t_j}
        # + (W_e T^dst)_{t_i}. The weights are applied to the N nodes and the small
        # tables; the three table terms are summed once per (r, t_j, t_i) triple
        # (R * T * T rows, in the same order as e_ij's sum), so every edge does
        # one gather from the nodes, one from that table and one add: no
        # per-edge matmul. The query, root and key/message projections of the
        # nodes share one matmul, and the 1/sqrt(d) of the score is folded into
        # the query weight rather than applied to the E scores.
        out = self.out_channels
        weight = torch.cat([self.lin_key.weight, self.lin_message.weight], dim=0)
        w_x, w_e = weight[:, : self.in_channels], weight[:, self.in_channels :]
        node_weight = torch.cat(
            [w_x, self.lin_query.weight / math.sqrt(self.head_dim), self.lin_root.weight], dim=0
        )
        if self.lin_root.bias is not None:
            node_bias = torch.cat([self.lin_root.bias.new_zeros(3 * out), self.lin_root.bias])
            node_proj = torch.addmm(node_bias, x, node_weight.t())
        else:
            node_proj = x @ node_weight.t()
        # (N, 4 * out): key | message | query (already divided by sqrt(d)) | root
        node_part = node_proj[:, : 2 * out]
        query = node_proj[:, 2 * out : 3 * out].view(-1, self.heads, self.head_dim)
        root = node_proj[:, 3 * out :]
        if edge_kind is None:
            edge_kind = self.edge_kind(edge_index, edge_type, node_type)
        types = self.num_node_types
        table = (
            (self.relation_embedding.weight @ w_e.t()).view(-1, 1, 1, 2 * out)
            + (self.source_type_embedding.weight @ w_e.t()).view(1, types, 1, 2 * out)
            + (self.target_type_embedding.weight @ w_e.t()).view(1, 1, types, 2 * out)
        ).view(-1, 2 * out)  # (R * T * T, 2 * out)
        # F.embedding, not tensor[index]: its backward sums the many duplicate
        # rows efficiently (indexing's backward serialises them on CUDA).
        edge_part = F.embedding(edge_kind, table)  # (E, 2 * out)
        self._return_alpha = return_attention_weights
        agg = self.propagate(
            edge_index, key_message=node_part, query=query, edge_attr=edge_part,
            size=(x.size(0), x.size(0)),
        )
        out_states = agg.reshape(-1, out) + root
        if return_attention_weights:
            alpha, self._alpha = self._alpha, None
            return out_states, alpha
        return out_states

    def message(
        self,
        key_message_j: Tensor,
        query_i: Tensor,
        edge_attr: Tensor,
        index: Tensor,
        ptr: Tensor | None,
        size_i: int | None,
    ) -> Tensor:
        """Attention-weighted messages, shape ``(E, heads, head_dim)``."""
        key, msg = (key_message_j + edge_attr).split(self.out_channels, dim=-1)
        key = key.view(-1, self.heads, self.head_dim)
        msg = msg.view(-1, self.heads, self.head_dim)
        score = (query_i * key).sum(dim=-1)  # query_i is already divided by sqrt(d)
        alpha = softmax(score, index, ptr, size_i)
        if self._return_alpha:
            self._alpha = alpha.detach()
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return msg * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_relations={self.num_relations}, num_node_types={self.num_node_types}, "
            f"heads={self.heads})"
        )
