"""Multiple-choice data: readers, bundled demo data, downloads, features.

Names are imported lazily (PEP 562), so ``import kglm.datasets`` does no work
and pulls in neither torch nor transformers until a feature class is used.

    >>> from kglm.datasets import read_examples, demo_questions_path
    >>> len(read_examples(demo_questions_path("train")))
    37
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # readers
    "MultipleChoiceExample": "kglm.datasets.readers",
    "ExampleList": "kglm.datasets.readers",
    "ColumnMapping": "kglm.datasets.readers",
    "DatasetFormatError": "kglm.datasets.readers",
    "read_csqa": "kglm.datasets.readers",
    "read_obqa": "kglm.datasets.readers",
    "read_swag": "kglm.datasets.readers",
    "read_multiple_choice": "kglm.datasets.readers",
    "read_examples": "kglm.datasets.readers",
    "read_hf_dataset": "kglm.datasets.readers",
    "read_labels_file": "kglm.datasets.readers",
    # bundled demo data
    "demo_dir": "kglm.datasets.bundled",
    "demo_kg_path": "kglm.datasets.bundled",
    "demo_questions_path": "kglm.datasets.bundled",
    # downloads
    "DatasetSource": "kglm.datasets.download",
    "RemoteFile": "kglm.datasets.download",
    "ArchiveMember": "kglm.datasets.download",
    "DownloadError": "kglm.datasets.download",
    "DATASETS": "kglm.datasets.download",
    "download_file": "kglm.datasets.download",
    "download_dataset": "kglm.datasets.download",
    # features and collator
    "FeatureConfig": "kglm.datasets.features",
    "MultipleChoiceDataset": "kglm.datasets.features",
    "MultipleChoiceCollator": "kglm.datasets.features",
    "build_dataset": "kglm.datasets.features",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
