"""Training configuration: one small dataclass, loadable from YAML or JSON.

A config file may be flat or grouped in sections (``model:``, ``data:``,
``kg:``, ``train:``); section names are only for readability and are dropped.
Command-line overrides use dotted keys (``train.encoder_lr=1e-5``) or plain
field names, with a few aliases (``epochs`` -> ``num_epochs``, ``lr`` ->
``encoder_lr``); values are parsed as YAML scalars.

Example::

    config = load_config("train.yaml", overrides=["train.lr=1e-5", "epochs=2"])
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingConfig", "load_config", "apply_overrides", "MODEL_KINDS", "KG_CONTROLS"]

MODEL_KINDS = ("lm", "ernie", "qagnn", "kagnet")
KG_CONTROLS = ("none", "no_graph", "permute_edges", "permute_relations")
_SECTIONS = ("model", "data", "kg", "train", "training", "eval", "features")
_ALIASES = {
    "epochs": "num_epochs",
    "lr": "encoder_lr",
    "learning_rate": "encoder_lr",
    "gnn_lr": "kg_lr",
    "batch": "batch_size",
    "kind": "model",
    "model_kind": "model",
    "warmup_ratio": "warmup",
    "seq_len": "max_seq_length",
    "max_length": "max_seq_length",
    "train": "train_file",
    "dev": "dev_file",
    "format": "data_format",
}


@dataclass
class TrainingConfig:
    """Everything one training run needs.

    Args:
        model: ``"lm"`` (text-only baseline), ``"ernie"`` (ERNIE-style fusion),
            ``"qagnn"`` (QA-GNN-style) or ``"kagnet"`` (KagNet-style).
        backbone: any Hugging Face name or path, or a packaged shortcut:
            ``"minilm"`` (the packaged all-MiniLM-L6-v2), ``"minilm-2l"`` (its
            first two layers, for demos and tests).
        kg: the knowledge graph: a saved KG directory, an RDF file (``.ttl``,
            ``.nt``, ``.owl``, ``.rdf``, ``.jsonld``), a ConceptNet CSV/TSV or
            ConceptNet-100K ``train.txt``, or ``"demo"`` for the bundled KG.
            Not needed for ``model="lm"``.
        kg_format: ``"auto"`` (guess from the path), ``"saved"``, ``"rdf"``,
            ``"conceptnet"``, ``"cn100k"``.
        train_file / dev_file: data files; ``"demo"`` is the bundled questions.
        data_format: reader format (``"auto"``, ``"csqa"``, ``"obqa"``, ``"swag"``, ...).
        max_train_examples: use only the first N training questions (after a
            seeded shuffle when ``subset_seed`` is set).
        subset_seed: seed of the shuffle that picks the training subset.
        max_seq_length: tokens per (question, choice) pair.
        num_epochs: training epochs.
        batch_size / eval_batch_size: questions per batch.
        gradient_accumulation_steps: batches per optimiser step.
        encoder_lr: learning rate of the text encoder.
        kg_lr: learning rate of every other parameter (GNN, fusion, heads).
        weight_decay: AdamW weight decay (not on biases and LayerNorms).
        warmup: fraction of the optimiser steps with linear warm-up.
        freeze_encoder_epochs: keep the text encoder frozen for the first N
            epochs (QA-GNN's schedule); ``num_epochs`` or more freezes it for the
            whole run.
        cache_frozen_encoder: when the encoder is frozen for the whole run,
            compute each distinct sequence's encoder output once and reuse it
            (for ERNIE, the output of the layers below the first fusion layer).
        train_top_layers: with a frozen cached encoder (``cache_frozen_encoder``
            and ``freeze_encoder_epochs >= num_epochs``), still train the top
            ``k`` transformer layers and the pooler at ``encoder_lr``: the layers
            below are cached once, the top ones run live (BERT-style encoders).
        seed: seed of model initialisation, data order and dropout.
        kg_control: ``"none"``, ``"no_graph"``, ``"permute_edges"``, ``"permute_relations"``.
        entity_embeddings: ``"text"`` (the entities' labels encoded with the
            packaged MiniLM, frozen), ``"random"`` (trainable, ``entity_dim``
            wide), or a ``.safetensors`` file of a ``(num_entities, dim)`` table.
        embed_graph_entities_only: with ``entity_embeddings="text"``, encode only
            the entities that are nodes of the training and dev graphs (much
            faster on a large KG; other entities get zero vectors, so use it for
            benchmarks, not for models that will see new questions).
        entity_dim: width of random entity embeddings.
        max_nodes: node cap of a QA graph.
        max_path_hops / max_paths_per_pair: KagNet path finding.
        model_kwargs: other model configuration arguments (``gnn_layers``, ...).
        output_dir: checkpoints and the final model.
        cache_dir: grounding and embedding caches.
        eval_each_epoch: evaluate on dev after each epoch and keep the best
            checkpoint by dev accuracy; else evaluate only at the end.
        save_model: save the final (best) model to ``output_dir``.
        logging_steps: log the training loss every N steps.
        dataloader_num_workers: DataLoader worker processes.
        show_progress: tqdm progress bars.
    """

    model: str = "qagnn"
    backbone: str = "minilm"
    kg: str | None = "demo"
    kg_format: str = "auto"
    train_file: str = "demo"
    dev_file: str | None = "demo"
    data_format: str = "auto"
    max_train_examples: int | None = None
    subset_seed: int | None = None
    max_seq_length: int = 64
    num_epochs: float = 3.0
    batch_size: int = 8
    eval_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    encoder_lr: float = 2e-5
    kg_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    freeze_encoder_epochs: float = 0.0
    cache_frozen_encoder: bool = True
    train_top_layers: int = 0
    seed: int = 0
    kg_control: str = "none"
    entity_embeddings: str = "text"
    embed_graph_entities_only: bool = False
    entity_dim: int = 64
    max_nodes: int = 200
    max_path_hops: int = 2
    max_paths_per_pair: int = 4
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    output_dir: str = "runs/kglm"
    cache_dir: str = ".kglm_cache"
    eval_each_epoch: bool = True
    save_model: bool = True
    logging_steps: int = 10
    dataloader_num_workers: int = 0
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model={self.model!r} is not one of {MODEL_KINDS}")
        if self.kg_control not in KG_CONTROLS:
            raise ValueError(f"kg_control={self.kg_control!r} is not one of {KG_CONTROLS}")
        if self.model != "lm" and not self.kg:
            raise ValueError(f"model={self.model!r} needs a knowledge graph (set kg)")
        if self.warmup < 0:
            raise ValueError("warmup must be >= 0 (a fraction of the steps, or a step count >= 1)")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("batch sizes must be >= 1")

    @property
    def graph_kind(self) -> str | None:
        """The graph the model wants from the collator (``None`` for the LM baseline)."""
        return {"lm": None, "kagnet": "paths"}.get(self.model, "qa")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainingConfig:
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Build from a flat or sectioned mapping; unknown keys fail, naming them."""
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key in _SECTIONS and isinstance(value, Mapping):
                flat.update(value)
            else:
                flat[key] = value
        return _apply(cls(), flat)


def _field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainingConfig)}


