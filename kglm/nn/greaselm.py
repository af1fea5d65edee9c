"""GreaseLM's modality interaction between the text [CLS] and the graph context node."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GreaseLMInteraction(nn.Module):
    r"""The modality interaction layer of `"GreaseLM: Graph REASoning Enhanced
    Language Models for Question Answering" <https://arxiv.org/abs/2201.08860>`_
    (Zhang et al., 2022).

    The text's interaction token (the [CLS] state) and the graph's interaction
    node (the context node) are concatenated, mixed by a two-layer MLP and split
    back into the two modalities:

    .. math::
        [\mathbf{h}'_{int} \,\|\, \mathbf{e}'_{int}] =
            \mathbf{W}_2\,\operatorname{GELU}(\mathbf{W}_1
            [\mathbf{h}_{int} \,\|\, \mathbf{e}_{int}] + \mathbf{b}_1) + \mathbf{b}_2

    where :math:`\mathbf{h}'_{int}` has ``text_dim`` entries and
    :math:`\mathbf{e}'_{int}` has ``graph_dim``.

    Args:
        text_dim (int): size of the text interaction state.
        graph_dim (int): size of the graph interaction state.
        hidden_dim (int): size of the MLP's hidden layer.
        dropout (float, optional): dropout after the hidden layer. (default: ``0.1``)

    Shapes:
        - **input:** cls :math:`(G, F_{text})`, context :math:`(G, F_{graph})`
        - **output:** cls' :math:`(G, F_{text})`, context' :math:`(G, F_{graph})`
    """

    def __init__(self, text_dim: int, graph_dim: int, hidden_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.text_dim = text_dim
        self.graph_dim = graph_dim
        self.hidden_dim = hidden_dim
        self.lin1 = nn.Linear(text_dim + graph_dim, hidden_dim)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.lin2 = nn.Linear(hidden_dim, text_dim + graph_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()

    def forward(self, cls: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Mix the two interaction states; see the class docstring for the rule."""
        h = self.lin2(self.dropout(self.act(self.lin1(torch.cat([cls, context], dim=-1)))))
        return h[:, : self.text_dim], h[:, self.text_dim :]

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(text_dim={self.text_dim}, "
            f"graph_dim={self.graph_dim}, hidden_dim={self.hidden_dim})"
        )
