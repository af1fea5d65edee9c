"""Default QA-graph and KagNet path-search settings, defined once.

:class:`~kglm.training.TrainingConfig`, :class:`~kglm.datasets.features.FeatureConfig`,
:func:`~kglm.grounding.extract_qa_subgraph(s)`, :func:`~kglm.grounding.find_paths` /
:func:`~kglm.grounding.find_paths_batch`, the grounding cache and ``kglm ground``
all take their defaults from here (a torch-free module, so configuration classes
can import it cheaply).
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_NODES", "DEFAULT_QA_HOPS", "DEFAULT_MAX_HOPS", "DEFAULT_MAX_PATHS_PER_PAIR", "MAX_HOPS_LIMIT", "DEFAULT_MAX_EXPANSIONS_PER_PAIR"]

#: the most nodes of a 2-hop QA graph (question and answer entities first)
DEFAULT_MAX_NODES = 200
#: hops of the QA graph: 2 (question, answer and intermediate entities) or 1
DEFAULT_QA_HOPS = 2
#: longest KagNet path, in hops
DEFAULT_MAX_HOPS = 2
#: paths kept per (question entity, answer entity) pair, shortest first
DEFAULT_MAX_PATHS_PER_PAIR = 4
#: the longest path search allowed: the number of partial paths grows with the degree to the power hops
MAX_HOPS_LIMIT = 5
#: partial-path expansions allowed per (question, choice) pair at each search step; beyond it the
#: search keeps the first ones (a warning says so), so memory stays bounded on hub entities
DEFAULT_MAX_EXPANSIONS_PER_PAIR = 250_000
