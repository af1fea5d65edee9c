"""kglm.models: configurations and multiple-choice models, Hugging Face style.

Names are resolved lazily (PEP 562): ``import kglm.models`` imports neither
torch nor transformers until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "KGModelConfig": "kglm.models.base",
    "KGPreTrainedModel": "kglm.models.base",
    "build_text_encoder": "kglm.models.base",
    "LMConfig": "kglm.models.lm",
    "LMForMultipleChoice": "kglm.models.lm",
    "ErnieFusionConfig": "kglm.models.ernie",
    "ErnieFusionForMultipleChoice": "kglm.models.ernie",
    "add_knowledge_fusion": "kglm.models.knowledge_fusion",
    "KnowledgeFusionAdapter": "kglm.models.knowledge_fusion",
    "FUSION_LAYER_PATHS": "kglm.models.knowledge_fusion",
    "align_entity_states": "kglm.models.knowledge_fusion",
    "KG_MODEL_CLASSES": "kglm.models.auto",
    "load_model": "kglm.models.auto",
    "get_model_class": "kglm.models.auto",
    "register_auto_classes": "kglm.models.auto",
    "MultipleChoiceKGOutput": "kglm.models.outputs",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kglm.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
