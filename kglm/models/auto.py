"""Load any saved kglm model directory by its ``model_type``.

The model types come from the one model table, :mod:`kglm.models.registry`;
nothing is imported or registered at import time. :func:`register_auto_classes`
(called by :func:`load_model`, or by the user) registers every registered
model's configuration and class with transformers' ``AutoConfig``,
``AutoModel`` and ``AutoModelForMultipleChoice``.
"""

from __future__ import annotations

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

    The directory is data, never code: it is loaded with ``trust_remote_code=False``
    (an ``auto_map`` naming Python files in it is ignored), and every parameter
    the model class defines must be in its weights: a checkpoint that lacks
    trained tensors (say the classifier) is refused instead of silently
    initialised at random.

    Raises:
        ConfigError: when the directory's ``model_type`` is not a registered kglm model.
        IntegrityError: the checkpoint lacks tensors the model needs (naming them)
            or its ``config.json`` is not a JSON object.
    """
    from kglm.errors import IntegrityError
    from kglm.utils.io import read_json

    config = read_json(os.path.join(os.fspath(path), "config.json"), IntegrityError, object_only=True)
    model_class = get_model_class(config.get("model_type"))
    register_auto_classes()
    kwargs.pop("trust_remote_code", None)
    kwargs.pop("output_loading_info", None)
    try:
        model, info = model_class.from_pretrained(path, trust_remote_code=False, output_loading_info=True, **kwargs)
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors (SafetensorError) and torch raise their own types on damaged weights
        if isinstance(exc, (MemoryError, KeyboardInterrupt, IntegrityError)):
            raise
        raise IntegrityError(f"{path}: the weights cannot be loaded ({type(exc).__name__}: {str(exc)[:300]})") from None
    missing = sorted(info.get("missing_keys") or [])
    mismatched = info.get("mismatched_keys") or []
    if missing or mismatched:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        what = f"lacks trained tensors: {shown}" if missing else ""
        if mismatched:
            what += ("; " if what else "") + f"has tensors of the wrong shape: {', '.join(str(m[0]) for m in mismatched[:8])}"
        raise IntegrityError(f"{path}: the checkpoint {what} (refusing to initialise them at random)")
    return model
