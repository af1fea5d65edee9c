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

import dataclasses
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kglm.training.config import TrainingConfig
    from kglm.training.trainer import PreparedData

__all__ = ["knowledge_key", "with_knowledge"]

_KEY = "knowledge_key"
_VARIANTS = "knowledge_variants"


def knowledge_key(config: TrainingConfig) -> str | None:
    """What the inputs' knowledge text depends on, as a string (``None``: no knowledge text)."""
    knowledge = config.knowledge_config
    if knowledge is None:
        return None
    return json.dumps({**knowledge.cache_key(), "max_seq_length": config.max_seq_length}, sort_keys=True)


def with_knowledge(config: TrainingConfig, data: PreparedData) -> PreparedData:
    """``data`` with the knowledge-text inputs ``config`` asks for.

    Returns ``data`` itself when it already has them (the usual case for
    ``kglm train``); otherwise a copy whose train and dev sets are rebuilt
    from their examples with :func:`~kglm.datasets.features.build_dataset`
    (loading the KG and linker when ``data`` has none). A copy for a
    text-only model (``config.graph_kind is None``) holds no graphs, which
    saves their memory. Copies are kept in ``data.extra`` for later jobs.

    Raises:
        ValueError: when the datasets do not keep their examples.
    """
    want = knowledge_key(config)
    have = data.extra.get(_KEY)
    if want == have:
        return data
    variants: dict[tuple[str | None, bool], PreparedData] = data.extra.setdefault(_VARIANTS, {})
    variants.setdefault((have, True), data)
    need_graphs = config.graph_kind is not None
    for key in [(want, True)] + ([] if need_graphs else [(want, False)]):
        if key in variants:
            return variants[key]

    from kglm.datasets.features import FeatureConfig, build_dataset
    from kglm.training import resources

    kg, linker = data.kg, data.linker
    if want is not None and (kg is None or linker is None):
        from kglm.kg.graph import KnowledgeGraph

        kg_dir = resources.kg_directory(config.kg, config.kg_format, config.cache_dir)
        kg = KnowledgeGraph.load(kg_dir)
        linker = resources.make_linker(kg, kg_dir)
    base = data.feature_config if isinstance(data.feature_config, FeatureConfig) else FeatureConfig()
    graph_kinds: tuple[str, ...] = ()
    if need_graphs:
        graph_kinds = tuple(base.graph_kinds) if data.kg is not None and base.graph_kinds else (config.graph_kind,)
    features = dataclasses.replace(
        base, max_seq_length=config.max_seq_length, graph_kinds=graph_kinds, show_progress=config.show_progress
    )
    cache = os.path.join(config.cache_dir, "grounding") if kg is not None else None

    def rebuild(dataset: Any, source: str | None, split: str) -> Any:
        if dataset is None:
            return None
        if dataset.examples is None:
            raise ValueError("the prepared datasets do not keep their examples; prepare the data with this config")
        return build_dataset(
            dataset.examples, kg, linker, data.tokenizer, features, cache_dir=cache,
            data_file=resources.data_path(source, split) if source else None,
            knowledge=config.knowledge_config,
        )

    variant = dataclasses.replace(
        data,
        train=rebuild(data.train, config.train_file, "train"),
        dev=rebuild(data.dev, config.dev_file, "dev"),
        kg=kg,
        kg_source=data.kg_source or config.kg,
        linker=linker,
        feature_config=features,
        extra={**data.extra, _KEY: want},
    )
    variants[(want, need_graphs)] = variant
    return variant
