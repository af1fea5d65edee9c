"""Dictionary (lexicon) entity linking over lemmatized label n-grams.

:class:`LexiconLinker` indexes every label of a knowledge graph by its
lemmatized, case-folded token sequence (and, by default, by its case-folded
surface token sequence too), then links text by looking up the n-grams of the
text's lemma sequence (each token may also match by its surface form) in that
hash index. The index is a plain ``dict`` from
token tuples to entity ids plus the set of proper prefixes of its keys, so
matching walks each start position only as far as some label continues:
``O(tokens x matched length)`` dictionary lookups, independent of the number of
labels (the reference QA-GNN code runs a spaCy ``Matcher`` with one pattern per
concept instead).

Matching rules:

* longest match first, greedy left to right: at each token the longest label
  n-gram starting there is taken and matching resumes after it
  (``keep_overlapping=False``, the default); with ``keep_overlapping=True``
  every n-gram that is a label is returned, overlaps and sub-spans included
  (the KagNet / QA-GNN behaviour);
* n-grams made only of stopwords and punctuation are not indexed, nor labels
  or entities in ``blacklist``;
* when several entities share the matched n-gram, one :class:`Mention` per
  entity is returned, ordered by entity id, each with ``score = 1 / k`` for
  ``k`` candidates (the linker does not guess between them);
* offsets come from the tokenizer, so ``text[m.start:m.end] == m.text``.

The index saves under ``KG_DIR/extras/linker/`` (``extras/linker-qagnn/`` for the
``"qagnn"`` mode; JSON + ``.npy``, no pickle),
keyed by the KG fingerprint and the index settings; :meth:`LexiconLinker.load`
rebuilds it, with a warning, when either changed or the files are damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import string
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice, tee
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kglm.linking.lemmatizer import Lemmatizer, Tokens, get_lemmatizer
from kglm.linking.mention import Mention
from kglm.linking.qagnn import NLTK_STOPWORDS

__all__ = ["ENGLISH_STOPWORDS", "LINKING_MODES", "QAGNN_BLACKLIST", "LabeledGraph", "LexiconLinker"]

_FORMAT_VERSION = 2
#: ``"longest"``: kglm's matching (module doc); ``"qagnn"``: the QA-GNN reference rules
#: (:mod:`kglm.linking.qagnn`).
LINKING_MODES = ("longest", "qagnn")
_EXTRA_NAME = "linker"
_SEP = "\x1f"  # joins the tokens of a key on disk; never inside a spaCy token


#: Default stop words: NLTK's English list (the one QA-GNN / MHGRN use) plus
#: spaCy's clitic tokens. Smaller than spaCy's list, which holds content verbs
#: such as "go", "make" and "take" that are ConceptNet concepts.
ENGLISH_STOPWORDS: frozenset[str] = NLTK_STOPWORDS | frozenset("n't 's 're 'm 've 'll 'd".split())

#: Concepts the QA-GNN / MHGRN grounding code never links (too generic); pass as
#: ``blacklist=QAGNN_BLACKLIST`` to reproduce it.
QAGNN_BLACKLIST: frozenset[str] = frozenset(
    {
        "-pron-", "actually", "likely", "possibly", "want", "make", "my", "someone",
        "sometimes_people", "sometimes", "would", "want_to", "one", "something",
        "everybody", "somebody", "could", "could_be",
    }
)  # fmt: skip


class LabeledGraph(Protocol):
    """What :meth:`LexiconLinker.from_kg` needs from a knowledge graph."""

    entities: Sequence[str]

    @property
    def fingerprint(self) -> str: ...

    def label_index(self) -> tuple[Any, list[str]]: ...


def _normalize(text: str) -> str:
    """Case-fold, collapse whitespace, strip surrounding punctuation (fallback lookup key)."""
    text = " ".join(text.lower().replace("_", " ").split())
    return text.strip(string.punctuation + " ")


def _is_filler(token: str, stopwords: frozenset[str]) -> bool:
    return token.lower() in stopwords or not any(c.isalnum() for c in token)


class LexiconLinker:
    """Link text to KG entities through an n-gram hash index of lemmatized labels.

    Build one with :meth:`from_kg` (or :meth:`from_labels`), or :meth:`load` it
    from a saved KG directory. Calling the linker links one text; :meth:`pipe`
    links many in batches. See the module docstring for the matching rules.

    Example:
        >>> from kglm.linking import LexiconLinker
        >>> linker = LexiconLinker.from_labels(
        ...     ["fridge", "ice hockey", "ice", "go"], lemmatizer="rule")
        >>> [(m.text, m.entity) for m in linker("Fridges near the ice hockey rink")]
        [('Fridges', 'fridge'), ('ice hockey', 'ice hockey')]

    A text longer than :attr:`max_text_length` characters (default 100,000; set
    the attribute on an instance to change it, ``None`` for no limit) is refused
    with :class:`~kglm.errors.ResourceLimitError` before any work: linking costs
    memory and time in proportion to the text (about 2.7 GB and 17 s per MB).
    """

    #: longest text linked, in characters (``None``: no limit)
    max_text_length: int | None = 100_000

    def __init__(
        self,
        index: dict[tuple[str, ...], tuple[int, ...]],
        exact: dict[str, tuple[int, ...]],
        entities: Sequence[str],
        lemmatizer: Lemmatizer,
        *,
        max_ngram: int | None = None,
        keep_overlapping: bool = False,
        stopwords: frozenset[str] = frozenset(),
        blacklist: frozenset[str] = frozenset(),
        lowercase: bool = True,
        match_surface: bool = True,
        kg_fingerprint: str = "",
        mode: str = "longest",
        concept_lemmas: dict[str, str] | None = None,
        concept_of: Sequence[str] | None = None,
    ):
        if mode not in LINKING_MODES:
            raise ValueError(f"unknown linking mode {mode!r}; expected one of {LINKING_MODES}")
        self.mode = mode
        self._index = index
        self._exact = exact
        self.entities = entities
        self.lemmatizer = lemmatizer
        self.max_ngram = max_ngram
        self.keep_overlapping = keep_overlapping
        self.stopwords = stopwords
        self.blacklist = blacklist
        self.lowercase = lowercase
        self.match_surface = match_surface
        self.kg_fingerprint = kg_fingerprint
        longest = max((len(k) for k in index), default=0)
        self._max_len = longest if max_ngram is None else min(longest, max_ngram)
        self._prefixes: set[tuple[str, ...]] = {k[:i] for k in index for i in range(1, len(k))}
        # qagnn mode: concept name -> out-of-context lemma string, and name -> entity id
        self._concept_lemmas: dict[str, str] = dict(concept_lemmas or {})
        self._concepts: dict[str, int] = {}
        self._concept_of: list[str] = []
        self._hard: dict[str, Sequence[int]] = {}  # text -> hard-grounding entity ids (qagnn mode)
        # qagnn mode: (span text, matched entity ids) -> the ids rule 3 links
        self._span_choice: dict[tuple[str, Any], tuple[int, ...]] = {}
        if mode == "qagnn":
            from kglm.linking.qagnn import concept_name

            if concept_of is not None and len(concept_of) != len(entities):
                raise ValueError("concept_of must name every entity")
            self._concept_of = (
                [str(c) for c in concept_of] if concept_of is not None
                else [concept_name(str(e).lower()) for e in entities]
            )  # fmt: skip
            for i, c in enumerate(self._concept_of):
                self._concepts.setdefault(c, i)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_kg(
        cls,
        kg: LabeledGraph,
        lemmatizer: str | Lemmatizer = "auto",
        max_ngram: int | None = None,
        keep_overlapping: bool = False,
        stopwords: Iterable[str] | None = None,
        blacklist: Iterable[str] | None = None,
        lowercase: bool = True,
        match_surface: bool = True,
        show_progress: bool | None = None,
        n_process: int = 1,
        mode: str = "longest",
    ) -> LexiconLinker:
        """Index all labels of ``kg`` (``kg.label_index()``).

        Args:
            kg: a :class:`~kglm.kg.KnowledgeGraph` (anything with ``entities``,
                ``fingerprint`` and ``label_index()``).
            lemmatizer: ``"auto"``, ``"spacy"``, ``"spacy:<model>"``, ``"lookup"``,
                ``"rule"`` or a :class:`~kglm.linking.Lemmatizer`.
            max_ngram: longest label n-gram indexed and matched, in tokens;
                ``None`` = the longest label.
            keep_overlapping: return every matching n-gram instead of the
                greedy longest, non-overlapping ones.
            stopwords: words that cannot make an n-gram on their own (with
                punctuation); ``None`` = :data:`ENGLISH_STOPWORDS`.
            blacklist: labels (case-folded, lemmatized with tokens joined by a
                space, or as written) and entity names never linked; ``None`` =
                none in the ``"longest"`` mode, :data:`QAGNN_BLACKLIST` in ``"qagnn"``.
            lowercase: case-fold lemmas and surface forms (both sides).
            match_surface: also index labels by their surface tokens, and let
                each text token match by its lemma or its surface form (mixed
                within an n-gram), so a word the tagger lemmatizes differently in
                a label and in a sentence still matches ("living rooms": lemmas
                "live room", surface "living rooms", label "living room").
            show_progress: tqdm bar while lemmatizing labels; ``None`` = only
                for 10,000 labels or more.
            n_process: worker processes lemmatizing the labels (spaCy ``n_process``).
            mode: ``"longest"`` (the rules in the module doc) or ``"qagnn"``: the
                QA-GNN reference grounding rules (:mod:`kglm.linking.qagnn`); that
                mode ignores ``max_ngram``, ``keep_overlapping``,
                ``match_surface`` and ``lowercase``, and its stop words default
                to NLTK's list.
        """
        ids, texts = kg.label_index()
        entity_ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
        return cls._build(
            list(kg.entities),
            entity_ids,
            list(texts),
            lemmatizer=lemmatizer,
            max_ngram=max_ngram,
            keep_overlapping=keep_overlapping,
            stopwords=stopwords,
            blacklist=blacklist,
            lowercase=lowercase,
            match_surface=match_surface,
            show_progress=show_progress,
            n_process=n_process,
            kg_fingerprint=str(kg.fingerprint),
            mode=mode,
        )

    @classmethod
    def from_labels(
        cls,
        entities: Sequence[str],
        labels: Mapping[int, Sequence[str]] | None = None,
        **options: Any,
    ) -> LexiconLinker:
        """Build a linker without a KG: entity ``i`` is named ``entities[i]``.

        Args:
            entities: entity names; an entity without labels is labelled by its name.
            labels: optional surface forms per entity id.
            **options: as for :meth:`from_kg`.
        """
        names = [str(e) for e in entities]
        labels = labels or {}
        entity_ids: list[int] = []
        texts: list[str] = []
        for i, name in enumerate(names):
            for text in labels.get(i) or [name]:
                entity_ids.append(i)
                texts.append(str(text))
        digest = hashlib.sha256(json.dumps([names, texts, entity_ids]).encode()).hexdigest()
        return cls._build(names, entity_ids, texts, kg_fingerprint=digest, **options)

    @classmethod
    def _build(cls, entities: Sequence[str], entity_ids: Sequence[int], texts: Sequence[str], **options: Any) -> LexiconLinker:
        """Build the index with the cyclic GC paused: the build makes hundreds of thousands of
        small objects that all live on (the lemmatizer makes no reference cycles)."""
        from kglm.linking.lemmatizer import paused_gc

        with paused_gc():
            linker = cls._build_index(entities, entity_ids, texts, **options)
            _settle_young_objects()
            return linker

    @classmethod
    def _build_index(
        cls,
        entities: Sequence[str],
        entity_ids: Sequence[int],
        texts: Sequence[str],
        *,
        lemmatizer: str | Lemmatizer = "auto",
        max_ngram: int | None = None,
        keep_overlapping: bool = False,
        stopwords: Iterable[str] | None = None,
        blacklist: Iterable[str] | None = None,
        lowercase: bool = True,
        match_surface: bool = True,
        show_progress: bool | None = None,
        n_process: int = 1,
        kg_fingerprint: str = "",
        mode: str = "longest",
    ) -> LexiconLinker:
        if max_ngram is not None and max_ngram < 1:
            raise ValueError("max_ngram must be at least 1 (or None)")
        if mode not in LINKING_MODES:
            raise ValueError(f"unknown linking mode {mode!r}; expected one of {LINKING_MODES}")
        lem = get_lemmatizer(lemmatizer)
        stop = _default_stopwords(mode) if stopwords is None else frozenset(w.lower() for w in stopwords)
        black = _default_blacklist(mode, blacklist)
        if mode == "qagnn":
            return cls._build_qagnn(
                entities, entity_ids, texts, lem, stop, black, show_progress, n_process, kg_fingerprint
            )
        black_norm = frozenset(_normalize(b) for b in black)

        unique = sorted(set(texts))
        if show_progress is None:
            show_progress = len(unique) >= 10_000
        from tqdm.auto import tqdm

        # text -> the index keys it gives (after the filler / blacklist / length rules);
        # the token strings are shared between keys (one str per distinct word), which
        # keeps a multi-million-label build in memory
        fold = str.lower if lowercase else str
        words: dict[str, str] = {}
        keys_of: dict[str, tuple[tuple[str, ...], ...]] = {}
        stream = lem.pipe(unique, batch_size=1000, n_process=n_process, remember=True)
        for text, toks in tqdm(
            zip(unique, stream),
            total=len(unique),
            desc="lemmatizing labels",
            unit="label",
            disable=not show_progress,
        ):
            lemma_key = tuple(words.setdefault(w, w) for w in map(fold, toks.lemmas))
            candidates = [lemma_key]
            if match_surface:
                surface = tuple(words.setdefault(w, w) for w in map(fold, toks.forms))
                if surface != lemma_key:
                    candidates.append(surface)
            keys_of[text] = tuple(
                key for key in candidates
                if key and (max_ngram is None or len(key) <= max_ngram)
                and not all(_is_filler(t, stop) for t in key)
                and " ".join(key).lower() not in black
            )  # fmt: skip

        index: dict[tuple[str, ...], Any] = {}
        exact: dict[str, Any] = {}
        for eid, text in zip(entity_ids, texts):
            if entities[eid].lower() in black:
                continue
            norm = _normalize(text)
            if not norm or norm in black_norm:
                continue
            _add_id(exact, norm, eid)
            for key in keys_of[text]:
                _add_id(index, key, eid)
        del keys_of
        for table in (index, exact):
            for k, v in table.items():  # in place: no second copy of a large index
                table[k] = (v,) if isinstance(v, int) else tuple(sorted(set(v)))
        return cls(
            index,
            exact,
            list(entities),
            lem,
            max_ngram=max_ngram,
            keep_overlapping=keep_overlapping,
            stopwords=stop,
            blacklist=black,
            lowercase=lowercase,
            match_surface=match_surface,
            kg_fingerprint=kg_fingerprint,
        )

    @classmethod
    def _build_qagnn(
        cls,
        entities: Sequence[str],
        entity_ids: Sequence[int],
        texts: Sequence[str],
        lem: Lemmatizer,
        stop: frozenset[str],
        black: frozenset[str],
        show_progress: bool | None,
        n_process: int,
        kg_fingerprint: str,
    ) -> LexiconLinker:
        """The QA-GNN rules' index: patterns (label lemmas) and each concept's lemma string."""
        from tqdm.auto import tqdm

        from kglm.linking.qagnn import concept_name, is_pattern

        # a concept is named by its entity's first label (its name when it has none)
        primary: dict[int, str] = {}
        for eid, text in zip(entity_ids, texts):
            primary.setdefault(eid, text)
        names = [" ".join(primary.get(i, str(e)).lower().split()) for i, e in enumerate(entities)]
        wanted = dict.fromkeys(t.lower() for t in texts)
        wanted.update(dict.fromkeys(" ".join(n.split()) for n in names))
        unique = [t for t in wanted if t.strip()]
        if show_progress is None:
            show_progress = len(unique) >= 10_000
        tokens: dict[str, Tokens] = {}
        stream = lem.pipe(unique, batch_size=1000, n_process=n_process, remember=True)
        for text, toks in tqdm(
            zip(unique, stream), total=len(unique), desc="lemmatizing labels", unit="label",
            disable=not show_progress,
        ):  # fmt: skip
            tokens[text] = toks
        lemmas = {concept_name(t): "_".join(toks.lemmas) for t, toks in tokens.items()}
        # one-token concepts also propose their lemma, whose own lemma the span rule needs
        extra = [v.replace("_", " ") for k, v in lemmas.items() if "_" not in k and v not in lemmas]
        extra = list(dict.fromkeys(e for e in extra if e.strip()))
        for text, toks in zip(extra, lem.pipe(extra, batch_size=1000)):
            lemmas.setdefault(concept_name(text), "_".join(toks.lemmas))
        index: dict[tuple[str, ...], set[int]] = {}
        for eid, text in zip(entity_ids, texts):
            toks = tokens.get(text.lower())
            if toks is None or not is_pattern(toks.forms, toks.lemmas, stop, black):
                continue
            index.setdefault(tuple(toks.lemmas), set()).add(eid)
        return cls(
            {k: tuple(sorted(v)) for k, v in index.items()},
            {},
            list(entities),
            lem,
            stopwords=stop,
            blacklist=black,
            lowercase=False,
            match_surface=False,
            kg_fingerprint=kg_fingerprint,
            mode="qagnn",
            concept_lemmas=lemmas,
            concept_of=[concept_name(n) for n in names],
        )

    # ------------------------------------------------------------------ settings

    @property
    def index_settings(self) -> dict[str, Any]:
        """Everything the saved index depends on, besides the KG itself."""
        return {
            "format_version": _FORMAT_VERSION,
            "mode": self.mode,
            "lemmatizer": self.lemmatizer.settings,
            "max_ngram": self.max_ngram,
            "lowercase": self.lowercase,
            "match_surface": self.match_surface,
            "stopwords": hashlib.sha256("\n".join(sorted(self.stopwords)).encode()).hexdigest(),
            "blacklist": sorted(self.blacklist),
        }

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the linker's output depends on (for cache keys)."""
        return {
            **self.index_settings,
            "keep_overlapping": self.keep_overlapping,
            "kg_fingerprint": self.kg_fingerprint,
        }

    @property
    def num_keys(self) -> int:
        """Number of distinct n-grams in the index."""
        return len(self._index)

    def __repr__(self) -> str:
        return (
            f"LexiconLinker(keys={len(self._index)}, entities={len(self.entities)}, "
            f"lemmatizer={self.lemmatizer!r}, mode={self.mode!r}, keep_overlapping={self.keep_overlapping})"
        )

    # ------------------------------------------------------------------ linking

    def __call__(self, text: str) -> list[Mention]:
        """Link one text; mentions sorted by ``(start, end, entity_id)``."""
        if not isinstance(text, str) or not text.strip():
            return []
        self._check_length(text)
        if self.mode == "qagnn":
            return self._match_qagnn(self.lemmatizer(_lower(text)), text)
        return self._match(self.lemmatizer(text), text)

    def pipe(
        self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1
    ) -> Iterator[list[Mention]]:
        """Link many texts lazily, in order (``n_process`` spaCy worker processes)."""
        from kglm.linking.lemmatizer import paused_gc

        a, b = tee(self._check_length(t) if isinstance(t, str) else "" for t in texts)
        qagnn = self.mode == "qagnn"
        match = self._match_qagnn if qagnn else self._match
        stream = zip(
            a, self.lemmatizer.pipe((_lower(t) for t in b) if qagnn else b, batch_size=batch_size, n_process=n_process)
        )
        while True:
            with paused_gc():  # one batch at a time; nothing yields while paused
                chunk = list(islice(stream, max(batch_size, 1)))
                out = [match(toks, text) for text, toks in chunk]
                ended = not chunk
                del chunk  # the tokens are freed now, not traversed by the next collection
            if ended:
                return
            yield from out

    def _check_length(self, text: str) -> str:
        limit = self.max_text_length
        if limit is not None and len(text) > limit:
            from kglm.errors import ResourceLimitError

            raise ResourceLimitError(
                f"a text of {len(text):,} characters is longer than the linker's max_text_length "
                f"({limit:,}); refusing to link it (starts {text[:40]!r})"
            )
        return text

    def link_tokens(self, tokens: Tokens, text: str) -> list[Mention]:
        """Link text that is already tokenized and lemmatized (e.g. a spaCy ``Doc``'s tokens).

        Args:
            tokens: the non-space tokens of ``text`` (offsets into it, lemmas as
                this linker's lemmatizer would give them, surface forms).
            text: the text the offsets point into.

        Raises:
            ValueError: in ``qagnn`` mode, which lemmatizes the lower-cased text itself.
        """
        if self.mode == "qagnn":
            raise ValueError("link_tokens is not available in qagnn mode; call the linker on the text")
        return self._match(tokens, text)

    def lookup(self, text: str) -> list[int]:
        """Entity ids whose label equals ``text`` after normalization, else ``[]``.

        Normalization: case folding, ``_`` as space, collapsed whitespace,
        surrounding punctuation stripped. Used as the whole-choice fallback
        in grounding.
        """
        if not isinstance(text, str):
            return []
        return list(self._exact.get(_normalize(text), ()))

    # ------------------------------------------------------------------ qagnn mode

    def concept_lemma(self, concept: str) -> str:
        """qagnn mode: the ``_``-joined out-of-context lemmas of a concept name (memoized)."""
        found = self._concept_lemmas.get(concept)
        if found is None:
            found = "_".join(self.lemmatizer(concept.replace("_", " ")).lemmas)
            self._concept_lemmas[concept] = found
        return found

    def concept_names(self, entity_ids: Iterable[int]) -> list[str]:
        """qagnn mode: the reference's concept names of entity ids (``"ice_hockey"``)."""
        return [self._concept_of[i] for i in entity_ids]

    def concept_ids(self, names: Iterable[str]) -> list[int]:
        """qagnn mode: entity ids of concept names; names that are not concepts are left out."""
        return [self._concepts[n] for n in names if n in self._concepts]

    def hard_ground(self, text: str) -> list[Mention]:
        """qagnn mode's fallback: token lemmas that are concepts, and the whole token sequence.

        One mention per concept, spanning the stripped text.
        """
        if self.mode != "qagnn" or not isinstance(text, str) or not text.strip():
            return []
        ids = self._hard.get(text)
        if ids is None:
            ids = self._hard_ids(text, self.lemmatizer(_lower(text)))
        if not ids:
            return []
        stripped = text.strip()
        start = text.index(stripped)
        end = start + len(stripped)
        return [Mention(start, end, text[start:end], i, self.entities[i], 1.0 / len(ids)) for i in ids]

    def _hard_ids(self, text: str, toks: Tokens) -> list[int]:
        from kglm.linking.qagnn import hard_ground_names

        ids = self.concept_ids(hard_ground_names([f.lower() for f in toks.forms], toks.lemmas, self._concepts))
        if len(self._hard) >= _HARD_LIMIT:
            self._hard.clear()
        self._hard[text] = ids
        return ids

    def _match_qagnn(self, toks: Tokens, text: str) -> list[Mention]:
        """Rules 2 and 3 of :mod:`kglm.linking.qagnn`: every pattern match, then per span text.

        Also keeps the text's hard-grounding concepts (rule 4), so that the
        fallback does not lemmatize the text again. The result equals
        :meth:`_match_qagnn_reference` (the same rules written plainly; a test
        compares them); this version walks the index once per start token and
        memoizes the per-span choice (rule 3 depends only on the span text and
        the matched concepts).
        """
        lemmas = toks.lemmas
        # rule 4's fallback ids of this text, kept for hard_ground (as hard_ground_names
        # and concept_ids give them, inlined: this runs for every text)
        concepts = self._concepts
        found = [lemma for lemma in lemmas if lemma in concepts]
        if len(lemmas) == 1:
            form = toks.forms[0].lower()
            if form in concepts:
                found.append(form)
        hard = self._hard
        if len(hard) >= _HARD_LIMIT:
            hard.clear()
        hard[text] = tuple(concepts[c] for c in dict.fromkeys(found)) if found else ()
        index = self._index
        if not lemmas or not index:
            return []
        prefixes, max_len = self._prefixes, self._max_len
        starts, ends = toks.starts, toks.ends
        n = len(lemmas)
        groups: dict[str, list[Any]] = {}  # span text -> [start, end, ids, merged]
        for i in range(n):
            key: tuple[str, ...] = (lemmas[i],)
            k = 1
            while True:
                ids = index.get(key)
                if ids is not None:
                    start, end = starts[i], ends[i + k - 1]
                    piece = text[start:end]
                    span = piece.lower()
                    if len(span) != len(piece):
                        span = _lower(piece)
                    group = groups.get(span)
                    if group is None:
                        groups[span] = [start, end, ids, False]
                    elif group[2] != ids:
                        group[2] = set(group[2]) | set(ids)
                        group[3] = True
                if k >= max_len or i + k >= n or key not in prefixes:
                    break
                key = key + (lemmas[i + k],)
                k += 1
        if not groups:
            return []
        entities, chosen_of = self.entities, self._span_choice
        mentions: list[Mention] = []
        for span, (start, end, ids, merged) in groups.items():
            ckey = (span, tuple(sorted(ids)) if merged else ids)
            chosen = chosen_of.get(ckey)
            if chosen is None:
                chosen = self._choose(span, ids)
                if len(chosen_of) >= _SPAN_CACHE_LIMIT:
                    chosen_of.clear()
                chosen_of[ckey] = chosen
            if chosen:
                piece = text[start:end]
                score = 1.0 / len(chosen)
                mentions.extend(Mention(start, end, piece, eid, entities[eid], score) for eid in chosen)
        mentions.sort(key=_mention_order)
        return mentions

    def _choose(self, span: str, ids: Iterable[int]) -> tuple[int, ...]:
        """Rule 3 for one span: the entity ids it links to."""
        from kglm.linking.qagnn import select_span_concepts

        names = self._concept_of
        return tuple(
            self.concept_ids(select_span_concepts(span, (names[i] for i in ids), self.concept_lemma, self.blacklist))
        )

    def _match_qagnn_reference(self, toks: Tokens, text: str) -> list[Mention]:
        """:meth:`_match_qagnn` written plainly (all matches, grouped by span text, rule 3 per
        group); kept as the readable statement of the rules that the tests compare it to."""
        from kglm.linking.qagnn import select_span_concepts

        if not toks.lemmas or not self._index:
            return []
        found = self._spans([(lemma,) for lemma in toks.lemmas])
        starts, ends = toks.starts, toks.ends
        groups: dict[str, tuple[int, int, set[int]]] = {}
        for (i, k), ids in sorted(found.items()):
            start, end = starts[i], ends[i + k - 1]
            span = _lower(text[start:end])
            group = groups.get(span)
            if group is None:
                groups[span] = (start, end, set(ids))
            else:
                group[2].update(ids)
        names, entities = self._concept_of, self.entities
        mentions: list[Mention] = []
        for span, (start, end, ids) in groups.items():
            chosen = self.concept_ids(
                select_span_concepts(span, (names[i] for i in ids), self.concept_lemma, self.blacklist)
            )
            for eid in chosen:
                mentions.append(Mention(start, end, text[start:end], eid, entities[eid], 1.0 / len(chosen)))
        mentions.sort(key=lambda m: (m.start, m.end, m.entity_id))
        return mentions

    def _spans(self, alts: list[tuple[str, ...]]) -> dict[tuple[int, int], tuple[int, ...]]:
        """All ``(start token, length) -> entity ids`` label matches.

        ``alts[i]`` holds the forms token ``i`` may take (its lemma, and its
        surface form when different); an n-gram matches when some choice of
        forms is a key. The walk from each start follows only key prefixes.
        """
        index, prefixes, max_len = self._index, self._prefixes, self._max_len
        out: dict[tuple[int, int], tuple[int, ...]] = {}
        n = len(alts)
        for i in range(n):
            frontier: list[tuple[str, ...]] = [()]
            k = 0
            while frontier and k < max_len and i + k < n:
                nxt: list[tuple[str, ...]] = []
                for prefix in frontier:
                    for form in alts[i + k]:
                        key = prefix + (form,)
                        ids = index.get(key)
                        if ids is not None:
                            old = out.get((i, k + 1))
                            out[(i, k + 1)] = ids if old is None or old == ids else tuple(sorted({*old, *ids}))
                        if key in prefixes:
                            nxt.append(key)
                frontier = nxt
                k += 1
        return out

    def _match(self, toks: Tokens, text: str) -> list[Mention]:
        if not toks.lemmas or not self._index:
            return []
        if self.lowercase:
            lemmas = [t.lower() for t in toks.lemmas]
            forms = [t.lower() for t in toks.forms]
        else:
            lemmas, forms = list(toks.lemmas), list(toks.forms)
        if self.match_surface:
            alts = [(a,) if a == b else (a, b) for a, b in zip(lemmas, forms)]
        else:
            alts = [(a,) for a in lemmas]
        found = self._spans(alts)
        if not found:
            return []
        if self.keep_overlapping:
            chosen = sorted(found)
        else:
            longest: dict[int, int] = {}
            for i, k in found:
                if k > longest.get(i, 0):
                    longest[i] = k
            chosen = []
            i, n = 0, len(lemmas)
            while i < n:
                k = longest.get(i)
                if k is None:
                    i += 1
                else:
                    chosen.append((i, k))
                    i += k
        starts, ends, entities = toks.starts, toks.ends, self.entities
        mentions: list[Mention] = []
        for i, k in chosen:
            start, end = starts[i], ends[i + k - 1]
            ids = found[(i, k)]
            score = 1.0 / len(ids)
            span = text[start:end]
            for eid in ids:
                mentions.append(Mention(start, end, span, eid, entities[eid], score))
        mentions.sort(key=lambda m: (m.start, m.end, m.entity_id))
        return mentions

    # ------------------------------------------------------------------ persistence

    def save(self, kg_dir: str | os.PathLike[str]) -> Path:
        """Write the index to ``kg_dir/extras/linker/`` atomically; return that path.

        Files: ``meta.json`` (format, KG fingerprint, settings), ``keys.json``
        and ``exact.json`` (token keys / normalized labels), ``ptr.npy``,
        ``ids.npy``, ``exact_ptr.npy``, ``exact_ids.npy`` (int64 CSR of entity ids),
        and ``lemma_memo.json``: the lemmatizer's ``(word, tag) -> lemma`` memo
        (:meth:`Lemmatizer.memo_state`), so that a process loading the index starts
        with the label words' lemmas known (written only when the memo is non-empty).
        """
        target = Path(kg_dir) / "extras" / _extra_name(self.mode)
        from kglm.utils.io import atomic_directory

        with atomic_directory(target) as tmp:
            keys = list(self._index)
            _write_csr(tmp, "", [self._index[k] for k in keys])
            exact_keys = list(self._exact)
            _write_csr(tmp, "exact_", [self._exact[k] for k in exact_keys])
            with open(tmp / "keys.json", "w", encoding="utf-8") as f:
                json.dump([_SEP.join(k) for k in keys], f)
            with open(tmp / "exact.json", "w", encoding="utf-8") as f:
                json.dump(exact_keys, f)
            if self.mode == "qagnn":
                with open(tmp / "lemmas.json", "w", encoding="utf-8") as f:
                    json.dump(self._concept_lemmas, f)
                with open(tmp / "concepts.json", "w", encoding="utf-8") as f:
                    json.dump(self._concept_of, f)
            memo = self.lemmatizer.memo_state()
            if memo["entries"]:
                with open(tmp / _MEMO_FILE, "w", encoding="utf-8") as f:
                    json.dump(memo, f, ensure_ascii=False, separators=(",", ":"))
            meta = {
                "kg_fingerprint": self.kg_fingerprint,
                "settings": self.index_settings,
                "num_keys": len(keys),
                "num_entities": len(self.entities),
            }
            with open(tmp / "meta.json", "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=1)
        return target

    @classmethod
    def cached(
        cls,
        kg: LabeledGraph,
        cache_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> LexiconLinker:
        """:meth:`load` for a KG that is not a saved directory (or whose directory is read-only).

        The index lives under ``cache_dir/linker/<KG fingerprint>/extras/linker/``
        (``cache_dir`` defaults to ``$KGLM_CACHE``, else ``.kglm_cache``); it is
        built and saved on the first call and loaded afterwards.

        Args:
            kg: the knowledge graph.
            cache_dir: the cache directory.
            **options: as for :meth:`from_kg`.
        """
        root = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        return cls.load(root / "linker" / str(kg.fingerprint)[:24], kg=kg, **options)

    @classmethod
    def load(
        cls,
        kg_dir: str | os.PathLike[str],
        kg: LabeledGraph | None = None,
        *,
        save: bool = True,
        **options: Any,
    ) -> LexiconLinker:
        """Load the index saved with the KG in ``kg_dir``, or build (and save) it.

        Args:
            kg_dir: a directory written by ``KnowledgeGraph.save``.
            kg: the already loaded KG of ``kg_dir``; ``None`` loads it.
            save: write a freshly built index back to ``kg_dir``.
            **options: as for :meth:`from_kg`. The saved index is used when its
                KG fingerprint and index settings equal the requested ones;
                otherwise (or when its files are damaged) it is rebuilt with a
                warning. A missing index is built silently.
        """
        if kg is None:
            from kglm.kg.graph import KnowledgeGraph

            kg = KnowledgeGraph.load(kg_dir)
        show_progress = options.pop("show_progress", None)
        n_process = options.pop("n_process", 1)
        mode = options.get("mode", "longest")
        qagnn = mode == "qagnn"
        probe = cls(
            {},
            {},
            [],
            get_lemmatizer(options.get("lemmatizer", "auto")),
            max_ngram=None if qagnn else options.get("max_ngram"),
            stopwords=(
                _default_stopwords(mode)
                if options.get("stopwords") is None
                else frozenset(w.lower() for w in options["stopwords"])
            ),
            blacklist=_default_blacklist(mode, options.get("blacklist")),
            lowercase=False if qagnn else options.get("lowercase", True),
            match_surface=False if qagnn else options.get("match_surface", True),
            mode=mode,
        )
        target = Path(kg_dir) / "extras" / _extra_name(mode)
        reason = None
        if (target / "meta.json").exists():
            try:
                with open(target / "meta.json", encoding="utf-8") as f:
                    meta = json.load(f)
                if meta.get("kg_fingerprint") != kg.fingerprint:
                    reason = "the knowledge graph changed"
                elif meta.get("settings") != probe.index_settings:
                    reason = "the linker settings changed"
                else:
                    return cls._load_index(target, kg, probe, options, qagnn, mode)
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
                reason = f"its files are damaged ({type(exc).__name__}: {str(exc)[:200]})"
        if reason is not None:
            warnings.warn(f"rebuilding the linker index in {target}: {reason}", stacklevel=2)
        options["lemmatizer"] = probe.lemmatizer
        linker = cls.from_kg(kg, show_progress=show_progress, n_process=n_process, **options)
        if save:
            try:
                linker.save(kg_dir)
            except OSError as exc:
                warnings.warn(f"could not save the linker index to {target}: {exc}", stacklevel=2)
        return linker

    @classmethod
    def _load_index(
        cls, target: Path, kg: LabeledGraph, probe: LexiconLinker, options: dict[str, Any], qagnn: bool, mode: str
    ) -> LexiconLinker:
        """Read a saved index whose fingerprint and settings matched (raises on damaged files)."""
        from kglm.linking.lemmatizer import paused_gc

        with paused_gc():  # hundreds of thousands of small objects that all live on
            keys = _read_json_list(target / "keys.json")
            exact_keys = _read_json_list(target / "exact.json")
            values = _read_csr(target, "", len(keys))
            exact_values = _read_csr(target, "exact_", len(exact_keys))
            index = {tuple(k.split(_SEP)): v for k, v in zip(keys, values)}
            exact = dict(zip(exact_keys, exact_values))
            lemmas: dict[str, str] | None = None
            concepts: list[str] | None = None
            if qagnn:
                with open(target / "lemmas.json", encoding="utf-8") as f:
                    lemmas = json.load(f)
                if not isinstance(lemmas, dict):
                    raise ValueError("lemmas.json is not an object")
                concepts = _read_json_list(target / "concepts.json")
            num = len(kg.entities)
            if any(i < 0 or i >= num for v in values for i in v[:1] + v[-1:]):
                raise ValueError("entity id out of range")
            _seed_memo(target / _MEMO_FILE, probe.lemmatizer)
            linker = cls(
                index,
                exact,
                list(kg.entities),
                probe.lemmatizer,
                max_ngram=probe.max_ngram,
                keep_overlapping=bool(options.get("keep_overlapping", False)),
                stopwords=probe.stopwords,
                blacklist=probe.blacklist,
                lowercase=probe.lowercase,
                match_surface=probe.match_surface,
                kg_fingerprint=kg.fingerprint,
                mode=mode,
                concept_lemmas=lemmas,
                concept_of=concepts,
            )
            _settle_young_objects()
            return linker


def _settle_young_objects() -> None:
    """One young-generation collection over the objects an index build or load just made.

    It untracks the index's tuples of strings and ints (the collector then never walks them
    again), here rather than in the first linking call after a GC pause: at 5M entities that
    is a few seconds that belong to the load, not to grounding.
    """
    import gc

    gc.collect(0)
    gc.collect(1)  # a tuple holding tuples is untracked once those are: a second visit


_MEMO_FILE = "lemma_memo.json"
_MEMO_BYTES = 256 << 20


def _seed_memo(path: Path, lemmatizer: Lemmatizer) -> None:
    """Seed ``lemmatizer``'s memo from ``path`` if there is one (an index saved
    without one, or by the ``"rule"``/``"lookup"`` lemmatizers, has none).

    Raises:
        ValueError: the memo is oversized, not JSON, or fails
            :meth:`Lemmatizer.load_memo`'s checks (format, settings, checksum,
            shape); :meth:`LexiconLinker.load` then warns and rebuilds the index,
            memo included, as for any damaged index file.
    """
    if not path.exists():
        return
    if path.stat().st_size > _MEMO_BYTES:
        raise ValueError(f"{path.name} is larger than {_MEMO_BYTES} bytes")
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    lemmatizer.load_memo(state)


def _add_id(table: dict[Any, Any], key: Any, eid: int) -> None:
    """Add ``eid`` to ``table[key]``: an int for one id, a list for more (smaller than sets)."""
    old = table.get(key)
    if old is None:
        table[key] = eid
    elif isinstance(old, int):
        if old != eid:
            table[key] = [old, eid]
    else:
        old.append(eid)


_SPAN_CACHE_LIMIT = 500_000  # the per-span choices memo is cleared past this size
_HARD_LIMIT = 200_000  # texts whose hard-grounding ids are kept (qagnn mode)


def _mention_order(m: Mention) -> tuple[int, int, int]:
    return (m.start, m.end, m.entity_id)


def _extra_name(mode: str) -> str:
    """The index directory under ``extras/``: one per mode, so switching modes rebuilds nothing."""
    return _EXTRA_NAME if mode == "longest" else f"{_EXTRA_NAME}-{mode}"


def _lower(text: str) -> str:
    """``text.lower()`` where that keeps every character's offset, else character by character."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _default_stopwords(mode: str) -> frozenset[str]:
    if mode == "qagnn":
        from kglm.linking.qagnn import NLTK_STOPWORDS

        return NLTK_STOPWORDS
    return ENGLISH_STOPWORDS


def _default_blacklist(mode: str, blacklist: Iterable[str] | None) -> frozenset[str]:
    if blacklist is None:
        blacklist = QAGNN_BLACKLIST if mode == "qagnn" else ()
    return frozenset(str(b).lower() for b in blacklist)


def _default_cache_dir() -> Path:
    from kglm.utils.paths import cache_dir

    return cache_dir()


def _write_csr(directory: Path, prefix: str, values: list[tuple[int, ...]]) -> None:
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    ptr = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    flat = np.fromiter((i for v in values for i in v), dtype=np.int64, count=int(ptr[-1]))
    np.save(directory / f"{prefix}ptr.npy", ptr, allow_pickle=False)
    np.save(directory / f"{prefix}ids.npy", flat, allow_pickle=False)


def _read_csr(directory: Path, prefix: str, count: int) -> list[tuple[int, ...]]:
    ptr = np.load(directory / f"{prefix}ptr.npy", allow_pickle=False)
    flat = np.load(directory / f"{prefix}ids.npy", allow_pickle=False)
    if ptr.shape != (count + 1,) or ptr[0] != 0 or ptr[-1] != len(flat) or np.any(np.diff(ptr) < 0):
        raise ValueError("index arrays do not match the keys")
    bounds = ptr.tolist()
    ids = flat.tolist()
    return [tuple(ids[bounds[j] : bounds[j + 1]]) for j in range(count)]


def _read_json_list(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ValueError(f"{path.name} is not a list of strings")
    return data
