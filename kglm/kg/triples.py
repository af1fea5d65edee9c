"""Build a :class:`~kglm.kg.graph.KnowledgeGraph` from ``(head, relation, tail)`` names.

Shared by every builder: :class:`Vocab` assigns ids in order of first appearance,
:func:`open_text` reads plain, ``.gz`` and ``.bz2`` files alike.
"""

from __future__ import annotations

import csv
import os
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from kglm.errors import DataFormatError
from kglm.kg.graph import KnowledgeGraph, _descriptions_to_csr, _labels_to_csr
from kglm.utils.io import PathLike, inner_suffix, strip_compression  # strip_compression: re-exported

__all__ = ["from_triples", "open_text", "Vocab", "TripleBuilder"]


def open_text(path: PathLike) -> IO[str]:
    """Open a UTF-8 text file for reading; ``.gz`` and ``.bz2`` are decompressed on the fly."""
    from kglm.utils.io import open_compressed  # truncated .gz/.bz2 -> DataFormatError naming the file

    return open_compressed(path, "rt", newline="")


PROGRESS_EVERY = 1 << 16  # lines between progress-bar updates in streaming readers


def progress(desc: str) -> Any:
    """A tqdm counter for a streaming reader (hidden when stderr is not a terminal).

    Readers call ``bar.update(PROGRESS_EVERY)`` every :data:`PROGRESS_EVERY` lines,
    which keeps the per-line cost at one bit test."""
    from tqdm.auto import tqdm

    return tqdm(desc=desc, unit=" lines", unit_scale=True, disable=None, leave=False, mininterval=0.5)


class Vocab:
    """Names -> consecutive ids, in order of first appearance."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        for n in names:
            self.add(n)

    def add(self, name: str) -> int:
        """The id of ``name``, assigning the next one when new."""
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.index)
        return i

    def __len__(self) -> int:
        return len(self.index)

    def names(self) -> list[str]:
        """All names, id order."""
        return list(self.index)


class TripleBuilder:
    """Accumulates name triples and labels, then makes a :class:`KnowledgeGraph`.

    Ids are kept in flat Python int lists (cheap appends) and turned into one
    ``int64`` array at the end.
    """

    def __init__(self) -> None:
        self.entities = Vocab()
        self.relations = Vocab()
        self._ids = array("q")  # flat (head, relation, tail) ids, 8 bytes each
        self.labels: dict[int, list[str]] = {}
        self.descriptions: dict[int, list[str]] = {}

    def add(self, head: str, relation: str, tail: str) -> None:
        """Add one triple by names."""
        ent = self.entities.add
        self._ids.extend((ent(head), self.relations.add(relation), ent(tail)))

    def add_label(self, entity: str, label: str) -> None:
        """Add a label to ``entity`` (created if new); repeated labels are kept once."""
        ls = self.labels.setdefault(self.entities.add(entity), [])
        if label not in ls:
            ls.append(label)

    def add_description(self, entity: str, description: str) -> None:
        """Add a description to ``entity`` (created if new); repeats are kept once."""
        ds = self.descriptions.setdefault(self.entities.add(entity), [])
        if description not in ds:
            ds.append(description)

    @property
    def num_triples(self) -> int:
        """Triples added so far."""
        return len(self._ids) // 3

    def build(
        self, default_labels: Mapping[int, list[str]] | None = None, metadata: Mapping[str, Any] | None = None
    ) -> KnowledgeGraph:
        """The graph; ``default_labels`` fills entities that got no label."""
        entities = self.entities.names()
        labels = self.labels
        if default_labels:
            labels = {**default_labels, **labels}
        ptr, text = _labels_to_csr(entities, labels)
        dptr, dtext = _descriptions_to_csr(len(entities), self.descriptions)
        triples = torch.from_numpy(np.frombuffer(self._ids, dtype=np.int64).reshape(-1, 3).copy())
        return KnowledgeGraph._from_parts(entities, self.relations.names(), triples, ptr, text, metadata,
                                          description_ptr=dptr, description_text=dtext)


def from_triples(
    source: PathLike | Iterable[Sequence[str]],
    *,
    delimiter: str | None = None,
    header: bool = False,
    labels: Mapping[str, Sequence[str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    descriptions: Mapping[str, Sequence[str]] | None = None,
) -> KnowledgeGraph:
    """Build a graph from ``(head, relation, tail)`` names.

    Args:
        source: an iterable of 3-sequences of strings, or a path to a delimited file
            with one triple per line (``.gz`` / ``.bz2`` read transparently).
        delimiter: column separator of a file; default ``","`` for ``.csv``, tab otherwise.
            CSV files follow CSV quoting; other files are split on the delimiter verbatim.
        header: the file's first line is a header and is not data.
        labels: labels by entity name; an entity without any has its name as its only label.
        metadata: kept on the graph.
        descriptions: descriptions (definitions) by entity name, primary first; a bare
            string is one description. Like ``labels``, a name not in any triple becomes
            an entity without edges.

    Blank lines are not data and are passed over; any other line must have exactly
    three non-empty columns.

    Raises:
        ValueError: a line without exactly three columns (naming file and line), or
            no triples at all.

    Example:
        >>> kg = from_triples([("cat", "IsA", "animal"), ("cat", "AtLocation", "home")])
        >>> kg.entities, kg.relations
        (['cat', 'animal', 'home'], ['IsA', 'AtLocation'])
    """
    b = TripleBuilder()
    meta: dict[str, Any] = dict(metadata or {})
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        sep = delimiter or ("," if inner_suffix(path) == ".csv" else "\t")
        with open_text(path) as f, progress(f"read {path.name}") as bar:
            if inner_suffix(path) == ".csv":
                rows: Iterable[Sequence[str]] = csv.reader(f, delimiter=sep)
            else:
                rows = (line.rstrip("\r\n").split(sep) for line in f)
            for lineno, row in enumerate(rows, 1):
                if not lineno % PROGRESS_EVERY:
                    bar.update(PROGRESS_EVERY)
                if header and lineno == 1:
                    continue
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != 3 or not all(row):
                    raise DataFormatError(
                        f"{path}:{lineno}: expected 3 non-empty columns (head, relation, tail) "
                        f"separated by {sep!r}, got {len(row)}: {sep.join(row)[:120]!r}"
                    )
                b.add(row[0], row[1], row[2])
        meta.setdefault("source", str(path))
        where = str(path)
    else:
        for n, row in enumerate(source):
            if isinstance(row, str) or len(row) != 3:
                raise ValueError(f"triple #{n}: expected (head, relation, tail), got {row!r}")
            b.add(str(row[0]), str(row[1]), str(row[2]))
        where = "triples iterable"
    if b.num_triples == 0:
        raise DataFormatError(f"{where}: empty input, no triples found")
    if labels:
        for name, ls in labels.items():
            for label in [ls] if isinstance(ls, str) else ls:
                b.add_label(name, label)
    if descriptions:
        for name, ds in descriptions.items():
            for d in [ds] if isinstance(ds, str) else ds:
                if d:
                    b.add_description(str(name), str(d))
    return b.build(metadata=meta)
