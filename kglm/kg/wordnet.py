"""Build a :class:`~kglm.kg.graph.KnowledgeGraph` from the WordNet 3.0 database files.

Reads the ``data.{noun,verb,adj,adv}`` files (format ``wndb(5WN)``, pointer
symbols of ``wninput(5WN)``), plain or compressed (``.bz2``, ``.gz``, ``.xz``:
:func:`kglm.utils.io.open_compressed`), the ``index.*`` files for sense order
when present and ``lexnames`` for the lexicographer file names. This is the
layout of Princeton's ``dict/`` directory and of Debian's ``wordnet-base``.

Mapping:

* one entity per synset, named ``wn:{offset:08d}-{pos}`` with ``pos`` in
  ``n v a r`` (a satellite adjective ``s`` is named with ``a``, as WordNet's
  own ``offset-pos`` sense keys do: adjectives and satellites share ``data.adj``);
  entity ids follow the files (noun, verb, adj, adv) and the synsets' order in them;
* every lemma is a label, in the synset's order: underscores become spaces and
  the adjective position markers ``(a)`` ``(p)`` ``(ip)`` are removed
  (``"galore(ip)"`` -> ``"galore"``); case is kept (``"Canis familiaris"``);
* the gloss is split into the definition, the synset's one description, and
  the quoted usage examples, kept apart in the ``examples`` attribute (see
  :func:`split_gloss`);
* every pointer becomes a triple whose relation is named after its symbol
  (:data:`POINTER_NAMES`: ``@`` -> ``hypernym``, ``%p`` -> ``part_meronym``, ...).
  Lexical pointers (between two particular words of the synsets, e.g. antonymy
  and derivation) become relations between the two synsets, like semantic ones;
  the same synset pair linked by several word pairs counts once
  (``metadata["lexical_pointers"]`` counts the lexical pointers read,
  ``metadata["dropped_duplicates"]`` the repeats dropped);
* per-entity attribute columns (:meth:`KnowledgeGraph.attribute`):
  ``pos`` (the synset type, ``n v a s r``), ``lexname`` (the lexicographer file,
  e.g. ``"noun.animal"``), ``examples`` (list of usage examples) and, when the
  index files are there, ``sense_numbers``: for each label, its sense number for
  that lemma (1 = the most frequent sense, WordNet's index order), so that
  ``kg.attribute("sense_numbers")[i][j]`` belongs to ``kg.labels_of(i)[j]``.

All relations of :data:`POINTER_NAMES` are in the graph, in that order, whether
or not a triple uses them, so relation ids do not depend on the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kglm.errors import DataFormatError
from kglm.kg.graph import KnowledgeGraph, _descriptions_to_csr, _labels_to_csr
from kglm.utils.io import PathLike

__all__ = ["from_wordnet", "is_wordnet_dir", "split_gloss", "POINTER_NAMES", "POS_FILES"]


#: Data file stem -> synset type letters it holds (in file order: noun, verb, adj, adv).
POS_FILES: dict[str, str] = {"noun": "n", "verb": "v", "adj": "as", "adv": "r"}

#: WordNet pointer symbol -> relation name (``wninput(5WN)``). ``\\`` is "pertainym"
#: for adjectives and "derived from adjective" for adverbs: both are named ``pertainym``.
POINTER_NAMES: dict[str, str] = {
    "@": "hypernym",
    "@i": "instance_hypernym",
    "~": "hyponym",
    "~i": "instance_hyponym",
    "#m": "member_holonym",
    "#s": "substance_holonym",
    "#p": "part_holonym",
    "%m": "member_meronym",
    "%s": "substance_meronym",
    "%p": "part_meronym",
    "!": "antonym",
    "&": "similar_to",
    "=": "attribute",
    "*": "entailment",
    ">": "cause",
    "^": "also_see",
    "$": "verb_group",
    "<": "participle",
    "\\": "pertainym",
    "+": "derivation",
    ";c": "domain_topic",
    ";r": "domain_region",
    ";u": "domain_usage",
    "-c": "member_of_domain_topic",
    "-r": "member_of_domain_region",
    "-u": "member_of_domain_usage",
}

# The lexicographer files of WordNet 3.0 (lexnames(5WN)), used when the directory has no lexnames file.
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()

_SUFFIXES = ("", ".bz2", ".gz", ".xz")
_MARKER = re.compile(r"\((?:a|p|ip)\)$")
_EXAMPLE_START = re.compile(r'(?:^|;)\s*"')
_QUOTED = re.compile(r'"([^"]*)"')


def _find(directory: Path, stem: str) -> Path | None:
    for suffix in _SUFFIXES:
        p = directory / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def is_wordnet_dir(path: PathLike) -> bool:
    """Whether ``path`` is a directory holding WordNet database files (``data.noun`` or ``data.noun.bz2``, ...)."""
    p = Path(path)
    return p.is_dir() and _find(p, "data.noun") is not None


def split_gloss(gloss: str) -> tuple[str, list[str]]:
    """Split a WordNet gloss into its definition and its quoted usage examples.

    The definition is the text before the first double quote that opens the gloss
    or follows a ``;``; the examples are the double-quoted strings from there on.
    Text after the first example that is not quoted (attributions such as
    ``- Shakespeare``) is not kept.

    Example:
        >>> split_gloss('a member of the genus Canis; "the dog barked all night"')
        ('a member of the genus Canis', ['the dog barked all night'])
        >>> split_gloss('(usually followed by `to\\') having the means; "able to swim"; "able to buy a car"')
        ("(usually followed by `to') having the means", ['able to swim', 'able to buy a car'])
    """
    gloss = gloss.strip()
    m = _EXAMPLE_START.search(gloss)
    if m is None:
        return gloss.rstrip("; ").strip(), []
    definition = gloss[: m.start()].rstrip("; ").strip()
    examples = [e.strip() for e in _QUOTED.findall(gloss, m.start()) if e.strip()]
    return definition, examples


@dataclass
class _Synset:
    name: str
    ss_type: str
    lexfile: int
    lemmas: list[str]
    gloss: str
    pointers: list[tuple[str, str, bool, int]] = field(default_factory=list)  # (symbol, target, lexical, lineno)
    where: str = ""


def _lemma_label(word: str) -> str:
    return _MARKER.sub("", word).replace("_", " ")


def _parse_data_line(line: str, path: Path, lineno: int) -> _Synset:
    def bad(msg: str) -> DataFormatError:
        return DataFormatError(f"{path}:{lineno}: {msg}: {line.strip()[:120]!r}")

    head, sep, gloss = line.partition("|")
    tok = head.split()
    try:
        offset, lexfile, ss_type = tok[0], int(tok[1]), tok[2]
        if len(offset) != 8 or not offset.isdigit():
            raise bad("synset offset is not 8 digits")
        if ss_type not in ("n", "v", "a", "s", "r"):
            raise bad(f"unknown synset type {ss_type!r}")
        w_cnt = int(tok[3], 16)
        k = 4
        lemmas = []
        for _ in range(w_cnt):
            lemmas.append(tok[k])
            int(tok[k + 1], 16)  # lex_id
            k += 2
        p_cnt = int(tok[k])
        k += 1
        pointers = []
        for _ in range(p_cnt):
            symbol, target, pos, st = tok[k : k + 4]
            if symbol not in POINTER_NAMES:
                raise bad(f"unknown pointer symbol {symbol!r}")
            if len(target) != 8 or not target.isdigit() or pos not in ("n", "v", "a", "s", "r") or len(st) != 4:
                raise bad(f"malformed pointer {' '.join(tok[k:k + 4])!r}")
            lexical = int(st, 16) != 0
            pointers.append((symbol, f"wn:{target}-{'a' if pos == 's' else pos}", lexical, lineno))
            k += 4
    except (IndexError, ValueError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise bad("not a wndb(5WN) synset line") from None
    if w_cnt == 0:
        raise bad("synset without words")
    if ss_type == "v" and k < len(tok):  # verb frames: f_cnt + f_num w_num ...
        try:
            f_cnt = int(tok[k])
        except ValueError:
            raise bad("malformed verb frames") from None
        if len(tok) != k + 1 + 3 * f_cnt:
            raise bad("malformed verb frames")
    elif k != len(tok):
        raise bad(f"{len(tok) - k} unexpected fields before the gloss")
    if not sep:
        raise bad("no '|' before the gloss")
    pos = "a" if ss_type == "s" else ss_type
    return _Synset(f"wn:{offset}-{pos}", ss_type, lexfile, lemmas, gloss.strip(), pointers)


def _read_lexnames(directory: Path) -> dict[int, str]:
    path = _find(directory, "lexnames")
    if path is None:
        return dict(enumerate(_LEXNAMES))
    from kglm.utils.io import open_compressed

    names: dict[int, str] = {}
    with open_compressed(path, "rt") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) < 2 or not parts[0].isdigit():
                raise DataFormatError(f"{path}:{lineno}: expected 'number name [syntactic category]': {line.strip()!r}")
            names[int(parts[0])] = parts[1]
    return names


def _read_index(directory: Path, stem: str) -> dict[tuple[str, str], int] | None:
    """``(entity name, lower-case lemma) -> sense number`` from ``index.{stem}``; ``None`` when absent."""
    path = _find(directory, f"index.{stem}")
    if path is None:
        return None
    from kglm.utils.io import open_compressed

    ranks: dict[tuple[str, str], int] = {}
    with open_compressed(path, "rt") as f:
        for lineno, line in enumerate(f, 1):
            if line.startswith(" ") or not line.strip():
                continue  # the licence header lines start with two spaces
            tok = line.split()
            try:
                lemma, pos, synset_cnt, p_cnt = tok[0], tok[1], int(tok[2]), int(tok[3])
                offsets = tok[4 + p_cnt + 2 :]
                if len(offsets) != synset_cnt or pos not in ("n", "v", "a", "r"):
                    raise ValueError
            except (IndexError, ValueError):
                raise DataFormatError(f"{path}:{lineno}: not a wndb(5WN) index line: {line.strip()[:120]!r}") from None
            for rank, off in enumerate(offsets, 1):
                ranks[(f"wn:{off}-{pos}", lemma)] = rank
    return ranks


def from_wordnet(directory: PathLike, *, metadata: Mapping[str, Any] | None = None) -> KnowledgeGraph:
    """Build a graph with one entity per WordNet synset (see the module docstring for the mapping).

    Args:
        directory: a WordNet ``dict`` directory: ``data.noun`` (required),
            ``data.verb`` / ``data.adj`` / ``data.adv``, ``index.*`` and ``lexnames``
            when present; each file plain or ``.bz2`` / ``.gz`` / ``.xz``.
        metadata: extra metadata for the graph.

    Raises:
        FileNotFoundError: no ``data.noun`` in ``directory``.
        kglm.errors.DataFormatError: a malformed line (naming the file and line), a
            pointer to a synset no data file defines, or a truncated compressed file.

    Example:
        >>> kg = from_wordnet("/usr/share/wordnet")  # doctest: +SKIP
        >>> kg.descriptions_of(kg.entity_id("wn:02084071-n"))  # doctest: +SKIP
        ['a member of the genus Canis (probably descended from the common wolf) ...']
    """
    from kglm.kg.triples import PROGRESS_EVERY, progress
    from kglm.utils.io import open_compressed

    d = Path(directory)
    if not is_wordnet_dir(d):
        raise FileNotFoundError(f"{d}: not a WordNet directory (no data.noun or data.noun.bz2)")
    lexnames = _read_lexnames(d)
    synsets: list[_Synset] = []
    sources: list[str] = []
    ranks: dict[tuple[str, str], int] | None = {}
    counts: dict[str, int] = {}
    for stem, types in POS_FILES.items():
        path = _find(d, f"data.{stem}")
        if path is None:
            continue
        sources.append(str(path))
        n_before = len(synsets)
        with open_compressed(path, "rt") as f, progress(f"read {path.name}") as bar:
            for lineno, line in enumerate(f, 1):
                if not lineno % PROGRESS_EVERY:
                    bar.update(PROGRESS_EVERY)
                if line.startswith(" ") or not line.strip():
                    continue  # licence header (lines start with two spaces)
                s = _parse_data_line(line, path, lineno)
                if s.ss_type not in types:
                    raise DataFormatError(f"{path}:{lineno}: synset type {s.ss_type!r} in the {stem} file")
                s.where = str(path)
                synsets.append(s)
        counts[stem] = len(synsets) - n_before
        if ranks is not None:
            r = _read_index(d, stem)
            ranks = None if r is None else {**ranks, **r}
    return _build(synsets, lexnames, ranks, {"source": str(d), "format": "wordnet", "files": sources,
                                              "synsets": counts, **dict(metadata or {})})


def _build(synsets: list[_Synset], lexnames: dict[int, str], ranks: dict[tuple[str, str], int] | None,
           metadata: dict[str, Any]) -> KnowledgeGraph:
    names = [s.name for s in synsets]
    index: dict[str, int] = {}
    for i, s in enumerate(synsets):
        if s.name in index:
            raise DataFormatError(f"{s.where}: synset {s.name} defined twice")
        index[s.name] = i
    relations = list(POINTER_NAMES.values())
    rel_id = {sym: relations.index(name) for sym, name in POINTER_NAMES.items()}
    ids: list[int] = []
    labels: dict[int, list[str]] = {}
    descriptions: dict[int, list[str]] = {}
    pos_col, lex_col, ex_col = [], [], []
    sense_col: list[list[int | None]] = []
    lexical = 0
    for i, s in enumerate(synsets):
        for symbol, target, is_lexical, lineno in s.pointers:
            j = index.get(target)
            if j is None:
                raise DataFormatError(f"{s.where}:{lineno}: pointer {symbol} to {target}, which no data file defines")
            ids.extend((i, rel_id[symbol], j))
            lexical += is_lexical
        ls: list[str] = []
        senses: list[int | None] = []
        for w in s.lemmas:
            label = _lemma_label(w)
            if label and label not in ls:
                ls.append(label)
                if ranks is not None:
                    senses.append(ranks.get((s.name, _MARKER.sub("", w).lower())))
        labels[i] = ls
        definition, examples = split_gloss(s.gloss)
        if definition:
            descriptions[i] = [definition]
        pos_col.append(s.ss_type)
        lex_col.append(lexnames.get(s.lexfile, str(s.lexfile)))
        ex_col.append(examples)
        sense_col.append(senses)
    attributes: dict[str, list[Any]] = {"pos": pos_col, "lexname": lex_col, "examples": ex_col}
    if ranks is not None:
        attributes["sense_numbers"] = sense_col
    ptr, text = _labels_to_csr(names, labels)
    dptr, dtext = _descriptions_to_csr(len(names), descriptions)
    triples = torch.from_numpy(np.asarray(ids, dtype=np.int64).reshape(-1, 3))
    kg = KnowledgeGraph._from_parts(names, relations, triples, ptr, text,
                                    {**metadata, "lexical_pointers": lexical},
                                    description_ptr=dptr, description_text=dtext, attributes=attributes)
    return kg.deduplicate(record=True)
