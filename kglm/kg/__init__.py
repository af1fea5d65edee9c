"""kglm.kg: the :class:`KnowledgeGraph` and its builders (RDF, ConceptNet, triples files).

Names are imported lazily, so ``import kglm.kg`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "KnowledgeGraph": "kglm.kg.graph",
    "FORMAT_VERSION": "kglm.kg.graph",
    "from_triples": "kglm.kg.triples",
    "from_rdf": "kglm.kg.rdf",
    "to_rdf": "kglm.kg.rdf",
    "from_conceptnet": "kglm.kg.conceptnet",
    "MERGED_RELATIONS": "kglm.kg.conceptnet",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kglm.kg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
