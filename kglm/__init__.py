"""kglm: knowledge-graph-augmented language models.

Public names are re-exported lazily (PEP 562), so ``import kglm`` does no work
and imports neither torch nor transformers until a name is used.
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it. Each feature module adds its own lines.
_LAZY: dict[str, str] = {
    "FeatureConfig": "kglm.datasets.features",
    "build_dataset": "kglm.datasets.features",
    "MultipleChoiceCollator": "kglm.datasets.features",
    "TrainingConfig": "kglm.training.config",
    "load_config": "kglm.training.config",
    "train": "kglm.training.trainer",
    "evaluate": "kglm.training.trainer",
    "KGTrainer": "kglm.training.trainer",
    "Predictor": "kglm.training.predict",
    "run_suite": "kglm.bench.runner",
    "get_suite": "kglm.bench.suites",
    "KnowledgeGraph": "kglm.kg.graph",
    "Mention": "kglm.linking.mention",
    "LexiconLinker": "kglm.linking.lexicon",
    "GroundedChoice": "kglm.grounding.ground",
    "ground_choices": "kglm.grounding.ground",
    "ground_examples": "kglm.grounding.ground",
    "GroundingCache": "kglm.grounding.cache",
    "ChoiceGraph": "kglm.grounding.graphs",
    "extract_qa_subgraph": "kglm.grounding.graphs",
    "extract_qa_subgraphs": "kglm.grounding.graphs",
    "ChoicePaths": "kglm.grounding.paths",
    "find_paths": "kglm.grounding.paths",
    "find_paths_batch": "kglm.grounding.paths",
    "collate_graphs": "kglm.grounding.collate",
    "collate_paths": "kglm.grounding.collate",
    "KGModelConfig": "kglm.models.base",
    "LMForMultipleChoice": "kglm.models.lm",
    "QAGNNConfig": "kglm.models.qagnn",
    "QAGNNForMultipleChoice": "kglm.models.qagnn",
    "KagNetConfig": "kglm.models.kagnet",
    "KagNetForMultipleChoice": "kglm.models.kagnet",
    "apply_kg_control": "kglm.models.controls",
    "load_model": "kglm.models.auto",
    "ErnieFusionForMultipleChoice": "kglm.models.ernie",
    "add_knowledge_fusion": "kglm.models.knowledge_fusion",
    "KnowledgeFusion": "kglm.nn.fusion",
    "EntityEmbeddings": "kglm.kg.embeddings",
    "train_kge": "kglm.kg.embeddings",
    "encode_entity_labels": "kglm.kg.embeddings",
    "evaluate_link_prediction": "kglm.kg.embeddings",
    "MultipleChoiceExample": "kglm.datasets.readers",
    "ColumnMapping": "kglm.datasets.readers",
    "DatasetFormatError": "kglm.datasets.readers",
    "read_examples": "kglm.datasets.readers",
    "read_csqa": "kglm.datasets.readers",
    "read_obqa": "kglm.datasets.readers",
    "read_swag": "kglm.datasets.readers",
    "read_multiple_choice": "kglm.datasets.readers",
    "download_dataset": "kglm.datasets.download",
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
