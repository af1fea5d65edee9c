"""kglm.models: configurations and multiple-choice models, Hugging Face style.

Names are resolved lazily (PEP 562): ``import kglm.models`` imports neither
torch nor transformers until a name is used.
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

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
    "kg_model_types": "kglm.models.auto",
    "register_model": "kglm.models.registry",
    "register_alias": "kglm.models.registry",
    "get_model_entry": "kglm.models.registry",
    "model_names": "kglm.models.registry",
    "load_model": "kglm.models.auto",
    "get_model_class": "kglm.models.auto",
    "register_auto_classes": "kglm.models.auto",
    "MultipleChoiceKGOutput": "kglm.models.outputs",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
