"""Benchmark suites as data.

A :class:`Suite` names datasets (:class:`DatasetSpec`), models and controls
(:class:`ModelSpec`), seeds, a backbone and the shared training settings. Every
suite compares the plain LM baseline, the ERNIE-style fusion model, the
QA-GNN-style model, the KagNet-style model, and the no-KG and permuted-KG
controls applied to the QA-GNN-style model (same model, no real KG signal).

Suites:

* ``demo``: the bundled KG and questions, a two-layer MiniLM, offline, well
  under two minutes on two CPU cores;
* ``csqa-quick``: real CommonsenseQA (a subset of in-house train, all of dev)
  with ConceptNet-100K and the packaged MiniLM, at most 30 minutes on two CPU
  cores. The text encoder is frozen and its outputs are computed once for all
  jobs (for ERNIE, the layers below its fusion layer), which is what makes 21
  jobs fit; the KG parts, fusion layers and heads are trained. ERNIE's fusion
  layer adds trainable capacity inside the encoder, so it has its own no-KG
  control;
* ``csqa-quick-ft``: ``csqa-quick`` with the top MiniLM layer and the pooler
  fine-tuned above the cached lower layers (``train_top_layers=1``), to see
  whether a text encoder that adapts changes the comparison;
* ``csqa`` and ``obqa``: the anchors' protocols (QA-GNN, Yasunaga et al. 2021;
  MHGRN, Feng et al. 2020): in-house train/dev, sequence length 100 (CSQA) /
  128 (OBQA), encoder lr 1e-5, GNN lr 1e-3, batch 128 (CSQA) / 128 (OBQA),
  encoder frozen for the first 3 epochs, 30 (CSQA) / 70 (OBQA) epochs.
  Run them with a large backbone (``--backbone roberta-large``) on GPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "ModelSpec",
    "DatasetSpec",
    "Suite",
    "SUITES",
    "STANDARD_MODELS",
    "QUICK_MODELS",
    "get_suite",
    "shared_data_dir",
]


@dataclass(frozen=True)
class ModelSpec:
    """One model (or control) of a suite.

    Args:
        name: display name in tables and plots.
        model: model kind (``"lm"``, ``"ernie"``, ``"qagnn"``, ``"kagnet"``).
        kg_control: KG control applied to the model.
        settings: extra :class:`~kglm.training.TrainingConfig` fields for this model.
    """

    name: str
    model: str
    kg_control: str = "none"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A short identifier: ``model`` or ``model+control``."""
        return self.model if self.kg_control == "none" else f"{self.model}+{self.kg_control}"


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a suite.

    Args:
        name: display name.
        train_file / dev_file: paths (``"demo"`` for the bundled questions);
            ``{data}`` is replaced by :func:`shared_data_dir`.
        data_format: reader format.
        kg / kg_format: knowledge graph source (``{data}`` expanded too).
        max_train_examples: training subset size (``None``: all).
        subset_seed: seed of the subset draw.
    """

    name: str
    train_file: str
    dev_file: str
    data_format: str = "auto"
    kg: str = "demo"
    kg_format: str = "auto"
    max_train_examples: int | None = None
    subset_seed: int | None = 0

    def resolve(self, data_dir: str | os.PathLike[str] | None = None) -> DatasetSpec:
        """The spec with ``{data}`` replaced by the shared data directory."""
        needs = any("{data}" in s for s in (self.train_file, self.dev_file, self.kg))
        if not needs:
            return self
        root = Path(data_dir) if data_dir is not None else shared_data_dir()
        if root is None:
            raise FileNotFoundError(
                f"dataset {self.name!r} needs the shared benchmark data; set KGLM_DATA_DIR "
                "to the folder holding csqa/, obqa/ and conceptnet/"
            )
        fill = lambda s: s.replace("{data}", str(root))  # noqa: E731
        return replace(self, train_file=fill(self.train_file), dev_file=fill(self.dev_file), kg=fill(self.kg))

    @property
    def needs_shared_data(self) -> bool:
        """Whether the dataset reads the shared benchmark data."""
        return any("{data}" in s for s in (self.train_file, self.dev_file, self.kg))


@dataclass(frozen=True)
class Suite:
    """A benchmark: (model x dataset x seed) jobs with shared settings.

    Args:
        name: suite name (``kglm bench NAME``).
        description: one line for tables.
        datasets: the datasets.
        models: the models and controls.
        seeds: training seeds.
        backbone: text encoder name or path.
        settings: :class:`~kglm.training.TrainingConfig` fields common to all jobs.
        time_budget_s: the suite's target wall time on two CPU cores (documentation).
    """

    name: str
    description: str
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    backbone: str = "minilm"
    settings: dict[str, Any] = field(default_factory=dict)
    time_budget_s: float | None = None


STANDARD_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("LM baseline", "lm"),
    ModelSpec("ERNIE-style fusion", "ernie"),
    ModelSpec("QA-GNN-style", "qagnn"),
    ModelSpec("KagNet-style", "kagnet"),
    ModelSpec("QA-GNN, no KG (control)", "qagnn", kg_control="no_graph"),
    ModelSpec("QA-GNN, permuted edges (control)", "qagnn", kg_control="permute_edges"),
)


#: csqa-quick: ERNIE fuses after the last layer only (one live layer above the
#: cached frozen prefix), and, because its fusion layer is trainable capacity
#: inside the encoder that the frozen-encoder baselines lack, it gets its own no-KG control.
QUICK_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("LM baseline", "lm"),
    ModelSpec("ERNIE-style fusion", "ernie", settings={"model_kwargs": {"fusion_layers": [-1]}}),
    ModelSpec("QA-GNN-style", "qagnn"),
    ModelSpec("KagNet-style", "kagnet"),
    ModelSpec("QA-GNN, no KG (control)", "qagnn", kg_control="no_graph"),
    ModelSpec("QA-GNN, permuted edges (control)", "qagnn", kg_control="permute_edges"),
    ModelSpec(
        "ERNIE, no KG (control)", "ernie", kg_control="no_graph", settings={"model_kwargs": {"fusion_layers": [-1]}}
    ),
)


def shared_data_dir() -> Path | None:
    """The shared benchmark data folder, or ``None`` when absent.

    ``$KGLM_DATA_DIR`` when set, else ``../shared/data`` from the working
    directory or from the project root.
    """
    env = os.environ.get("KGLM_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[2].parent / "shared" / "data"]
    for candidate in candidates:
        if (candidate / "csqa").is_dir() or (candidate / "conceptnet").is_dir():
            return candidate
    return None


_CN100K = "{data}/conceptnet/cn100k/train.txt"

_CSQA_QUICK = Suite(
    name="csqa-quick",
    description="CommonsenseQA in-house dev (all 1,221), 1,500 in-house train questions, ConceptNet-100K, "
    "frozen MiniLM (trained: KG parts, fusion, heads)",
    datasets=(
        DatasetSpec(
            "csqa",
            "{data}/csqa/train_inhouse.jsonl",
            "{data}/csqa/dev_rand_split.jsonl",
            data_format="csqa",
            kg=_CN100K,
            kg_format="cn100k",
            max_train_examples=1500,
            subset_seed=0,
        ),
    ),
    models=QUICK_MODELS,
    seeds=(0, 1, 2),
    backbone="minilm",
    settings=dict(
        max_seq_length=64,
        num_epochs=2,
        batch_size=8,
        eval_batch_size=64,
        encoder_lr=1e-5,
        kg_lr=1e-3,
        warmup=0.1,
        freeze_encoder_epochs=2,
        cache_frozen_encoder=True,
        max_nodes=64,
        max_path_hops=2,
        max_paths_per_pair=4,
        entity_embeddings="text",
        embed_graph_entities_only=True,
        eval_each_epoch=False,
        logging_steps=50,
        model_kwargs={"gnn_layers": 2, "gnn_hidden": 64},
    ),
    time_budget_s=1800,
)

SUITES: dict[str, Suite] = {
    "demo": Suite(
        name="demo",
        description="bundled commonsense KG and questions, 2-layer MiniLM (frozen, mean-pooled), offline",
        datasets=(DatasetSpec("demo", "demo", "demo", data_format="csqa", kg="demo"),),
        models=STANDARD_MODELS,
        seeds=(0, 1),
        backbone="minilm-2l",
        # The encoder stays frozen (its outputs are cached: what keeps 12 jobs near a
        # minute on 2 cores), so every model learns through its head: mean pooling
        # (the packaged MiniLM is a sentence-transformers model; its [CLS] state and
        # pooler barely vary between inputs, so a head over them learns nothing and
        # the LM baseline sat at ln 5) and the head at the KG learning rate.
        settings=dict(
            max_seq_length=48,
            num_epochs=10,
            batch_size=4,
            eval_batch_size=16,
            encoder_lr=5e-5,
            head_lr=3e-3,
            kg_lr=3e-3,
            warmup=0.1,
            freeze_encoder_epochs=10,
            cache_frozen_encoder=True,
            max_nodes=64,
            max_path_hops=2,
            max_paths_per_pair=4,
            entity_embeddings="text",
            embed_graph_entities_only=True,
            eval_each_epoch=False,
            logging_steps=5,
            model_kwargs={"gnn_layers": 2, "gnn_hidden": 64, "text_pooling": "mean"},
        ),
        time_budget_s=120,
    ),
    "csqa-quick": _CSQA_QUICK,
    "csqa-quick-ft": replace(
        _CSQA_QUICK,
        name="csqa-quick-ft",
        description="csqa-quick with the top MiniLM layer and pooler fine-tuned (lower 5 layers cached)",
        settings={**_CSQA_QUICK.settings, "encoder_lr": 5e-5, "train_top_layers": 1},
        time_budget_s=None,
    ),
    "csqa": Suite(
        name="csqa",
        description="CommonsenseQA in-house split, QA-GNN protocol",
        datasets=(
            DatasetSpec(
                "csqa",
                "{data}/csqa/train_inhouse.jsonl",
                "{data}/csqa/dev_rand_split.jsonl",
                data_format="csqa",
                kg=_CN100K,
                kg_format="cn100k",
            ),
        ),
        models=STANDARD_MODELS,
        seeds=(0, 1, 2),
        backbone="roberta-large",
        settings=dict(
            max_seq_length=100,
            num_epochs=30,
            batch_size=128,
            eval_batch_size=64,
            encoder_lr=1e-5,
            kg_lr=1e-3,
            warmup=0.1,
            freeze_encoder_epochs=3,
            cache_frozen_encoder=False,
            max_nodes=200,
            max_path_hops=3,
            max_paths_per_pair=8,
            entity_embeddings="text",
            embed_graph_entities_only=True,
            eval_each_epoch=True,
            model_kwargs={"gnn_layers": 5, "gnn_hidden": 200},
        ),
    ),
    "obqa": Suite(
        name="obqa",
        description="OpenBookQA main, QA-GNN protocol",
        datasets=(
            DatasetSpec(
                "obqa",
                "{data}/obqa/train.jsonl",
                "{data}/obqa/dev.jsonl",
                data_format="obqa",
                kg=_CN100K,
                kg_format="cn100k",
            ),
        ),
        models=STANDARD_MODELS,
        seeds=(0, 1, 2),
        backbone="roberta-large",
        settings=dict(
            max_seq_length=128,
            num_epochs=70,
            batch_size=128,
            eval_batch_size=64,
            encoder_lr=1e-5,
            kg_lr=1e-3,
            warmup=0.1,
            freeze_encoder_epochs=3,
            cache_frozen_encoder=False,
            max_nodes=200,
            max_path_hops=3,
            max_paths_per_pair=8,
            entity_embeddings="text",
            embed_graph_entities_only=True,
            eval_each_epoch=True,
            model_kwargs={"gnn_layers": 5, "gnn_hidden": 200},
        ),
    ),
}


def get_suite(name: str) -> Suite:
    """The suite called ``name``.

    Raises:
        ValueError: naming the known suites.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown suite {name!r}; known: {', '.join(SUITES)}") from None
