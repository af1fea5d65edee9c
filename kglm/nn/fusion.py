"""ERNIE's information-fusion layer: aligned token and entity states mixed and split back."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.resolver import activation_resolver

__all__ = ["KnowledgeFusion"]


class KnowledgeFusion(nn.Module):
    r"""The token/entity information-fusion layer of ERNIE
    (Zhang et al., 2019, https://arxiv.org/abs/1905.07129).

    For every token :math:`j` with token state :math:`\mathbf{w}_j` and, when a
    mention starts at it, the aligned entity state :math:`\mathbf{e}_j`
    (:math:`m_j = 1`):

    .. math::
        \mathbf{h}_j &= \sigma\big(\mathbf{W}_t \mathbf{w}_j
            + m_j \mathbf{W}_e \mathbf{e}_j + \mathbf{b}\big)

        \mathbf{w}'_j &= \mathbf{w}_j + \operatorname{Dropout}(\mathbf{W}'_t \mathbf{h}_j + \mathbf{b}'_t)

        \mathbf{e}'_j &= \begin{cases}
            \operatorname{LayerNorm}\big(\mathbf{e}_j + \operatorname{Dropout}(
                \mathbf{W}'_e \mathbf{h}_j + \mathbf{b}'_e)\big) & m_j = 1 \\
            \mathbf{e}_j & m_j = 0 \end{cases}

    so tokens without an entity take the token-only path
    :math:`\mathbf{h}_j = \sigma(\mathbf{W}_t \mathbf{w}_j + \mathbf{b})`.

    Difference from the paper, on purpose: ERNIE also applies a LayerNorm on the
    token path, which would change a pretrained encoder's states even before any
    training. Here :math:`\mathbf{W}'_t, \mathbf{b}'_t` are zero-initialised and
    the token path has no LayerNorm, so at initialisation
    :math:`\mathbf{w}' = \mathbf{w}` exactly and a fusion layer inserted into a
    pretrained encoder leaves its outputs unchanged (the following transformer
    layer normalises its input anyway).

    Args:
        token_dim (int): size :math:`H_t` of the token states.
        entity_dim (int): size :math:`H_e` of the entity states.
        hidden_dim (int, optional): size of the fused state :math:`\mathbf{h}`.
            (default: ``token_dim``)
        activation (str, optional): the activation :math:`\sigma`, any name
            PyG's ``activation_resolver`` knows (``"gelu"``, ``"relu"``,
            ``"tanh"``, ...). (default: ``"gelu"``)
        dropout (float, optional): dropout on the two residual updates.
            (default: ``0.1``)
        layer_norm_eps (float, optional): epsilon of the entity LayerNorm.
            (default: ``1e-12``, as BERT)

    Shapes:
        - **input:** token states :math:`(B, L, H_t)`, entity states
          :math:`(B, L, H_e)` aligned to the tokens, entity mask :math:`(B, L)`
          (bool, ``True`` where a token has an entity)
        - **output:** token states :math:`(B, L, H_t)`, entity states
          :math:`(B, L, H_e)`
    """

    def __init__(
        self,
        token_dim: int,
        entity_dim: int,
        hidden_dim: int | None = None,
        activation: str = "gelu",
        dropout: float = 0.1,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.token_dim = token_dim
        self.entity_dim = entity_dim
        self.hidden_dim = hidden_dim if hidden_dim is not None else token_dim
        self.activation_name = activation
        self.token_in = nn.Linear(token_dim, self.hidden_dim)  # W_t, b
        self.entity_in = nn.Linear(entity_dim, self.hidden_dim, bias=False)  # W_e
        self.activation = activation_resolver(activation)
        self.token_out = nn.Linear(self.hidden_dim, token_dim)  # W'_t, b'_t (zero-initialised)
        self.entity_out = nn.Linear(self.hidden_dim, entity_dim)  # W'_e, b'_e
        self.entity_norm = nn.LayerNorm(entity_dim, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Default init for the input and entity projections; zeros for the token update."""
        self.token_in.reset_parameters()
        self.entity_in.reset_parameters()
        self.entity_out.reset_parameters()
        self.entity_norm.reset_parameters()
        nn.init.zeros_(self.token_out.weight)
        nn.init.zeros_(self.token_out.bias)

    def forward(self, token_states: Tensor, entity_states: Tensor, entity_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Fuse aligned entity states into the token states.

        Args:
            token_states: :math:`(B, L, H_t)`.
            entity_states: :math:`(B, L, H_e)`; rows where ``entity_mask`` is
                ``False`` are ignored (any value) and returned unchanged.
            entity_mask: :math:`(B, L)` bool.

        Returns:
            ``(token_states, entity_states)`` of the input shapes.
        """
        mask = entity_mask.to(torch.bool).unsqueeze(-1)
        # Dense masking rather than boolean indexing: no data-dependent shapes, so
        # no host-device synchronisation on GPUs. masked_fill (not multiplication)
        # keeps unaligned rows (any value, even non-finite) out of the result.
        entities_in = entity_states.to(token_states.dtype).masked_fill(~mask, 0.0)
        # entity_in has no bias, so the zeroed rows add nothing: the token-only path
        hidden = self.activation(self.token_in(token_states) + self.entity_in(entities_in))
        tokens = token_states + self.dropout(self.token_out(hidden))
        fused = self.entity_norm(entities_in + self.dropout(self.entity_out(hidden)))
        entities = torch.where(mask, fused.to(entity_states.dtype), entity_states)
        return tokens, entities

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.token_dim}, {self.entity_dim}, "
            f"hidden_dim={self.hidden_dim}, activation={self.activation_name!r})"
        )
