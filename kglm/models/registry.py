"""The model registry: one table from a model kind to everything that depends on it.

Training (:func:`kglm.training.build_model`, :class:`~kglm.training.TrainingConfig`),
the benchmark runner, :class:`~kglm.training.Predictor`, the transformers Auto
classes (:mod:`kglm.models.auto`) and the CLI read this table; nothing else
lists model kinds. A kind maps to a :class:`ModelEntry`: the model class, its
configuration class, the graph input the collator must build (``"qa"``,
``"paths"`` or ``None``) and whether the model needs a knowledge graph.

Classes are given as ``"module:Class"`` strings (imported on first use, so
``import kglm`` stays cheap) or as class objects. Adding a model type::

    # kglm/models/mymodel.py defines MyConfig(KGModelConfig) and MyModel(KGPreTrainedModel)
    register_model("mymodel", "kglm.models.mymodel:MyModel", "kglm.models.mymodel:MyConfig",
                   graph_kind="qa", needs_kg=True)

An *alias* is a name for a kind plus training settings, e.g. ``"lm+kt"`` = the
``lm`` model with ``knowledge_text="both"``::

    register_alias("lm+kt", kind="lm", settings={"knowledge_text": "both"})
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kglm.errors import ConfigError

__all__ = [
    "ModelEntry",
    "ModelAlias",
    "register_model",
    "register_alias",
    "unregister",
    "get_model_entry",
    "resolve_model",
    "model_names",
    "model_kinds",
    "entry_for_model_type",
    "GRAPH_KINDS",
]

#: graph inputs a model may ask the collator for (``None``: text only).
GRAPH_KINDS = ("qa", "paths")


def _import(target: str | type) -> type:
    if not isinstance(target, str):
        return target
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


@dataclass(frozen=True)
class ModelEntry:
    """One registered model kind.

    Attributes:
        kind: the name used in configs (``"qagnn"``).
        model_class: the model class or its ``"module:Class"`` path.
        config_class: the configuration class or its path (``None``: the model
            class's ``config_class``).
        graph_kind: graph input the model needs: ``"qa"``, ``"paths"`` or ``None``.
        needs_kg: whether training the model needs a knowledge graph.
        model_type: the transformers ``model_type`` of saved models
            (``"kglm-qagnn"``); ``None`` reads it from the configuration class.
    """

    kind: str
    model_class: str | type
    config_class: str | type | None = None
    graph_kind: str | None = "qa"
    needs_kg: bool = True
    model_type: str | None = None

    def load_model_class(self) -> type:
        """The model class (imported on first use)."""
        return _import(self.model_class)

    def load_config_class(self) -> type:
        """The configuration class."""
        if self.config_class is None:
            return self.load_model_class().config_class
        return _import(self.config_class)

    def resolved_model_type(self) -> str:
        """The transformers ``model_type`` of this kind's saved models."""
        if self.model_type is not None:
            return self.model_type
        return str(self.load_config_class().model_type)


@dataclass(frozen=True)
class ModelAlias:
    """A name for a registered kind plus :class:`~kglm.training.TrainingConfig` settings."""

    name: str
    kind: str
    settings: Mapping[str, Any] = field(default_factory=dict)


_ENTRIES: dict[str, ModelEntry] = {}
_ALIASES: dict[str, ModelAlias] = {}


def register_model(
    kind: str,
    model_class: str | type,
    config_class: str | type | None = None,
    graph_kind: str | None = "qa",
    needs_kg: bool = True,
    *,
    model_type: str | None = None,
    replace: bool = False,
) -> ModelEntry:
    """Register a model kind (one line per model type).

    Args:
        kind: the config name (``TrainingConfig(model=kind)``).
        model_class: the class, or ``"module:Class"``; it must provide
            ``from_encoder(backbone, entity_embeddings=..., **config_kwargs)``
            (every :class:`~kglm.models.base.KGPreTrainedModel` does).
        config_class: its configuration class (default: ``model_class.config_class``).
        graph_kind: ``"qa"``, ``"paths"`` or ``None`` (text only).
        needs_kg: whether the model needs a knowledge graph.
        model_type: the saved ``model_type`` when ``config_class`` is a string
            path and should not be imported to read it.
        replace: allow re-registering an existing kind.

    Raises:
        ConfigError: for a bad ``graph_kind`` or a kind already registered.
    """
    if graph_kind is not None and graph_kind not in GRAPH_KINDS:
        raise ConfigError(f"register_model({kind!r}): graph_kind={graph_kind!r} is not one of {GRAPH_KINDS} or None")
    if graph_kind is not None and not needs_kg:
        raise ConfigError(f"register_model({kind!r}): a model with graph_kind={graph_kind!r} needs a KG")
    if not replace and (kind in _ENTRIES or kind in _ALIASES):
        raise ConfigError(f"model kind {kind!r} is already registered")
    entry = ModelEntry(kind, model_class, config_class, graph_kind, bool(needs_kg), model_type)
    _ENTRIES[kind] = entry
    return entry


def register_alias(name: str, kind: str, settings: Mapping[str, Any] | None = None, *, replace: bool = False) -> ModelAlias:
    """Register ``name`` as ``kind`` plus training settings.

    ``TrainingConfig(model=name)`` trains the ``kind`` model; each setting fills
    the :class:`~kglm.training.TrainingConfig` field of that name when the field
    is still at its default (keys that are not fields go to ``model_kwargs``).

    Raises:
        ConfigError: for an unknown ``kind`` or a name already registered.
    """
    if kind not in _ENTRIES:
        raise ConfigError(f"register_alias({name!r}): unknown model kind {kind!r}; known: {sorted(_ENTRIES)}")
    if not replace and (name in _ENTRIES or name in _ALIASES):
        raise ConfigError(f"model name {name!r} is already registered")
    alias = ModelAlias(name, kind, MappingProxyType(dict(settings or {})))
    _ALIASES[name] = alias
    return alias


def unregister(name: str) -> None:
    """Remove a kind or alias (for tests that register toy models)."""
    _ENTRIES.pop(name, None)
    _ALIASES.pop(name, None)
    for alias in [a for a in _ALIASES.values() if a.kind == name]:
        _ALIASES.pop(alias.name)


def resolve_model(name: str) -> tuple[ModelEntry, Mapping[str, Any]]:
    """The entry of a kind or alias and the alias's settings (empty for a kind).

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    if name in _ENTRIES:
        return _ENTRIES[name], MappingProxyType({})
    alias = _ALIASES.get(name)
    if alias is None:
        raise ConfigError(f"model={name!r} is not one of {model_names()}")
    return _ENTRIES[alias.kind], alias.settings


def get_model_entry(name: str) -> ModelEntry:
    """The :class:`ModelEntry` of a kind or alias."""
    return resolve_model(name)[0]


def model_kinds() -> tuple[str, ...]:
    """Registered kinds, in registration order."""
    return tuple(_ENTRIES)


def model_names() -> tuple[str, ...]:
    """Registered kinds and aliases."""
    return tuple(_ENTRIES) + tuple(_ALIASES)


def entry_for_model_type(model_type: str) -> ModelEntry:
    """The entry whose saved models have ``model_type`` (``"kglm-qagnn"``).

    Raises:
        ConfigError: when no registered kind saves that ``model_type``.
    """
    for entry in _ENTRIES.values():
        try:
            if entry.resolved_model_type() == model_type:
                return entry
        except (ImportError, AttributeError):
            continue
    known = []
    for entry in _ENTRIES.values():
        try:
            known.append(entry.resolved_model_type())
        except (ImportError, AttributeError):
            pass
    raise ConfigError(f"unknown kglm model_type {model_type!r}; known: {sorted(known)}")


# The built-in models: one line each.
register_model("lm", "kglm.models.lm:LMForMultipleChoice", "kglm.models.lm:LMConfig",
               graph_kind=None, needs_kg=False, model_type="kglm-lm")
register_model("ernie", "kglm.models.ernie:ErnieFusionForMultipleChoice", "kglm.models.ernie:ErnieFusionConfig",
               graph_kind="qa", needs_kg=True, model_type="kglm-ernie")
register_model("qagnn", "kglm.models.qagnn:QAGNNForMultipleChoice", "kglm.models.qagnn:QAGNNConfig",
               graph_kind="qa", needs_kg=True, model_type="kglm-qagnn")
register_model("kagnet", "kglm.models.kagnet:KagNetForMultipleChoice", "kglm.models.kagnet:KagNetConfig",
               graph_kind="paths", needs_kg=True, model_type="kglm-kagnet")

# Knowledge as text (kglm.knowledge_text): the same models with a knowledge text as the second segment.
for _kind in ("lm", "ernie", "qagnn", "kagnet"):
    register_alias(f"{_kind}+kt", kind=_kind, settings={"knowledge_text": "both"})
register_alias("lm+kt-facts", kind="lm", settings={"knowledge_text": "facts"})
register_alias("lm+kt-descriptions", kind="lm", settings={"knowledge_text": "descriptions"})
register_alias("lm+kt-shuffled", kind="lm", settings={"knowledge_text": "both", "knowledge_control": "shuffled"})
register_alias("lm+kt-descriptions-shuffled", kind="lm",
               settings={"knowledge_text": "descriptions", "knowledge_control": "shuffled"})
del _kind
