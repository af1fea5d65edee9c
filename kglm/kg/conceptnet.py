"""ConceptNet -> :class:`~kglm.kg.graph.KnowledgeGraph`.

Two inputs are read:

* the ConceptNet 5 assertions dump (``conceptnet-assertions-5.x.csv[.gz]``): five
  tab-separated columns ``assertion URI, /r/Relation, /c/en/start/..., /c/en/end/..., JSON``.
  Only assertions whose two ends are in ``language`` are kept; ``/c/en/ice_cream/n``
  becomes the concept ``"ice cream"``.
* the ConceptNet-100K split of Li et al. (2016): three tab-separated columns
  ``Relation<TAB>head phrase<TAB>tail phrase`` with CamelCase relations.

With ``merge_relations=True`` relations are mapped onto the 17 relations used by
KagNet / MHGRN / QA-GNN (:data:`MERGE_TABLE`); a ``reverse`` entry (``HasA`` ->
``PartOf``, ``MotivatedByGoal`` -> ``Causes``) swaps head and tail. The 17 merged
relations get ids 0-16 in MHGRN's order (:data:`MERGED_RELATIONS`), so relation ids
agree with checkpoints of those models. Relations that are not in the table
(e.g. ``NotIsA``, ``SymbolOf``) are kept under their own lower-cased names unless
``drop_unmerged=True``; what was dropped is counted in ``kg.metadata``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kglm.errors import DataFormatError
from kglm.kg.graph import KnowledgeGraph
from kglm.kg.triples import PROGRESS_EVERY, TripleBuilder, open_text, progress
from kglm.utils.io import PathLike

__all__ = ["from_conceptnet", "MERGE_TABLE", "MERGED_RELATIONS", "concept_name", "merge_relation"]


#: The 17 merged relations, in the id order of MHGRN's ``merged_relations``.
MERGED_RELATIONS: tuple[str, ...] = (
    "antonym", "atlocation", "capableof", "causes", "createdby", "isa", "desires",
    "hassubevent", "partof", "hascontext", "hasproperty", "madeof", "notcapableof",
    "notdesires", "receivesaction", "relatedto", "usedfor",
)

# ConceptNet relation (lower case) -> merged relation [reverse = swap head and tail].
# From MHGRN's ``relation_groups`` (a leading "*" there marks the reversed ones).
_MERGE_TSV = """\
antonym	antonym
distinctfrom	antonym
atlocation	atlocation
locatednear	atlocation
capableof	capableof
causes	causes
causesdesire	causes
motivatedbygoal	causes	reverse
createdby	createdby
desires	desires
hascontext	hascontext
hasproperty	hasproperty
hassubevent	hassubevent
hasfirstsubevent	hassubevent
haslastsubevent	hassubevent
hasprerequisite	hassubevent
entails	hassubevent
mannerof	hassubevent
isa	isa
instanceof	isa
definedas	isa
madeof	madeof
notcapableof	notcapableof
notdesires	notdesires
partof	partof
hasa	partof	reverse
relatedto	relatedto
similarto	relatedto
synonym	relatedto
usedfor	usedfor
receivesaction	receivesaction
"""


def _parse_table(text: str) -> dict[str, tuple[str, bool]]:
    table: dict[str, tuple[str, bool]] = {}
    for row in text.splitlines():
        cols = row.split("\t")
        table[cols[0]] = (cols[1], len(cols) > 2 and cols[2] == "reverse")
    return table


#: ConceptNet relation (lower case, no ``/r/``) -> ``(merged relation, reverse)``.
MERGE_TABLE: Mapping[str, tuple[str, bool]] = _parse_table(_MERGE_TSV)


def concept_name(uri: str) -> str:
    """``"/c/en/ice_cream/n"`` -> ``"ice cream"`` (the term of a ConceptNet concept URI)."""
    parts = uri.split("/")
    if len(parts) < 4 or parts[1] != "c":
        raise ValueError(f"not a ConceptNet concept URI: {uri!r}")
    return parts[3].replace("_", " ")


def merge_relation(relation: str) -> tuple[str, bool] | None:
    """The merged relation and whether to reverse, for ``"/r/HasA"``, ``"HasA"`` or ``"hasa"``;
    ``None`` when the relation is not in :data:`MERGE_TABLE`."""
    key = relation[3:] if relation.startswith("/r/") else relation
    return MERGE_TABLE.get(key.lower())


def _detect(path: Path) -> str:
    with open_text(path) as f:
        for line in f:
            if line.strip():
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) == 5 and cols[0].startswith("/a/"):
                    return "assertions"
                if len(cols) == 3:
                    return "cn100k"
                raise DataFormatError(
                    f"{path}:1: neither a ConceptNet 5 assertions line (5 tab-separated columns, "
                    f"'/a/...' first) nor a ConceptNet-100K line (3 columns), got {len(cols)} columns"
                )
    raise DataFormatError(f"{path}: empty input, no ConceptNet assertions")


def from_conceptnet(
    path: PathLike | Sequence[PathLike],
    *,
    format: str = "auto",
    language: str = "en",
    merge_relations: bool = True,
    drop_unmerged: bool = False,
    deduplicate: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> KnowledgeGraph:
    """Build a graph from ConceptNet files.

    Args:
        path: one file or several (e.g. CN-100K ``train.txt``, ``valid.txt``, ``test.txt``);
            ``.gz`` / ``.bz2`` are read transparently.
        format: ``"assertions"`` (ConceptNet 5 CSV), ``"cn100k"`` (3-column TSV) or
            ``"auto"`` (from the first line of each file).
        language: assertions are kept only when both ends are ``/c/<language>/`` concepts.
        merge_relations: map relations onto the 17 KagNet/MHGRN relations
            (:data:`MERGE_TABLE`); ``False`` keeps the original names (``"AtLocation"``).
        drop_unmerged: with ``merge_relations``, drop relations not in the table
            instead of keeping them under their lower-cased names.
        deduplicate: remove repeated triples (merging makes some, e.g. RelatedTo + Synonym).
        metadata: extra metadata for the graph.

    Returns:
        The graph; entities are concept phrases (``"ice cream"``), each labelled by
        itself. ``metadata`` counts ``dropped_other_language``,
        ``dropped_unmerged`` (per relation) and ``dropped_duplicates``.

    Raises:
        ValueError: a line with the wrong number of columns or a bad concept URI
            (naming file and line), an unknown format, or an empty input.
    """
    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    if not paths:
        raise ValueError("from_conceptnet: no input files given")
    if format not in ("auto", "assertions", "cn100k"):
        raise ValueError(f"from_conceptnet: format must be 'auto', 'assertions' or 'cn100k', got {format!r}")
    b = TripleBuilder()
    if merge_relations:
        for r in MERGED_RELATIONS:
            b.relations.add(r)
    unmerged: Counter[str] = Counter()
    other_language = 0
    lines_read = 0
    prefix = f"/c/{language}/"
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
        kind = _detect(p) if format == "auto" else format
        ncols = 5 if kind == "assertions" else 3
        with open_text(p) as f, progress(f"read {p.name}") as bar:
            for lineno, line in enumerate(f, 1):
                if not lineno % PROGRESS_EVERY:
                    bar.update(PROGRESS_EVERY)
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) != ncols:
                    if not line.strip():
                        continue
                    raise DataFormatError(
                        f"{p}:{lineno}: expected {ncols} tab-separated columns "
                        f"({'assertion, relation, start, end, info' if ncols == 5 else 'relation, head, tail'}), "
                        f"got {len(cols)}"
                    )
                lines_read += 1
                if kind == "assertions":
                    rel, start, end = cols[1], cols[2], cols[3]
                    if not (start.startswith(prefix) and end.startswith(prefix)):
                        other_language += 1
                        continue
                    try:
                        head, tail = concept_name(start), concept_name(end)
                    except ValueError as exc:
                        raise DataFormatError(f"{p}:{lineno}: {exc}") from None
                    rel = rel[3:] if rel.startswith("/r/") else rel
                else:
                    rel, head, tail = cols
                    if not (rel and head and tail):
                        raise DataFormatError(f"{p}:{lineno}: empty relation, head or tail")
                if merge_relations:
                    merged = MERGE_TABLE.get(rel.lower())
                    if merged is None:
                        if drop_unmerged:
                            unmerged[rel] += 1
                            continue
                        rel = rel.lower()
                    else:
                        rel, reverse = merged
                        if reverse:
                            head, tail = tail, head
                b.add(head, rel, tail)
    if b.num_triples == 0:
        where = ", ".join(str(p) for p in paths)
        raise DataFormatError(f"{where}: empty input, no {language!r} ConceptNet triples kept "
                         f"({lines_read} lines read, {other_language} in other languages, "
                         f"{sum(unmerged.values())} with unmerged relations dropped)")
    meta: dict[str, Any] = {
        "sources": [str(p) for p in paths],
        "language": language,
        "merge_relations": merge_relations,
        "lines": lines_read,
        "dropped_other_language": other_language,
        "dropped_unmerged": dict(unmerged),
        **dict(metadata or {}),
    }
    kg = b.build(metadata=meta)
    return kg.deduplicate(record=True) if deduplicate else kg
