"""Benchmark suites as data.

A :class:`Suite` names datasets (:class:`DatasetSpec`), models and controls
(:class:`ModelSpec`), seeds, a backbone and the shared training settings. Every
suite compares the plain LM baseline, the ERNIE-style fusion model, the
QA-GNN-style model, the KagNet-style model, and KG controls (same model, no
real KG signal: no graph, permuted edges).

Suites:

* ``demo``: the bundled KG and questions, a two-layer MiniLM, offline, well
  under two minutes on two CPU cores;
* ``csqa``, ``obqa``, ``swag``: the **full protocol**. Real data
  (CommonsenseQA in-house split, OpenBookQA main, the SWAG-format HellaSwag
  items) with ConceptNet-100K, the packaged MiniLM with *every* encoder layer
  trained from the first step, all training questions, 2 epochs, the best
  epoch chosen on dev, 3 seeds, encoder lr 5e-5, batch 8, no warm-up (the
  budget at which a plain ``transformers.Trainer`` reaches 44.6% on CSQA
  in-house dev). Every KG model gets exactly the LM baseline's encoder
  training plus its own parts (at ``kg_lr``). ``--backbone`` swaps the encoder;
  the published protocols (QA-GNN / MHGRN: RoBERTa-large, lr 1e-5, GNN lr 1e-3,
  batch 128, 30 / 70 epochs, encoder frozen 3 epochs, length 100 / 128) are
  recorded in each suite's ``anchor`` and applied by the ``anchor`` preset;
* ``csqa-quick``: a **quick smoke protocol**: real CommonsenseQA (1,500
  in-house train questions, all of dev) with ConceptNet-100K and a *frozen*
  packaged MiniLM, at most 30 minutes on two CPU cores. The encoder's outputs
  are computed once for all jobs (for ERNIE, the layers below its fusion
  layer); the KG parts, fusion layers and heads are trained. ERNIE's fusion
  layer adds trainable capacity inside the encoder, so it has its own no-KG
  control. Its LM baseline is near chance: use it to check the pipeline, not
  to judge the KG;
* ``csqa-quick-ft``: quick smoke protocol too: ``csqa-quick`` with the top
  MiniLM layer and the pooler fine-tuned above the cached lower layers
  (``train_top_layers=1``).
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
    "FULL_MODELS",
    "knowledge_text_models",
    "FULL_SETTINGS",
    "GRAPH_SETTINGS",
    "GNN_KWARGS",
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

    def config_fields(self) -> dict[str, Any]:
        """The :class:`~kglm.training.TrainingConfig` fields this dataset sets (``{data}`` as it stands)."""
        return {name: getattr(self, name) for name in _CONFIG_FIELDS}

    @property
    def needs_shared_data(self) -> bool:
        """Whether the dataset reads the shared benchmark data."""
        return any("{data}" in s for s in (self.train_file, self.dev_file, self.kg))


#: the :class:`DatasetSpec` fields that are :class:`~kglm.training.TrainingConfig` fields of the same name.
_CONFIG_FIELDS = ("kg", "kg_format", "train_file", "dev_file", "data_format", "max_train_examples", "subset_seed")


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
        anchor: the published protocol this suite stands in for (documentation,
            printed in the results): ``source``, its ``settings`` (the
            ``anchor`` preset of :func:`~kglm.bench.runner.run_suite`) and, where
            measured, a ``baseline`` (accuracy, what, command) to read the LM
            baseline against.
    """

    name: str
    description: str
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    backbone: str = "minilm"
    settings: dict[str, Any] = field(default_factory=dict)
    time_budget_s: float | None = None
    anchor: dict[str, Any] = field(default_factory=dict)


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

#: The graph side every suite shares: QA graphs of at most 64 nodes, paths of at most
#: 2 hops (4 per entity pair), entity embeddings from the labels of the graphs'
#: entities, and (:data:`GNN_KWARGS`) a 2-layer, 64-wide GNN.
GRAPH_SETTINGS: dict[str, Any] = dict(
    max_nodes=64,
    max_path_hops=2,
    max_paths_per_pair=4,
    entity_embeddings="text",
    embed_graph_entities_only=True,
)
GNN_KWARGS: dict[str, Any] = {"gnn_layers": 2, "gnn_hidden": 64}


def _frozen_encoder_settings(num_epochs: int, **settings: Any) -> dict[str, Any]:
    """Settings of a quick suite: the text encoder frozen for every epoch with its outputs
    computed once for all jobs (cached), 10% warm-up, dev evaluated once at the end,
    :data:`GRAPH_SETTINGS`; ``settings`` add the rest."""
    return dict(
        num_epochs=num_epochs,
        freeze_encoder_epochs=num_epochs,
        cache_frozen_encoder=True,
        warmup=0.1,
        eval_each_epoch=False,
        **GRAPH_SETTINGS,
        **settings,
    )


