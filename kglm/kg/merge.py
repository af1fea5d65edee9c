"""Merge knowledge graphs into one, joining entities whose normalised labels agree.

:func:`merge` (also :meth:`KnowledgeGraph.merge <kglm.kg.graph.KnowledgeGraph.merge>`)
puts several graphs into one, so that, for example, ConceptNet concepts gain
WordNet glosses (as descriptions) and hypernyms:

* **Relations** stay distinct: each is renamed ``"{source}:{relation}"``
  (``cn:AtLocation``, ``wn:hypernym``), so every triple keeps its source; the
  source index of each triple is :func:`triple_sources` (from the per-relation
  sources kept in ``metadata["merge"]``, saved with the graph).
* **Labels are normalised** by :func:`normalise_label`: underscores become spaces,
  whitespace runs collapse to one space, ends are stripped, text is lower-cased
  (``str.lower``; no stemming, no accent folding): ``"Ice_Cream "`` -> ``"ice cream"``.
* **Joining** (``align="label"``): graphs are merged in order; the first keeps
  all its entities. An entity of a later graph joins (becomes one entity with)
  the entity of an earlier graph that carries one of its normalised labels,
  trying its labels in order; when several earlier entities carry that label,
  the one with the smallest id in the merged graph (the earliest) is chosen.
  Entities of the same graph are never joined to each other, and an entity
  joins at most one earlier entity, so joins never chain.
* **Several entities of one later graph with the same label** (a ConceptNet
  node "dog" against WordNet's seven synsets labelled "dog"): with
  ``senses="first"`` (default) only the most frequent sense joins: the entity
  whose ``sense_numbers`` attribute (written by :func:`kglm.kg.wordnet.from_wordnet`
  from WordNet's index order) is smallest for that label, the lowest entity id
  on ties or when the graph has no such attribute; the other senses stay
  separate entities (still labelled "dog"). With ``senses="all"`` every one of
  them joins, and the joined entity's descriptions list the senses in sense
  order. The attribute is consumed by the merge and not carried over (its
  values line up with the source graph's labels).
* **Joined entities** keep the earliest entity's name, the labels of all sides
  (earliest first, exact repeats once), the descriptions of all sides (earliest
  first) and, per attribute column, the first non-``None`` value. The
  ``merged_from`` attribute lists, for each entity, the ``[source index,
  original name]`` pairs it came from.
* **Names**: an entity of a later graph that does not join keeps its name
  unless an earlier entity has it, then it is named ``"{source}:{name}"``.

``align=None`` joins nothing (a disjoint union with prefixed relations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from kglm.kg.graph import KnowledgeGraph, _descriptions_to_csr, _labels_to_csr

__all__ = ["MERGE_RULES_VERSION", "merge", "normalise_label", "triple_sources", "default_source_name"]

#: Version of the rules above; part of the key of a cached merge
#: (:func:`kglm.training.resources.kg_directory`). Raise it when a change to
#: :func:`merge` or :func:`normalise_label` can give another graph.
MERGE_RULES_VERSION = 1

#: attributes whose values line up with an entity's labels: used for alignment, not carried over
_LABEL_ALIGNED = ("sense_numbers",)


def normalise_label(label: str) -> str:
    """The key labels are joined on: underscores to spaces, whitespace collapsed, stripped, lower-cased.

    Example:
        >>> normalise_label("  Ice_Cream\\tcone ")
        'ice cream cone'
    """
    return " ".join(label.replace("_", " ").lower().split())


def default_source_name(kg: KnowledgeGraph, index: int) -> str:
    """``"wn"`` for a WordNet graph, ``"cn"`` for ConceptNet, else ``"kg{index}"``."""
    meta = kg.metadata
    if meta.get("format") == "wordnet":
        return "wn"
    if "merge_relations" in meta and "dropped_other_language" in meta:  # written by from_conceptnet
        return "cn"
    return f"kg{index}"


def triple_sources(kg: KnowledgeGraph) -> torch.Tensor:
    """``(T,)`` index (into ``kg.metadata["merge"]["sources"]``) of the graph each triple came from."""
    info = kg.metadata.get("merge")
    if not isinstance(info, dict) or "relation_sources" not in info:
        raise ValueError("triple_sources: the graph was not made by kglm.kg.merge.merge")
    rel_src = torch.as_tensor(info["relation_sources"], dtype=torch.long)
    if rel_src.numel() != kg.num_relations:
        raise ValueError(f"metadata['merge']['relation_sources'] has {rel_src.numel()} entries, "
                         f"the graph {kg.num_relations} relations")
    return rel_src[kg.relation]


def _preferred(kg: KnowledgeGraph, senses: str) -> dict[str, list[tuple[int, int, int]]]:
    """Normalised label -> ``[(sense rank, label position, entity id), ...]`` of ``kg``, best first
    (only the best with ``senses="first"``)."""
    sense_numbers = kg.attribute("sense_numbers") if "sense_numbers" in kg.attribute_names else None
    text = kg.label_index()[1]
    ptr = kg._label_ptr.tolist()
    by_key: dict[str, list[tuple[int, int, int]]] = {}
    for e in range(kg.num_entities):
        ranks = sense_numbers[e] if sense_numbers is not None else None
        for j, label in enumerate(text[ptr[e] : ptr[e + 1]]):
            key = normalise_label(label)
            if not key:
                continue
            items = by_key.setdefault(key, [])
            if items and items[-1][2] == e:
                continue  # two labels of one entity with the same key: the first counts
            r = ranks[j] if ranks is not None and j < len(ranks) and isinstance(ranks[j], int) else 1 << 30
            items.append((r, j, e))
    for items in by_key.values():
        items.sort(key=lambda x: (x[0], x[2]))
        if senses == "first":
            del items[1:]
    return by_key


def merge(
    graphs: Sequence[KnowledgeGraph],
    align: str | None = "label",
    names: Sequence[str] | None = None,
    *,
    senses: str = "first",
) -> KnowledgeGraph:
    """Merge ``graphs`` into one (see the module docstring for the rules).

    Args:
        graphs: two or more graphs; the first keeps all its entities and names.
        align: ``"label"``: join entities whose normalised labels agree; ``None``: join nothing.
        names: one short source name per graph, used as relation prefix
            (default :func:`default_source_name`: ``"cn"``, ``"wn"``, ``"kg2"``, ...).
        senses: ``"first"``: of several entities of one later graph sharing a label,
            only the most frequent sense (lowest ``sense_numbers``, else lowest id)
            joins; ``"all"``: all of them join.

    Returns:
        The merged graph; ``metadata["merge"]`` holds ``sources``, ``relation_sources``,
        ``align``, ``senses``, ``joined`` (entities of each graph that joined an
        earlier one) and ``entities_per_source``.

    Example:
        >>> from kglm.kg.triples import from_triples
        >>> cn = from_triples([("dog", "IsA", "pet")])
        >>> wn = KnowledgeGraph(["wn:1-n", "wn:2-n"], ["hypernym"], [[0, 0, 1]],
        ...                     labels={0: ["dog"], 1: ["canine"]}, descriptions={0: ["a domestic canid"]})
        >>> kg = merge([cn, wn], names=["cn", "wn"])
        >>> kg.entities, kg.relations
        (['dog', 'pet', 'wn:2-n'], ['cn:IsA', 'wn:hypernym'])
        >>> kg.descriptions_of(kg.entity_id("dog"))
        ['a domestic canid']
    """
    graphs = list(graphs)
    if len(graphs) < 2:
        raise ValueError(f"merge: give at least two graphs, got {len(graphs)}")
    if align not in ("label", None):
        raise ValueError(f"merge: align must be 'label' or None, got {align!r}")
    if senses not in ("first", "all"):
        raise ValueError(f"merge: senses must be 'first' or 'all', got {senses!r}")
    if names is None:
        names = [default_source_name(g, i) for i, g in enumerate(graphs)]
        if len(set(names)) != len(names):
            names = [f"{n}{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    names = [str(n) for n in names]
    if len(names) != len(graphs):
        raise ValueError(f"merge: {len(graphs)} graphs but {len(names)} names")
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"merge: source names must be distinct and non-empty, got {names}")

    ent_names: list[str] = []
    name_index: dict[str, int] = {}
    labels: list[list[str]] = []
    descriptions: list[list[str]] = []
    merged_from: list[list[list[Any]]] = []
    attr_names: list[str] = []
    attrs: dict[str, dict[int, Any]] = {}
    key_index: dict[str, int] = {}  # normalised label -> earliest merged entity carrying it
    relations: list[str] = []
    relation_sources: list[int] = []
    triple_parts: list[torch.Tensor] = []
    joined_counts: list[int] = []
    per_source: list[int] = []

    for src, (kg, name) in enumerate(zip(graphs, names)):
        E = kg.num_entities
        mapping = np.full(E, -1, dtype=np.int64)
        # entity of kg -> (label position, sense rank, target): its first label that finds an earlier entity
        best: dict[int, tuple[int, int, int]] = {}
        if src > 0 and align == "label":
            for key, items in _preferred(kg, senses).items():
                target = key_index.get(key)
                if target is None:
                    continue
                for rank, j, e in items:
                    if e not in best or j < best[e][0]:
                        best[e] = (j, rank, target)
            for e, (_, _, target) in best.items():
                mapping[e] = target
        joined = int((mapping >= 0).sum())
        joined_counts.append(joined)
        per_source.append(E)
        kg_labels = kg.labels_dict()
        kg_desc = kg.descriptions_dict()
        kg_attr_names = [a for a in kg.attribute_names if a not in _LABEL_ALIGNED]
        for a in kg_attr_names:
            if a not in attrs:
                attrs[a] = {}
                attr_names.append(a)
        kg_attrs = {a: kg.attribute(a) for a in kg_attr_names}
        # joined entities, in (target, sense rank, id) order so descriptions list senses in order
        order = sorted((target, rank, e) for e, (_, rank, target) in best.items())
        for target, _, e in order:
            for label in kg_labels[e]:
                if label not in labels[target]:
                    labels[target].append(label)
                key_index.setdefault(normalise_label(label), target)  # later graphs can join on it too
            for d in kg_desc.get(e, []):
                if d not in descriptions[target]:
                    descriptions[target].append(d)
            merged_from[target].append([src, kg.entities[e]])
            for a, col in kg_attrs.items():
                if col[e] is not None and attrs[a].get(target) is None:
                    attrs[a][target] = col[e]
        # the other entities are new
        kg_names = kg.entities
        for e in np.nonzero(mapping < 0)[0].tolist():
            n = kg_names[e]
            if n in name_index:
                n = f"{name}:{n}"
                if n in name_index:
                    raise ValueError(f"merge: entity name {n!r} of source {name!r} is taken twice")
            i = len(ent_names)
            mapping[e] = i
            ent_names.append(n)
            name_index[n] = i
            labels.append(list(kg_labels[e]))
            descriptions.append(list(kg_desc.get(e, [])))
            merged_from.append([[src, kg_names[e]]])
            for a, col in kg_attrs.items():
                if col[e] is not None:
                    attrs[a][i] = col[e]
            if align == "label":
                for label in kg_labels[e]:
                    key_index.setdefault(normalise_label(label), i)
        r0 = len(relations)
        relations.extend(f"{name}:{r}" for r in kg.relations)
        relation_sources.extend([src] * kg.num_relations)
        if kg.num_triples:
            m = torch.from_numpy(mapping)
            t = kg.triples
            triple_parts.append(torch.stack([m[t[:, 0]], t[:, 1] + r0, m[t[:, 2]]], 1))

    E = len(ent_names)
    triples = torch.cat(triple_parts) if triple_parts else torch.empty(0, 3, dtype=torch.long)
    ptr, text = _labels_to_csr(ent_names, dict(enumerate(labels)))
    dptr, dtext = _descriptions_to_csr(E, {i: d for i, d in enumerate(descriptions) if d})
    columns: dict[str, list[Any]] = {a: [attrs[a].get(i) for i in range(E)] for a in attr_names}
    columns["merged_from"] = merged_from
    meta = {
        "merge": {
            "sources": names,
            "relation_sources": relation_sources,
            "align": align,
            "senses": senses,
            "normalisation": "underscores to spaces, whitespace collapsed, stripped, lower-cased",
            "entities_per_source": per_source,
            "joined": joined_counts,
            "source_metadata": [dict(g.metadata) for g in graphs],
        }
    }
    if len(set(relations)) != len(relations):
        raise ValueError("merge: two relations got the same prefixed name")
    return KnowledgeGraph._from_parts(ent_names, relations, triples, ptr, text, meta,
                                      description_ptr=dptr, description_text=dtext, attributes=columns)

