"""Prepared training data with the knowledge text a run asks for.

A benchmark prepares its data once (:func:`kglm.training.prepare_data`) and
trains many models on it; models with different knowledge-text settings
(``lm`` and ``lm+kt``, or the shuffled control) need differently tokenized
inputs. :func:`with_knowledge` returns the prepared data with the knowledge
text of a :class:`~kglm.training.TrainingConfig`, re-tokenizing the stored
examples (grounding and graphs come from the grounding cache, the texts
themselves take well under a second per thousand questions) and keeping each
variant for the next job.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from kglm.training.config import TrainingConfig
    from kglm.training.trainer import PreparedData

__all__ = ["knowledge_key", "with_knowledge"]


def knowledge_key(config: TrainingConfig) -> str | None:
    """What the inputs' knowledge text depends on, as a string (``None``: no knowledge text)."""
    knowledge = config.knowledge_config
    if knowledge is None:
        return None
    return json.dumps({**knowledge.cache_key(), "max_seq_length": config.max_seq_length}, sort_keys=True)


def with_knowledge(config: TrainingConfig, data: PreparedData) -> PreparedData:
    """``data`` with the knowledge-text inputs ``config`` asks for: the same as
    :meth:`kglm.training.trainer.PreparedData.for_config` (``data`` itself when it
    already has them; otherwise train and dev rebuilt from the same resources, a
    text-only model's copy without graphs, each variant kept for later jobs).

    Raises:
        ValueError: when ``data`` has no resources to build other inputs from.
    """
    return data.for_config(config)
