"""One knowledge-graph format detector, by content, for the CLI, the training resolver and the Python API.

:func:`detect_format` looks at what a path holds, not at its name alone:

* a directory: a saved :class:`~kglm.kg.graph.KnowledgeGraph` (``kg.json``) or a
  WordNet database (``data.noun`` or ``data.noun.bz2``);
* RDF syntax (``<?xml``, ``<rdf:RDF``, ``@prefix``, ``PREFIX``, N-Triples
  ``<s> <p> ...`` lines, JSON-LD), or an RDF suffix;
* ConceptNet 5 assertions: five tab-separated columns, ``/a/...`` first;
* three columns: the column whose values form a small vocabulary is the
  relation. First column -> ConceptNet-100K (``Relation<TAB>head<TAB>tail``),
  middle column -> plain ``head<TAB>relation<TAB>tail`` triples (WN18RR,
  FB15k-237, ...). A first row of column names (``head relation tail``,
  ``subject predicate object``) is detected as a header.

When the content does not decide (too few lines, no column with a small
vocabulary, ...) it raises :class:`~kglm.errors.DataFormatError` naming the
option that sets the format. :func:`load_kg_file` detects and reads in one call.

New formats register a detector and a loader (see docs/architecture.md)::

    register_kg_format("mine", detect=lambda sample: sample.first_line.startswith("#mine"),
                       load=lambda paths, detected, **options: build_my_graph(paths))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kglm.errors import DataFormatError
from kglm.utils.io import PathLike, inner_suffix

if TYPE_CHECKING:  # pragma: no cover
    from kglm.kg.graph import KnowledgeGraph

__all__ = [
    "KG_FORMATS",
    "DetectedFormat",
    "FileSample",
    "detect_format",
    "load_kg_file",
    "register_kg_format",
    "unregister_kg_format",
]


#: built-in formats (``"auto"`` detects one of them)
KG_FORMATS = ("saved", "wordnet", "rdf", "conceptnet", "cn100k", "triples")

_RDF_SUFFIXES = {".ttl", ".turtle", ".nt", ".ntriples", ".nq", ".nquads", ".rdf", ".owl", ".xml",
                 ".jsonld", ".json-ld", ".trig", ".n3", ".trix"}
_HEADER_WORDS = {"head", "relation", "tail", "subject", "predicate", "object", "rel", "h", "r", "t",
                 "source", "target", "start", "end", "edge", "label", "s", "p", "o", "src", "dst"}
_RELATION_WORDS = {"relation", "predicate", "rel", "r", "p", "edge", "label"}
#: a relation vocabulary is at most this many distinct values ...
_MAX_RELATIONS = 2000
#: ... and at most this fraction of the distinct values of each entity column
_RELATION_RATIO = 0.25
_SAMPLE_LINES = 5000
_SAMPLE_BYTES = 1 << 21


@dataclass(frozen=True)
class DetectedFormat:
    """What :func:`detect_format` found.

    Attributes:
        format: one of :data:`KG_FORMATS` or a registered format name.
        reason: a short human-readable reason (for logs and errors).
        header: for delimited files, whether the first row holds column names.
        delimiter: for delimited files, the column separator.
    """

    format: str
    reason: str
    header: bool = False
    delimiter: str | None = None


@dataclass
class FileSample:
    """The start of a file, as detectors see it.

    Attributes:
        path: the file.
        lines: up to 5,000 non-blank lines (newlines stripped).
        first_line: the first non-blank line ('' for an empty file).
    """

    path: Path
    lines: list[str] = field(default_factory=list)

    @property
    def first_line(self) -> str:
        return self.lines[0] if self.lines else ""


@dataclass(frozen=True)
class _Registered:
    detect: Callable[[FileSample], bool]
    load: Callable[..., KnowledgeGraph]


_REGISTERED: dict[str, _Registered] = {}


def register_kg_format(
    name: str,
    detect: Callable[[FileSample], bool],
    load: Callable[..., KnowledgeGraph],
) -> None:
    """Add a KG file format to the detector.

    Args:
        name: the format name (what ``kg_format=`` / ``format=`` accept).
        detect: ``detect(sample) -> bool``: whether a :class:`FileSample` is in
            this format. Registered detectors run before the built-in rules.
        load: ``load(paths, detected, **options) -> KnowledgeGraph``.
    """
    if name in KG_FORMATS:
        raise ValueError(f"{name!r} is a built-in KG format")
    _REGISTERED[name] = _Registered(detect, load)


def unregister_kg_format(name: str) -> None:
    """Remove a format added with :func:`register_kg_format`."""
    _REGISTERED.pop(name, None)


def _sample(path: Path) -> FileSample:
    from kglm.utils.io import open_compressed

    sample = FileSample(path)
    read = 0
    with open_compressed(path, "rt", newline="", errors="replace") as handle:
        for line in handle:
            read += len(line)
            line = line.rstrip("\r\n")
            if line.strip():
                sample.lines.append(line)
            if len(sample.lines) >= _SAMPLE_LINES or read >= _SAMPLE_BYTES:
                break
    return sample


def _looks_like_rdf(sample: FileSample) -> bool:
    import re

    for line in sample.lines[:50]:
        text = line.lstrip("\ufeff").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(("<?xml", "<rdf:RDF", "<RDF", "@prefix", "@base", "<TriX")):
            return True
        if re.match(r"(?i)(prefix|base)\s", text):
            return True
        if re.match(r"^(<[^>\s]*>|_:\S+)\s+<[^>\s]*>\s+\S", text):  # N-Triples / N-Quads
            return True
        if text.startswith(("{", "[")) and ('"@context"' in text or '"@id"' in text or '"@graph"' in text):
            return True
        return False
    return False


def _delimiter(sample: FileSample) -> str:
    first = sample.first_line
    if "\t" in first:
        return "\t"
    if inner_suffix(sample.path) == ".csv" or "," in first:
        return ","
    return "\t"


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == ",":
        import csv

        return next(csv.reader([line]))
    return line.split(delimiter)


def _is_header(row: list[str]) -> bool:
    return sum(c.strip().lower() in _HEADER_WORDS for c in row) >= 2


def _detect_file(path: Path, flag: str) -> DetectedFormat:
    sample = _sample(path)
    for name, fmt in _REGISTERED.items():
        if fmt.detect(sample):
            return DetectedFormat(name, f"matched by the registered {name!r} detector")
    if not sample.lines:
        raise DataFormatError(f"{path}: empty file, cannot tell its KG format")
    if _looks_like_rdf(sample):
        return DetectedFormat("rdf", "RDF syntax")
    delimiter = _delimiter(sample)
    rows = [_split(line, delimiter) for line in sample.lines]
    width = len(rows[0])
    if width == 5 and rows[0][0].startswith("/a/"):
        return DetectedFormat("conceptnet", "5 columns, '/a/' assertion URIs (ConceptNet 5)", delimiter=delimiter)
    header = width == 3 and _is_header(rows[0])
    data = rows[1:] if header else rows
    if width == 3 and data:
        bad = next((i for i, r in enumerate(data) if len(r) != 3), None)
        if bad is not None:
            lineno = bad + 1 + int(header)
            raise DataFormatError(
                f"{path}:{lineno}: expected 3 columns separated by {delimiter!r} like the first line, "
                f"got {len(data[bad])}; set the format with {flag}"
            )
        distinct = [len({r[c] for r in data}) for c in range(3)]
        small = [
            c for c in range(3)
            if distinct[c] <= _MAX_RELATIONS
            and all(distinct[c] <= _RELATION_RATIO * distinct[o] for o in range(3) if o != c)
        ]
        concept_uris = all(r[1].startswith("/c/") and r[2].startswith("/c/") for r in data[:50])
        counts = f"distinct values per column {distinct} in {len(data)} lines"
        if header and not small:  # too few lines to tell: the column names decide
            names = [c.strip().lower() for c in rows[0]]
            small = [c for c in range(3) if names[c] in _RELATION_WORDS]
        if small == [0]:
            why = "'/c/' concepts" if concept_uris else counts
            return DetectedFormat("cn100k", f"3 columns, relation first ({why})", header, delimiter)
        if small == [1]:
            return DetectedFormat("triples", f"3 columns, head relation tail ({counts})", header, delimiter)
        raise DataFormatError(
            f"{path}: cannot tell which column holds the relation ({counts}); set the format with "
            f"{flag} (cn100k: 'relation head tail', triples: 'head relation tail')"
        )
    if inner_suffix(path) in _RDF_SUFFIXES:
        return DetectedFormat("rdf", f"RDF suffix {inner_suffix(path)}")
    raise DataFormatError(
        f"{path}:1: not a known KG format (not RDF, not ConceptNet, {width} column(s) separated by "
        f"{delimiter!r} where triples have 3); set the format with {flag}"
    )


def detect_format(path: PathLike, *, flag: str = "--format") -> DetectedFormat:
    """Detect a knowledge graph's format from its content.

    Args:
        path: a file (plain, ``.gz`` or ``.bz2``) or a directory.
        flag: how the caller's user sets the format explicitly, named in errors
            (``"--format"`` for the CLI, ``"kg_format"`` for a training config).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        DataFormatError: when the content does not decide; the message names ``flag``.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "kg.json").is_file():
            return DetectedFormat("saved", "saved KG directory (kg.json)")
        if (p / "data.noun").is_file() or (p / "data.noun.bz2").is_file():
            return DetectedFormat("wordnet", "WordNet database directory (data.noun)")
        raise DataFormatError(f"{p}: a directory that is neither a saved KG (kg.json) nor a WordNet "
                              f"database (data.noun[.bz2]); set the format with {flag}")
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    return _detect_file(p, flag)


