"""ERNIE-style model: GNN-encoded entity states fused into the text encoder's layers."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from kglm.models.base import KGModelConfig, KGPreTrainedModel, text_encoder_config
from kglm.models.controls import apply_kg_control, graph_inputs
from kglm.models.knowledge_fusion import add_knowledge_fusion, align_entity_states
from kglm.models.outputs import MultipleChoiceKGOutput
from kglm.nn.kg_encoder import KGEncoder

__all__ = ["ErnieFusionConfig", "ErnieFusionForMultipleChoice"]

_GRAPH_KEYS = ("node_ids", "node_type", "graph_index", "edge_index", "edge_type", "token_entity")


class ErnieFusionConfig(KGModelConfig):
    """Configuration of :class:`ErnieFusionForMultipleChoice` (``model_type="kglm-ernie"``).

    Takes every :class:`~kglm.models.base.KGModelConfig` argument, plus:

    Args:
        fusion_layers: 0-based indices of the text-encoder layers to fuse after
            (negative counts from the end). ``None`` fuses after the last two
            layers, like ERNIE's knowledgeable encoder on top of the text encoder.
        fusion_hidden: size of the fused state (``None``: the encoder's hidden size).
        fusion_activation: activation of the fused state.
    """

    model_type = "kglm-ernie"

    fusion_layers: list[int] | None = None
    fusion_hidden: int | None = None
    fusion_activation: str = "gelu"


class ErnieFusionForMultipleChoice(KGPreTrainedModel):
    r"""Entity states from the choice graphs fused into a text encoder, ERNIE style.

    Following ERNIE (Zhang et al., 2019, https://arxiv.org/abs/1905.07129), with
    the entity states computed on the fly from each choice's subgraph:

    1. node states :math:`\mathbf{x}_v = \mathbf{W}\,\mathbf{E}[\mathrm{id}_v]`
       from the (by default frozen) entity-embedding table, projected to
       ``gnn_hidden``, then encoded by :class:`~kglm.nn.KGEncoder` over the
       batch's graphs (relation- and node-type-aware);
    2. each mention's node state is placed on the first word piece of the
       mention (``token_entity``) and mixed into the token states by a
       :class:`~kglm.nn.fusion.KnowledgeFusion` after each of
       ``config.fusion_layers`` (see :func:`~kglm.models.add_knowledge_fusion`);
    3. the choice score is ``Linear(hidden, 1)`` over the pooled ``[CLS]`` vector.

    At initialisation the fusion layers are the identity on the token states,
    so the model starts as exactly its LM baseline. A choice with an empty graph
    (nothing linked) is scored from its text alone, through the same fusion
    layers' token-only path.

    Args:
        config: an :class:`ErnieFusionConfig`.
    """

    config_class = ErnieFusionConfig

    def __init__(self, config: ErnieFusionConfig) -> None:
        super().__init__(config)
        num_layers = int(text_encoder_config(config).num_hidden_layers)
        layers = config.fusion_layers
        if layers is None:
            layers = list(range(max(num_layers - 2, 0), num_layers))
        self.entity_proj = nn.Linear(config.entity_dim, config.gnn_hidden)
        self.gnn = KGEncoder(
            config.gnn_hidden,
            config.gnn_layers,
            max(config.num_relations, 1),
            num_node_types=config.num_node_types,
            conv=config.gnn_conv,
            heads=config.gnn_heads,
            dropout=config.dropout,
        )
        # Owned here (attach=False) so the encoder's parameter names stay those of
        # its pretrained checkpoint; the hooks live on the encoder's layers.
        self.fusion = add_knowledge_fusion(
            self.text_encoder,
            layers,
            entity_dim=config.gnn_hidden,
            hidden_dim=config.fusion_hidden,
            activation=config.fusion_activation,
            dropout=config.dropout,
            attach=False,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.text_hidden_size, 1)
        self.post_init()

    def encode_graph(
        self, node_ids: Tensor, node_type: Tensor, edge_index: Tensor, edge_type: Tensor
    ) -> Tensor:
        """GNN node states ``(N, gnn_hidden)`` of the batch's concatenated graphs (``N`` may be 0)."""
        x = self.entity_proj(self.entity_embeddings(node_ids))
        if node_ids.numel() == 0:
            return x
        return self.gnn(x, edge_index, edge_type, node_type)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        node_ids: Tensor | None = None,
        node_type: Tensor | None = None,
        graph_index: Tensor | None = None,
        edge_index: Tensor | None = None,
        edge_type: Tensor | None = None,
        token_entity: Tensor | None = None,
        **unused: Any,
    ) -> MultipleChoiceKGOutput:
        """Score every choice (batch keys as in ``docs/architecture.md``, "Model batches").

        Args:
            input_ids, attention_mask, token_type_ids, labels: the text batch and gold
                choices, as every kglm model takes them (:class:`~kglm.models.base.KGPreTrainedModel`).
            node_ids, node_type, graph_index: ``(N,)`` the batch's nodes (absent or
                empty: no graph).
            edge_index: ``(2, E)``; edge_type: ``(E,)``.
            token_entity: ``(B, C, L)`` node index of the mention starting at each
                token, ``-1`` for none.
            **unused: other batch keys (KagNet paths), ignored.

        Returns:
            :class:`~kglm.models.outputs.MultipleChoiceKGOutput` with ``loss`` and ``logits`` ``(B, C)``.
        """
        graph = graph_inputs(input_ids, node_ids=node_ids, node_type=node_type, graph_index=graph_index,
                             edge_index=edge_index, edge_type=edge_type, token_entity=token_entity)
        graph = apply_kg_control(graph, self.config.kg_control, seed=self.config.kg_control_seed)
        node_states = self.encode_graph(graph["node_ids"], graph["node_type"], graph["edge_index"], graph["edge_type"])
        entity_states, entity_mask = align_entity_states(node_states, graph["token_entity"].reshape(-1, input_ids.size(-1)))
        with self.fusion.entities(entity_states, entity_mask):
            _, pooled = self.encode_text(input_ids, attention_mask, token_type_ids)
        return self.choice_output(self.classifier(self.dropout(pooled)), input_ids.size(1), labels)
