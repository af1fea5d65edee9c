"""KagNet-style multiple-choice model: text encoder + path encoder over KG paths."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kglm.models.base import KGModelConfig, KGPreTrainedModel, choice_scorer
from kglm.models.controls import apply_kg_control, graph_inputs
from kglm.models.outputs import MultipleChoiceKGOutput
from kglm.nn.path_encoder import PathEncoder

__all__ = ["KagNetConfig", "KagNetForMultipleChoice"]


class KagNetConfig(KGModelConfig):
    """Configuration of :class:`KagNetForMultipleChoice` (``model_type="kglm-kagnet"``).

    Takes every :class:`~kglm.models.base.KGModelConfig` argument; ``graph_kind``
    defaults to ``"paths"`` (the collator then sends KagNet schema graphs and
    paths). ``gnn_hidden`` is the width of node states, relation embeddings and
    path vectors; ``gnn_layers`` is the number of GCN layers over the schema graph.
    """

    model_type = "kglm-kagnet"

    graph_kind: str = "paths"


class KagNetForMultipleChoice(KGPreTrainedModel):
    r"""KagNet-style scoring (Lin et al. 2019, https://arxiv.org/abs/1909.02151).

    For each of the ``B*C`` (question, choice) pairs the text encoder gives the
    statement vector :math:`\mathbf{s}` (pooled [CLS]); the schema-graph nodes
    start from their entity embeddings projected to ``gnn_hidden``; a
    :class:`~kglm.nn.PathEncoder` (GCN over the schema graph, LSTM over the
    paths, hierarchical path attention conditioned on :math:`\mathbf{s}`) gives
    the path vector :math:`\mathbf{p}`; the score is
    :math:`\operatorname{MLP}([\mathbf{s}; \mathbf{p}])`. A pair without paths
    has :math:`\mathbf{p} = \mathbf{0}`. ``config.kg_control`` is applied to the
    graph inputs in every forward pass.

    Args:
        config: a :class:`KagNetConfig`.
    """

    config_class = KagNetConfig

    def __init__(self, config: KagNetConfig) -> None:
        super().__init__(config)
        text_dim, hidden = self.text_hidden_size, config.gnn_hidden
        self.entity_projection = nn.Linear(config.entity_dim, hidden)
        self.path_encoder = PathEncoder(
            hidden,
            max(config.num_relations, 1),
            hidden,
            hidden,
            statement_dim=text_dim,
            gcn_layers=config.gnn_layers,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.scorer = choice_scorer(text_dim + hidden, hidden, config.dropout)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        node_ids: Tensor | None = None,
        edge_index: Tensor | None = None,
        path_nodes: Tensor | None = None,
        path_relations: Tensor | None = None,
        path_length: Tensor | None = None,
        path_graph: Tensor | None = None,
        return_path_attention: bool = False,
        **unused: Any,
    ) -> MultipleChoiceKGOutput:
        """Score every choice.

        Args:
            input_ids, attention_mask, token_type_ids, labels: the text batch and gold
                choices, as every kglm model takes them (:class:`~kglm.models.base.KGPreTrainedModel`).
            node_ids: ``(N,)`` KG ids of the schema-graph nodes; edge_index ``(2, E)``
                their edges (docs/architecture.md "Model batches").
            path_nodes: ``(P, K+1)`` node indices, -1 padded; path_relations
                ``(P, K)``; path_length ``(P,)``; path_graph ``(P,)``. Absent or
                empty means no paths.
            return_path_attention: also return the attention over the ``P`` paths
                (after ``kg_control``; empty under ``"no_graph"``).
            **unused: other batch keys (``node_type``, ``graph_index``,
                ``edge_type``, ``token_entity``), ignored or used by the control.

        Returns:
            :class:`~kglm.models.outputs.MultipleChoiceKGOutput` with ``loss``
            (when labels are given), ``logits`` ``(B, C)`` and, on request,
            ``path_attention`` ``(P,)``.
        """
        graph = graph_inputs(
            input_ids, path_relations.size(1) if path_relations is not None else 1, node_ids=node_ids,
            edge_index=edge_index, path_nodes=path_nodes, path_relations=path_relations, path_length=path_length,
            path_graph=path_graph,
        )
        for key in ("graph_index", "node_type", "edge_type"):
            if key in unused and unused[key] is not None:
                graph[key] = unused[key]
        if (
            self.config.kg_control == "permute_edges"
            and graph["edge_index"].size(1) > 0
            and "graph_index" not in graph
        ):
            raise ValueError("kg_control='permute_edges' needs the batch's graph_index")
        graph = apply_kg_control(graph, self.config.kg_control, seed=self.config.kg_control_seed)

        _, statement = self.encode_text(input_ids, attention_mask, token_type_ids)
        node_x = self.entity_projection(self.entity_embeddings(graph["node_ids"]))
        path_vector, path_attention = self.path_encoder(
            node_x,
            graph["edge_index"],
            graph["path_nodes"],
            graph["path_relations"],
            graph["path_length"],
            graph["path_graph"],
            statement,
            statement.size(0),
        )
        features = self.dropout(torch.cat([statement, path_vector], dim=-1))
        return self.choice_output(
            self.scorer(features), input_ids.size(1), labels,
            path_attention=path_attention if return_path_attention else None,
        )
