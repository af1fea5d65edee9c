"""KagNet's path encoder: GCN over the schema graph, LSTM over paths, hierarchical attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import scatter, softmax

from kglm.utils.indexing import pack_keys, unpack_keys


class PathEncoder(nn.Module):
    r"""The GCN-LSTM-HPA path encoder of `"KagNet: Knowledge-Aware Graph
    Networks for Commonsense Reasoning" <https://arxiv.org/abs/1909.02151>`_
    (Lin et al., 2019).

    1. **GCN.** The schema graph's node states are refined by ``gcn_layers``
       residual PyG :class:`~torch_geometric.nn.conv.GCNConv` layers,
       :math:`\mathbf{h}^{(\ell+1)} = \mathbf{h}^{(\ell)} +
       \operatorname{GELU}(\operatorname{GCN}(\mathbf{h}^{(\ell)}))`.
    2. **LSTM.** A path :math:`c_0 \xrightarrow{r_1} c_1 \cdots
       \xrightarrow{r_k} c_k` is read as the sequence of its triples
       :math:`\mathbf{t}_m = [\mathbf{h}_{c_{m-1}} \,\|\, \mathbf{R}_{r_m}
       \,\|\, \mathbf{h}_{c_m}]`, :math:`m = 1..k`, by an LSTM (packed, so
       padding never enters); the path vector :math:`\mathbf{p}` is its last
       hidden state.
    3. **Hierarchical path attention**, both levels conditioned on the
       statement vector :math:`\mathbf{s}_g` of the path's graph :math:`g`.
       Paths are grouped by their (question concept :math:`c_0`, answer concept
       :math:`c_k`) pair :math:`q`; paths are attended within their pair, pairs
       within their graph:

    .. math::
        \alpha_p = \operatorname{softmax}_{p \in q}\!\left(
            \frac{(\mathbf{W}_1 \mathbf{s}_g) \cdot \mathbf{p}}{\sqrt{d}}\right),
        \quad
        \mathbf{v}_q = \sum_{p \in q} \alpha_p \mathbf{p},
        \quad
        \beta_q = \operatorname{softmax}_{q \in g}\!\left(
            \frac{(\mathbf{W}_2 \mathbf{s}_g) \cdot \mathbf{v}_q}{\sqrt{d}}\right),
        \quad
        \mathbf{o}_g = \sum_{q \in g} \beta_q \mathbf{v}_q

    with :math:`d` = ``hidden_dim``.  The returned path attention is each path's
    total weight :math:`\alpha_p \beta_{q(p)}` in :math:`\mathbf{o}_g` (it sums
    to 1 over the paths of every graph that has paths).  A graph without paths
    gets :math:`\mathbf{o}_g = \mathbf{0}`.

    Args:
        node_dim (int): size of the node states.
        num_relations (int): number of edge types (``2R`` with inverse relations).
        relation_dim (int): size of the relation embeddings.
        hidden_dim (int): size of the LSTM state and of the output.
        statement_dim (int, optional): size of the statement vectors; ``None``
            uses ``hidden_dim``. (default: ``None``)
        gcn_layers (int, optional): number of GCN layers; ``0`` uses the node
            states as given. (default: ``1``)
        dropout (float, optional): dropout on the path vectors. (default: ``0.1``)

    Shapes:
        - **input:** node states :math:`(N, F_{node})`, schema-graph edges
          :math:`(2, E)`, path nodes :math:`(P, K+1)` and relations
          :math:`(P, K)` (-1 padded), path lengths :math:`(P,)` in
          :math:`[1, K]`, path graph :math:`(P,)` in :math:`[0, G)`, statements
          :math:`(G, F_{statement})`; :math:`P = 0` is allowed
        - **output:** graph vectors :math:`(G, F_{hidden})`, path attention
          :math:`(P,)`
    """

    def __init__(
        self,
        node_dim: int,
        num_relations: int,
        relation_dim: int,
        hidden_dim: int,
        statement_dim: int | None = None,
        gcn_layers: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.node_dim = node_dim
        self.num_relations = num_relations
        self.relation_dim = relation_dim
        self.hidden_dim = hidden_dim
        self.statement_dim = statement_dim if statement_dim is not None else hidden_dim
        self.dropout = dropout
        # normalize=False: node_states computes the GCN normalisation (self loops,
        # D^-1/2 A D^-1/2) once for all layers instead of once per layer.
        self.gcns = nn.ModuleList(
            GCNConv(node_dim, node_dim, normalize=False) for _ in range(gcn_layers)
        )
        self.relation_embedding = nn.Embedding(num_relations, relation_dim)
        self.lstm = nn.LSTM(2 * node_dim + relation_dim, hidden_dim, batch_first=True)
        self.lin_path_query = nn.Linear(self.statement_dim, hidden_dim)
        self.lin_pair_query = nn.Linear(self.statement_dim, hidden_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        for gcn in self.gcns:
            gcn.reset_parameters()
        nn.init.normal_(self.relation_embedding.weight, std=0.02)
        self.lstm.reset_parameters()
        self.lin_path_query.reset_parameters()
        self.lin_pair_query.reset_parameters()

    def node_states(self, node_x: Tensor, edge_index: Tensor) -> Tensor:
        """The GCN-refined node states, shape ``(N, node_dim)``."""
        h = node_x
        if len(self.gcns) == 0:
            return h
        # The normalisation GCNConv(normalize=True) would recompute in every layer.
        edge_index, edge_weight = gcn_norm(edge_index, None, h.size(0), add_self_loops=True, dtype=h.dtype)
        for gcn in self.gcns:
            h = h + F.gelu(gcn(h, edge_index, edge_weight))
        return h

    def path_vectors(
        self, h: Tensor, path_nodes: Tensor, path_relations: Tensor, path_length: Tensor
    ) -> Tensor:
        """The LSTM encoding of every path, shape ``(P, hidden_dim)``; ``P > 0``."""
        num_paths, hops = path_relations.shape
        src = h.index_select(0, path_nodes[:, :-1].clamp(min=0).reshape(-1))
        dst = h.index_select(0, path_nodes[:, 1:].clamp(min=0).reshape(-1))
        src, dst = src.view(num_paths, hops, -1), dst.view(num_paths, hops, -1)
        rel = self.relation_embedding(path_relations.clamp(min=0))
        triples = torch.cat([src, rel, dst], dim=-1)
        packed = pack_padded_sequence(
            triples, path_length.cpu(), batch_first=True, enforce_sorted=False
        )
        # cuDNN's RNN backward refuses eval mode; gradients in eval mode (e.g. for
        # explanations) then take the native kernel instead.
        if triples.is_cuda and not self.training and torch.is_grad_enabled():
            with torch.backends.cudnn.flags(enabled=False):
                _, (h_n, _) = self.lstm(packed)
        else:
            _, (h_n, _) = self.lstm(packed)
        return h_n[-1]

    def forward(
        self,
        node_x: Tensor,
        edge_index: Tensor,
        path_nodes: Tensor,
        path_relations: Tensor,
        path_length: Tensor,
        path_graph: Tensor,
        statement: Tensor,
        num_graphs: int,
    ) -> tuple[Tensor, Tensor]:
        """Encode and pool the paths of every graph; see the class docstring."""
        num_paths = path_nodes.size(0)
        if num_paths == 0:
            out = statement.new_zeros(num_graphs, self.hidden_dim)
            return out, statement.new_zeros(0)
        h = self.node_states(node_x, edge_index)
        paths = self.path_vectors(h, path_nodes, path_relations, path_length)
        paths = F.dropout(paths, p=self.dropout, training=self.training)
        scale = math.sqrt(self.hidden_dim)

        # Group paths by (graph, question concept, answer concept).
        start = path_nodes[:, 0]
        end = path_nodes.gather(1, path_length.view(-1, 1)).view(-1)
        # One int64 key per (graph, start, end): a 1-D unique is much faster than
        # torch.unique(dim=0) on stacked columns.
        n = node_x.size(0)
        sizes = (statement.size(0), n, n)
        pair_keys, pair_index = torch.unique(pack_keys((path_graph, start, end), sizes), return_inverse=True)
        num_pairs = pair_keys.size(0)
        pair_graph = unpack_keys(pair_keys, sizes)[0]

        path_query = self.lin_path_query(statement).index_select(0, path_graph)
        path_score = (path_query * paths).sum(-1) / scale
        alpha = softmax(path_score, pair_index, num_nodes=num_pairs)
        pairs = scatter(
            paths * alpha.unsqueeze(-1), pair_index, dim=0, dim_size=num_pairs, reduce="sum"
        )
        pair_query = self.lin_pair_query(statement).index_select(0, pair_graph)
        pair_score = (pair_query * pairs).sum(-1) / scale
        beta = softmax(pair_score, pair_graph, num_nodes=num_graphs)
        out = scatter(
            pairs * beta.unsqueeze(-1), pair_graph, dim=0, dim_size=num_graphs, reduce="sum"
        )
        return out, alpha * beta.index_select(0, pair_index)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.node_dim}, num_relations={self.num_relations}, "
            f"relation_dim={self.relation_dim}, hidden_dim={self.hidden_dim}, "
            f"gcn_layers={len(self.gcns)})"
        )