_CSQA_DATA = DatasetSpec(
    "csqa",
    "{data}/csqa/train_inhouse.jsonl",
    "{data}/csqa/dev_rand_split.jsonl",
    data_format="csqa",
    kg=_CN100K,
    kg_format="cn100k",
)

_CSQA_QUICK = Suite(
    name="csqa-quick",
    description="quick smoke protocol: CommonsenseQA in-house dev (all 1,221), 1,500 in-house train questions, "
    "ConceptNet-100K, frozen MiniLM (trained: KG parts, fusion, heads)",
    datasets=(replace(_CSQA_DATA, max_train_examples=1500, subset_seed=0),),
    models=QUICK_MODELS,
    seeds=(0, 1, 2),
    backbone="minilm",
    settings=_frozen_encoder_settings(
        2,
        max_seq_length=64,
        batch_size=8,
        eval_batch_size=64,
        encoder_lr=1e-5,
        kg_lr=1e-3,
        head_lr=1e-3,  # the head over the frozen text vector trains at the KG rate, as when these results were made
        logging_steps=50,
        model_kwargs=dict(GNN_KWARGS),
    ),
    time_budget_s=1800,
)

#: Full-protocol suites (``csqa``, ``obqa``, ``swag``): the LM baseline first, then
#: each KG model followed by its controls. Every model gets the same encoder training;
#: a control differs from its model only in the graph. Adding a model is one line here.
FULL_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("LM baseline", "lm"),
    ModelSpec("QA-GNN-style", "qagnn"),
    ModelSpec("QA-GNN, no KG (control)", "qagnn", kg_control="no_graph"),
    ModelSpec("QA-GNN, permuted edges (control)", "qagnn", kg_control="permute_edges"),
    ModelSpec("ERNIE-style fusion", "ernie"),
    ModelSpec("ERNIE, no KG (control)", "ernie", kg_control="no_graph"),
    ModelSpec("KagNet-style", "kagnet"),
    ModelSpec("KagNet, permuted edges (control)", "kagnet", kg_control="permute_edges"),
)

def knowledge_text_models(text_length: int) -> tuple[ModelSpec, ...]:
    """Knowledge as text (:mod:`kglm.knowledge_text`, issue 9): the LM baseline fed
    ``[question + choice] [SEP] [knowledge]``, its shuffled-knowledge control and the
    facts-only / descriptions-only ablations, for a suite whose texts are ``text_length``
    tokens: their inputs get 64 more (the question and choice keep their room; the knowledge
    gets up to 64 tokens, ``KnowledgeTextConfig.max_tokens``). For the ConceptNet-100K +
    WordNet variant run them with ``--set "kg=CN100K + WORDNET_DIR"``
    (:func:`kglm.training.resources.kg_directory` merges the two by label)."""
    from kglm.knowledge_text.core import KnowledgeTextConfig

    length = {"max_seq_length": text_length + KnowledgeTextConfig().max_tokens}
    return (
        ModelSpec("LM + knowledge text", "lm+kt", settings=dict(length)),
        ModelSpec("LM + shuffled knowledge text (control)", "lm+kt-shuffled", settings=dict(length)),
        ModelSpec("LM + facts only", "lm+kt-facts", settings=dict(length)),
        ModelSpec("LM + descriptions only", "lm+kt-descriptions", settings=dict(length)),
        ModelSpec(
            "LM + shuffled descriptions (control)", "lm+kt-descriptions-shuffled", settings=dict(length)
        ),
    )

#: Settings shared by the full-protocol suites: every encoder layer trained from the
#: first step (no frozen epochs, no frozen-encoder cache), all training questions,
#: 2 epochs, dev accuracy after each epoch selects the best epoch, encoder lr 5e-5,
#: batch 8, no warm-up (the plain ``transformers.Trainer`` anchor's budget), KG parts at 1e-3;
#: a resumable checkpoint every 250 steps (a kill loses at most that much of a job).
FULL_SETTINGS: dict[str, Any] = dict(
    num_epochs=2,
    batch_size=8,
    eval_batch_size=64,
    encoder_lr=5e-5,
    kg_lr=1e-3,
    warmup=0.0,
    freeze_encoder_epochs=0,
    cache_frozen_encoder=False,
    **GRAPH_SETTINGS,
    eval_each_epoch=True,
    logging_steps=50,
    save_steps=250,
    model_kwargs=dict(GNN_KWARGS),
)

