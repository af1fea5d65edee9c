"""QA-GNN-style multiple-choice model: text encoder + GNN over the QA subgraph with a context node."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from kglm.models.base import KGModelConfig, KGPreTrainedModel, choice_scorer
from kglm.models.controls import apply_kg_control, graph_inputs
from kglm.models.outputs import MultipleChoiceKGOutput
from kglm.nn.greaselm import GreaseLMInteraction
from kglm.nn.kg_encoder import KGEncoder
from kglm.nn.pooling import AttentionPooling

__all__ = ["QAGNNConfig", "QAGNNForMultipleChoice"]

NODE_CONTEXT = 3


class QAGNNConfig(KGModelConfig):
    """Configuration of :class:`QAGNNForMultipleChoice` (``model_type="kglm-qagnn"``).

    Takes every :class:`~kglm.models.base.KGModelConfig` argument (``graph_kind``
    stays ``"qa"``) plus:

    Args:
        node_relevance: score every KG node's relevance to its statement
            (a bilinear form of the statement vector and the node's entity
            state) and add the score's embedding to the node's input state,
            as QA-GNN's relevance scoring does with an LM.
        interaction: mix the statement vector and the GNN's context node with a
            GreaseLM interaction layer (:class:`~kglm.nn.GreaseLMInteraction`)
            before scoring; its outputs are added to both as residuals.
    """

    model_type = "kglm-qagnn"

    node_relevance: bool = True
    interaction: bool = True


class QAGNNForMultipleChoice(KGPreTrainedModel):
    r"""QA-GNN-style scoring (Yasunaga et al. 2021, https://arxiv.org/abs/2104.06378).

    For each of the ``B*C`` (question, choice) pairs:

    1. the text encoder gives the statement vector :math:`\mathbf{s}` (pooled [CLS]);
    2. a context node (node type 3) with initial state :math:`\mathbf{W}_c \mathbf{s}`
       is added to the pair's graph and joined to each of its question and
       answer nodes by two extra relations: context→node (id ``num_relations``)
       and node→context (id ``num_relations + 1``);
    3. KG nodes start from their entity embeddings projected to ``gnn_hidden``
       (plus, with ``node_relevance``, an embedding of their relevance score);
    4. a :class:`~kglm.nn.KGEncoder` (``gnn_conv``: the QA-GNN attention, R-GCN
       or GAT) runs over all graphs at once;
    5. :class:`~kglm.nn.AttentionPooling` over the KG nodes, queried by
       :math:`\mathbf{s}`, gives the graph vector :math:`\mathbf{g}`;
    6. with ``interaction``, a GreaseLM layer mixes :math:`\mathbf{s}` and the
       context node :math:`\mathbf{c}`;
    7. the score is :math:`\operatorname{MLP}([\mathbf{s}; \mathbf{g}; \mathbf{c}])`.

    A pair whose graph is empty keeps its context node, so it is still scored.
    ``config.kg_control`` (:func:`~kglm.models.controls.apply_kg_control`) is
    applied to the graph inputs in every forward pass, in training and evaluation.

    Args:
        config: a :class:`QAGNNConfig`.
    """

    config_class = QAGNNConfig

    def __init__(self, config: QAGNNConfig) -> None:
        super().__init__(config)
        text_dim, hidden = self.text_hidden_size, config.gnn_hidden
        self.context_relation = config.num_relations  # context -> node; +1: node -> context
        self.entity_projection = nn.Linear(config.entity_dim, hidden)
        self.context_projection = nn.Linear(text_dim, hidden)
        if config.node_relevance:
            self.relevance_query = nn.Linear(text_dim, config.entity_dim)
            self.relevance_embedding = nn.Linear(1, hidden)
        self.gnn = KGEncoder(
            hidden,
            config.gnn_layers,
            config.num_relations + 2,
            num_node_types=config.num_node_types,
            conv=config.gnn_conv,
            heads=config.gnn_heads,
            dropout=config.dropout,
        )
        self.pooling = AttentionPooling(hidden, text_dim)
        if config.interaction:
            self.interaction = GreaseLMInteraction(text_dim, hidden, hidden, dropout=config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        self.scorer = choice_scorer(text_dim + 2 * hidden, hidden, config.dropout)
        self.post_init()

    def _graph(
        self, graph: dict[str, Tensor], statement: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int]:
        """The batched graph with one context node per pair prepended.

        Returns ``(x, edge_index, edge_type, node_type, graph_of_node, G)``: the
        first ``G`` nodes are the context nodes of pairs ``0..G-1``, node ``G + i``
        is the batch's node ``i``.
        """
        num_graphs = statement.size(0)
        device = statement.device
        node_ids = graph["node_ids"]
        node_type = graph["node_type"]
        graph_index = graph["graph_index"]
        entity = self.entity_embeddings(node_ids)
        x_kg = self.entity_projection(entity)
        if self.config.node_relevance:
            query = self.relevance_query(statement).index_select(0, graph_index)
            relevance = (query * entity).sum(-1, keepdim=True) / math.sqrt(entity.size(-1))
            x_kg = x_kg + self.relevance_embedding(relevance)
        x = torch.cat([self.context_projection(statement), x_kg], dim=0)

        contexts = torch.arange(num_graphs, device=device)
        node_type = torch.cat([torch.full_like(contexts, NODE_CONTEXT), node_type])
        graph_of_node = torch.cat([contexts, graph_index])
        # QA nodes (question 0, answer 1) are joined to their pair's context node.
        qa = (graph["node_type"] <= 1).nonzero().view(-1)
        qa_node, qa_graph = qa + num_graphs, graph_index[qa]
        edge_index = torch.cat(
            [
                graph["edge_index"] + num_graphs,
                torch.stack([qa_graph, qa_node]),
                torch.stack([qa_node, qa_graph]),
            ],
            dim=1,
        )
        edge_type = torch.cat(
            [
                graph["edge_type"],
                torch.full_like(qa, self.context_relation),
                torch.full_like(qa, self.context_relation + 1),
            ]
        )
        return x, edge_index, edge_type, node_type, graph_of_node, num_graphs

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
        return_node_attention: bool = False,
        **unused: Any,
    ) -> MultipleChoiceKGOutput:
        """Score every choice.

        Args:
            input_ids, attention_mask, token_type_ids, labels: the text batch and gold
                choices, as every kglm model takes them (:class:`~kglm.models.base.KGPreTrainedModel`).
            node_ids, node_type, graph_index: ``(N,)`` the batch's QA-graph nodes
                (docs/architecture.md "Model batches"); absent or empty means no graph.
            edge_index: ``(2, E)``; edge_type: ``(E,)`` in ``0 .. num_relations-1``.
            return_node_attention: also return the pooling attention over the
                ``N`` nodes (after ``kg_control``; empty under ``"no_graph"``).
            **unused: other batch keys (``token_entity``, path keys), ignored.

        Returns:
            :class:`~kglm.models.outputs.MultipleChoiceKGOutput` with ``loss``
            (when labels are given), ``logits`` ``(B, C)`` and, on request,
            ``node_attention`` ``(N,)``.
        """
        graph = graph_inputs(input_ids, node_ids=node_ids, node_type=node_type, graph_index=graph_index,
                             edge_index=edge_index, edge_type=edge_type)
        graph = apply_kg_control(graph, self.config.kg_control, seed=self.config.kg_control_seed)

        _, statement = self.encode_text(input_ids, attention_mask, token_type_ids)
        x, ei, et, nt, _, num_graphs = self._graph(graph, statement)
        h = self.gnn(x, ei, et, nt)
        context, nodes = h[:num_graphs], h[num_graphs:]
        pooled, node_attention = self.pooling(nodes, statement, graph["graph_index"], num_graphs)
        text = statement
        if self.config.interaction:
            text_update, context_update = self.interaction(statement, context)
            text, context = statement + text_update, context + context_update
        features = self.dropout(torch.cat([text, pooled, context], dim=-1))
        return self.choice_output(
            self.scorer(features), input_ids.size(1), labels,
            node_attention=node_attention if return_node_attention else None,
        )
