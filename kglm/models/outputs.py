"""Output dataclasses shared by every multiple-choice model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class MultipleChoiceKGOutput(ModelOutput):
    """Output of every kglm multiple-choice model.

    Args:
        loss: cross-entropy over choices, only when ``labels`` were given.
        logits: ``(batch, num_choices)`` choice scores.
        node_attention: ``(num_nodes,)`` attention of the graph pooling over the
            batch's concatenated nodes (QA-GNN- and ERNIE-style models), when asked.
        path_attention: ``(num_paths,)`` attention over the batch's paths
            (KagNet-style model), when asked.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    node_attention: torch.Tensor | None = None
    path_attention: torch.Tensor | None = None