def _resolve_key(key: str) -> tuple[str, str | None]:
    """``"train.lr"`` -> ``("encoder_lr", None)``; ``"model_kwargs.gnn_layers"`` -> ``("model_kwargs", "gnn_layers")``."""
    parts = key.replace("-", "_").split(".")
    while len(parts) > 1 and parts[0] in _SECTIONS:
        parts = parts[1:]
    name = _ALIASES.get(parts[0], parts[0])
    if name not in _field_names():
        raise ValueError(
            f"unknown config key {key!r}; known: {', '.join(sorted(_field_names()))}"
        )
    sub = ".".join(parts[1:]) or None
    if sub is not None and name != "model_kwargs":
        raise ValueError(f"config key {key!r}: {name} has no sub-keys")
    return name, sub


def _coerce(name: str, value: Any) -> Any:
    """Convert ``value`` to the type of field ``name`` (YAML reads ``1e-5`` as a string)."""
    default = next(f for f in dataclasses.fields(TrainingConfig) if f.name == name).default
    if value is None or isinstance(default, (dict, list)) or default is dataclasses.MISSING:
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "yes", "1", "on"):
                    return True
                if lowered in ("false", "no", "0", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, int) or name in ("max_train_examples", "subset_seed"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"config key {name!r}: cannot read {value!r} as {type(default).__name__}") from None
    return value


def _apply(config: TrainingConfig, values: Mapping[str, Any]) -> TrainingConfig:
    changes: dict[str, Any] = {}
    kwargs = dict(config.model_kwargs)
    for key, value in values.items():
        name, sub = _resolve_key(str(key))
        if name == "model_kwargs":
            if sub is None:
                if not isinstance(value, Mapping):
                    raise ValueError("model_kwargs must be a mapping")
                kwargs.update(value)
            else:
                kwargs[sub] = value
        else:
            changes[name] = _coerce(name, value)
    changes["model_kwargs"] = kwargs
    return dataclasses.replace(config, **changes)


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(config: TrainingConfig, overrides: Iterable[str]) -> TrainingConfig:
    """Apply ``key=value`` overrides (dotted keys allowed) to ``config``.

    Raises:
        ValueError: for a malformed override or an unknown key.
    """
    values: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not KEY=VALUE")
        key, text = item.split("=", 1)
        values[key.strip()] = _parse_value(text)
    return _apply(config, values)


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: Iterable[str] = ()
) -> TrainingConfig:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file and apply overrides.

    Args:
        path: the file; ``None`` starts from the defaults.
        overrides: ``key=value`` strings, e.g. ``["train.encoder_lr=1e-5"]``.
    """
    config = TrainingConfig()
    if path is not None:
        path = os.fspath(path)
        with open(path, encoding="utf-8") as handle:
            if path.endswith((".yaml", ".yml")):
                import yaml

                data = yaml.safe_load(handle) or {}
            else:
                data = json.load(handle)
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: a config file must hold a mapping")
        config = TrainingConfig.from_dict(data)
    return apply_overrides(config, overrides)