#: The published protocols (documentation, and the ``anchor`` preset of ``kglm bench``).
_QAGNN_PROTOCOL: dict[str, Any] = dict(
    backbone="roberta-large",
    encoder_lr=1e-5,
    kg_lr=1e-3,
    batch_size=128,
    warmup=0.1,
    freeze_encoder_epochs=3,
    max_nodes=200,
    max_path_hops=3,
    max_paths_per_pair=8,
    model_kwargs={"gnn_layers": 5, "gnn_hidden": 200},
)
_CSQA_ANCHOR: dict[str, Any] = {
    "source": "QA-GNN (Yasunaga et al. 2021), MHGRN (Feng et al. 2020): CommonsenseQA in-house split",
    "settings": {**_QAGNN_PROTOCOL, "max_seq_length": 100, "num_epochs": 30},
    "baseline": {
        "accuracy": 0.446,
        "what": "packaged MiniLM as transformers AutoModelForMultipleChoice with a plain transformers.Trainer: "
        "all layers, all 8,500 in-house train questions, 2 epochs, max_len 64, lr 5e-5, batch 8, seed 0; "
        "in-house dev accuracy as reported in issue 8 (51 min on 2 CPU cores)",
        "command": "transformers.Trainer(AutoModelForMultipleChoice.from_pretrained(minilm), "
        "TrainingArguments(num_train_epochs=2, learning_rate=5e-5, per_device_train_batch_size=8, seed=0))",
    },
}
_OBQA_ANCHOR: dict[str, Any] = {
    "source": "QA-GNN (Yasunaga et al. 2021): OpenBookQA main",
    "settings": {**_QAGNN_PROTOCOL, "max_seq_length": 128, "num_epochs": 70},
}
_SWAG_ANCHOR: dict[str, Any] = {
    "source": "no published KG anchor on this HellaSwag-derived SWAG-format split; "
    "the QA-GNN protocol with SWAG's usual sequence length",
    "settings": {**_QAGNN_PROTOCOL, "max_seq_length": 128, "num_epochs": 30},
}

_OBQA_DATA = DatasetSpec(
    "obqa", "{data}/obqa/train.jsonl", "{data}/obqa/dev.jsonl", data_format="obqa", kg=_CN100K, kg_format="cn100k"
)
#: SWAG-format data: the question is ``sent1``; choice i is ``sent2 + ending{i}`` (the
#: reader's convention), so the context and each ending are both grounded.
_SWAG_DATA = DatasetSpec(
    "swag",
    "{data}/swag_format/train.csv",
    "{data}/swag_format/val.csv",
    data_format="swag",
    kg=_CN100K,
    kg_format="cn100k",
)

_FULL_DESCRIPTIONS = {
    "csqa": "full protocol: CommonsenseQA, all 8,500 in-house train questions, in-house dev (1,221), "
    "ConceptNet-100K, every MiniLM layer trained, 2 epochs, best epoch on dev",
    "obqa": "full protocol: OpenBookQA main, all 4,957 train questions, dev (500), ConceptNet-100K, "
    "every MiniLM layer trained, 2 epochs, best epoch on dev",
    "swag": "full protocol: SWAG-format HellaSwag items, all 6,024 train, val (1,004), context and endings "
    "grounded in ConceptNet-100K, every MiniLM layer trained, 2 epochs, best epoch on dev",
}


def _full_suite(name: str, data: DatasetSpec, anchor: dict[str, Any], *, max_seq_length: int) -> Suite:
    return Suite(
        name=name,
        description=_FULL_DESCRIPTIONS[name],
        datasets=(data,),
        models=FULL_MODELS + knowledge_text_models(max_seq_length),
        seeds=(0, 1, 2),
        backbone="minilm",
        settings={**FULL_SETTINGS, "max_seq_length": max_seq_length},
        anchor=anchor,
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
        settings=_frozen_encoder_settings(
            10,
            max_seq_length=48,
            batch_size=4,
            eval_batch_size=16,
            encoder_lr=5e-5,
            head_lr=3e-3,
            kg_lr=3e-3,
            logging_steps=5,
            model_kwargs={**GNN_KWARGS, "text_pooling": "mean"},
        ),
        time_budget_s=120,
    ),
    "csqa-quick": _CSQA_QUICK,
    "csqa-quick-ft": replace(
        _CSQA_QUICK,
        name="csqa-quick-ft",
        description="quick smoke protocol: csqa-quick with the top MiniLM layer and pooler fine-tuned "
        "(lower 5 layers cached)",
        settings={**_CSQA_QUICK.settings, "encoder_lr": 5e-5, "train_top_layers": 1},
        time_budget_s=None,
    ),
    "csqa": _full_suite("csqa", _CSQA_DATA, _CSQA_ANCHOR, max_seq_length=64),
    "obqa": _full_suite("obqa", _OBQA_DATA, _OBQA_ANCHOR, max_seq_length=64),
    "swag": _full_suite("swag", _SWAG_DATA, _SWAG_ANCHOR, max_seq_length=128),
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
