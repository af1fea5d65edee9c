"""Training and evaluation through :class:`transformers.Trainer`.

What kglm adds to the stock Trainer is small and explicit:

* :class:`KGTrainer` builds the Trainer's own AdamW (fused where torch has
  it, as ``transformers.Trainer`` does by default) with one learning rate for
  the text encoder (``encoder_lr``), one for the scoring layer over the text
  vector (``head_lr``, by default ``encoder_lr``) and one for every KG part
  (``kg_lr``), and no weight decay on biases and LayerNorms; it reports which
  rate each group got (:meth:`KGTrainer.param_group_report`);
* training batches are drawn by length (:class:`SeededLengthGroupedSampler`)
  and padded to the batch's longest sequence; bf16 autocast runs where the
  CPU or GPU supports it (:func:`resolve_precision`);
* :func:`train` resumes from the last complete Trainer checkpoint
  (``resume_from_checkpoint=True``) after an interruption, even a ``kill -9``;
* :class:`FreezeEncoderCallback` keeps the encoder frozen for the first epochs;
* :func:`compute_accuracy` is the metric; the best checkpoint is chosen by dev
  accuracy (``load_best_model_at_end``);
* :func:`train` runs a whole :class:`~kglm.training.TrainingConfig`, and
  :func:`evaluate` scores a saved model on a data file.

A run goes one way, each stage once: :func:`kglm.training.resources.resolve_run`
(backbone, tokenizer, KG, linker, each split's examples) -> :func:`build_features`
(grounding through the grounding cache, graphs, tokenization) and the entity
table, together :func:`prepare_data` -> :func:`build_model` -> :class:`KGTrainer`.
A benchmark prepares the data once per dataset (:func:`prepare_shared_data`) and
each job takes the inputs it needs from it (:meth:`PreparedData.for_config`).

Distributed data parallel works unchanged: launch the same script with
``torchrun --nproc_per_node=N`` (gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from kglm.knowledge_text.data import knowledge_key
from kglm.training.config import TrainingConfig

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerBase

    from kglm.datasets.features import FeatureConfig, MultipleChoiceDataset
    from kglm.kg.graph import KnowledgeGraph
    from kglm.training.encoder_cache import FrozenEncoderCache
    from kglm.training.resources import RunResources

logger = logging.getLogger(__name__)

__all__ = [
    "KGTrainer",
    "FreezeEncoderCallback",
    "StepCheckpointCallback",
    "SeededLengthGroupedSampler",
    "resolve_device",
    "resolve_precision",
    "last_complete_checkpoint",
    "resolve_attn_implementation",
    "set_text_attention",
    "head_parameter_names",
    "PreparedData",
    "TrainResult",
    "compute_accuracy",
    "encoder_parameter_names",
    "prepare_data",
    "prepare_shared_data",
    "build_features",
    "graph_entities",
    "fill_unseen_entity_embeddings",
    "build_model",
    "train",
    "evaluate",
    "TRAINING_INFO",
]

#: file in a trained model directory recording how its inputs were built.
TRAINING_INFO = "kglm_training.json"


# ----------------------------------------------------------------------------- metrics


def _choices_and_labels(eval_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """The predicted choice (``argmax`` of the logits) and the label of every evaluated question."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    return np.asarray(logits).argmax(-1), np.asarray(labels)


def compute_accuracy(eval_pred: Any) -> dict[str, float]:
    """Accuracy of ``argmax(logits)`` against the labels (a ``compute_metrics`` for Trainer)."""
    return _accuracy(*_choices_and_labels(eval_pred))


def _accuracy(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {"accuracy": float((predictions == labels).mean())}


class _DevPredictions:
    """:func:`compute_accuracy` that also keeps each evaluation's predicted choices and
    labels, by the optimiser step it ran at: the best checkpoint's per-question
    predictions then come without another pass over dev (they make paired tests between
    a model and its control possible). Transformers' ``compute_metrics`` receives only
    the predictions, hence the step read from :attr:`trainer` (set after the Trainer is built).
    """

    def __init__(self) -> None:
        self.trainer: Trainer | None = None
        self.by_step: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, eval_pred: Any) -> dict[str, float]:
        predictions, labels = _choices_and_labels(eval_pred)
        if self.trainer is not None:
            self.by_step[int(self.trainer.state.global_step)] = (predictions, labels)
        return _accuracy(predictions, labels)


def _logits_only(logits: Any, labels: Any) -> torch.Tensor:
    """Keep only the choice logits of a model's outputs (drop attention tensors)."""
    if isinstance(logits, (tuple, list)):
        return logits[0]
    return logits


# ----------------------------------------------------------------------------- parameters


def encoder_parameter_names(model: torch.nn.Module, attribute: str = "text_encoder") -> set[str]:
    """Names (as in ``model.named_parameters()``) of the text encoder's parameters.

    The text encoder is ``model.<attribute>`` (every kglm model's ``text_encoder``);
    for other models, the first child that is a transformers ``PreTrainedModel``.
    """
    from transformers import PreTrainedModel

    prefix = None
    if isinstance(getattr(model, attribute, None), torch.nn.Module):
        prefix = attribute
    else:
        for name, module in model.named_modules():
            if name and isinstance(module, PreTrainedModel):
                prefix = name
                break
    if prefix is None:
        return set()
    return {n for n, _ in model.named_parameters() if n == prefix or n.startswith(prefix + ".")}


def head_parameter_names(model: torch.nn.Module, attribute: str = "classifier") -> set[str]:
    """Names of the parameters of the scoring layer over the text vector (``model.classifier``).

    The LM baseline and the ERNIE-style model score the pooled text vector with
    ``classifier`` (like ``AutoModelForMultipleChoice``); QA-GNN and KagNet score
    text and graph features together (``scorer``), which is a KG part.
    """
    module = getattr(model, attribute, None)
    if not isinstance(module, torch.nn.Module):
        return set()
    return {n for n, _ in model.named_parameters() if n.startswith(attribute + ".")}