def load_kg_file(
    path: PathLike | Sequence[PathLike],
    format: str = "auto",
    *,
    flag: str = "--format",
    **options: Any,
) -> KnowledgeGraph:
    """Read a knowledge graph in any supported format (detected by content with ``format="auto"``).

    Args:
        path: one path, or several files of the same format (merged into one graph).
        format: ``"auto"``, one of :data:`KG_FORMATS` or a registered format.
        flag: how the caller sets the format, named in errors.
        **options: passed to the format's reader (e.g. ``merge_relations`` for
            ConceptNet, ``label_predicates`` for RDF, ``header`` for triples).

    Raises:
        DataFormatError: for undetectable content or inputs that mix formats.
    """
    from kglm.kg.graph import KnowledgeGraph

    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    if not paths:
        raise ValueError("load_kg_file: no input given")
    if format == "auto":
        found = [detect_format(p, flag=flag) for p in paths]
        kinds = sorted({d.format for d in found})
        if len(kinds) > 1:
            raise DataFormatError(
                "inputs mix KG formats: " + ", ".join(f"{p} is {d.format}" for p, d in zip(paths, found))
                + f"; build them separately or set the format with {flag}"
            )
        detected = found[0]
    elif format in KG_FORMATS or format in _REGISTERED:
        detected = DetectedFormat(format, "given")
    else:
        known = ", ".join(("auto",) + KG_FORMATS + tuple(_REGISTERED))
        raise DataFormatError(f"unknown KG format {format!r}; known: {known} (set with {flag})")
    fmt = detected.format
    if fmt in _REGISTERED:
        return _REGISTERED[fmt].load(paths, detected, **options)
    if fmt == "saved":
        if len(paths) > 1:
            raise DataFormatError("load_kg_file: give one saved KG directory")
        return KnowledgeGraph.load(paths[0], **options)
    if fmt == "wordnet":
        import importlib

        try:
            wordnet = importlib.import_module("kglm.kg.wordnet")
        except ImportError as exc:  # pragma: no cover - the WordNet builder ships with kglm
            raise DataFormatError(f"{paths[0]}: WordNet directories need kglm.kg.wordnet ({exc})") from None
        if len(paths) > 1:
            raise DataFormatError("load_kg_file: give one WordNet directory")
        return wordnet.from_wordnet(paths[0], **options)
    if fmt == "rdf":
        from kglm.kg.rdf import from_rdf

        return from_rdf(paths, **options)
    if fmt in ("conceptnet", "cn100k"):
        from kglm.kg.conceptnet import from_conceptnet

        # "conceptnet" is either ConceptNet shape (from_conceptnet tells them apart line by line)
        return from_conceptnet(paths, format="cn100k" if fmt == "cn100k" else "auto", **options)
    from kglm.kg.triples import from_triples

    def read(p: Path) -> KnowledgeGraph:
        found = detected if p == paths[0] and detected.reason != "given" else _layout(p, flag)
        kwargs = dict(options)
        kwargs.setdefault("header", found.header)
        if found.delimiter is not None:
            kwargs.setdefault("delimiter", found.delimiter)
        return from_triples(p, **kwargs)

    if len(paths) == 1:
        return read(paths[0])
    rows: list[tuple[str, str, str]] = []
    for p in paths:
        g = read(p)
        e, r = g.entities, g.relations
        rows.extend((e[h], r[q], e[t]) for h, q, t in g.triples.tolist())
    return from_triples(rows, metadata={"sources": [str(p) for p in paths]})


def _layout(path: Path, flag: str) -> DetectedFormat:
    """Header row and delimiter of a delimited file whose format was given (not detected)."""
    try:
        return detect_format(path, flag=flag)
    except DataFormatError:
        return DetectedFormat("triples", "given", header=False, delimiter=None)
