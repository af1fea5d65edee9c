"""Training configuration: one small dataclass, loadable from YAML or JSON.

A config file may be flat or grouped in sections (``model:``, ``data:``,
``kg:``, ``train:``); section names are only for readability and are dropped.
Command-line overrides use dotted keys (``train.encoder_lr=1e-5``,
``model_kwargs.gnn_layers=3``) or plain field names, with a few aliases
(``epochs`` -> ``num_epochs``, ``lr`` -> ``encoder_lr``). One parser serves
every entry point (:func:`parse_overrides`, :func:`apply_settings`: ``kglm
train``, ``kglm bench --set``, ``kglm demo --set``, config files): values are
read as YAML, numbers like ``1e-5`` as numbers, and converted to the field's
annotated type; a bad key or value is a :class:`~kglm.errors.ConfigError`
naming the key. Which model kinds exist, and which graph each needs, comes
from :mod:`kglm.models.registry`.

Example::

    config = load_config("train.yaml", overrides=["train.lr=1e-5", "epochs=2"])
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kglm.errors import ConfigError
from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_NODES, DEFAULT_MAX_PATHS_PER_PAIR
from kglm.knowledge_text.core import KnowledgeTextConfig

__all__ = [
    "TrainingConfig",
    "load_config",
    "apply_overrides",
    "apply_settings",
    "parse_overrides",
    "parse_value",
    "KG_CONTROLS",
]

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
        cache_dir: grounding, KG, backbone and embedding caches; ``None`` (the
            default) is :func:`kglm.utils.paths.cache_dir` (``$KGLM_CACHE``, else
            ``./.kglm_cache``), resolved when the config is made.
        eval_each_epoch: evaluate on dev after each epoch and keep the best
            checkpoint by dev accuracy; else evaluate only at the end.
        save_model: save the final (best) model to ``output_dir``.
        logging_steps: log the training loss every N steps.
        dataloader_num_workers: DataLoader worker processes.
        show_progress: tqdm progress bars.
        head_lr: learning rate of the scoring layer over the text vector
            (``classifier`` of the LM baseline and of ERNIE); ``None`` trains it
            at ``encoder_lr``, as ``AutoModelForMultipleChoice`` under
            ``transformers.Trainer`` does. Scorers that read graph features
            (QA-GNN, KagNet) are KG parts and train at ``kg_lr``.
        bf16: ``"auto"`` (bf16 autocast on a CPU with native bf16, and on a GPU
            that supports it), ``True`` (force) or ``False`` (fp32).
        fp16: fp16 mixed precision (CUDA only, for GPUs without bf16).
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
            ``"cuda"`` or ``"cuda:N"``.
        threads: torch intra-op threads, set at the start of training
            (``None`` keeps torch's setting).
        group_by_length: draw training batches of questions of similar length
            (a question's length is its longest choice's), with the order
            still shuffled and seeded; with dynamic padding this saves the
            compute spent on padding.
        pad_to_max_length: pad every batch to ``max_seq_length`` instead of
            the batch's longest sequence (for comparisons only: slower, same
            results).
        save_steps: also save a resumable checkpoint every N optimiser steps
            (long CPU epochs); ``None`` saves once per epoch (with
            ``eval_each_epoch``).
        attn_implementation: the text encoder's attention kernel: ``"auto"``
            (``"eager"`` on a CPU, where it is several times faster than
            ``"sdpa"`` under bf16 autocast for short sequences; the model's
            default on a GPU), or any name transformers accepts (``"eager"``,
            ``"sdpa"``, ...). Same results up to float rounding.
        knowledge_text: knowledge as text (:mod:`kglm.knowledge_text`) fed as
            the second segment of each (question + choice) pair: ``"none"``,
            ``"facts"`` (verbalised KG paths only), ``"descriptions"`` (entity
            descriptions only) or ``"both"``. Any model can take it; it needs
            ``kg``. The model names ``lm+kt``, ``qagnn+kt``, ... set ``"both"``.
        knowledge_control: ``"none"`` or ``"shuffled"`` (each choice gets the
            knowledge text of another question's same-index choice).
        knowledge_max_tokens: token budget of a knowledge text.
        knowledge_max_facts: the most facts in a knowledge text.
        knowledge_templates: relation name -> sentence template with
            ``{head}`` and ``{tail}``, overriding the built-in ones.
        knowledge_scorer: how a choice's facts are ranked and its descriptions
            chosen: ``"default"`` (path length, question concept, relation prior,
            hub degree; first descriptions) or ``"similarity"`` (most similar to
            question + choice first, by the packaged MiniLM's sentence embeddings).
        grounding_mode: how text is linked to the KG: ``"longest"`` (kglm's
            greedy longest match) or ``"qagnn"`` (the QA-GNN reference rules,
            :mod:`kglm.linking.qagnn`).
        data_columns: where a generic JSONL/CSV/TSV data file keeps the parts
            of an example: the fields of :class:`~kglm.datasets.ColumnMapping`
            (``question``, ``question_template``, ``choices``, ``label``,
            ``id``, ``first_index``, ...); ``{}``: the format's own layout.
        train_labels_file / dev_labels_file: answers kept in a separate file,
            one a line (Social IQa's ``train-labels.lst``), read with
            ``data_columns``' ``first_index``.
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
    max_nodes: int = DEFAULT_MAX_NODES
    max_path_hops: int = DEFAULT_MAX_HOPS
    max_paths_per_pair: int = DEFAULT_MAX_PATHS_PER_PAIR
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    output_dir: str = "runs/kglm"
    cache_dir: str | None = None
    eval_each_epoch: bool = True
    save_model: bool = True
    logging_steps: int = 10
    dataloader_num_workers: int = 0
    show_progress: bool = True
    # protocol (issue 8): precision, device, threads, batching, checkpoints
    head_lr: float | None = None
    bf16: str | bool = "auto"
    fp16: bool = False
    device: str = "auto"
    threads: int | None = None
    group_by_length: bool = True
    pad_to_max_length: bool = False
    save_steps: int | None = None
    attn_implementation: str = "auto"
    # knowledge as text (issue 9)
    knowledge_text: str = "none"
    knowledge_control: str = "none"
    knowledge_max_tokens: int = KnowledgeTextConfig.max_tokens
    knowledge_max_facts: int = KnowledgeTextConfig.max_facts
    knowledge_templates: dict[str, str] = field(default_factory=dict)
    knowledge_scorer: str = KnowledgeTextConfig.scorer  # type: ignore[assignment]
    # grounding (issue 12)
    grounding_mode: str = "longest"
    data_columns: dict[str, Any] = field(default_factory=dict)
    train_labels_file: str | None = None
    dev_labels_file: str | None = None

    def __post_init__(self) -> None:
        from kglm.models.registry import resolve_model

        entry, alias_settings = resolve_model(self.model)
        if self.cache_dir is None or self.cache_dir == "":
            from kglm.utils.paths import cache_dir

            self.cache_dir = str(cache_dir())
        if alias_settings:
            _fill_alias_settings(self, alias_settings)
        if self.kg_control not in KG_CONTROLS:
            raise ConfigError(f"kg_control={self.kg_control!r} is not one of {KG_CONTROLS}")
        if self.grounding_mode not in ("longest", "qagnn"):
            raise ConfigError(f"grounding_mode={self.grounding_mode!r} is not one of ('longest', 'qagnn')")
        if self.data_columns:
            from kglm.datasets.readers import ColumnMapping

            if not isinstance(self.data_columns, dict):
                raise ConfigError(f"data_columns must be a mapping, not {type(self.data_columns).__name__}")
            try:
                ColumnMapping.from_dict(self.data_columns)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"data_columns: {exc}") from None
        if entry.needs_kg and not self.kg:
            raise ConfigError(f"model={self.model!r} needs a knowledge graph (set kg)")
        if self.knowledge_text != "none" or self.knowledge_control != "none":
            _ = self.knowledge_config  # validates the knowledge-text fields
            if not self.kg:
                raise ConfigError(f"knowledge_text={self.knowledge_text!r} needs a knowledge graph (set kg)")
        if self.warmup < 0:
            raise ConfigError("warmup must be >= 0 (a fraction of the steps, or a step count >= 1)")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError("batch sizes must be >= 1")
        _check_protocol_fields(self)

    @property
    def model_entry(self) -> Any:
        """The :class:`~kglm.models.registry.ModelEntry` of ``model`` (aliases resolved)."""
        from kglm.models.registry import get_model_entry

        return get_model_entry(self.model)

    @property
    def graph_kind(self) -> str | None:
        """The graph the model wants from the collator (``None`` for text-only models)."""
        return self.model_entry.graph_kind

    @property
    def knowledge_config(self) -> Any:
        """The :class:`~kglm.knowledge_text.KnowledgeTextConfig` of the knowledge-text
        fields, or ``None`` when ``knowledge_text="none"``.

        Raises:
            ConfigError: for an unknown mode or control, a control without
                knowledge text, or a bad budget or template.
        """
        from kglm.knowledge_text.core import knowledge_config_from_settings

        return knowledge_config_from_settings(dataclasses.asdict(self))

    @property
    def needs_kg(self) -> bool:
        """Whether the model needs the knowledge graph (from the model registry)."""
        return bool(self.model_entry.needs_kg)

    @property
    def uses_kg(self) -> bool:
        """Whether a run of this config loads the knowledge graph: the model needs it
        (:attr:`needs_kg`) or the inputs carry a knowledge text."""
        return self.needs_kg or self.knowledge_config is not None

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


def _check_protocol_fields(config: TrainingConfig) -> None:
    """Validate (and normalise) the precision, device, thread and checkpoint fields."""
    if isinstance(config.bf16, str):
        lowered = config.bf16.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            config.bf16 = True
        elif lowered in ("false", "no", "off", "0"):
            config.bf16 = False
        elif lowered == "auto":
            config.bf16 = "auto"
        else:
            raise ConfigError(f"bf16={config.bf16!r}: expected 'auto', true or false")
    elif not isinstance(config.bf16, bool):
        raise ConfigError(f"bf16={config.bf16!r}: expected 'auto', true or false")
    if config.fp16 and config.bf16 is True:
        raise ConfigError("bf16=true and fp16=true: choose one precision")
    device = str(config.device).strip().lower()
    if not (device in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", device)):
        raise ConfigError(f"device={config.device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")
    config.device = device
    if config.threads is not None and (isinstance(config.threads, bool) or int(config.threads) < 1):
        raise ConfigError(f"threads={config.threads!r}: expected a positive integer or None")
    if config.save_steps is not None and (isinstance(config.save_steps, bool) or int(config.save_steps) < 1):
        raise ConfigError(f"save_steps={config.save_steps!r}: expected a positive integer or None")
    if not str(config.attn_implementation).strip():
        raise ConfigError("attn_implementation must not be empty (use 'auto')")
    if config.head_lr is not None and config.head_lr < 0:
        raise ConfigError(f"head_lr={config.head_lr!r} must be >= 0")


def _fill_alias_settings(config: TrainingConfig, settings: Mapping[str, Any]) -> None:
    """Apply a model alias's settings to the fields still at their defaults."""
    fields = {f.name: f for f in dataclasses.fields(TrainingConfig)}
    for key, value in settings.items():
        f = fields.get(key)
        if f is None:
            raise ConfigError(f"model alias {config.model!r} sets {key!r}, which is not a TrainingConfig field")
        if key == "model_kwargs":
            for k, v in dict(value).items():
                config.model_kwargs.setdefault(k, v)
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        if getattr(config, key) == default:
            setattr(config, key, _coerce(key, value))


