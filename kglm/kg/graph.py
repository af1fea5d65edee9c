"""The :class:`KnowledgeGraph`: vocabularies, labels, integer triples, CSR indexes.

A knowledge graph here is

* ``entities``: id -> name (an IRI for RDF, a concept phrase for ConceptNet);
* ``relations``: id -> name;
* ``triples``: an ``int64`` tensor ``(T, 3)`` of ``(head, relation, tail)``;
* labels: several surface forms per entity (used by entity linking), stored
  compactly as a CSR pair ``label_ptr (E + 1,)`` + one flat list of strings;
* descriptions: zero or more description strings per entity (definitions,
  glosses), stored the same way (``description_ptr (E + 1,)`` + flat strings);
* attributes: optional named per-entity columns of JSON values (a builder's
  extra facts, e.g. WordNet's lexicographer file and usage examples);
* CSR indexes of the outgoing and incoming edges, built vectorised on demand
  and cached.

It is saved as plain files (JSON vocabularies, ``.npy`` arrays, a ``kg.json``
header with a format version) that :meth:`KnowledgeGraph.load` memory-maps.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kglm.utils.indexing import csr_segments, key_space_fits, pack_keys, segment_owner
from kglm.utils.io import PathLike, parse_json, read_json

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from torch_geometric.data import Data

__all__ = ["KnowledgeGraph", "FORMAT_VERSION", "entity_display_name"]

#: Version of the on-disk layout written by :meth:`KnowledgeGraph.save`.
FORMAT_VERSION = 1

_HEADER = "kg.json"
_ENTITIES = "entities.json"
_RELATIONS = "relations.json"
_LABELS = "labels.json"
_LABEL_PTR = "label_ptr.npy"
_TRIPLES = "triples.npy"
_DESCRIPTIONS = "descriptions.json"
_DESCRIPTION_PTR = "description_ptr.npy"
_ATTRIBUTES = "attributes.json"
_CSR_PARTS = ("ptr", "neighbor", "relation", "triple")
_EXTRAS = "extras"


def _as_index(ids: int | Sequence[int] | torch.Tensor | np.ndarray, what: str, bound: int) -> torch.Tensor:
    """Turn ``ids`` into a 1-D int64 tensor and check every id is in ``[0, bound)``."""
    t = torch.as_tensor(ids, dtype=torch.long).reshape(-1)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= bound):
        bad = t[(t < 0) | (t >= bound)][0].item()
        raise IndexError(f"{what} id {bad} out of range [0, {bound})")
    return t


def _tensor_from_npy(path: Path, mmap: bool) -> torch.Tensor:
    # mmap_mode="c" (copy-on-write): pages are shared with the file and read
    # lazily, yet the tensor is writable without touching the file.
    from kglm.errors import IntegrityError, MissingResourceError

    try:
        arr = np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise MissingResourceError(f"{path}: missing (not a saved KnowledgeGraph directory?)") from None
    except (ValueError, OSError, EOFError) as exc:  # a truncated or tampered .npy (or a pickled object array)
        raise IntegrityError(f"{path}: not a valid .npy array ({exc})") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.from_numpy(arr)


def _read_json(path: Path) -> Any:
    from kglm.errors import IntegrityError

    try:
        return read_json(path, IntegrityError)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing (not a saved KnowledgeGraph directory?)") from None


class KnowledgeGraph:
    """A compact knowledge graph: vocabularies, labels and ``(head, relation, tail)`` id triples.

    Args:
        entities: entity names, id -> name. Names must be unique.
        relations: relation names, id -> name. Names must be unique.
        triples: ``(T, 3)`` integer ids ``(head, relation, tail)``; anything
            :func:`torch.as_tensor` accepts. Converted to ``int64``.
        labels: surface forms per entity id. An entity missing from the mapping
            (or every entity when ``labels`` is ``None``) gets its name as its only label.
        metadata: JSON-serialisable information kept with the graph (source files, options).
        descriptions: description strings (definitions, glosses) per entity id, first
            = primary. Entities missing from the mapping have none; empty strings and
            repeats of an entity's earlier description are dropped.
        attributes: named per-entity columns, ``{name: [value of entity 0, value of
            entity 1, ...]}``; each column has one JSON-serialisable value per entity
            (``None`` for "no value"). Saved with the graph and part of its fingerprint.

    Shapes:
        ``triples``: ``(T, 3)``; ``head`` / ``relation`` / ``tail``: ``(T,)`` views.

    Example:
        >>> kg = KnowledgeGraph(["cat", "animal"], ["IsA"], [[0, 0, 1]])
        >>> kg
        KnowledgeGraph(num_entities=2, num_relations=1, num_triples=1, num_labels=2)
        >>> kg.neighbors(kg.entity_id("cat")).tolist()
        [1]
    """

    def __init__(
        self,
        entities: Sequence[str],
        relations: Sequence[str],
        triples: Any,
        labels: Mapping[int, Sequence[str]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        descriptions: Mapping[int, Sequence[str]] | None = None,
        attributes: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        entities = [str(e) for e in entities]
        relations = [str(r) for r in relations]
        _check_unique(entities, "entity")
        _check_unique(relations, "relation")
        t = torch.as_tensor(triples if not _is_empty(triples) else torch.empty(0, 3), dtype=torch.long)
        if t.dim() != 2 or t.shape[1] != 3:
            raise ValueError(f"triples must have shape (T, 3), got {tuple(t.shape)}")
        t = t.contiguous()
        if t.numel():
            for col, what, bound in ((0, "head", len(entities)), (1, "relation", len(relations)), (2, "tail", len(entities))):
                c = t[:, col]
                bad = (c < 0) | (c >= bound)
                if bool(bad.any()):
                    row = int(torch.nonzero(bad)[0])
                    raise ValueError(
                        f"triple {row} has {what} id {int(c[row])} out of range [0, {bound})"
                    )
        ptr, text = _labels_to_csr(entities, labels)
        dptr, dtext = _descriptions_to_csr(len(entities), descriptions)
        self._init(entities, relations, t, ptr, text, dict(metadata or {}),
                   description_ptr=dptr, description_text=dtext,
                   attributes=_check_attributes(len(entities), attributes))

    # ------------------------------------------------------------------ internals
    def _init(
        self,
        entities: list[str] | None,
        relations: list[str],
        triples: torch.Tensor,
        label_ptr: torch.Tensor,
        label_text: list[str] | None,
        metadata: dict[str, Any],
        num_entities: int | None = None,
        lazy_files: dict[str, _LazyJSON] | None = None,
        csr: dict[str, tuple[torch.Tensor, ...]] | None = None,
        fingerprint: str | None = None,
        description_ptr: torch.Tensor | None = None,
        description_text: list[str] | None = None,
        attributes: dict[str, list[Any]] | None = None,
        attribute_names: list[str] | None = None,
    ) -> None:
        self._entities = entities
        self._relations = relations
        self._triples = triples
        self._label_ptr = label_ptr
        self._label_text = label_text
        self.metadata: dict[str, Any] = metadata
        self._num_entities = len(entities) if entities is not None else int(num_entities or 0)
        self._lazy_files = lazy_files or {}
        self._csr: dict[str, tuple[torch.Tensor, ...]] = dict(csr or {})
        self._fingerprint = fingerprint
        self._entity_index: dict[str, int] | None = None
        self._relation_index: dict[str, int] | None = None
        if description_ptr is None:  # no descriptions: an all-zero pointer, no texts
            description_ptr = torch.zeros(self._num_entities + 1, dtype=torch.long)
            description_text = []
        self._description_ptr = description_ptr
        self._description_text = description_text
        # attributes: parsed lazily after load (then ``_attributes`` is None and the names come from the header)
        self._attributes = attributes if attributes is not None or attribute_names else {}
        self._attribute_names = list(attributes) if attributes is not None else list(attribute_names or [])

    @classmethod
    def _from_parts(
        cls,
        entities: list[str],
        relations: list[str],
        triples: torch.Tensor,
        label_ptr: torch.Tensor,
        label_text: list[str],
        metadata: Mapping[str, Any] | None = None,
        description_ptr: torch.Tensor | None = None,
        description_text: list[str] | None = None,
        attributes: dict[str, list[Any]] | None = None,
    ) -> KnowledgeGraph:
        """Build without re-validating (for builders and transforms that guarantee validity).

        ``description_ptr`` / ``description_text`` come from :func:`_descriptions_to_csr`
        (``None``: no descriptions); ``attributes`` columns must have one value per entity."""
        kg = cls.__new__(cls)
        kg._init(entities, relations, triples.contiguous(), label_ptr, label_text, dict(metadata or {}),
                 description_ptr=description_ptr, description_text=description_text,
                 attributes=dict(attributes) if attributes else None)
        return kg

    # ------------------------------------------------------------------ vocabularies
    @property
    def entities(self) -> list[str]:
        """Entity names, id -> name (parsed on first use after :meth:`load`)."""
        if self._entities is None:
            entities = self._lazy_files[_ENTITIES].read()
            if getattr(self, "_validate_vocab", False):
                _check_vocab(self._lazy_files[_ENTITIES].path, entities, "entity", unique=True)
            if len(entities) != self._num_entities:
                raise ValueError(
                    f"{self._lazy_files[_ENTITIES].path}: {len(entities)} entities, "
                    f"header says {self._num_entities}"
                )
            self._entities = entities
        return self._entities

    @property
    def relations(self) -> list[str]:
        """Relation names, id -> name."""
        return self._relations

    @property
    def triples(self) -> torch.Tensor:
        """``(T, 3)`` int64 tensor of ``(head, relation, tail)``."""
        return self._triples

    @property
    def head(self) -> torch.Tensor:
        """``(T,)`` head ids (a view of :attr:`triples`)."""
        return self._triples[:, 0]

    @property
    def relation(self) -> torch.Tensor:
        """``(T,)`` relation ids (a view of :attr:`triples`)."""
        return self._triples[:, 1]

    @property
    def tail(self) -> torch.Tensor:
        """``(T,)`` tail ids (a view of :attr:`triples`)."""
        return self._triples[:, 2]

    @property
    def num_entities(self) -> int:
        """Number of entities."""
        return self._num_entities

    @property
    def num_relations(self) -> int:
        """Number of relations."""
        return len(self._relations)

    @property
    def num_triples(self) -> int:
        """Number of triples."""
        return int(self._triples.shape[0])

    @property
    def num_labels(self) -> int:
        """Total number of labels over all entities."""
        return int(self._label_ptr[-1])

    @property
    def num_descriptions(self) -> int:
        """Total number of descriptions over all entities (0 when the graph has none)."""
        return int(self._description_ptr[-1])

    def __repr__(self) -> str:
        extra = f", num_descriptions={self.num_descriptions}" if self.num_descriptions else ""
        return (
            f"{type(self).__name__}(num_entities={self.num_entities}, "
            f"num_relations={self.num_relations}, num_triples={self.num_triples}, "
            f"num_labels={self.num_labels}{extra})"
        )

    def entity_id(self, name: str) -> int:
        """The id of the entity called ``name``; ``KeyError`` naming it when absent."""
        if self._entity_index is None:
            self._entity_index = {n: i for i, n in enumerate(self.entities)}
        try:
            return self._entity_index[name]
        except KeyError:
            raise KeyError(f"unknown entity {name!r}") from None

    def relation_id(self, name: str) -> int:
        """The id of the relation called ``name``; ``KeyError`` naming it when absent."""
        if self._relation_index is None:
            self._relation_index = {n: i for i, n in enumerate(self._relations)}
        try:
            return self._relation_index[name]
        except KeyError:
            raise KeyError(f"unknown relation {name!r}") from None

    # ------------------------------------------------------------------ labels and descriptions
    def _check_entity(self, entity_id: int) -> int:
        """``entity_id`` as an int; ``IndexError`` when it is not an entity of this graph."""
        i = int(entity_id)
        if not 0 <= i < self.num_entities:
            raise IndexError(f"entity id {i} out of range [0, {self.num_entities})")
        return i

    def _texts(self, cached: str, file: str, ptr_file: str, count: int, what: str) -> list[str]:
        """A flat text column (labels, descriptions) of a loaded graph, read from ``file``
        on first use and checked against the count its pointer file ``ptr_file`` gives."""
        text = getattr(self, cached)
        if text is None:
            lazy = self._lazy_files[file]
            text = lazy.read()
            setattr(self, cached, text)
            if getattr(self, "_validate_vocab", False):
                _check_vocab(lazy.path, text, what, unique=False)
            if len(text) != count:
                raise ValueError(f"{lazy.path}: {len(text)} {what}s, {ptr_file} says {count}")
        return text

    @property
    def _labels(self) -> list[str]:
        return self._texts("_label_text", _LABELS, _LABEL_PTR, self.num_labels, "label")

    def labels_of(self, entity_id: int) -> list[str]:
        """The labels (surface forms) of one entity, in stored order."""
        i = self._check_entity(entity_id)
        return self._labels[int(self._label_ptr[i]) : int(self._label_ptr[i + 1])]

    def label_index(self) -> tuple[torch.Tensor, list[str]]:
        """All labels, flat: ``(entity id of each label (L,), label texts)``."""
        return _csr_owner(self._label_ptr), list(self._labels)

    def labels_dict(self) -> dict[int, list[str]]:
        """Labels as ``{entity id: [label, ...]}`` (every entity present)."""
        text = self._labels
        ptr = self._label_ptr.tolist()
        return {i: text[ptr[i] : ptr[i + 1]] for i in range(self.num_entities)}

    @property
    def _descriptions(self) -> list[str]:
        return self._texts("_description_text", _DESCRIPTIONS, _DESCRIPTION_PTR, self.num_descriptions, "description")

    def descriptions_of(self, entity_id: int) -> list[str]:
        """The descriptions (definitions, glosses) of one entity, primary first; ``[]`` when none."""
        i = self._check_entity(entity_id)
        start, end = int(self._description_ptr[i]), int(self._description_ptr[i + 1])
        return self._descriptions[start:end] if end > start else []

    def description_index(self) -> tuple[torch.Tensor, list[str]]:
        """All descriptions, flat: ``(entity id of each description (D,), texts)``."""
        return _csr_owner(self._description_ptr), list(self._descriptions) if self.num_descriptions else []

    def descriptions_dict(self) -> dict[int, list[str]]:
        """Descriptions as ``{entity id: [description, ...]}``, only entities that have some."""
        if not self.num_descriptions:
            return {}
        text = self._descriptions
        ptr = self._description_ptr.tolist()
        return {i: text[ptr[i] : ptr[i + 1]] for i in range(self.num_entities) if ptr[i + 1] > ptr[i]}

    def _description_parts(self) -> dict[str, Any]:
        """Description and attribute keyword arguments for :meth:`_from_parts` (copies)."""
        parts: dict[str, Any] = {}
        if self.num_descriptions:
            parts.update(description_ptr=self._description_ptr.clone(), description_text=list(self._descriptions))
        if self._attribute_names:
            parts["attributes"] = {k: list(v) for k, v in self._all_attributes.items()}
        return parts

    # ------------------------------------------------------------------ attributes
    @property
    def attribute_names(self) -> list[str]:
        """Names of the per-entity attribute columns (``[]`` when there are none)."""
        return list(self._attribute_names)

    @property
    def _all_attributes(self) -> dict[str, list[Any]]:
        if self._attributes is None:
            lazy = self._lazy_files[_ATTRIBUTES]
            data = lazy.read()
            data = _check_attributes(self.num_entities, data, str(lazy.path)) if isinstance(data, dict) else None
            if data is None or list(data) != self._attribute_names:
                raise ValueError(f"{lazy.path}: expected a JSON object with columns {self._attribute_names}")
            self._attributes = data
        return self._attributes

    def attribute(self, name: str) -> list[Any]:
        """The attribute column ``name``: one value per entity id (``None`` = no value)."""
        if name not in self._attribute_names:
            raise KeyError(f"unknown attribute {name!r} (the graph has {self._attribute_names})")
        return self._all_attributes[name]

    # ------------------------------------------------------------------ adjacency
    def csr(self, direction: str = "out") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Compressed sparse rows of the edges, built vectorised and cached.

        Args:
            direction: ``"out"``: rows are heads, ``neighbor`` holds tails;
                ``"in"``: rows are tails, ``neighbor`` holds heads.

        Returns:
            ``(ptr (E+1,), neighbor (T,), relation (T,), triple_id (T,))``; the
            edges of entity ``i`` are positions ``ptr[i]:ptr[i+1]``, in triple order.
        """
        if direction not in ("out", "in"):
            raise ValueError(f"direction must be 'out' or 'in', got {direction!r}")
        cached = self._csr.get(direction)
        if cached is not None:
            unchecked = getattr(self, "_csr_unchecked", None)
            if unchecked and direction in unchecked:  # loaded with validate=True: checked on first use
                _validate_csr(Path(_stored_where(self)), direction, self._triples, cached, self.num_entities,
                              self.num_relations, self._triples_digest)
                unchecked.discard(direction)
            return cached  # type: ignore[return-value]
        key, other = (self.head, self.tail) if direction == "out" else (self.tail, self.head)
        order = torch.argsort(key, stable=True)
        ptr = torch.zeros(self.num_entities + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(key, minlength=self.num_entities), 0, out=ptr[1:])
        result = (ptr, other[order], self.relation[order], order)
        self._csr[direction] = result
        return result

    def degree(self, direction: str = "out") -> torch.Tensor:
        """``(E,)`` number of edges leaving (``"out"``) or entering (``"in"``) each entity."""
        ptr = self.csr(direction)[0]
        return ptr[1:] - ptr[:-1]

    def neighbors(
        self, ids: int | Sequence[int] | torch.Tensor, direction: str = "out"
    ) -> torch.Tensor:
        """Unique, sorted ids of the entities one edge away from ``ids``.

        Args:
            ids: one entity id or several.
            direction: ``"out"`` (tails of edges leaving ``ids``), ``"in"`` (heads of
                edges entering them) or ``"both"``.
        """
        if direction == "both":
            return torch.unique(torch.cat([self.neighbors(ids, "out"), self.neighbors(ids, "in")]))
        idx = _as_index(ids, "entity", self.num_entities)
        ptr, neighbor, _, _ = self.csr(direction)
        return torch.unique(neighbor[csr_segments(ptr, idx)[1]])

    # ------------------------------------------------------------------ transforms
    def subgraph(self, entity_ids: Sequence[int] | torch.Tensor) -> KnowledgeGraph:
        """The subgraph induced by ``entity_ids``: those entities (in the given order),
        their labels, every triple between them; all relations are kept with their ids."""
        ids = _as_index(entity_ids, "entity", self.num_entities)
        if torch.unique(ids).numel() != ids.numel():
            raise ValueError("subgraph: entity_ids contains duplicates")
        new_id = torch.full((self.num_entities,), -1, dtype=torch.long)
        new_id[ids] = torch.arange(ids.numel(), dtype=torch.long)
        h, t = new_id[self.head], new_id[self.tail]
        keep = (h >= 0) & (t >= 0)
        triples = torch.stack([h[keep], self.relation[keep], t[keep]], 1)
        names = self.entities
        entities = [names[i] for i in ids.tolist()]
        counts = (self._label_ptr[1:] - self._label_ptr[:-1])[ids]
        ptr = torch.zeros(ids.numel() + 1, dtype=torch.long)
        torch.cumsum(counts, 0, out=ptr[1:])
        text = self._labels
        lp = self._label_ptr.tolist()
        labels = [s for i in ids.tolist() for s in text[lp[i] : lp[i + 1]]]
        desc: dict[str, Any] = {}
        if self.num_descriptions:
            dcounts = (self._description_ptr[1:] - self._description_ptr[:-1])[ids]
            dptr = torch.zeros(ids.numel() + 1, dtype=torch.long)
            torch.cumsum(dcounts, 0, out=dptr[1:])
            dtext, dp = self._descriptions, self._description_ptr.tolist()
            desc = {"description_ptr": dptr,
                    "description_text": [s for i in ids.tolist() for s in dtext[dp[i] : dp[i + 1]]]}
        if self._attribute_names:
            keep_ids = ids.tolist()
            desc["attributes"] = {k: [col[i] for i in keep_ids] for k, col in self._all_attributes.items()}
        return KnowledgeGraph._from_parts(entities, list(self._relations), triples, ptr, labels, self.metadata,
                                          **desc)

    def add_inverse_relations(self) -> KnowledgeGraph:
        """A copy with every triple ``(h, r, t)`` also present as ``(t, r + R, h)``;
        relation ``r + R`` is named ``f"{name}_inv"``."""
        R = self.num_relations
        inv = torch.stack([self.tail, self.relation + R, self.head], 1)
        relations = list(self._relations) + [f"{r}_inv" for r in self._relations]
        _check_unique(relations, "relation")
        return KnowledgeGraph._from_parts(
            self.entities, relations, torch.cat([self._triples, inv]),
            self._label_ptr.clone(), list(self._labels), self.metadata, **self._description_parts(),
        )

    def deduplicate(self, record: bool = False) -> KnowledgeGraph:
        """A copy without repeated triples; the first occurrence of each is kept, in order.

        Args:
            record: set the copy's ``metadata["dropped_duplicates"]`` to the number of
                triples dropped (what the builders report).
        """
        keep = _first_occurrences(self._triples, self.num_entities, self.num_relations) if self.num_triples else None
        kept = self._triples.clone() if keep is None or keep.numel() == self.num_triples else self._triples[keep]
        kg = KnowledgeGraph._from_parts(
            self.entities, list(self._relations), kept,
            self._label_ptr.clone(), list(self._labels), self.metadata, **self._description_parts(),
        )
        if record:
            kg.metadata["dropped_duplicates"] = self.num_triples - kg.num_triples
        return kg

    # ------------------------------------------------------------------ identity
    @property
    def fingerprint(self) -> str:
        """SHA-256 hex digest of entity names, relation names, labels, triples and descriptions.

        Stable across processes and save/load (the metadata is not part of it).
        Descriptions enter only when there are some, so a graph without any keeps
        the fingerprint it had before descriptions existed."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(b"kglm-kg-v1\0")
            for part in (self.entities, self._relations, self._labels):
                h.update(json.dumps(part, ensure_ascii=False).encode("utf-8"))
                h.update(b"\0")
            h.update(np.ascontiguousarray(self._label_ptr.numpy(), dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(self._triples.numpy(), dtype="<i8").tobytes())
            if self.num_descriptions:
                h.update(b"\0descriptions\0")
                h.update(json.dumps(self._descriptions, ensure_ascii=False).encode("utf-8"))
                h.update(b"\0")
                h.update(np.ascontiguousarray(self._description_ptr.numpy(), dtype="<i8").tobytes())
            if self._attribute_names:  # likewise only when there are some
                h.update(b"\0attributes\0")
                h.update(json.dumps(self._all_attributes, ensure_ascii=False, sort_keys=False).encode("utf-8"))
            self._fingerprint = h.hexdigest()
            stored = getattr(self, "_stored_fingerprint", None)
            if stored is not None and stored != self._fingerprint:  # set by load(validate=True)
                warnings.warn(
                    f"{_stored_where(self)}: the stored fingerprint does not match the files (edited after "
                    f"saving?); using the recomputed one, so caches made for the old graph are not reused",
                    stacklevel=2,
                )
        return self._fingerprint

    # ------------------------------------------------------------------ exports
    def to_pyg(self) -> Data:
        """A :class:`torch_geometric.data.Data` with ``edge_index (2, T)``, ``edge_type (T,)``
        and ``num_nodes``; node ``i`` is entity ``i``."""
        from torch_geometric.data import Data

        return Data(
            edge_index=torch.stack([self.head, self.tail]).contiguous(),
            edge_type=self.relation.clone(),
            num_nodes=self.num_entities,
        )

    def to_networkx(self) -> nx.MultiDiGraph:
        """A :class:`networkx.MultiDiGraph`: nodes are entity names with a ``labels``
        attribute (and ``descriptions`` when the entity has some), each edge has its relation name as ``relation`` and its triple
        index as key. ``graph.graph`` holds ``relations`` and ``metadata``."""
        import networkx as nx

        g = nx.MultiDiGraph(relations=list(self._relations), metadata=dict(self.metadata))
        names = self.entities
        labels = self.labels_dict()
        g.add_nodes_from((names[i], {"labels": labels[i]}) for i in range(self.num_entities))
        for i, ds in self.descriptions_dict().items():
            g.nodes[names[i]]["descriptions"] = ds
        if self._attribute_names:
            g.graph["attributes"] = list(self._attribute_names)
            cols = self._all_attributes
            for i in range(self.num_entities):
                g.nodes[names[i]]["attributes"] = {k: cols[k][i] for k in self._attribute_names}
        rel = self._relations
        g.add_edges_from(
            (names[h], names[t], k, {"relation": rel[r]})
            for k, (h, r, t) in enumerate(self._triples.tolist())
        )
        return g

    @classmethod
    def from_networkx(cls, graph: nx.Graph) -> KnowledgeGraph:
        """Build from any networkx graph whose edges carry a ``relation`` attribute.

        Nodes become entities (``str(node)``), in node order; a node's ``labels``
        attribute (list of strings) becomes its labels, its ``descriptions`` attribute
        its descriptions; ``graph.graph["attributes"]`` names the entity attribute
        columns, read from each node's ``attributes`` dict (missing: ``None``). Relation ids follow
        ``graph.graph["relations"]`` when present, then first appearance. Edges are
        taken in key order when the keys are exactly ``0..m-1`` (as written by
        :meth:`to_networkx`), so a round trip keeps the triple order.
        """
        nodes = list(graph.nodes)
        entities = [str(n) for n in nodes]
        index = {n: i for i, n in enumerate(nodes)}
        relations: list[str] = [str(r) for r in graph.graph.get("relations", [])]
        rel_index = {r: i for i, r in enumerate(relations)}
        if graph.is_multigraph():
            edges = list(graph.edges(keys=True, data=True))
            keys = [k for _, _, k, _ in edges]
            if all(type(k) is int for k in keys) and sorted(keys) == list(range(len(keys))):
                edges.sort(key=lambda e: e[2])  # keys are triple indices (written by to_networkx)
            edge_iter = ((u, v, d) for u, v, _, d in edges)
        else:
            edge_iter = graph.edges(data=True)
        rows: list[tuple[int, int, int]] = []
        for u, v, data in edge_iter:
            if "relation" not in data:
                raise ValueError(f"networkx edge ({u!r}, {v!r}) has no 'relation' attribute")
            r = str(data["relation"])
            if r not in rel_index:
                rel_index[r] = len(relations)
                relations.append(r)
            rows.append((index[u], rel_index[r], index[v]))
            if not graph.is_directed():
                rows.append((index[v], rel_index[r], index[u]))
        labels = {i: list(graph.nodes[n]["labels"]) for i, n in enumerate(nodes) if graph.nodes[n].get("labels")}
        descriptions = {i: list(graph.nodes[n]["descriptions"]) for i, n in enumerate(nodes)
                        if graph.nodes[n].get("descriptions")}
        attributes = {k: [(graph.nodes[n].get("attributes") or {}).get(k) for n in nodes]
                      for k in graph.graph.get("attributes", [])}
        return cls(entities, relations, torch.tensor(rows, dtype=torch.long).reshape(-1, 3), labels,
                   graph.graph.get("metadata"), descriptions=descriptions, attributes=attributes or None)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_triples(cls, source: PathLike | Iterable[Sequence[str]], **kwargs: Any) -> KnowledgeGraph:
        """Build from ``(head, relation, tail)`` names: an iterable of string triples
        or a TSV/CSV file. See :func:`kglm.kg.triples.from_triples`."""
        from kglm.kg.triples import from_triples

        return from_triples(source, **kwargs)

    @classmethod
    def from_rdf(cls, path_or_paths: PathLike | Sequence[PathLike], **kwargs: Any) -> KnowledgeGraph:
        """Build from RDF files in any rdflib format. See :func:`kglm.kg.rdf.from_rdf`."""
        from kglm.kg.rdf import from_rdf

        return from_rdf(path_or_paths, **kwargs)

    @classmethod
    def from_conceptnet(cls, path: PathLike | Sequence[PathLike], **kwargs: Any) -> KnowledgeGraph:
        """Build from ConceptNet 5 assertions CSV or ConceptNet-100K TSV.
        See :func:`kglm.kg.conceptnet.from_conceptnet`."""
        from kglm.kg.conceptnet import from_conceptnet

        return from_conceptnet(path, **kwargs)

    @classmethod
    def from_wordnet(cls, directory: PathLike, **kwargs: Any) -> KnowledgeGraph:
        """Build from the WordNet 3.0 database files (one entity per synset, glosses as
        descriptions). See :func:`kglm.kg.wordnet.from_wordnet`."""
        from kglm.kg.wordnet import from_wordnet

        return from_wordnet(directory, **kwargs)

    @classmethod
    def merge(
        cls, graphs: Sequence[KnowledgeGraph], align: str | None = "label", names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> KnowledgeGraph:
        """Merge graphs, joining entities whose normalised labels agree; relations are
        prefixed by source (``cn:IsA``, ``wn:hypernym``). See :func:`kglm.kg.merge.merge`."""
        from kglm.kg.merge import merge

        return merge(graphs, align=align, names=names, **kwargs)

    def to_rdf(self, path: PathLike, format: str | None = None, **kwargs: Any) -> None:
        """Write the graph as RDF. See :func:`kglm.kg.rdf.to_rdf`."""
        from kglm.kg.rdf import to_rdf

        to_rdf(self, path, format=format, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: PathLike) -> None:
        """Write the graph to ``directory`` as plain files, atomically.

        The files are written to a temporary directory beside the target, which then
        replaces it; a failure leaves the target as it was. An existing ``extras/``
        sub-directory of the target (other components' artefacts) is kept.
        Refuses to overwrite a non-empty directory that is not a saved graph.
        """
        target = Path(directory)
        if target.exists():
            if not target.is_dir():
                raise ValueError(f"{target}: exists and is not a directory")
            if any(target.iterdir()) and not (target / _HEADER).exists():
                raise ValueError(f"{target}: non-empty directory that is not a saved KnowledgeGraph; refusing to overwrite")
        from kglm.utils.io import atomic_directory

        with atomic_directory(target) as tmp:  # no moment without a graph at ``target``; no debris after a kill
            self._write_files(tmp)
            if (target / _EXTRAS).is_dir() and not (target / _EXTRAS).is_symlink():
                # hard links: the old graph keeps its extras until the new one has taken its place
                shutil.copytree(target / _EXTRAS, tmp / _EXTRAS, symlinks=True, copy_function=_link_or_copy)

    def _write_files(self, out: Path) -> None:
        def dump(name: str, obj: Any) -> None:
            with open(out / name, "w", encoding="utf-8") as f:
                json.dump(obj, f, ensure_ascii=False)

        dump(_ENTITIES, self.entities)
        dump(_RELATIONS, self._relations)
        dump(_LABELS, self._labels)
        np.save(out / _LABEL_PTR, self._label_ptr.numpy().astype(np.int64, copy=False))
        np.save(out / _TRIPLES, self._triples.numpy().astype(np.int64, copy=False))
        if self.num_descriptions:  # graphs without descriptions are saved exactly as before
            dump(_DESCRIPTIONS, self._descriptions)
            np.save(out / _DESCRIPTION_PTR, self._description_ptr.numpy().astype(np.int64, copy=False))
        if self._attribute_names:
            dump(_ATTRIBUTES, self._all_attributes)
        for direction in ("out", "in"):
            for part, tensor in zip(_CSR_PARTS, self.csr(direction)):
                np.save(out / f"csr_{direction}_{part}.npy", tensor.numpy().astype(np.int64, copy=False))
        header = {
            "format_version": FORMAT_VERSION,
            "num_entities": self.num_entities,
            "num_relations": self.num_relations,
            "num_triples": self.num_triples,
            "num_labels": self.num_labels,
            "num_descriptions": self.num_descriptions,
            "attributes": self._attribute_names,
            "fingerprint": self.fingerprint,
            "metadata": self.metadata,
        }
        with open(out / _HEADER, "w", encoding="utf-8") as f:
            json.dump(header, f, ensure_ascii=False, indent=2)

    @classmethod
    def load(cls, directory: PathLike, mmap: bool = True, validate: bool = True) -> KnowledgeGraph:
        """Load a graph written by :meth:`save`.

        Args:
            directory: the saved directory.
            mmap: memory-map the arrays (copy-on-write) instead of reading them;
                entity names and labels are parsed on first use either way.
            validate: check the files for consistency (on by default; vectorised,
                the arrays stay memory-mapped): header counts are non-negative
                integers; triple ids lie in range; label, description and CSR
                pointers start at 0, never decrease and end at their counts; the
                CSR indexes agree with the triples; ``relations.json`` is a list
                of distinct strings; entity names (distinct strings), labels and
                descriptions are checked when first parsed; the fingerprint is
                recomputed from the files on first use (a warning if the stored
                one differs), so a graph edited under an old header cannot serve
                cache entries of the old graph. ``False`` trusts the files (for
                graphs you made yourself; see ``benchmarks/kg`` for the cost).

        Raises:
            MissingResourceError: a file is missing (a ``FileNotFoundError``).
            IntegrityError: unknown format version or inconsistent files, naming
                the file (a ``ValueError``).
        """
        from kglm.errors import IntegrityError, MissingResourceError

        d = Path(directory)
        if not d.is_dir():
            raise MissingResourceError(f"{d}: no such directory")
        header = _read_json(d / _HEADER)
        version = header.get("format_version") if isinstance(header, dict) else None
        if version != FORMAT_VERSION:
            raise IntegrityError(
                f"{d}: KnowledgeGraph format version {version!r}, but this kglm reads version {FORMAT_VERSION}"
            )
        counts = {k: header.get(k) for k in ("num_entities", "num_relations", "num_triples", "num_labels")}
        if header.get("num_descriptions") is not None:
            counts["num_descriptions"] = header["num_descriptions"]
        for k, v in counts.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise IntegrityError(f"{d / _HEADER}: {k!r} must be a non-negative integer, got {v!r}")
        if not isinstance(header.get("metadata") or {}, dict):
            raise IntegrityError(f"{d / _HEADER}: 'metadata' must be a JSON object")
        E, R, T, L = (int(header[k]) for k in ("num_entities", "num_relations", "num_triples", "num_labels"))
        triples = _tensor_from_npy(d / _TRIPLES, mmap)
        _check_shape(d / _TRIPLES, triples, (T, 3))
        label_ptr = _tensor_from_npy(d / _LABEL_PTR, False)
        _check_shape(d / _LABEL_PTR, label_ptr, (E + 1,))
        if int(label_ptr[-1]) != L:
            raise IntegrityError(f"{d / _LABEL_PTR}: ends at {int(label_ptr[-1])}, header says {L} labels")
        relations = _read_json(d / _RELATIONS)
        if not isinstance(relations, list) or len(relations) != R:
            n = len(relations) if isinstance(relations, list) else "no list of"
            raise IntegrityError(f"{d / _RELATIONS}: {n} relations, header says {R}")
        csr: dict[str, tuple[torch.Tensor, ...]] = {}
        for direction in ("out", "in"):
            parts = []
            for part in _CSR_PARTS:
                p = d / f"csr_{direction}_{part}.npy"
                arr = _tensor_from_npy(p, mmap)
                _check_shape(p, arr, (E + 1,) if part == "ptr" else (T,))
                parts.append(arr)
            csr[direction] = tuple(parts)
        lazy_files = {_ENTITIES: _LazyJSON(d / _ENTITIES), _LABELS: _LazyJSON(d / _LABELS)}
        # graphs saved before descriptions existed have no num_descriptions and no files
        D = int(header.get("num_descriptions") or 0)
        description_ptr = None
        if D:
            description_ptr = _tensor_from_npy(d / _DESCRIPTION_PTR, False)
            _check_shape(d / _DESCRIPTION_PTR, description_ptr, (E + 1,))
            if int(description_ptr[-1]) != D:
                raise IntegrityError(
                    f"{d / _DESCRIPTION_PTR}: ends at {int(description_ptr[-1])}, header says {D} descriptions"
                )
            lazy_files[_DESCRIPTIONS] = _LazyJSON(d / _DESCRIPTIONS)
        attribute_names = header.get("attributes") or []
        if not isinstance(attribute_names, list) or not all(isinstance(x, str) for x in attribute_names):
            raise IntegrityError(f"{d / _HEADER}: 'attributes' must be a list of names")
        if attribute_names:
            lazy_files[_ATTRIBUTES] = _LazyJSON(d / _ATTRIBUTES)
        if validate:
            _validate_loaded(d, relations, triples, label_ptr, description_ptr, E, R, T)
        kg = cls.__new__(cls)
        kg._init(
            None, relations, triples, label_ptr, None, dict(header.get("metadata") or {}),
            num_entities=E,
            lazy_files=lazy_files,
            csr=csr,
            fingerprint=None if validate else header.get("fingerprint"),
            description_ptr=description_ptr,
            description_text=None if D else [],
            attribute_names=attribute_names,
        )
        if validate:
            kg._validate_vocab = True
            kg._stored_fingerprint = header.get("fingerprint")
            kg._saved_at = str(d)
            kg._csr_unchecked = {"out", "in"}
            digest: list[int] = []

            def triples_digest() -> int:  # computed once, for whichever direction is checked first
                if not digest:
                    arr = kg._triples.numpy()
                    digest.append(_row_hash(arr[:, 0], arr[:, 1], arr[:, 2], np.arange(T, dtype=np.int64), _SALT))
                return digest[0]

            kg._triples_digest = triples_digest
        return kg


def entity_display_name(kg: KnowledgeGraph, entity_id: int) -> str:
    """A short readable name of an entity: its first label, else the tail of its IRI
    (``http://ex.org/kb#Cat`` -> ``Cat``, ``http://ex.org/dog/`` -> ``dog``).

    Example:
        >>> kg = KnowledgeGraph(["http://ex.org/kb#Cat", "milk"], ["r"], [], labels={1: ["fresh milk"]})
        >>> [entity_display_name(kg, i) for i in range(2)]
        ['http://ex.org/kb#Cat', 'fresh milk']
    """
    labels = kg.labels_of(int(entity_id))
    if labels:
        return str(labels[0])
    name = kg.entities[int(entity_id)]
    for sep in ("#", "/"):
        if sep in name:
            name = name.rstrip(sep).rsplit(sep, 1)[-1]
    return name


# ---------------------------------------------------------------------- helpers
def _csr_owner(ptr: torch.Tensor) -> torch.Tensor:
    """The row of each entry of a CSR pointer ``ptr (n + 1,)``: ``(ptr[-1],)`` int64."""
    return segment_owner(ptr[1:] - ptr[:-1], int(ptr[-1]))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _stored_where(kg: KnowledgeGraph) -> str:
    """The directory a graph was loaded from (for messages), or ``"KnowledgeGraph"``."""
    return getattr(kg, "_saved_at", None) or "KnowledgeGraph"


def _check_vocab(path: Path, values: Any, what: str, unique: bool) -> None:
    """A parsed vocabulary file must be a list of strings (distinct ones when ``unique``)."""
    from kglm.errors import IntegrityError

    if not isinstance(values, list):
        raise IntegrityError(f"{path}: expected a JSON array of {what} strings, got {type(values).__name__}")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise IntegrityError(f"{path}: {what} {i} is {type(v).__name__} {str(v)[:40]!r}, not a string")
    if unique and len(set(values)) != len(values):
        seen: set[str] = set()
        for v in values:
            if v in seen:
                raise IntegrityError(f"{path}: duplicate {what} name {v[:80]!r}")
            seen.add(v)


def _check_ptr(path: Path, ptr: torch.Tensor, total: int) -> None:
    from kglm.errors import IntegrityError

    if ptr.numel() == 0 or int(ptr[0]) != 0 or int(ptr[-1]) != total:
        raise IntegrityError(f"{path}: pointers must start at 0 and end at {total}")
    if ptr.numel() > 1 and bool((ptr[1:] < ptr[:-1]).any()):
        raise IntegrityError(f"{path}: pointers decrease at position {int(torch.nonzero(ptr[1:] < ptr[:-1])[0]) + 1}")


def _check_range(path: Path, values: torch.Tensor, bound: int, what: str) -> None:
    from kglm.errors import IntegrityError

    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= bound):
        bad = (values < 0) | (values >= bound)
        pos = int(torch.nonzero(bad)[0])
        raise IntegrityError(f"{path}: {what} {int(values[pos])} at position {pos} outside [0, {bound})")


def _validate_loaded(
    d: Path,
    relations: Any,
    triples: torch.Tensor,
    label_ptr: torch.Tensor,
    description_ptr: torch.Tensor | None,
    E: int,
    R: int,
    T: int,
) -> None:
    """Vectorised checks of a loaded graph's header-level parts (the CSR indexes are checked on first use)."""
    from kglm.errors import IntegrityError

    _check_vocab(d / _RELATIONS, relations, "relation", unique=True)
    if T:
        arr = triples.numpy()
        low, high = arr.min(axis=0), arr.max(axis=0)
        for col, what, bound in ((0, "head id", E), (1, "relation id", R), (2, "tail id", E)):
            if low[col] < 0 or high[col] >= bound:
                c = triples[:, col]
                row = int(torch.nonzero((c < 0) | (c >= bound))[0])
                raise IntegrityError(f"{d / _TRIPLES}: triple {row} has {what} {int(c[row])} outside [0, {bound})")
    _check_ptr(d / _LABEL_PTR, label_ptr, int(label_ptr[-1]))
    if description_ptr is not None:
        _check_ptr(d / _DESCRIPTION_PTR, description_ptr, int(description_ptr[-1]))


def _row_hash(h: np.ndarray, r: np.ndarray, t: np.ndarray, idx: np.ndarray, salt: np.ndarray) -> int:
    """Order-independent digest of the rows ``(h, r, t, idx)``: the wrapping sum of a salted 64-bit mix
    (splitmix64) of each row. Two arrays of rows with equal digests hold the same rows (the salt is
    drawn per process, so a collision cannot be prepared in a file)."""
    with np.errstate(over="ignore"):
        x = h.astype(np.uint64) * salt[0]
        x ^= r.astype(np.uint64) * salt[1]
        x ^= t.astype(np.uint64) * salt[2]
        x ^= idx.astype(np.uint64) * salt[3]
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return int(x.sum(dtype=np.uint64))


_SALT = np.random.default_rng().integers(1, 2**63, size=4, dtype=np.uint64) | np.uint64(1)


def _validate_csr(
    d: Path, direction: str, triples: torch.Tensor, csr: tuple[torch.Tensor, ...], E: int, R: int,
    triples_digest: Any,
) -> None:
    """A stored CSR index must be the one :meth:`KnowledgeGraph.csr` would build from the triples:
    pointers from 0 to T, never decreasing; ids in range; triple ids a permutation, increasing within
    each row; and the same ``(head, relation, tail, triple id)`` rows as the triples (order-independent
    digest: vectorised and sequential, no random gathers)."""
    from kglm.errors import IntegrityError

    ptr, neighbor, relation, triple = csr
    T = triples.shape[0]
    name = f"csr_{direction}"
    _check_ptr(d / f"{name}_ptr.npy", ptr, T)
    if not T:
        return
    _check_range(d / f"{name}_neighbor.npy", neighbor, E, "entity id")
    _check_range(d / f"{name}_relation.npy", relation, R, "relation id")
    _check_range(d / f"{name}_triple.npy", triple, T, "triple id")
    tid = triple.numpy()
    if not bool((np.bincount(tid, minlength=T) == 1).all()):
        raise IntegrityError(f"{d / f'{name}_triple.npy'}: not a permutation of the triple ids")
    counts = (ptr[1:] - ptr[:-1]).numpy()
    owner = np.repeat(np.arange(E, dtype=np.int64), counts)
    bad = np.diff(tid) <= 0  # bad[i]: position i + 1 does not follow position i
    starts = ptr[1:-1].numpy()
    bad[starts[(starts > 0) & (starts < T)] - 1] = False  # ... which is fine where a new row starts
    if bool(bad.any()):
        raise IntegrityError(f"{d / f'{name}_triple.npy'}: triple ids not in increasing order within a row")
    want = triples_digest()
    nb, rel = neighbor.numpy(), relation.numpy()
    got = _row_hash(owner, rel, nb, tid, _SALT) if direction == "out" else _row_hash(nb, rel, owner, tid, _SALT)
    if got != want:
        raise IntegrityError(f"{d}/{name}_*.npy: the index does not match {_TRIPLES}")


class _LazyJSON:
    """A JSON file mapped now and parsed on first :meth:`read`.

    Mapping at load time pins the file's content: a later save that replaces
    the directory cannot change what this graph reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                self._map: mmap.mmap | None = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: missing (not a saved KnowledgeGraph directory?)") from None
        except ValueError:  # an empty file cannot be mapped
            raise ValueError(f"{path}: empty file, expected a JSON array") from None

    def read(self) -> Any:
        """Parse the JSON (once; the mapping is released afterwards)."""
        if self._map is None:
            raise RuntimeError(f"{self.path}: already read")
        from kglm.errors import IntegrityError

        try:
            return parse_json(self._map[:], self.path, IntegrityError)
        finally:
            self._map.close()
            self._map = None


def _is_empty(x: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return len(x) == 0
    return False


def _first_occurrences(triples: torch.Tensor, num_entities: int, num_relations: int) -> torch.Tensor:
    """Sorted row indices of the first occurrence of each distinct triple (vectorised)."""
    E, R = max(num_entities, 1), max(num_relations, 1)
    if key_space_fits((E, R, E)):  # one int64 key per triple: a 1-D unique is much faster than unique rows
        key = pack_keys((triples[:, 0], triples[:, 1], triples[:, 2]), (E, R, E)).numpy()
        _, first = np.unique(key, return_index=True)  # index of each key's first occurrence
        return torch.from_numpy(np.sort(first))
    _, inverse = torch.unique(triples, dim=0, return_inverse=True)
    first_t = torch.full((int(inverse.max()) + 1,), triples.shape[0], dtype=torch.long)
    first_t.scatter_reduce_(0, inverse, torch.arange(triples.shape[0]), reduce="amin")
    return torch.sort(first_t).values


def _check_unique(names: list[str], what: str) -> None:
    if len(set(names)) != len(names):
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise ValueError(f"duplicate {what} name {n!r}")
            seen.add(n)


def _check_shape(path: Path, t: torch.Tensor, shape: tuple[int, ...]) -> None:
    from kglm.errors import IntegrityError

    if tuple(t.shape) != shape or t.dtype != torch.long:
        raise IntegrityError(f"{path}: shape {tuple(t.shape)} dtype {t.dtype}, expected {shape} int64")


def _labels_to_csr(
    defaults: list[str], labels: Mapping[int, Sequence[str]] | None
) -> tuple[torch.Tensor, list[str]]:
    """Labels per entity -> ``(label_ptr (E+1,), flat texts)``.

    ``defaults[i]`` (the entity's name, or a builder's better guess) is the only
    label of every entity that has none in ``labels``. Runs in O(len(labels))
    Python steps: the unlabelled runs between labelled ids are copied as slices.
    """
    E = len(defaults)
    if not labels:
        return torch.arange(E + 1, dtype=torch.long), list(defaults)
    keys = []
    for k in labels:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= int(k) < E:
            raise ValueError(f"labels: key {k!r} is not an entity id in [0, {E})")
        keys.append(int(k))
    keys.sort()
    text: list[str] = []
    counts = np.ones(E, dtype=np.int64)
    prev = 0
    for k in keys:
        ls = labels[k]
        if isinstance(ls, str):
            ls = [ls]
        text.extend(defaults[prev:k])
        if ls:
            text.extend(str(x) for x in ls)
            counts[k] = len(ls)
        else:
            text.append(defaults[k])
        prev = k + 1
    text.extend(defaults[prev:])
    ptr = np.zeros(E + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return torch.from_numpy(ptr), text


def _check_attributes(
    num_entities: int, attributes: Mapping[str, Sequence[Any]] | None, where: str = "attributes"
) -> dict[str, list[Any]] | None:
    """Validate per-entity attribute columns (one JSON value per entity); ``None`` when there are none."""
    if not attributes:
        return None
    out: dict[str, list[Any]] = {}
    for name, column in attributes.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: attribute name {name!r} is not a non-empty string")
        if isinstance(column, (str, bytes)) or not isinstance(column, Sequence):
            raise ValueError(f"{where}: attribute {name!r} must be a list with one value per entity")
        if len(column) != num_entities:
            raise ValueError(f"{where}: attribute {name!r} has {len(column)} values, the graph has {num_entities} entities")
        out[name] = list(column)
    return out


def _descriptions_to_csr(
    num_entities: int, descriptions: Mapping[int, Sequence[str] | str] | None
) -> tuple[torch.Tensor | None, list[str] | None]:
    """Descriptions per entity id -> ``(description_ptr (E+1,), flat texts)``.

    Entities missing from the mapping get none. A bare string counts as one
    description; empty strings and an entity's repeated descriptions are dropped.
    Returns ``(None, None)`` when there is no description at all (the graph then
    stores none and its fingerprint is that of a graph without descriptions).
    """
    if not descriptions:
        return None, None
    E = num_entities
    keys = []
    for k in descriptions:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= int(k) < E:
            raise ValueError(f"descriptions: key {k!r} is not an entity id in [0, {E})")
        keys.append(int(k))
    keys.sort()
    counts = np.zeros(E, dtype=np.int64)
    text: list[str] = []
    for k in keys:
        ds = descriptions[k]
        if isinstance(ds, str):
            ds = [ds]
        kept: list[str] = []
        for d in ds:
            if not isinstance(d, str):
                raise ValueError(f"descriptions: entity {k} has a non-string description {d!r}")
            if d and d not in kept:
                kept.append(d)
        text.extend(kept)
        counts[k] = len(kept)
    if not text:
        return None, None
    ptr = np.zeros(E + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return torch.from_numpy(ptr), text
