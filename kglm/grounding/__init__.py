"""kglm.grounding: from multiple-choice examples to per-choice KG subgraphs.

``ground_choices`` / ``ground_examples`` find the question and answer entities
of each choice (``GroundedChoice``); ``extract_qa_subgraph`` builds the 2-hop
QA graph of one choice (``ChoiceGraph``) and ``find_paths`` the KagNet paths
(``ChoicePaths``); ``GroundingCache`` keeps grounded data sets on disk.

Names are imported lazily (PEP 562), so ``import kglm.grounding`` is cheap.
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "GroundedChoice": "kglm.grounding.ground",
    "ground_choices": "kglm.grounding.ground",
    "ground_examples": "kglm.grounding.ground",
    "GroundedDataset": "kglm.grounding.cache",
    "GroundingCache": "kglm.grounding.cache",
    "build_grounded_dataset": "kglm.grounding.cache",
    "ChoiceGraph": "kglm.grounding.graphs",
    "extract_qa_subgraph": "kglm.grounding.graphs",
    "extract_qa_subgraphs": "kglm.grounding.graphs",
    "collate_graphs": "kglm.grounding.collate",
    "NODE_QUESTION": "kglm.grounding.graphs",
    "NODE_ANSWER": "kglm.grounding.graphs",
    "NODE_OTHER": "kglm.grounding.graphs",
    "NODE_CONTEXT": "kglm.grounding.graphs",
    "to_hf_dataset": "kglm.grounding.parallel",
    "ground_batch": "kglm.grounding.parallel",
    "ground_parallel": "kglm.grounding.parallel",
    "merge_grounded": "kglm.grounding.parallel",
    "shard_bounds": "kglm.grounding.parallel",
    "ChoicePaths": "kglm.grounding.paths",
    "find_paths": "kglm.grounding.paths",
    "find_paths_batch": "kglm.grounding.paths",
    "collate_paths": "kglm.grounding.collate",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