def _field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainingConfig)}


def _resolve_key(key: str) -> tuple[str, str | None]:
    """``"train.lr"`` -> ``("encoder_lr", None)``; ``"model_kwargs.gnn_layers"`` -> ``("model_kwargs", "gnn_layers")``."""
    parts = key.strip().replace("-", "_").split(".")
    while len(parts) > 1 and parts[0] in _SECTIONS:
        parts = parts[1:]
    name = _ALIASES.get(parts[0], parts[0])
    if name not in _field_names():
        raise ConfigError(
            f"unknown config key {key!r}; known: {', '.join(sorted(_field_names()))}"
        )
    sub = ".".join(parts[1:]) or None
    if sub is not None and name != "model_kwargs":
        raise ConfigError(f"config key {key!r}: {name} has no sub-keys")
    return name, sub


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def _field_type(name: str) -> tuple[set[str], bool]:
    """The base type names of field ``name`` and whether it accepts ``None`` (from its annotation)."""
    annotation = next(f for f in dataclasses.fields(TrainingConfig) if f.name == name).type
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = {p.strip().split("[")[0] for p in text.split("|")}
    return parts - {"None"}, "None" in parts


def _coerce(name: str, value: Any) -> Any:
    """Convert ``value`` to the annotated type of field ``name``; ConfigError naming the key if it cannot."""
    types, optional = _field_type(name)
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "~")):
        if optional:
            return None
        if value is not None and "str" in types:  # e.g. kg_control: none (a value, not a null)
            return str(value)
        raise ConfigError(f"config key {name!r}: None is not allowed (expected {' | '.join(sorted(types))})")
    try:
        if types == {"bool"}:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(value)
        if types == {"float"}:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if types == {"int"}:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(value)
            return int(number)
        if types == {"str"}:
            if isinstance(value, (dict, list, bool)):
                raise ValueError(value)
            return str(value)
        if types == {"dict"} and not isinstance(value, Mapping):
            raise ValueError(value)
    except (TypeError, ValueError):
        expected = " | ".join(sorted(types)) + (" | None" if optional else "")
        raise ConfigError(f"config key {name!r}: cannot read {value!r} as {expected}") from None
    return value


