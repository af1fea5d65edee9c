"""Registry of kglm models: load any saved kglm model directory by its ``model_type``.

Nothing is imported or registered at import time: :data:`KG_MODEL_CLASSES` maps
each ``model_type`` to the dotted path of its class, resolved on first use, and
:func:`register_auto_classes` (called by :func:`load_model`, or by the user)
registers the configurations and models with transformers' ``AutoConfig``,
``AutoModel`` and ``AutoModelForMultipleChoice``.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kglm.models.base import KGModelConfig, KGPreTrainedModel

__all__ = ["KG_MODEL_CLASSES", "get_model_class", "load_model", "register_auto_classes"]

#: model_type -> "module:ModelClass" (the configuration is the class's ``config_class``).
KG_MODEL_CLASSES: dict[str, str] = {
    "kglm-lm": "kglm.models.lm:LMForMultipleChoice",
    "kglm-ernie": "kglm.models.ernie:ErnieFusionForMultipleChoice",
    "kglm-qagnn": "kglm.models.qagnn:QAGNNForMultipleChoice",
    "kglm-kagnet": "kglm.models.kagnet:KagNetForMultipleChoice",
}

_registered = False


def get_model_class(model_type: str) -> type[KGPreTrainedModel]:
    """The model class registered for ``model_type``.

    Raises:
        ValueError: for an unknown model type, naming the known ones.
    """
    target = KG_MODEL_CLASSES.get(model_type)
    if target is None:
        raise ValueError(f"unknown kglm model_type {model_type!r}; known: {sorted(KG_MODEL_CLASSES)}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def register_auto_classes() -> None:
    """Register every importable kglm configuration and model with the transformers Auto classes.

    Afterwards ``AutoConfig.from_pretrained``, ``AutoModel.from_pretrained`` and
    ``AutoModelForMultipleChoice.from_pretrained`` load kglm model directories.
    Idempotent; model types whose module is not importable are skipped.
    """
    global _registered
    if _registered:
        return
    from transformers import AutoConfig, AutoModel, AutoModelForMultipleChoice

    for model_type in KG_MODEL_CLASSES:
        try:
            model_class = get_model_class(model_type)
        except (ImportError, AttributeError):
            continue
        config_class: type[KGModelConfig] = model_class.config_class
        AutoConfig.register(model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoModelForMultipleChoice.register(config_class, model_class, exist_ok=True)
    _registered = True


def load_model(path: str | os.PathLike[str], **kwargs: Any) -> KGPreTrainedModel:
    """Load a kglm model saved with ``save_pretrained``, whatever its class.

    Args:
        path: the model directory (its ``config.json`` names the ``model_type``).
        **kwargs: passed to ``from_pretrained`` (e.g. ``dtype``, ``device_map``).

    Raises:
        ValueError: when the directory's ``model_type`` is not a kglm model.
    """
    config_file = os.path.join(os.fspath(path), "config.json")
    with open(config_file, encoding="utf-8") as handle:
        model_type = json.load(handle).get("model_type")
    model_class = get_model_class(model_type)
    register_auto_classes()
    return model_class.from_pretrained(path, **kwargs)
