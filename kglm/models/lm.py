"""The plain language-model baseline for multiple-choice questions."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kglm.models.base import KGModelConfig, KGPreTrainedModel
from kglm.models.outputs import MultipleChoiceKGOutput

__all__ = ["LMConfig", "LMForMultipleChoice"]


class LMConfig(KGModelConfig):
    """Configuration of :class:`LMForMultipleChoice` (``model_type="kglm-lm"``).

    Takes the :class:`~kglm.models.base.KGModelConfig` arguments; only
    ``encoder`` and ``dropout`` (before the scoring layer) are used.
    """

    model_type = "kglm-lm"


class LMForMultipleChoice(KGPreTrainedModel):
    """Any ``AutoModel`` text encoder scoring each (question, choice) pair alone.

    Scores exactly like ``BertForMultipleChoice``: flatten ``(B, C, L)`` to
    ``(B*C, L)``, take the pooled ``[CLS]`` vector (the encoder's pooler when it
    has one, else the first token), dropout, ``Linear(hidden, 1)``, reshape to
    ``(B, C)``. Graph keys in the batch are accepted and ignored, so the same
    collator feeds the baseline and the KG models.

    Args:
        config: an :class:`LMConfig`.
    """

    config_class = LMConfig

    def __init__(self, config: LMConfig) -> None:
        super().__init__(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.text_hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **graph_inputs: Any,
    ) -> MultipleChoiceKGOutput:
        """Score every choice.

        Args:
            input_ids, attention_mask, token_type_ids, labels: the text batch and gold
                choices, as every kglm model takes them (:class:`~kglm.models.base.KGPreTrainedModel`).
            **graph_inputs: the batch's graph keys (``node_ids``, ``edge_index``, ...), ignored.

        Returns:
            :class:`~kglm.models.outputs.MultipleChoiceKGOutput` with ``loss`` and
            ``logits`` ``(B, C)``.
        """
        _, pooled = self.encode_text(input_ids, attention_mask, token_type_ids)
        return self.choice_output(self.classifier(self.dropout(pooled)), input_ids.size(1), labels)
