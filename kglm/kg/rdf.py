"""RDF <-> :class:`~kglm.kg.graph.KnowledgeGraph`.

:func:`from_rdf` reads every format rdflib reads (Turtle, N-Triples, N-Quads,
RDF/XML, JSON-LD, TriG, N3, TriX), guessing the format from the file suffix and
decompressing ``.gz`` / ``.bz2`` on the fly. N-Triples files are streamed
instead of going through rdflib, which first builds an in-memory store of term
objects and is many times slower and larger on multi-million-triple files
(``benchmarks/kg`` measures them): with pyoxigraph's parser when installed
(the ``fast`` extra), else with the line reader :func:`iter_ntriples` written here.

Mapping:

* IRIs and blank nodes become entities (IRI string; blank nodes ``_:f<file>b<n>``
  numbered in order of first appearance, or ``_:f<file><label>`` for N-Triples,
  so builds are reproducible and files never share blank nodes);
* predicates whose object is an IRI or blank node become relations (IRI string);
* literals of the label predicates become labels, filtered by language;
* literals of the description predicates (``skos:definition``, ``rdfs:comment``,
  ``obo:IAO_0000115``, ``dcterms:description`` by default) become descriptions,
  filtered by the same languages;
* other literals are dropped (counted in ``metadata``) or, with
  ``keep_literals=True``, become attribute entities named by their N-Triples form
  (``"42"^^<http://www.w3.org/2001/XMLSchema#integer>``) labelled by their value;
* an IRI entity without a label is labelled by its IRI's local name, split at
  camelCase and underscores: ``.../RevolvingDoor`` -> ``"revolving door"``.

:func:`to_rdf` writes a graph back; names that are not absolute IRIs are put
under :data:`ENTITY_NS` / :data:`RELATION_NS`, which :func:`from_rdf` strips
again, so a ConceptNet graph round-trips through Turtle and N-Triples.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib.util
import os
import re
import warnings
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

import numpy as np
import torch

from kglm.errors import DataFormatError
from kglm.kg.graph import KnowledgeGraph, _descriptions_to_csr, _labels_to_csr
from kglm.kg.triples import PROGRESS_EVERY, open_text, progress, strip_compression
from kglm.utils.io import COMPRESSION_SUFFIXES, PathLike, open_compressed, parse_json

__all__ = [
    "from_rdf",
    "to_rdf",
    "iter_ntriples",
    "guess_format",
    "local_name_label",
    "local_name_labels",
    "DEFAULT_LABEL_PREDICATES",
    "DEFAULT_DESCRIPTION_PREDICATES",
    "ENTITY_NS",
    "RELATION_NS",
    "ENTITY_INDEX",
    "RELATION_INDEX",
]


RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
OBO_SYNONYM = "http://www.geneontology.org/formats/oboInOwl#hasSynonym"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OWL_RESTRICTION = "http://www.w3.org/2002/07/owl#Restriction"

#: Predicates whose literal objects become labels by default.
DEFAULT_LABEL_PREDICATES: tuple[str, ...] = (RDFS_LABEL, SKOS_PREF, SKOS_ALT, OBO_SYNONYM)

SKOS_DEFINITION = "http://www.w3.org/2004/02/skos/core#definition"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
OBO_DEFINITION = "http://purl.obolibrary.org/obo/IAO_0000115"  # "definition" (FoodOn and other OBO ontologies)
DCTERMS_DESCRIPTION = "http://purl.org/dc/terms/description"

#: Predicates whose literal objects become descriptions by default (in this order of preference
#: only through file order: descriptions are kept in the order their statements are read).
DEFAULT_DESCRIPTION_PREDICATES: tuple[str, ...] = (SKOS_DEFINITION, RDFS_COMMENT, OBO_DEFINITION, DCTERMS_DESCRIPTION)

#: Namespaces used by :func:`to_rdf` for names that are not IRIs (stripped by :func:`from_rdf`).
ENTITY_NS = "urn:kglm:entity:"
RELATION_NS = "urn:kglm:relation:"
#: Predicates of the id declarations :func:`to_rdf` writes (``<entity> <ENTITY_INDEX> "3"``,
#: ``<relation> <RELATION_INDEX> "0"``) and :func:`from_rdf` reads back, so entity and relation
#: ids, their order and relations without triples survive a round trip.
ENTITY_INDEX = "urn:kglm:entityIndex"
RELATION_INDEX = "urn:kglm:relationIndex"
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"

#: Prefixes accepted in ``label_predicates`` (``"skos:prefLabel"``).
PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "schema": "http://schema.org/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "obo": "http://purl.obolibrary.org/obo/",
}

# suffix -> rdflib parser name
_SUFFIX_FORMATS: dict[str, str] = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".ntriples": "nt",
    ".nq": "nquads",
    ".nquads": "nquads",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json-ld": "json-ld",
    ".json": "json-ld",
    ".trig": "trig",
    ".n3": "n3",
    ".trix": "trix",
}
_FORMAT_ALIASES: dict[str, str] = {
    "ttl": "turtle",
    "ntriples": "nt",
    "nt11": "nt",
    "n-triples": "nt",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "application/rdf+xml": "xml",
    "pretty-xml": "xml",
    "jsonld": "json-ld",
    "nq": "nquads",
    "n-quads": "nquads",
}
_QUAD_FORMATS = {"nquads", "trig", "trix"}


def guess_format(path: PathLike) -> str:
    """The rdflib format name for ``path`` from its suffix (ignoring ``.gz`` / ``.bz2``)."""
    inner = strip_compression(path)
    fmt = _SUFFIX_FORMATS.get(inner.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: cannot guess the RDF format from suffix {inner.suffix!r}; pass format= "
            f"(one of {sorted(set(_SUFFIX_FORMATS.values()))})"
        )
    return fmt


def _normalise_format(fmt: str) -> str:
    f = fmt.lower()
    return _FORMAT_ALIASES.get(f, f)


def expand_curie(name: str) -> str:
    """``"skos:prefLabel"`` -> full IRI for the prefixes in :data:`PREFIXES`; other strings unchanged."""
    prefix, sep, local = str(name).partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return str(name)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[_\s]+")


def local_name_label(iri: str) -> str:
    """A readable label from an IRI's local name: ``".../RevolvingDoor"`` -> ``"revolving door"``,
    ``".../ice_cream"`` -> ``"ice cream"``. Returns ``""`` when there is no local name."""
    iri = iri.rstrip("/#")
    local = iri[max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":")) + 1 :]
    if "%" in local:
        local = unquote(local)
    lower = local.lower()
    if lower[1:] != local[1:]:  # a capital after the first character: split camelCase
        lower = _CAMEL.sub(" ", local).lower()
    if "_" in lower or " " in lower:
        lower = _SEPARATORS.sub(" ", lower).strip()
    return lower


_TRAILING = re.compile(r"[/#]+$", re.M)
_PREFIX = re.compile(r"^.*[/#:]", re.M)
_SPACES = re.compile(r"[_ \t]+")
_EDGE_SPACES = re.compile(r"^ +| +$", re.M)


def local_name_labels(iris: Sequence[str]) -> list[str]:
    """:func:`local_name_label` of many IRIs at once.

    The IRIs are joined into one newline-separated string and each step is one
    multi-line regex pass over it (IRIs cannot contain newlines), which is many
    times faster than a Python call per IRI on graphs with millions of entities.
    """
    if not iris:
        return []
    text = _PREFIX.sub("", _TRAILING.sub("", "\n".join(iris)))
    if "%" in text:
        text = "\n".join(unquote(x) if "%" in x else x for x in text.split("\n"))
    text = _SPACES.sub(" ", _CAMEL.sub(" ", text).lower())
    return _EDGE_SPACES.sub("", text).split("\n")


# ---------------------------------------------------------------------- N-Triples reader
_NT_LINE = re.compile(
    r'[ \t]*(?:<([^>]*)>|_:(\S+))'                       # subject: IRI or blank node
    r'[ \t]*<([^>]*)>'                                   # predicate
    r'[ \t]*(?:<([^>]*)>|_:(\S+)|"((?:[^"\\]|\\.)*)"'    # object: IRI, blank node, literal
    r'(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([^>]*)>)?)'  # literal language or datatype
    r'[ \t]*\.[ \t]*(?:#.*)?$'
)
_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))')
_SIMPLE_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(s: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) or m.group(2):
            return chr(int(m.group(1) or m.group(2), 16))
        c = m.group(3)
        if c not in _SIMPLE_ESCAPES:
            raise ValueError(f"invalid escape \\{c}")
        return _SIMPLE_ESCAPES[c]

    return _ESCAPE.sub(sub, s)


def iter_ntriples(path: PathLike) -> Iterator[tuple[str | None, str | None, str, str | None, str | None, str | None, str | None, str | None]]:
    """Stream an N-Triples file (``.gz`` / ``.bz2`` allowed) statement by statement.

    Yields ``(subject_iri, subject_bnode, predicate, object_iri, object_bnode,
    literal_value, literal_language, literal_datatype)``, unused fields ``None``;
    escapes are decoded. Blank lines and comments are passed over.

    Raises:
        ValueError: a malformed line, as ``"{path}:{line}: ..."``.
    """
    match = _NT_LINE.match
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            m = match(line)
            if m is None:
                stripped = line.strip()
                if not stripped or stripped.startswith("#"):
                    continue
                raise DataFormatError(f"{path}:{lineno}: not a valid N-Triples statement: {stripped[:120]!r}")
            g = m.groups()
            if "\\" in line:
                try:
                    g = tuple(_unescape(x) if x is not None and "\\" in x else x for x in g)  # type: ignore[assignment]
                except ValueError as exc:
                    raise DataFormatError(f"{path}:{lineno}: {exc}") from None
            yield g  # type: ignore[misc]


# ---------------------------------------------------------------------- builder
class _RdfCollector:
    """Turns RDF statements into ids, labels and counts (shared by both readers)."""

    def __init__(
        self,
        label_predicates: Iterable[str],
        languages: Sequence[str | None] | None,
        keep_literals: bool,
        drop_rdf_type: bool,
        description_predicates: Iterable[str] = (),
    ) -> None:
        self.ent: dict[str, int] = {}
        self.rel: dict[str, int] = {}
        self.ids = array("q")  # flat (head, relation, tail) ids, 8 bytes each
        self.labels: dict[int, list[tuple[str, str | None, str]]] = {}
        self.label_preds = {expand_curie(p) for p in label_predicates}
        self.description_preds = {expand_curie(p) for p in description_predicates} - self.label_preds
        self.descriptions: dict[int, list[tuple[str, str | None]]] = {}
        self.languages = None if languages is None else {None if x is None else x.lower() for x in languages}
        self.keep_literals = keep_literals
        self.drop_rdf_type = drop_rdf_type
        self.stats: Counter[str] = Counter()
        self.label_stats: Counter[str] = Counter()
        self.literal_nodes: set[int] = set()
        self.restrictions: set[str] = set()
        self.entity_index: dict[int, int] = {}  # entity id -> declared id (ENTITY_INDEX)
        self.relation_index: dict[str, int] = {}  # relation IRI -> declared id (RELATION_INDEX)

    def node(self, name: str) -> int:
        """The entity id of ``name`` (a new id when first seen)."""
        return self.ent.setdefault(name, len(self.ent))

    def edge(self, s: str, p: str, o: str) -> None:
        if p == RDF_TYPE:
            if o == OWL_RESTRICTION and s.startswith("_:"):
                self.restrictions.add(s)
            if self.drop_rdf_type:
                self.stats["dropped_rdf_type"] += 1
                return
        ent, rel = self.ent, self.rel  # ids as in node(); new ones in order subject, relation, object
        self.ids.extend((ent.setdefault(s, len(ent)), rel.setdefault(p, len(rel)), ent.setdefault(o, len(ent))))

    def literal(self, s: str, p: str, value: str, lang: str | None, datatype: str | None) -> None:
        if p == ENTITY_INDEX or p == RELATION_INDEX:
            try:
                index = int(value)
            except ValueError:
                raise ValueError(f"{p} of {s} must be an integer, got {value!r}") from None
            if p == ENTITY_INDEX:
                self.entity_index[self.node(s)] = index
            else:
                self.relation_index[s] = index
            return
        if p in self.label_preds:
            self.label_stats[p] += 1
            self.labels.setdefault(self.node(s), []).append((value, lang.lower() if lang else None, p))
        elif p in self.description_preds:
            self.stats["description_statements"] += 1
            self.descriptions.setdefault(self.node(s), []).append((value, lang.lower() if lang else None))
        elif self.keep_literals:
            from rdflib import Literal, URIRef

            name = Literal(value, lang=lang, datatype=URIRef(datatype) if datatype else None).n3()
            self.edge(s, p, name)
            i = self.ent[name]
            if i not in self.literal_nodes:
                self.literal_nodes.add(i)
                self.labels.setdefault(i, []).append((value, None, ""))
        else:
            self.stats["dropped_literals"] += 1

    def _accept(self, lang: str | None) -> bool:
        langs = self.languages
        if langs is None:
            return True
        return lang in langs or (lang is not None and lang.split("-")[0] in langs)

    def _apply_declared_ids(self) -> None:
        """Renumber entities and relations by their declared ids (files written by :func:`to_rdf`).

        Declared relations without triples are added; undeclared names follow
        the declared ones in the order they were read.
        """
        if not self.entity_index and not self.relation_index:
            return
        for iri in sorted(self.relation_index, key=self.relation_index.__getitem__):
            if iri not in self.rel:
                self.rel[iri] = len(self.rel)

        def order(ids: dict[str, int], declared: dict[int, int]) -> np.ndarray:
            old = sorted(ids.values(), key=lambda i: (0, declared[i], i) if i in declared else (1, 0, i))
            new_of_old = np.empty(len(old), dtype=np.int64)
            new_of_old[np.asarray(old, dtype=np.int64)] = np.arange(len(old))
            return new_of_old

        ent_map = order(self.ent, self.entity_index)
        rel_map = order(self.rel, {i: self.relation_index[iri] for iri, i in self.rel.items()
                                   if iri in self.relation_index})
        self.ent = {name: int(ent_map[i]) for name, i in sorted(self.ent.items(), key=lambda x: ent_map[x[1]])}
        self.rel = {iri: int(rel_map[i]) for iri, i in sorted(self.rel.items(), key=lambda x: rel_map[x[1]])}
        ids = np.frombuffer(self.ids, dtype=np.int64).reshape(-1, 3)
        if ids.size:
            remapped = np.stack([ent_map[ids[:, 0]], rel_map[ids[:, 1]], ent_map[ids[:, 2]]], axis=1)
            self.ids = array("q", remapped.astype(np.int64).ravel().tobytes())
        self.labels = {int(ent_map[i]): v for i, v in self.labels.items()}
        self.descriptions = {int(ent_map[i]): v for i, v in self.descriptions.items()}
        self.literal_nodes = {int(ent_map[i]) for i in self.literal_nodes}
        self.entity_index = {}

    def build(self, metadata: dict[str, Any], drop_owl_restrictions: bool, local_names: bool) -> KnowledgeGraph:
        self._apply_declared_ids()
        raw = list(self.ent)
        n_ns = len(ENTITY_NS)
        names = [unquote(n[n_ns:]) if n.startswith(ENTITY_NS) else n for n in raw]
        relations = [_strip_ns(r, RELATION_NS) for r in self.rel]
        labels: dict[int, list[str]] = {}
        fallback = 0
        kept_stats: Counter[str] = Counter()
        for i, triples in self.labels.items():
            kept = [x for x in triples if self._accept(x[1])]
            if not kept:  # no label in the wanted languages: keep the others rather than none
                kept = triples
                fallback += 1
            self.stats["dropped_label_languages"] += len(triples) - len(kept)
            kept_stats.update(x[2] for x in kept if x[2])
            labels[i] = [x[0] for x in kept]
        defaults = names
        if local_names:  # unlabelled IRIs: the local name; blank nodes and kglm names: the name
            skip = ("_:", '"', ENTITY_NS)
            defaults = [
                n if (not loc or r.startswith(skip)) else loc
                for r, n, loc in zip(raw, names, local_name_labels(raw))
            ]
        triples = torch.from_numpy(np.frombuffer(self.ids, dtype=np.int64).reshape(-1, 3).copy())
        ptr, text = _labels_to_csr(defaults, labels)
        # descriptions: the same language filter as labels, but no fallback to other
        # languages (an entity without a description is normal; one without a label is not)
        descriptions: dict[int, list[str]] = {}
        for i, ds in self.descriptions.items():
            kept_d = [x[0] for x in ds if self._accept(x[1])]
            self.stats["dropped_description_languages"] += len(ds) - len(kept_d)
            if kept_d:
                descriptions[i] = kept_d
        dptr, dtext = _descriptions_to_csr(len(names), descriptions)
        meta = {**metadata, **dict(self.stats), "label_statements": dict(self.label_stats),
                "labels_kept": dict(kept_stats), "label_language_fallbacks": fallback}
        kg = KnowledgeGraph._from_parts(names, relations, triples, ptr, text, meta,
                                        description_ptr=dptr, description_text=dtext)
        # an RDF graph is a set of statements: repeated lines of a streamed file count once
        kg = kg.deduplicate(record=True)
        if drop_owl_restrictions:
            kg = _drop_restrictions(kg, [self.ent[n] for n in sorted(self.restrictions)])
        return kg


def _strip_ns(name: str, ns: str) -> str:
    return unquote(name[len(ns):]) if name.startswith(ns) else name


def _drop_restrictions(kg: KnowledgeGraph, restriction_ids: list[int]) -> KnowledgeGraph:
    """Remove the given restriction blank nodes, their triples, and blank nodes left without edges."""
    if not restriction_ids:
        kg.metadata.update(dropped_owl_restrictions=0, dropped_restriction_triples=0)
        return kg
    is_bnode = torch.tensor([n.startswith("_:") for n in kg.entities], dtype=torch.bool)
    drop = torch.zeros(kg.num_entities, dtype=torch.bool)
    drop[torch.tensor(restriction_ids, dtype=torch.long)] = True
    keep_triple = ~(drop[kg.head] | drop[kg.tail])
    used = torch.zeros(kg.num_entities, dtype=torch.bool)
    used[kg.head[keep_triple]] = True
    used[kg.tail[keep_triple]] = True
    keep_entity = ~drop & (used | ~is_bnode)
    sub = kg.subgraph(torch.nonzero(keep_entity).flatten())
    sub.metadata = {**kg.metadata, "dropped_owl_restrictions": int(drop.sum()),
                    "dropped_restriction_triples": int((~keep_triple).sum())}
    return sub


def _read_with_rdflib(
    path: Path, fmt: str, c: _RdfCollector, file_no: int,
    allow_remote_contexts: bool = False, context_timeout: float = 10.0,
) -> int:
    import rdflib
    from rdflib import BNode, Literal

    from rdflib.plugins.stores.memory import Memory

    class _OrderedStore(Memory):  # rdflib's store iterates in hash order; keep document order
        def __init__(self) -> None:
            super().__init__()
            self.order: dict[Any, None] = {}

        def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
            self.order[triple] = None
            super().add(triple, context, quoted)

    recorder = _OrderedStore()
    store: rdflib.Graph = rdflib.Dataset(store=recorder) if fmt in _QUAD_FORMATS else rdflib.Graph(store=recorder)
    from kglm.errors import KGLMError

    base = path.resolve().as_uri()
    try:
        with open_compressed(path, "rb") as f, warnings.catch_warnings():
            # rdflib's own parsers use its deprecated ConjunctiveGraph internally: not actionable here
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"rdflib\.")
            if fmt in ("xml", "trix"):  # entity expansion refused before expat sees the file
                data = f.read()
                _check_xml_entities(data, path)
                store.parse(data=data, format=fmt, publicID=base)
            elif fmt == "json-ld":  # contexts are inlined (or refused) here, so rdflib never fetches one
                import json

                doc = _inline_contexts(parse_json(f.read(), path), base, path, allow_remote_contexts, context_timeout)
                store.parse(data=json.dumps(doc), format=fmt, publicID=base)
            else:
                store.parse(source=f, format=fmt, publicID=base)
    except (MemoryError, KeyboardInterrupt, KGLMError):
        raise
    except Exception as exc:  # rdflib raises many types; its text usually carries line/column
        detail = str(exc).replace("<unknown>", str(path))  # parsed from memory (xml, json-ld): name the file
        raise DataFormatError(f"{path}: invalid {fmt} RDF: {detail}") from None
    bnodes: dict[Any, str] = {}

    def name(term: Any) -> str:
        if isinstance(term, BNode):
            n = bnodes.get(term)
            if n is None:
                n = bnodes[term] = f"_:f{file_no}b{len(bnodes)}"
            return n
        return str(term)

    n = 0
    for s, p, o in recorder.order:
        n += 1
        if isinstance(o, Literal):
            dt = o.datatype
            c.literal(name(s), str(p), str(o), o.language, str(dt) if dt is not None else None)
        else:
            c.edge(name(s), str(p), name(o))
    return n


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _read_ntriples_oxigraph(path: Path, c: _RdfCollector, file_no: int) -> int:
    # pyoxigraph's Rust parser is about 3x faster than the pure-Python line reader
    # below, which stays as the fallback when the optional dependency is absent.
    import pyoxigraph as ox

    named, blank = ox.NamedNode, ox.BlankNode
    prefix = f"_:f{file_no}"
    edge, literal = c.edge, c.literal
    n = 0
    compressed = path.suffix.lower() in COMPRESSION_SUFFIXES
    try:
        with contextlib.ExitStack() as stack:
            bar = stack.enter_context(progress(f"read {path.name}"))
            if compressed:
                stream = ox.parse(input=stack.enter_context(open_compressed(path, "rb")), format=ox.RdfFormat.N_TRIPLES)
            else:
                stream = ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)
            ent, rel, add_ids = c.ent, c.rel, c.ids.extend
            for q in stream:
                if not n % PROGRESS_EVERY:
                    bar.update(PROGRESS_EVERY if n else 0)
                s, o = q.subject, q.object
                sn = s.value if type(s) is named else prefix + s.value
                to = type(o)
                if to is named:
                    p = q.predicate.value
                    if p == RDF_TYPE:
                        edge(sn, p, o.value)
                        n += 1
                        continue
                    # the common IRI -> IRI statement: c.edge's last line, inlined (no call overhead)
                    add_ids((ent.setdefault(sn, len(ent)), rel.setdefault(p, len(rel)), ent.setdefault(o.value, len(ent))))
                elif to is blank:
                    edge(sn, q.predicate.value, prefix + o.value)
                else:
                    lang = o.language
                    dt = None if lang else o.datatype.value
                    literal(sn, q.predicate.value, o.value, lang, None if dt == _XSD_STRING else dt)
                n += 1
    except SyntaxError as exc:
        raise DataFormatError(f"{path}: invalid N-Triples: {exc}") from None
    return n


def _read_ntriples(path: Path, c: _RdfCollector, file_no: int) -> int:
    n = 0
    prefix = f"_:f{file_no}"
    edge, literal = c.edge, c.literal
    with progress(f"read {path.name}") as bar:
        for s_iri, s_b, p, o_iri, o_b, lit, lang, dt in iter_ntriples(path):
            n += 1
            if not n % PROGRESS_EVERY:
                bar.update(PROGRESS_EVERY)
            s = s_iri if s_iri is not None else prefix + s_b  # type: ignore[operator]
            if o_iri is not None:
                edge(s, p, o_iri)
            elif o_b is not None:
                edge(s, p, prefix + o_b)
            else:
                literal(s, p, lit, lang, dt)  # type: ignore[arg-type]
    return n


def from_rdf(
    path_or_paths: PathLike | Sequence[PathLike],
    format: str | None = None,
    *,
    label_predicates: Iterable[str] = DEFAULT_LABEL_PREDICATES,
    description_predicates: Iterable[str] = DEFAULT_DESCRIPTION_PREDICATES,
    languages: Sequence[str | None] | None = None,
    keep_literals: bool = False,
    drop_rdf_type: bool = False,
    drop_owl_restrictions: bool = False,
    local_name_labels: bool = True,
    ntriples_reader: str = "auto",
    metadata: Mapping[str, Any] | None = None,
    allow_remote_contexts: bool = False,
    context_timeout: float = 10.0,
) -> KnowledgeGraph:
    """Build a :class:`KnowledgeGraph` from one or more RDF files.

    Args:
        path_or_paths: one file or several (merged into one graph).
        format: rdflib format name (``"turtle"``, ``"nt"``, ``"xml"``, ``"json-ld"``,
            ``"nquads"``, ``"trig"``, ...); guessed from each file's suffix when ``None``.
        label_predicates: predicates whose literals are labels (IRIs or CURIEs such as
            ``"skos:prefLabel"``). Default: rdfs:label, skos:prefLabel, skos:altLabel,
            oboInOwl:hasSynonym.
        description_predicates: predicates whose literals are descriptions (definitions).
            Default: skos:definition, rdfs:comment, obo:IAO_0000115, dcterms:description.
            A predicate that is also a label predicate counts as a label.
        languages: language tags to keep for labels and descriptions (``None`` in the tuple = untagged;
            ``"en"`` also matches ``"en-us"``). An entity with no label in these
            languages keeps its other labels instead of none. ``None`` (default) keeps
            all; ``("en", None)`` keeps English and untagged labels. Descriptions are
            filtered the same way, without that fallback.
        keep_literals: keep non-label literals as attribute entities instead of dropping them.
        drop_rdf_type: leave out ``rdf:type`` edges.
        drop_owl_restrictions: leave out blank nodes typed ``owl:Restriction``, their
            triples, and blank nodes that are left without any edge.
        local_name_labels: label IRI entities without a label by their local name.
        ntriples_reader: how ``.nt`` files are read, streaming, without building an rdflib
            graph: ``"oxigraph"`` (pyoxigraph, the ``fast`` extra), ``"python"``
            (:func:`iter_ntriples`), ``"rdflib"``, or ``"auto"`` (oxigraph when installed).
        metadata: extra metadata for the graph.
        allow_remote_contexts: JSON-LD only: load ``@context`` / ``@import`` references
            (``http(s)://`` and ``file://`` URLs, and relative ones) instead of refusing
            the file with :class:`~kglm.errors.UnsafeInputError`; each is read with
            ``context_timeout`` seconds and at most 10 MiB.
        context_timeout: seconds to wait for one JSON-LD context when allowed.

    Parsing does no I/O beyond the given files: JSON-LD contexts are not loaded
    unless allowed, ``owl:imports`` are not followed, XML external entities are
    not fetched, and RDF/XML whose entity declarations could expand without bound
    ("billion laughs") is refused before parsing (:class:`~kglm.errors.UnsafeInputError`
    or :class:`~kglm.errors.ResourceLimitError`).

    Every label statement that passes the language filter is kept, in file order;
    repeated edge statements count once (``dropped_duplicates``), as in rdflib.
    ``metadata`` reports the sources, ``label_statements`` per predicate and the
    counts of what was dropped (``dropped_literals``, ``dropped_rdf_type``,
    ``dropped_label_languages``, ``dropped_owl_restrictions``).

    Raises:
        FileNotFoundError: a file does not exist.
        ValueError: malformed RDF (naming the file and the line or position), an
            unknown suffix, or no statements at all.
    """
    paths = [Path(path_or_paths)] if isinstance(path_or_paths, (str, os.PathLike)) else [Path(p) for p in path_or_paths]
    if not paths:
        raise ValueError("from_rdf: no input files given")
    if ntriples_reader == "auto":
        ntriples_reader = "oxigraph" if importlib.util.find_spec("pyoxigraph") else "python"
    if ntriples_reader not in ("oxigraph", "python", "rdflib"):
        raise ValueError(f"ntriples_reader must be 'auto', 'oxigraph', 'python' or 'rdflib', got {ntriples_reader!r}")
    c = _RdfCollector(label_predicates, languages, keep_literals, drop_rdf_type, description_predicates)
    formats = []
    total = 0
    for file_no, path in enumerate(paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        fmt = _normalise_format(format) if format else guess_format(path)
        formats.append(fmt)
        if fmt == "nt" and ntriples_reader in ("oxigraph", "python"):
            n = (_read_ntriples_oxigraph if ntriples_reader == "oxigraph" else _read_ntriples)(path, c, file_no)
        else:
            n = _read_with_rdflib(path, fmt, c, file_no, allow_remote_contexts, context_timeout)
        if n == 0:
            raise DataFormatError(f"{path}: empty input, no RDF statements found")
        total += n
    meta = {"sources": [str(p) for p in paths], "formats": formats, "statements": total, **dict(metadata or {})}
    return c.build(meta, drop_owl_restrictions, local_name_labels)


# ---------------------------------------------------------------------- safety: no I/O beyond the file
#: bounds of the RDF/XML entity pre-scan (see :func:`_check_xml_entities`)
_MAX_ENTITY_DECLARATIONS = 10_000
_MAX_ENTITY_VALUE = 4096
_MAX_ENTITY_EXPANSION = 64 << 20
#: bounds of JSON-LD context loading when it is allowed
_MAX_CONTEXT_BYTES = 10 << 20
_MAX_CONTEXTS = 64
_ENTITY_DECL = re.compile(
    rb"<!ENTITY\s+(%\s+)?([^\s%\"']+)\s+(?:(SYSTEM|PUBLIC)\b|\"([^\"]*)\"|'([^']*)')", re.DOTALL
)


def _check_xml_entities(data: bytes, path: Path) -> None:
    """Refuse RDF/XML whose DTD could expand without bound ("billion laughs"), fast and before parsing.

    Internal entities are allowed (ontologies use them for namespace IRIs) when
    their values hold no entity references (no nesting), are at most
    ``_MAX_ENTITY_VALUE`` bytes, and all their uses together expand to at most
    ``_MAX_ENTITY_EXPANSION`` bytes. Parameter entities are refused; external
    (``SYSTEM`` / ``PUBLIC``) entities are left to the parser, which does not fetch them.
    """
    from kglm.errors import ResourceLimitError, UnsafeInputError

    # every "<!ENTITY" anywhere in the file counts (also in comments or CDATA: stricter, never laxer,
    # and no prolog parsing that a "<" in a comment or a quoted value could mislead)
    if b"<!ENTITY" not in data:
        return
    decls = _ENTITY_DECL.findall(data)
    if data.count(b"<!ENTITY") != len(decls):
        raise UnsafeInputError(f"{path}: an entity declaration kglm cannot check; refusing to parse")
    if len(decls) > _MAX_ENTITY_DECLARATIONS:
        raise ResourceLimitError(f"{path}: {len(decls)} entity declarations (at most {_MAX_ENTITY_DECLARATIONS})")
    expansion = 0
    for percent, name, external, v1, v2 in decls:
        label = name.decode("utf-8", "replace")
        if percent:
            raise UnsafeInputError(f"{path}: parameter entity %{label} declared; refusing to parse")
        if external:
            continue
        value = v1 or v2
        if b"&" in value:  # entity or character references (&#38; makes one at expansion time)
            raise UnsafeInputError(
                f"{path}: entity &{label}; refers to other entities (nested entity expansion, "
                f"the 'billion laughs' pattern); refusing to parse"
            )
        if len(value) > _MAX_ENTITY_VALUE:
            raise ResourceLimitError(f"{path}: entity &{label}; is {len(value)} bytes (at most {_MAX_ENTITY_VALUE})")
        expansion += data.count(b"&" + name + b";") * len(value)
        if expansion > _MAX_ENTITY_EXPANSION:
            raise ResourceLimitError(
                f"{path}: entity references would expand to more than {_MAX_ENTITY_EXPANSION >> 20} MiB; refusing to parse"
            )


def _context_refs(doc: Any) -> Iterator[tuple[dict[str, Any], str, Any]]:
    """Every ``(owner dict, key, value)`` of a JSON-LD document that loads a context from elsewhere:
    ``"@context": "URL"`` (also inside lists) and ``"@import": "URL"``. Iterative (no recursion)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "@context" and (isinstance(value, str) or
                                          (isinstance(value, list) and any(isinstance(v, str) for v in value))):
                    yield node, key, value
                elif key == "@import" and isinstance(value, str):
                    yield node, key, value
                if isinstance(value, (dict, list)):
                    stack.append(value)


def _fetch_context(url: str, timeout: float) -> Any:
    """A remote (``http``/``https``) or local (``file``) JSON-LD context, read with a timeout and a size bound."""
    import urllib.request
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    from kglm.errors import DataFormatError, DownloadError, UnsafeInputError

    scheme = urlsplit(url).scheme.lower()
    try:
        if scheme == "file":
            with open(url2pathname(urlsplit(url).path), "rb") as f:
                raw = f.read(_MAX_CONTEXT_BYTES + 1)
        elif scheme in ("http", "https"):
            req = urllib.request.Request(url, headers={"Accept": "application/ld+json, application/json"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
                raw = resp.read(_MAX_CONTEXT_BYTES + 1)
        else:
            raise UnsafeInputError(f"JSON-LD context {url}: scheme {scheme!r} not supported")
    except (OSError, ValueError) as exc:
        if isinstance(exc, UnsafeInputError):
            raise
        raise DownloadError(f"JSON-LD context {url}: {exc}") from None
    if len(raw) > _MAX_CONTEXT_BYTES:
        raise DownloadError(f"JSON-LD context {url}: larger than {_MAX_CONTEXT_BYTES >> 20} MiB")
    data = parse_json(raw, f"JSON-LD context {url}")
    if not isinstance(data, dict) or "@context" not in data:
        raise DataFormatError(f"JSON-LD context {url}: no @context in it")
    return data["@context"]


def _inline_contexts(doc: Any, base: str, path: Path, allow: bool, timeout: float) -> Any:
    """Replace every context reference of ``doc`` by the context it names (fetched with a timeout),
    or refuse when ``allow`` is false; returns ``doc`` (changed in place)."""
    from urllib.parse import urljoin

    from kglm.errors import ResourceLimitError, UnsafeInputError

    fetched: dict[str, Any] = {}
    pending = [(doc, base)]
    while pending:
        node, node_base = pending.pop()
        for owner, key, value in list(_context_refs(node)):
            refs = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
            urls = [urljoin(node_base, r) for r in refs]
            if not allow:
                raise UnsafeInputError(
                    f"{path}: JSON-LD context {urls[0]} would be loaded from outside the file; kglm does not "
                    f"load contexts by default (allow with from_rdf(..., allow_remote_contexts=True) or "
                    f"`kglm kg build --allow-remote-contexts`)"
                )
            for url in urls:
                if url not in fetched:
                    if len(fetched) >= _MAX_CONTEXTS:
                        raise ResourceLimitError(f"{path}: more than {_MAX_CONTEXTS} JSON-LD contexts")
                    fetched[url] = _fetch_context(url, timeout)
                    pending.append((fetched[url], url))
            if key == "@context":
                if isinstance(value, str):
                    owner[key] = fetched[urls[0]]
                else:
                    it = iter(urls)
                    owner[key] = [fetched[next(it)] if isinstance(v, str) else v for v in value]
            else:  # "@import": the imported definitions first, the local ones override them
                imported = fetched[urls[0]]
                del owner["@import"]
                rest = dict(owner)
                owner.clear()
                owner.update(imported if isinstance(imported, dict) else {})
                owner.update(rest)
    return doc


# ---------------------------------------------------------------------- export
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")


def _term(name: str, ns: str) -> Any:
    from rdflib import BNode, URIRef
    from rdflib.util import from_n3

    if name.startswith("_:"):
        return BNode(name[2:])
    if name.startswith('"'):
        return from_n3(name)
    if _ABSOLUTE_IRI.match(name):
        return URIRef(name)
    return URIRef(ns + quote(name, safe=""))


def _nt_term(name: str, ns: str) -> str:
    """A name as an N-Triples term (same mapping as :func:`_term`)."""
    if name.startswith("_:") or name.startswith('"'):
        return name
    if _ABSOLUTE_IRI.match(name):
        return f"<{name}>"
    return f"<{ns}{quote(name, safe='')}>"


_NT_LITERAL_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _write_ntriples(
    kg: KnowledgeGraph, f: IO[str], label_predicate: str, description_predicate: str, declare_ids: bool = True
) -> None:
    # written directly, line by line: rdflib's serializer first builds a whole
    # in-memory graph and is much slower on large graphs
    ents = [_nt_term(n, ENTITY_NS) for n in kg.entities]
    rels = [_nt_term(r, RELATION_NS) for r in kg.relations]
    f.writelines(f"{ents[h]} {rels[r]} {ents[t]} .\n" for h, r, t in kg.triples.tolist())
    for predicate, texts in ((label_predicate, kg.label_index), (description_predicate, kg.description_index)):
        owner, text = texts()
        f.writelines(
            f'{ents[i]} <{predicate}> "{value.translate(_NT_LITERAL_ESCAPES)}" .\n'
            for i, value in zip(owner.tolist(), text)
            if not ents[i].startswith('"')
        )
    if declare_ids:
        f.writelines(f'{r} <{RELATION_INDEX}> "{i}"^^<{_XSD_INTEGER}> .\n' for i, r in enumerate(rels))
        f.writelines(
            f'{e} <{ENTITY_INDEX}> "{i}"^^<{_XSD_INTEGER}> .\n' for i, e in enumerate(ents) if not e.startswith('"')
        )


def to_rdf(
    kg: KnowledgeGraph,
    path: PathLike,
    format: str | None = None,
    *,
    label_predicate: str = RDFS_LABEL,
    description_predicate: str = SKOS_DEFINITION,
    declare_ids: bool = True,
) -> None:
    """Write ``kg`` as RDF (format from ``format`` or the suffix; ``.gz`` / ``.bz2`` compress).

    Entity and relation names that are absolute IRIs are written as such, blank
    nodes (``_:x``) as blank nodes, literal attribute entities as literals, and
    other names (ConceptNet phrases) under :data:`ENTITY_NS` / :data:`RELATION_NS`,
    percent-encoded. Every label is written with ``label_predicate``, every
    description with ``description_predicate`` (default ``skos:definition``); entity
    attribute columns (:meth:`KnowledgeGraph.attribute`) are not written. Formats other
    than N-Triples may reorder several labels or descriptions of one entity. N-Triples are
    streamed directly; other formats go through rdflib's serializers.

    With ``declare_ids`` (the default) every relation and entity also gets a
    ``<RELATION_INDEX>`` / ``<ENTITY_INDEX>`` integer statement, which
    :func:`from_rdf` reads back: entity and relation ids, their order and
    relations without triples survive the round trip. N-Triples keep the triple
    order as well, so ``from_rdf(to_rdf(kg))`` has ``kg``'s fingerprint (for a
    graph without repeated triples or literal-valued entities); other syntaxes
    may reorder triples.
    The file is written to a temporary name and renamed into place.
    """
    out = Path(path)
    fmt = _normalise_format(format) if format else guess_format(out)
    lp_iri = expand_curie(label_predicate)
    dp_iri = expand_curie(description_predicate)
    suffix = out.suffix.lower()
    opener = gzip.open if suffix == ".gz" else bz2.open if suffix == ".bz2" else open
    from kglm.utils.io import atomic_file

    with atomic_file(out) as tmp:
        if fmt == "nt":
            with opener(tmp, "wt", encoding="utf-8", newline="\n") as f:  # type: ignore[operator]
                _write_ntriples(kg, f, lp_iri, dp_iri, declare_ids)
        else:
            import rdflib
            from rdflib import Literal, URIRef

            g = rdflib.Graph()
            ents = [_term(n, ENTITY_NS) for n in kg.entities]
            rels = [_term(r, RELATION_NS) for r in kg.relations]
            for h, r, t in kg.triples.tolist():
                g.add((ents[h], rels[r], ents[t]))
            lp = URIRef(lp_iri)
            owner, text = kg.label_index()
            for i, label in zip(owner.tolist(), text):
                if not isinstance(ents[i], Literal):
                    g.add((ents[i], lp, Literal(label)))
            dp = URIRef(dp_iri)
            owner, text = kg.description_index()
            for i, d in zip(owner.tolist(), text):
                if not isinstance(ents[i], Literal):
                    g.add((ents[i], dp, Literal(d)))
            if declare_ids:
                integer = URIRef(_XSD_INTEGER)
                for i, r in enumerate(rels):
                    g.add((r, URIRef(RELATION_INDEX), Literal(str(i), datatype=integer)))
                for i, e in enumerate(ents):
                    if not isinstance(e, Literal):
                        g.add((e, URIRef(ENTITY_INDEX), Literal(str(i), datatype=integer)))
            data = g.serialize(format=fmt, encoding="utf-8")
            with opener(tmp, "wb") as f:  # type: ignore[operator]
                f.write(data)