class SeededLengthGroupedSampler(torch.utils.data.Sampler[int]):
    """Length-grouped training order, shuffled with a generator seeded per epoch.

    Each epoch's order is :func:`transformers.trainer_pt_utils.get_length_grouped_indices`
    (random mega-batches of ``50 * batch_size`` examples sorted by length, the
    longest batch first) drawn from ``torch.Generator().manual_seed(seed + epoch)``,
    so it depends only on ``(seed, epoch)``: a run resumed from a checkpoint sees
    the same batches as an uninterrupted one. The Trainer calls :meth:`set_epoch`
    before each epoch.

    Args:
        lengths: each example's length (for a multiple-choice question, its
            longest (question, choice) sequence).
        batch_size: examples per optimiser step (batch size x accumulation steps).
        seed: the data seed.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int) -> None:
        self.lengths = [int(x) for x in lengths]
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of epoch ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Any:
        from transformers.trainer_pt_utils import get_length_grouped_indices

        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class KGTrainer(Trainer):
    """A :class:`~transformers.Trainer` with encoder, head and KG learning rates.

    Args:
        encoder_lr: learning rate of the text encoder's parameters.
        kg_lr: learning rate of the KG parts (every parameter that is neither
            the text encoder's nor the head's).
        head_lr: learning rate of the scoring layer over the text vector
            (:func:`head_parameter_names`); ``None`` means ``encoder_lr``, as in
            ``AutoModelForMultipleChoice`` under ``transformers.Trainer``.
        group_by_length: draw training batches by length
            (:class:`SeededLengthGroupedSampler`, seeded with ``args.data_seed``).
        *args, **kwargs: as for :class:`~transformers.Trainer`.

    The optimiser holds every parameter, including currently frozen ones, so
    that parameters unfrozen later (:class:`FreezeEncoderCallback`) are trained;
    AdamW skips parameters without gradients. It is the class and settings
    ``Trainer.get_optimizer_cls_and_kwargs`` gives for ``args`` (with
    transformers' default ``optim``: fused AdamW on torch >= 2.8), so the
    optimiser is the plain Trainer's, only with kglm's parameter groups.
    """

    def __init__(
        self,
        *args: Any,
        encoder_lr: float,
        kg_lr: float,
        head_lr: float | None = None,
        group_by_length: bool = False,
        **kwargs: Any,
    ) -> None:
        self.encoder_lr = encoder_lr
        self.kg_lr = kg_lr
        self.head_lr = encoder_lr if head_lr is None else head_lr
        self.group_by_length = group_by_length
        self._group_report: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)
        # kglm models take **graph_inputs, which makes Trainer believe they average
        # the loss over `num_items_in_batch` themselves and multiply it by the number
        # of processes; they return a per-question mean, so that must not happen.
        self.model_accepts_loss_kwargs = False

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        # Overridden because there is no public route: Trainer's own length grouping
        # (train_sampling_strategy="group_by_length") reads lengths only from a
        # `datasets.Dataset` column or from dict items with an "input_ids" list,
        # while our items are ExampleFeatures with one sequence per choice, and
        # its sampler shuffles with torch's global generator; ours is seeded per
        # epoch, so a resumed run replays the same order.
        dataset = self.train_dataset if train_dataset is None else train_dataset
        lengths = getattr(dataset, "lengths", None)
        if not self.group_by_length or lengths is None:
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return SeededLengthGroupedSampler(lengths, batch, seed)

    def create_optimizer(self, model: torch.nn.Module | None = None) -> torch.optim.Optimizer:
        """The Trainer's AdamW over six groups: (encoder | head | KG) x (decay | no decay)."""
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        decay = set(self.get_decay_parameter_names(opt_model))
        encoder = encoder_parameter_names(opt_model)
        head = head_parameter_names(opt_model) - encoder
        frozen_forever = {
            id(p) for n, p in opt_model.named_parameters() if not p.requires_grad and n not in encoder
        }
        order = {"encoder": 0, "head": 1, "kg": 2}
        rates = {"encoder": self.encoder_lr, "head": self.head_lr, "kg": self.kg_lr}
        groups: dict[tuple[int, bool], list[torch.nn.Parameter]] = {}
        report: dict[str, dict[str, Any]] = {}
        for name, param in opt_model.named_parameters():
            role = "encoder" if name in encoder else ("head" if name in head else "kg")
            entry = report.setdefault(
                role, {"name": role, "lr": rates[role], "weight_decay": self.args.weight_decay,
                       "num_params": 0, "num_trained_params": 0, "num_frozen_params": 0},
            )
            if id(param) in frozen_forever:  # e.g. frozen entity-embedding tables
                entry["num_frozen_params"] += param.numel()
                continue
            entry["num_params"] += param.numel()
            if param.requires_grad:
                entry["num_trained_params"] += param.numel()
            groups.setdefault((order[role], name in decay), []).append(param)
        names = {v: k for k, v in order.items()}
        param_groups = []
        for (role_index, has_decay), params in sorted(groups.items()):
            role = names[role_index]
            param_groups.append(
                {
                    "params": params,
                    "lr": rates[role],
                    "weight_decay": self.args.weight_decay if has_decay else 0.0,
                }
            )
        # a role with nothing in the optimiser (the LM baseline's frozen one-row
        # entity placeholder) is not reported
        self._group_report = [report[r] for r in sorted(report, key=order.__getitem__) if report[r]["num_params"]]
        optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs = {k: v for k, v in optimizer_kwargs.items() if k != "lr"}
        self.optimizer = optimizer_cls(param_groups, **optimizer_kwargs)
        return self.optimizer

    def param_group_report(self) -> list[dict[str, Any]]:
        """The learning rate of each parameter role, for results files.

        One dict per role present (``"encoder"``, ``"head"``, ``"kg"``): ``name``,
        ``lr`` (peak rate, before warm-up and decay), ``weight_decay`` (of the
        decayed part; biases and LayerNorms get 0), ``num_params`` (elements
        in the optimiser), ``num_trained_params`` (of those, requiring grad when
        the optimiser was built), ``num_frozen_params`` (left out: frozen for good).
        """
        if not self._group_report:
            self.create_optimizer()
        return [dict(entry) for entry in self._group_report]


class FreezeEncoderCallback(TrainerCallback):
    """Keep the text encoder frozen for the first ``epochs`` epochs (QA-GNN's schedule).

    Single process: the encoder's parameters get ``requires_grad=False`` while
    frozen, so no backward pass runs through the encoder. Under distributed data
    parallel (where ``requires_grad`` must not change after wrapping) their
    gradients are dropped before each optimiser step instead.

    Args:
        model: the model being trained.
        epochs: number of frozen epochs (fractions allowed).
    """

    def __init__(self, model: torch.nn.Module, epochs: float) -> None:
        self.epochs = float(epochs)
        names = encoder_parameter_names(model)
        self.params = [p for n, p in model.named_parameters() if n in names]
        self.frozen = False

    def _distributed(self, args: TrainingArguments) -> bool:
        return args.world_size > 1

    def _frozen_now(self, state: Any) -> bool:
        return (state.epoch or 0.0) < self.epochs - 1e-9

    def freeze(self, frozen: bool) -> None:
        """Set ``requires_grad`` of the encoder's parameters."""
        for p in self.params:
            p.requires_grad_(not frozen)
        self.frozen = frozen

    def on_train_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._distributed(args) and self.epochs > 0:
            self.freeze(True)

    def on_epoch_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._distributed(args):
            self.freeze(self._frozen_now(state))

    def on_pre_optimizer_step(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if self._distributed(args) and self._frozen_now(state):
            for p in self.params:
                p.grad = None

    def on_train_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._distributed(args) and self.epochs > 0:
            self.freeze(False)


class StepCheckpointCallback(TrainerCallback):
    """Also save a (resumable) checkpoint every ``every`` optimiser steps.

    The per-epoch evaluation and best-checkpoint logic stay as they are
    (``save_strategy="epoch"``); this only asks the Trainer for extra saves, so
    a long CPU epoch interrupted mid-way resumes from its last step checkpoint.
    """

    def __init__(self, every: int) -> None:
        self.every = int(every)

    def on_step_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.every == 0:
            control.should_save = True


# ----------------------------------------------------------------------------- devices


def resolve_device(config: TrainingConfig) -> str:
    """``"cpu"`` or ``"cuda"``/``"cuda:N"`` for ``config.device``.

    Raises:
        ConfigError: when CUDA is asked for and torch sees no CUDA device (or not device N).
    """
    from kglm.errors import ConfigError

    device = config.device
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={device!r}: torch sees no CUDA device (use device=cpu or auto)")
        if ":" in device and int(device.split(":")[1]) >= torch.cuda.device_count():
            raise ConfigError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return device


def resolve_precision(config: TrainingConfig, device: str) -> str:
    """``"bf16"``, ``"fp16"`` or ``"fp32"``: the precision a run of ``config`` uses on ``device``.

    ``bf16="auto"`` means bf16 autocast on a CPU with native bf16
    (:func:`kglm.utils.machine.cpu_supports_bf16`) or a GPU that supports bf16,
    else fp16 when ``config.fp16`` (CUDA), else fp32.

    Raises:
        ConfigError: for fp16 on a CPU.
    """
    from kglm.errors import ConfigError
    from kglm.utils.machine import cpu_supports_bf16

    on_cuda = device.startswith("cuda")
    if config.fp16 and not on_cuda:
        raise ConfigError("fp16=true needs a CUDA device (on a CPU use bf16, or fp32)")
    if config.bf16 is True:
        return "bf16"
    if config.bf16 == "auto":
        if on_cuda and torch.cuda.is_bf16_supported():
            return "bf16"
        if not on_cuda and cpu_supports_bf16():
            return "bf16"
    return "fp16" if config.fp16 else "fp32"


def resolve_attn_implementation(config: TrainingConfig, device: str) -> str | None:
    """The attention kernel to give the text encoder (``None``: keep the model's default).

    ``"auto"`` is ``"eager"`` on a CPU: measured on this project's 2-core AMD
    EPYC, torch's CPU ``scaled_dot_product_attention`` forward+backward under
    bf16 autocast takes ~4x the time of the eager matmul-softmax-matmul for
    MiniLM-sized heads at 26-128 tokens (about equal in fp32). Attention is a
    small part of a MiniLM step at CSQA lengths, so a whole training step gains
    ~5% (``benchmarks/training/results.md``).
    """
    if config.attn_implementation != "auto":
        return config.attn_implementation
    return "eager" if device == "cpu" else None


def set_text_attention(model: torch.nn.Module, implementation: str | None) -> None:
    """Switch ``model.text_encoder`` to ``implementation`` (transformers' public ``set_attn_implementation``)."""
    encoder = getattr(model, "text_encoder", None)
    if implementation is None or encoder is None or not hasattr(encoder, "set_attn_implementation"):
        return
    if getattr(encoder.config, "_attn_implementation", None) != implementation:
        encoder.set_attn_implementation(implementation)


def last_complete_checkpoint(output_dir: str | os.PathLike[str]) -> str | None:
    """The newest ``checkpoint-N`` directory of ``output_dir`` that was completely written.

    The Trainer writes ``trainer_state.json`` last, so a directory without it
    is the debris of a save interrupted by a kill; it is skipped.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return None
    found = []
    for child in root.iterdir():
        name = child.name
        if child.is_dir() and name.startswith("checkpoint-") and name[11:].isdigit():
            if (child / "trainer_state.json").is_file():
                found.append((int(name[11:]), child))
    return str(max(found)[1]) if found else None


# ----------------------------------------------------------------------------- data


@dataclass
class PreparedData:
    """A run's data: its resolved resources and what is built from them once.

    :func:`prepare_data` makes it; a benchmark makes it once per dataset
    (:func:`prepare_shared_data`) and trains every model, control and seed on it
    (:meth:`for_config` gives each job the inputs it needs).

    Attributes:
        tokenizer / backbone_path / kg / kg_source / linker: those of ``resources``
            (fields of their own for the public API; :func:`prepare_data` fills
            them from ``resources`` only).
        train / dev: the features (grounded, graphs extracted, tokenized).
        entity_embeddings: the entity table models start from (``None``: random).
        encoder_cache: frozen-encoder outputs shared by the jobs on this data.
        feature_config: the :class:`~kglm.datasets.features.FeatureConfig` used.
        extra: bookkeeping of the knowledge-text variants (:meth:`for_config`).
        resources: what :func:`~kglm.training.resources.resolve_run` resolved.
    """

    tokenizer: PreTrainedTokenizerBase
    backbone_path: str
    train: MultipleChoiceDataset
    dev: MultipleChoiceDataset | None
    kg: KnowledgeGraph | None = None
    kg_source: str | None = None
    linker: Any = None
    entity_embeddings: torch.Tensor | None = None
    encoder_cache: FrozenEncoderCache | None = None
    feature_config: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    resources: RunResources | None = None

    def for_config(self, config: TrainingConfig) -> PreparedData:
        """This data with the inputs ``config`` needs: its knowledge text, and no graphs for a text-only model.

        Returns ``self`` when its inputs already fit (the usual case for ``kglm
        train``). Otherwise the train and dev features are built again from the
        same resources (:func:`build_features`; the grounding comes from the
        grounding cache, loading the KG first when this data has none); every
        variant is kept for the next job, so each is built once.
        """
        want = knowledge_key(config)
        have = self.extra.get(_KNOWLEDGE_KEY)
        if want == have:
            return self
        variants: dict[tuple[str | None, bool], PreparedData] = self.extra.setdefault(_VARIANTS, {})
        variants.setdefault((have, True), self)
        need_graphs = config.graph_kind is not None
        for key in [(want, True)] + ([] if need_graphs else [(want, False)]):
            if key in variants:
                return variants[key]
        if self.resources is None:
            raise ValueError("this prepared data has no resources to build other inputs from; use prepare_data")
        from kglm.datasets.features import FeatureConfig

        resources = self.resources.with_kg(config) if want is not None else self.resources
        base = self.feature_config if isinstance(self.feature_config, FeatureConfig) else FeatureConfig()
        graph_kinds: tuple[str, ...] = ()
        if need_graphs:
            graph_kinds = tuple(base.graph_kinds) if self.kg is not None and base.graph_kinds else (config.graph_kind,)
        features = dataclasses.replace(
            base, max_seq_length=config.max_seq_length, graph_kinds=graph_kinds, show_progress=config.show_progress
        )
        train_set, dev_set = build_features(resources, features, config.knowledge_config)
        variant = dataclasses.replace(
            self,
            train=train_set,
            dev=dev_set,
            kg=resources.kg,
            kg_source=self.kg_source or config.kg,
            linker=resources.linker,
            feature_config=features,
            extra={**self.extra, _KNOWLEDGE_KEY: want},
            resources=resources,
        )
        variants[(want, need_graphs)] = variant
        return variant

    def summary(self) -> dict[str, Any]:
        """Sizes for results files: examples per split, choices, KG entities and triples."""
        return {
            "train_examples": len(self.train),
            "dev_examples": len(self.dev) if self.dev is not None else 0,
            "num_choices": len(self.dev[0].choices) if self.dev is not None and len(self.dev) else None,
            "kg_entities": self.kg.num_entities if self.kg is not None else None,
            "kg_triples": self.kg.num_triples if self.kg is not None else None,
        }


#: ``PreparedData.extra`` keys: the knowledge-text key of the inputs, and every variant
#: built from the same data (:meth:`PreparedData.for_config`; :func:`kglm.knowledge_text.data.with_knowledge` calls it).
_KNOWLEDGE_KEY = "knowledge_key"
_VARIANTS = "knowledge_variants"


def graph_entities(datasets: Sequence[Any]) -> torch.Tensor:
    """Every KG entity that is a node of some graph of the datasets (sorted, unique)."""
    parts = [torch.zeros(0, dtype=torch.long)]
    for data in datasets:
        for f in data.features:
            for ch in f.choices:
                if ch.qa_graph is not None:
                    parts.append(ch.qa_graph.node_ids)
                if ch.paths is not None:
                    parts.append(ch.paths.graph.node_ids)
    return torch.unique(torch.cat(parts))


def fill_unseen_entity_embeddings(
    model: torch.nn.Module,
    kg: KnowledgeGraph,
    entity_ids: Sequence[int] | torch.Tensor,
    *,
    encoder: str = "minilm",
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = False,
) -> int:
    """Give the entities ``entity_ids`` that have no row yet their text embedding.

    A model trained with ``embed_graph_entities_only`` holds encoded rows only
    for the entities of its training and dev graphs; the others are zero. This
    encodes those of ``entity_ids`` whose row is all zero exactly as training
    encoded the others (:func:`kglm.training.resources.text_entity_embeddings`:
    labels encoded with ``encoder``, cached on disk) and writes them into
    ``model.entity_embeddings``.

    Returns:
        the number of rows filled.
    """
    from kglm.training import resources

    table = model.entity_embeddings.weight
    ids = torch.unique(torch.as_tensor(entity_ids, dtype=torch.long).reshape(-1))
    ids = ids[(ids >= 0) & (ids < table.shape[0])]
    if ids.numel() == 0:
        return 0
    missing = ids[(table.detach()[ids] == 0).all(dim=1).cpu()]
    if missing.numel() == 0:
        return 0
    weight = resources.text_entity_embeddings(kg, encoder, cache_dir, show_progress=show_progress, entity_ids=missing)
    if weight.shape[1] != table.shape[1]:
        raise ValueError(
            f"entity table of width {table.shape[1]} cannot take {encoder} text embeddings of width {weight.shape[1]}"
        )
    with torch.no_grad():
        table[missing.to(table.device)] = weight[missing].to(device=table.device, dtype=table.dtype)
    return int(missing.numel())


def build_features(
    resources: RunResources, features: FeatureConfig, knowledge: Any = None
) -> tuple[MultipleChoiceDataset, MultipleChoiceDataset | None]:
    """Ground (through the grounding cache), extract graphs for and tokenize the train and dev splits.

    One :func:`~kglm.datasets.features.build_dataset` call per split, with the
    resources' KG, linker and tokenizer (text-only features when it has no KG).
    """
    from kglm.datasets.features import build_dataset

    built: dict[str, MultipleChoiceDataset] = {}
    for name, split in resources.splits.items():
        built[name] = build_dataset(
            split.examples, resources.kg, resources.linker, resources.tokenizer, features,
            cache_dir=resources.grounding_cache, data_file=split.data_file, knowledge=knowledge,
        )
    return built["train"], built.get("dev")


def _entity_embeddings(
    config: TrainingConfig, resources: RunResources, datasets: Sequence[MultipleChoiceDataset]
) -> torch.Tensor | None:
    """The entity table of ``config.entity_embeddings``: encoded labels (of the graphs' entities
    only with ``embed_graph_entities_only``), a safetensors file, or ``None`` (random / none)."""
    from kglm.training import resources as resolver

    if config.entity_embeddings == "text":
        return resolver.text_entity_embeddings(
            resources.kg, "minilm", config.cache_dir, show_progress=config.show_progress,
            entity_ids=graph_entities(datasets) if config.embed_graph_entities_only else None,
        )
    if config.entity_embeddings not in ("random", "none", ""):
        from safetensors.torch import load_file

        tensors = load_file(config.entity_embeddings)
        return tensors.get("weight", next(iter(tensors.values())))
    return None


def prepare_data(
    config: TrainingConfig,
    *,
    graph_kinds: Sequence[str] | None = None,
    with_kg: bool | None = None,
) -> PreparedData:
    """Resolve a run's resources once, then ground, build the features and the entity table.

    The stages, each called once, in this order:
    :func:`~kglm.training.resources.resolve_run` (backbone, tokenizer, KG,
    linker, examples per split), :func:`build_features` (grounding through the
    grounding cache, graphs, tokenization), and the entity embeddings (which
    need the grounded graphs when ``embed_graph_entities_only``).

    Args:
        config: the run's configuration (backbone, kg, files, feature settings).
        graph_kinds: graphs to build (default: the one ``config.model`` needs);
            a benchmark asks for ``("qa", "paths")`` to serve every model.
        with_kg: load the KG and ground the data (default: when the model needs a KG,
            per :mod:`kglm.models.registry`); a knowledge text always loads
            it. Entity embeddings are made when ``with_kg`` is true or the model needs a KG.

    With ``config.knowledge_text`` the inputs carry its knowledge text
    (:mod:`kglm.knowledge_text`); :func:`train` builds other inputs for a job
    with other knowledge-text settings (:meth:`PreparedData.for_config`).
    """
    from kglm.datasets.features import FeatureConfig
    from kglm.training.resources import resolve_run

    embed = config.needs_kg if with_kg is None else with_kg
    knowledge = config.knowledge_config
    with_kg = embed or knowledge is not None  # the knowledge texts need the KG too (config.uses_kg by default)
    if graph_kinds is None:
        graph_kinds = () if config.graph_kind is None else (config.graph_kind,)
    resources = resolve_run(config, with_kg=with_kg)
    features = FeatureConfig(
        max_seq_length=config.max_seq_length,
        graph_kinds=tuple(graph_kinds) if with_kg else (),
        max_nodes=config.max_nodes,
        max_path_hops=config.max_path_hops,
        max_paths_per_pair=config.max_paths_per_pair,
        show_progress=config.show_progress,
    )
    train_set, dev_set = build_features(resources, features, knowledge)
    embeddings = None
    if with_kg and embed:
        embeddings = _entity_embeddings(config, resources, [train_set] + ([dev_set] if dev_set is not None else []))
    return PreparedData(
        tokenizer=resources.tokenizer,
        backbone_path=resources.backbone_path,
        train=train_set,
        dev=dev_set,
        kg=resources.kg,
        kg_source=resources.kg_source,
        linker=resources.linker,
        entity_embeddings=embeddings,
        feature_config=features,
        extra={_KNOWLEDGE_KEY: knowledge_key(config)},
        resources=resources,
    )


def prepare_shared_data(configs: Sequence[TrainingConfig]) -> PreparedData:
    """Data that serves every run of ``configs`` (one dataset, many models): :func:`prepare_data`
    of the first config, with every graph kind the models need and the KG when any needs it.

    Each run then takes its inputs with :meth:`PreparedData.for_config` (:func:`train` does).
    """
    if not configs:
        raise ValueError("prepare_shared_data needs at least one config")
    entries = [c.model_entry for c in configs]
    kinds = sorted({e.graph_kind for e in entries if e.graph_kind is not None})
    return prepare_data(configs[0], graph_kinds=kinds, with_kg=any(e.needs_kg for e in entries))


# ----------------------------------------------------------------------------- model


def build_model(config: TrainingConfig, data: PreparedData) -> torch.nn.Module:
    """The model of ``config.model`` (from :mod:`kglm.models.registry`) around the backbone,
    with entity embeddings when it needs a KG."""
    model_class = config.model_entry.load_model_class()
    kwargs: dict[str, Any] = dict(config.model_kwargs)
    embeddings = None
    if config.needs_kg:
        if data.kg is None:
            raise ValueError(f"model {config.model!r} needs the knowledge graph in the prepared data")
        kwargs.setdefault("num_relations", 2 * data.kg.num_relations)
        kwargs.setdefault("graph_kind", config.graph_kind)
        kwargs.setdefault("kg_control", config.kg_control)
        kwargs.setdefault("kg_control_seed", config.seed)
        kwargs.setdefault("kg_fingerprint", data.kg.fingerprint)  # checked when the model meets a KG again
        if data.entity_embeddings is not None:
            embeddings = data.entity_embeddings
            kwargs.setdefault("freeze_entity_embeddings", True)
        else:
            kwargs.setdefault("num_entities", data.kg.num_entities)
            kwargs.setdefault("entity_dim", config.entity_dim)
            kwargs.setdefault("freeze_entity_embeddings", False)
    return model_class.from_encoder(data.backbone_path, entity_embeddings=embeddings, **kwargs)


# ----------------------------------------------------------------------------- train


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        metrics: final dev metrics of the best model (``eval_accuracy``, ...).
        best_accuracy: best dev accuracy (``None`` without dev data).
        train_runtime: seconds spent in ``Trainer.train`` by this process
            (training and the per-epoch dev evaluations; after a resume, only
            the resumed part).
        train_samples_per_second: training questions per second.
        eval_samples_per_second: dev questions per second of the final evaluation.
        train_loss: mean training loss.
        log_history: the Trainer's log history (losses per logging step, eval metrics per epoch).
        model_dir: where the final model was saved (``None`` when not saved).
        global_step: optimiser steps taken (per process).
        world_size: number of data-parallel processes.
        model: the trained model (the best checkpoint when evaluating each epoch).
        precision: ``"bf16"``, ``"fp16"`` or ``"fp32"``: what ran.
        attn_implementation: the text encoder's attention kernel (``None``: the model's default).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        threads: torch intra-op threads during training.
        param_groups: learning rate per parameter role
            (:meth:`KGTrainer.param_group_report`).
        setup_seconds: one-off work before training in this call (building
            the model, filling a frozen-encoder cache shared with later jobs),
            not part of ``train_runtime``.
        final_eval_seconds: the final evaluation of the best model (0 when the
            best epoch's logged evaluation is used: with ``eval_each_epoch``).
        resumed_from: the checkpoint this run resumed from, if any.
        dev_predictions / dev_labels: the kept model's chosen answer and the right
            one for every dev question, in dev order (``None`` without dev data).
    """

    metrics: dict[str, float]
    best_accuracy: float | None
    train_runtime: float
    train_samples_per_second: float
    eval_samples_per_second: float | None
    train_loss: float
    log_history: list[dict[str, Any]]
    model_dir: str | None
    global_step: int = 0
    world_size: int = 1
    model: Any = None
    precision: str = "fp32"
    attn_implementation: str | None = None
    device: str = "cpu"
    threads: int = 1
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    setup_seconds: float = 0.0
    final_eval_seconds: float = 0.0
    resumed_from: str | None = None
    dev_predictions: list[int] | None = None
    dev_labels: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the model)."""
        return {
            "metrics": self.metrics,
            "best_accuracy": self.best_accuracy,
            "train_runtime": self.train_runtime,
            "train_samples_per_second": self.train_samples_per_second,
            "eval_samples_per_second": self.eval_samples_per_second,
            "train_loss": self.train_loss,
            "model_dir": self.model_dir,
            "global_step": self.global_step,
            "world_size": self.world_size,
            "precision": self.precision,
            "attn_implementation": self.attn_implementation,
            "device": self.device,
            "threads": self.threads,
            "param_groups": self.param_groups,
            "setup_seconds": self.setup_seconds,
            "final_eval_seconds": self.final_eval_seconds,
            "resumed_from": self.resumed_from,
            "dev_predictions": self.dev_predictions,
            "dev_labels": self.dev_labels,
        }


def _training_arguments(
    config: TrainingConfig, has_dev: bool, device: str = "cpu", precision: str = "fp32"
) -> TrainingArguments:
    evaluate_epochs = has_dev and config.eval_each_epoch
    kwargs: dict[str, Any] = dict(
        output_dir=config.output_dir,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_train_epochs=config.num_epochs,
        learning_rate=config.encoder_lr,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup,
        lr_scheduler_type="linear",
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="epoch" if evaluate_epochs else "no",
        save_strategy="epoch" if evaluate_epochs else ("steps" if config.save_steps else "no"),
        save_steps=config.save_steps or 500,
        # with load_best_model_at_end, transformers keeps the best and the last checkpoint
        save_total_limit=1 if (evaluate_epochs or config.save_steps) else None,
        load_best_model_at_end=evaluate_epochs,
        metric_for_best_model="accuracy" if evaluate_epochs else None,
        greater_is_better=True,
        remove_unused_columns=False,
        label_names=["labels"],
        report_to=[],
        logging_steps=config.logging_steps,
        logging_strategy="steps",
        disable_tqdm=not config.show_progress,
        dataloader_num_workers=config.dataloader_num_workers,
        # optimizer, scheduler and RNG states too, so that a run can resume
        save_only_model=False,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
    )
    if device == "cpu":
        kwargs["use_cpu"] = True
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            kwargs["ddp_backend"] = "gloo"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        kwargs["ddp_find_unused_parameters"] = True
    return TrainingArguments(**kwargs)


def _best_checkpoint_step(trainer: Trainer) -> int | None:
    """The optimiser step of the checkpoint the Trainer kept as best (``None`` if none)."""
    best = trainer.state.best_model_checkpoint
    if not best:
        return None
    try:
        return int(str(best).rstrip("/").rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None


def _kept_model_dev_predictions(
    trainer: Trainer, recorded: _DevPredictions, dev: Any, logged_best: bool
) -> tuple[list[int], list[int]]:
    """The kept model's chosen answer and the label of every dev question, in dev order.

    With the best epoch's logged metrics (``logged_best``) these are that evaluation's,
    when this process ran it; after a resume that came later, one more pass over dev with
    the best model (which the Trainer has loaded) gives them. Otherwise the final
    ``evaluate()``'s, at the last step.
    """
    step = _best_checkpoint_step(trainer) if logged_best else int(trainer.state.global_step)
    found = recorded.by_step.get(step) if step is not None else None
    if found is None:
        found = _choices_and_labels(trainer.predict(dev))
    chosen, labels = found
    return [int(c) for c in chosen], [int(label) for label in labels]


def _best_checkpoint_metrics(trainer: Trainer) -> dict[str, float] | None:
    """The logged dev metrics of the checkpoint the Trainer kept as best (``None`` if not found)."""
    step = _best_checkpoint_step(trainer)
    if step is None:
        return None
    for entry in trainer.state.log_history:
        if entry.get("step") == step and "eval_accuracy" in entry:
            metrics = {k: v for k, v in entry.items() if k.startswith("eval_")}
            metrics["epoch"] = entry.get("epoch")
            return metrics
    return None


def _warm_encoder_cache(
    model: torch.nn.Module, data: PreparedData, owner: str, prefix: int | None, batch_size: int, precision: str
) -> None:
    """Fill the frozen-encoder cache with every train and dev sequence before training.

    Without this the first job of a benchmark would pay for the cache inside its
    training time and the later jobs (which reuse it) would not. Runs under the
    same autocast as training, so the entries are the ones training would compute.
    """
    from kglm.datasets.features import MultipleChoiceCollator

    cache = data.encoder_cache
    encoder = model.text_encoder
    collator = MultipleChoiceCollator(data.tokenizer, graph_kind=None, include_labels=False)
    device = next(model.parameters()).device
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    for dataset in (data.train, data.dev):
        if dataset is None:
            continue
        for start in range(0, len(dataset), batch_size):
            batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            length = batch["input_ids"].size(-1)
            ids = batch["input_ids"].reshape(-1, length).to(device)
            mask = batch["attention_mask"].reshape(-1, length).to(device)
            types = batch.get("token_type_ids")
            types = types.reshape(-1, length).to(device) if types is not None else None
            with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                if prefix is None:
                    cache.forward(encoder, owner, ids, mask, types)
                else:
                    cache.prefix(model, owner, prefix, ids, mask, types)


def _setup_encoder(
    config: TrainingConfig, model: torch.nn.Module, data: PreparedData, callbacks: list[TrainerCallback]
) -> tuple[str, int | None] | None:
    """Freeze the text encoder as ``config`` asks: for the whole run behind the frozen-encoder
    cache (returns the cache's ``(owner, prefix)``), or for the first epochs (a callback; returns ``None``)."""
    from kglm.training.encoder_cache import FrozenEncoderCache, first_fusion_layer, install_encoder_cache

    frozen_all = config.freeze_encoder_epochs >= config.num_epochs
    if frozen_all and config.cache_frozen_encoder:
        if data.encoder_cache is None:
            data.encoder_cache = FrozenEncoderCache()
        prefix = first_fusion_layer(model)
        if config.train_top_layers > 0:
            num_layers = len(model.text_encoder.encoder.layer)
            top = max(num_layers - config.train_top_layers, 0)
            prefix = top if prefix is None else min(prefix, top)
        owner = install_encoder_cache(model, data.encoder_cache, prefix_layers=prefix)
        if config.train_top_layers > 0:
            for layer in model.text_encoder.encoder.layer[num_layers - config.train_top_layers :]:
                layer.requires_grad_(True)
            pooler = getattr(model.text_encoder, "pooler", None)
            if pooler is not None:
                pooler.requires_grad_(True)
        return owner, prefix
    if config.freeze_encoder_epochs > 0:
        callbacks.append(FreezeEncoderCallback(model, config.freeze_encoder_epochs))
    return None


def _resume_checkpoint(
    config: TrainingConfig, resume_from_checkpoint: bool | str | os.PathLike[str] | None
) -> str | None:
    """The checkpoint ``train(resume_from_checkpoint=...)`` continues from (``None``: a fresh start)."""
    if resume_from_checkpoint is True:
        return last_complete_checkpoint(config.output_dir)
    if not resume_from_checkpoint:
        return None
    resume = os.fspath(resume_from_checkpoint)
    if not (Path(resume) / "trainer_state.json").is_file():
        from kglm.errors import ConfigError

        raise ConfigError(f"resume_from_checkpoint={resume}: not a complete Trainer checkpoint")
    return resume


def _save_trained(
    config: TrainingConfig, trainer: Trainer, data: PreparedData, info: dict[str, Any]
) -> str:
    """Save the model, its tokenizer and ``kglm_training.json`` (``info``) in ``config.output_dir``."""
    model_dir = config.output_dir
    trainer.save_model(model_dir)
    data.tokenizer.save_pretrained(model_dir)
    # safetensors creates its files with mode 0600; give them the mode of every other output
    umask = os.umask(0)
    os.umask(umask)
    for weights in Path(model_dir).rglob("*.safetensors"):
        os.chmod(weights, 0o666 & ~umask)
    from kglm.utils.io import atomic_write

    atomic_write(Path(model_dir, TRAINING_INFO), json.dumps(info, indent=2))  # a kill never leaves half a file
    return model_dir


def train(
    config: TrainingConfig,
    data: PreparedData | None = None,
    *,
    resume_from_checkpoint: bool | str | os.PathLike[str] | None = None,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train ``config.model`` on ``config``'s data and keep the best dev checkpoint.

    One pass, each stage once: the device, the data (:func:`prepare_data`:
    resources resolved once, then grounding, features and entity table; or
    ``data``'s inputs for this config, :meth:`PreparedData.for_config`), the
    model (:func:`build_model`), the :class:`KGTrainer`, training, and saving.

    Args:
        config: the run.
        data: prepared data to reuse (from :func:`prepare_data` or
            :func:`prepare_shared_data`); built from ``config`` when ``None``.
        resume_from_checkpoint: ``True`` continues from the last complete
            checkpoint in ``config.output_dir`` (:func:`last_complete_checkpoint`;
            a fresh start when there is none), a path continues from that
            checkpoint, ``None``/``False`` starts fresh. Checkpoints are written
            after each epoch with ``eval_each_epoch`` and every ``save_steps``
            steps; a resumed run replays the same data order and ends with the
            same best model and metrics as an uninterrupted one.
        callbacks: extra :class:`~transformers.TrainerCallback` objects.

    Returns:
        a :class:`TrainResult`. With ``config.save_model`` the model, its
        tokenizer and a ``kglm_training.json`` (backbone, KG, feature settings,
        precision) are saved in ``config.output_dir``, ready for
        :func:`evaluate` and ``kglm predict``.

    Raises:
        ConfigError: for CUDA asked for and absent, fp16 on a CPU.
    """
    from transformers import set_seed

    from kglm.datasets.features import MultipleChoiceCollator

    # 1. where and how it runs
    if config.threads is not None:
        from kglm.utils.machine import apply_threads

        apply_threads(config.threads)
    device = resolve_device(config)
    precision = resolve_precision(config, device)
    if device.startswith("cuda:"):
        torch.cuda.set_device(int(device.split(":")[1]))
    # 2. the data: resources resolved once, grounded, featurized (or this config's inputs of shared data)
    data = prepare_data(config) if data is None else data.for_config(config)
    # 3. the model
    setup_started = time.perf_counter()
    set_seed(config.seed)
    model = build_model(config, data)
    attention = resolve_attn_implementation(config, device)
    set_text_attention(model, attention)
    callbacks = list(callbacks)
    cache = _setup_encoder(config, model, data, callbacks)
    if config.save_steps:
        callbacks.append(StepCheckpointCallback(config.save_steps))
    # 4. the Trainer
    args = _training_arguments(config, data.dev is not None, device, precision)
    if cache is not None:
        model.to(args.device)
        _warm_encoder_cache(model, data, *cache, config.eval_batch_size, precision)
    collator = MultipleChoiceCollator(
        data.tokenizer,
        graph_kind=config.graph_kind,
        pad_to_length=config.max_seq_length if config.pad_to_max_length else None,
    )
    dev_predictions = _DevPredictions()
    trainer = KGTrainer(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.dev,
        data_collator=collator,
        compute_metrics=dev_predictions,
        preprocess_logits_for_metrics=_logits_only,
        callbacks=callbacks,
        encoder_lr=config.encoder_lr,
        kg_lr=config.kg_lr,
        head_lr=config.head_lr,
        group_by_length=config.group_by_length,
    )
    dev_predictions.trainer = trainer
    if not config.show_progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    resume = _resume_checkpoint(config, resume_from_checkpoint)
    setup_seconds = time.perf_counter() - setup_started
    # 5. training, the best checkpoint's dev metrics, saving
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume)
    train_runtime = time.perf_counter() - started
    metrics: dict[str, float] = {}
    eval_sps = None
    chosen = labels = None
    eval_started = time.perf_counter()
    if data.dev is not None:
        # With per-epoch evaluation the best checkpoint's dev metrics are already in the
        # log (evaluation is deterministic: evaluating the reloaded best model again
        # gives the same numbers), so a whole dev pass is saved per job.
        best_epoch = _best_checkpoint_metrics(trainer) if args.load_best_model_at_end else None
        metrics = best_epoch if best_epoch is not None else trainer.evaluate()
        eval_sps = metrics.get("eval_samples_per_second")
        chosen, labels = _kept_model_dev_predictions(trainer, dev_predictions, data.dev, best_epoch is not None)
    final_eval_seconds = time.perf_counter() - eval_started
    model_dir = None
    if config.save_model and trainer.is_world_process_zero():
        model_dir = _save_trained(config, trainer, data, {
            "model": config.model,
            "backbone": config.backbone,
            "kg": data.kg_source,
            "kg_fingerprint": data.kg.fingerprint if data.kg is not None else None,
            "kg_format": config.kg_format,
            "max_seq_length": config.max_seq_length,
            "max_nodes": config.max_nodes,
            "max_path_hops": config.max_path_hops,
            "max_paths_per_pair": config.max_paths_per_pair,
            "graph_kind": config.graph_kind,
            "cache_dir": os.path.abspath(config.cache_dir),
            "precision": precision,
            "attn_implementation": attention,
            "config": config.to_dict(),
            "dev_metrics": metrics,
        })
    return TrainResult(
        metrics=dict(metrics),
        best_accuracy=metrics.get("eval_accuracy"),
        train_runtime=train_runtime,
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        eval_samples_per_second=eval_sps,
        train_loss=float(output.training_loss),
        log_history=list(trainer.state.log_history),
        model_dir=model_dir,
        global_step=int(output.global_step),
        world_size=int(args.world_size),
        model=trainer.model,
        precision=precision,
        attn_implementation=attention,
        device=device,
        threads=torch.get_num_threads(),
        param_groups=trainer.param_group_report(),
        dev_predictions=chosen,
        dev_labels=labels,
        setup_seconds=setup_seconds,
        final_eval_seconds=final_eval_seconds,
        resumed_from=resume,
    )


# ----------------------------------------------------------------------------- evaluate


def read_training_info(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``kglm_training.json`` of a model directory saved by :func:`train` (empty if absent)."""
    path = Path(model_dir, TRAINING_INFO)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def evaluate(
    model_dir: str | os.PathLike[str],
    data: str | Sequence[Any],
    *,
    data_format: str = "auto",
    kg: str | None = None,
    batch_size: int = 32,
    show_progress: bool = True,
) -> dict[str, float]:
    """Accuracy of a saved model on a labelled data file.

    Args:
        model_dir: a directory written by :func:`train` (or ``kglm train``).
        data: a data file (or ``"demo"`` for the bundled dev questions), or
            a list of :class:`~kglm.datasets.readers.MultipleChoiceExample`.
        data_format: the file's reader format.
        kg: the knowledge graph, when not the one recorded at training time.
        batch_size: questions per batch.

    Returns:
        ``{"accuracy": ..., "num_examples": ..., "samples_per_second": ...}``.
    """
    from kglm.training.predict import Predictor

    predictor = Predictor.load(model_dir, kg=kg, show_progress=show_progress)
    if isinstance(data, (str, os.PathLike)):
        from kglm.training import resources

        examples = resources.load_examples(os.fspath(data), data_format, "dev")
    else:
        examples = list(data)
    started = time.perf_counter()
    logits = predictor.score_examples(examples, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    labelled = [(lg, ex.label) for lg, ex in zip(logits, examples) if ex.label is not None]
    if not labelled:
        raise ValueError("the data has no labels; use predict for unlabelled questions")
    correct = sum(int(int(torch.as_tensor(lg).argmax()) == label) for lg, label in labelled)
    return {
        "accuracy": correct / len(labelled),
        "num_examples": len(labelled),
        "samples_per_second": len(examples) / max(elapsed, 1e-9),
    }
