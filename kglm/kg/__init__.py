"""kglm.kg: the :class:`KnowledgeGraph` and its builders (RDF, ConceptNet, WordNet, triples files), merging.

Names are imported lazily, so ``import kglm.kg`` stays cheap.
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "KnowledgeGraph": "kglm.kg.graph",
    "FORMAT_VERSION": "kglm.kg.graph",
    "entity_display_name": "kglm.kg.graph",
    "from_triples": "kglm.kg.triples",
    "from_rdf": "kglm.kg.rdf",
    "to_rdf": "kglm.kg.rdf",
    "from_conceptnet": "kglm.kg.conceptnet",
    "MERGED_RELATIONS": "kglm.kg.conceptnet",
    "from_wordnet": "kglm.kg.wordnet",
    "normalise_label": "kglm.kg.merge",
    "triple_sources": "kglm.kg.merge",
    "detect_format": "kglm.kg.formats",
    "load_kg_file": "kglm.kg.formats",
    "register_kg_format": "kglm.kg.formats",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
