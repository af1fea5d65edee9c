"""Load any saved kglm model directory by its ``model_type``.

The model types come from the one model table, :mod:`kglm.models.registry`;
nothing is imported or registered at import time. :func:`register_auto_classes`
(called by :func:`load_model`, or by the user) registers every registered
model's configuration and class with transformers' ``AutoConfig``,
``AutoModel`` and ``AutoModelForMultipleChoice``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from kglm.models.registry import entry_for_model_type, model_kinds, get_model_entry

if TYPE_CHECKING:
    from kglm.models.base import KGPreTrainedModel

__all__ = ["get_model_class", "load_model", "register_auto_classes", "kg_model_types"]

_registered: set[str] = set()


def kg_model_types() -> dict[str, str]:
    """``model_type`` -> model kind, for every registered kind whose classes import."""
    out: dict[str, str] = {}
    for kind in model_kinds():
        try:
            out[get_model_entry(kind).resolved_model_type()] = kind
        except (ImportError, AttributeError):
            continue
    return out


def get_model_class(model_type: str) -> type[KGPreTrainedModel]:
    """The model class registered for ``model_type`` (``"kglm-qagnn"``).

    Raises:
        ConfigError: for an unknown model type, naming the known ones.
    """
    return entry_for_model_type(model_type).load_model_class()


def register_auto_classes() -> None:
    """Register every registered kglm configuration and model with the transformers Auto classes.

    Afterwards ``AutoConfig.from_pretrained``, ``AutoModel.from_pretrained`` and
    ``AutoModelForMultipleChoice.from_pretrained`` load kglm model directories.
    Idempotent (kinds registered later are added on the next call); model kinds
    whose module is not importable are skipped.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForMultipleChoice

    for kind in model_kinds():
        if kind in _registered:
            continue
        entry = get_model_entry(kind)
        try:
            model_class = entry.load_model_class()
            config_class = entry.load_config_class()
        except (ImportError, AttributeError):
            continue
        AutoConfig.register(entry.resolved_model_type(), config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoModelForMultipleChoice.register(config_class, model_class, exist_ok=True)
        _registered.add(kind)


def load_model(path: str | os.PathLike[str], **kwargs: Any) -> KGPreTrainedModel:
    """Load a kglm model saved with ``save_pretrained``, whatever its class.

    Args:
        path: the model directory (its ``config.json`` names the ``model_type``).
        **kwargs: passed to ``from_pretrained`` (e.g. ``dtype``, ``device_map``).

    Raises:
        ConfigError: when the directory's ``model_type`` is not a registered kglm model.
    """
    config_file = os.path.join(os.fspath(path), "config.json")
    with open(config_file, encoding="utf-8") as handle:
        model_type = json.load(handle).get("model_type")
    model_class = get_model_class(model_type)
    register_auto_classes()
    return model_class.from_pretrained(path, **kwargs)
