"""kglm.knowledge_text: knowledge as text (DEKCOR / KEAR style).

:func:`knowledge_text` turns a grounded (question, choice) into a short text:
the top facts between question and choice entities, verbalised with
per-relation templates (:mod:`kglm.knowledge_text.templates`), plus the
descriptions of the choice's entity and of the question concept, within a
token budget; :func:`knowledge_texts` does many at once and
:func:`shuffle_knowledge` is the shuffled-knowledge control. Models take it as
the second segment of a text pair (``[question + choice] [SEP] [knowledge]``,
see :func:`kglm.datasets.features.build_dataset`).

Names are imported lazily (PEP 562), so ``import kglm.knowledge_text`` is cheap.
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "KnowledgeTextConfig": "kglm.knowledge_text.core",
    "KnowledgeText": "kglm.knowledge_text.core",
    "Fact": "kglm.knowledge_text.core",
    "Description": "kglm.knowledge_text.core",
    "knowledge_text": "kglm.knowledge_text.core",
    "knowledge_texts": "kglm.knowledge_text.core",
    "shuffle_knowledge": "kglm.knowledge_text.core",
    "dataset_knowledge_texts": "kglm.knowledge_text.core",
    "knowledge_config_from_settings": "kglm.knowledge_text.core",
    "with_knowledge": "kglm.knowledge_text.data",
    "TextSimilarity": "kglm.knowledge_text.similarity",
    "KNOWLEDGE_MODES": "kglm.knowledge_text.core",
    "KNOWLEDGE_CONTROLS": "kglm.knowledge_text.core",
    "KNOWLEDGE_SCORERS": "kglm.knowledge_text.core",
    "DEFAULT_RELATION_PRIOR": "kglm.knowledge_text.core",
    "DEFAULT_TEMPLATES": "kglm.knowledge_text.templates",
    "verbalize": "kglm.knowledge_text.templates",
    "relation_key": "kglm.knowledge_text.templates",
    "template_for": "kglm.knowledge_text.templates",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