def apply_settings(config: TrainingConfig, values: Mapping[str, Any]) -> TrainingConfig:
    """A copy of ``config`` with ``values`` applied, typed and validated.

    Keys may be field names, aliases (``lr``, ``epochs``), dotted section keys
    (``train.lr``) or ``model_kwargs.NAME``; values are converted to the field's
    annotated type (``"1e-5"`` -> ``1e-05`` for a float field).

    Raises:
        ConfigError: for an unknown key or a value of the wrong type, naming the key.
    """
    changes: dict[str, Any] = {}
    kwargs = dict(config.model_kwargs)
    for key, value in values.items():
        name, sub = _resolve_key(str(key))
        if name == "model_kwargs":
            if sub is None:
                if not isinstance(value, Mapping):
                    raise ConfigError(f"config key {key!r}: model_kwargs must be a mapping, got {value!r}")
                kwargs.update(value)
            else:
                kwargs[sub] = value
        else:
            changes[name] = _coerce(name, value)
    changes["model_kwargs"] = kwargs
    return dataclasses.replace(config, **changes)


_apply = apply_settings


def parse_value(text: str) -> Any:
    """A ``--set`` value: a YAML scalar/list/mapping, with numbers like ``1e-5`` read as floats."""
    import yaml

    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """``["train.lr=1e-5", "model_kwargs.gnn_layers=3"]`` -> ``{"train.lr": 1e-05, "model_kwargs.gnn_layers": 3}``.

    The one parser of ``KEY=VALUE`` overrides (``kglm train``, ``kglm bench --set``, ...).

    Raises:
        ConfigError: for an item without ``=``.
    """
    values: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not KEY=VALUE")
        key, text = item.split("=", 1)
        if not key.strip():
            raise ConfigError(f"override {item!r} has an empty key")
        values[key.strip()] = parse_value(text)
    return values


def apply_overrides(config: TrainingConfig, overrides: Iterable[str]) -> TrainingConfig:
    """Apply ``key=value`` overrides (dotted keys allowed) to ``config``.

    Raises:
        ConfigError: for a malformed override, an unknown key or a badly typed value.
    """
    return apply_settings(config, parse_overrides(overrides))


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
        if path.endswith((".yaml", ".yml")):
            import yaml

            with open(path, encoding="utf-8") as handle:
                try:
                    data = yaml.safe_load(handle) or {}
                except yaml.YAMLError as exc:  # e.g. a !!python tag (ConstructorError): one line, with the line
                    mark = getattr(exc, "problem_mark", None)
                    where = f":{mark.line + 1}" if mark is not None else ""
                    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                    raise ConfigError(f"{path}{where}: invalid YAML ({problem})") from None
        else:
            from kglm.utils.io import read_json

            data = read_json(path, ConfigError)
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: a config file must hold a mapping")
        config = TrainingConfig.from_dict(data)
    return apply_overrides(config, overrides)
