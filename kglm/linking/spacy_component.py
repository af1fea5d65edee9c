"""The ``"kglm_linker"`` spaCy pipeline component.

Importing this module registers the factory and the ``"kglm.LinkerLoader.v1"``
loader (``import kglm.linking.spacy_component``); with the package's
``spacy_factories`` entry point spaCy finds the factory by name alone.

The KG is given the spaCy way, at initialisation, by a loader in the
``[initialize]`` block of the pipeline config::

    [components.kglm_linker]
    factory = "kglm_linker"

    [initialize.components.kglm_linker.linker_loader]
    @misc = "kglm.LinkerLoader.v1"
    kg = "path/to/saved/kg"
    lemmatizer = "auto"

or in Python:

>>> import spacy, kglm.linking.spacy_component  # doctest: +SKIP
>>> nlp = spacy.blank("en")  # doctest: +SKIP
>>> nlp.add_pipe("kglm_linker")  # doctest: +SKIP
>>> nlp.get_pipe("kglm_linker").initialize(linker_loader=load_linker("path/to/kg_dir"))  # doctest: +SKIP

(``config={"kg": "path/to/kg_dir"}`` in ``add_pipe`` is a shortcut that loads
it at once.) ``nlp.to_disk`` saves the KG and the linker's index with the
pipeline, so ``spacy.load`` needs neither again.

The component links the doc's own tokens: their lemmas when the pipeline
has a lemmatizer (and the linker's lemmatizer is spaCy-based), else the
linker's per-word rule lemmas (``lemmatizer="rule"``); only a linker in
``lookup``/``spacy`` mode on a doc without lemmas, or in ``qagnn`` mode, falls
back to lemmatizing ``doc.text`` itself. It sets

* ``doc._.kg_mentions``: every :class:`~kglm.linking.Mention` (overlapping and
  ambiguous ones included), always;
* ``doc.ents``: one span per mention, label ``"KG"`` (``label`` option),
  ``kb_id_`` = entity name, for the mentions that fit: overlapping candidates
  are resolved longest-first (:func:`spacy.util.filter_spans`), for an
  ambiguous span the entity with the smallest id is used, and spans already in
  ``doc.ents`` are kept unless ``overwrite_ents=True`` (then KG spans replace
  the entities they overlap).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, registry

from kglm.linking.lemmatizer import Tokens, rule_lemma
from kglm.linking.lexicon import LexiconLinker
from kglm.linking.mention import Mention

__all__ = ["KGLinkerComponent", "make_linker", "load_linker"]

if not Doc.has_extension("kg_mentions"):
    Doc.set_extension("kg_mentions", default=None)

_CFG = "cfg.json"
_KG = "kg"


@registry.misc("kglm.LinkerLoader.v1")
def load_linker(
    kg: str,
    lemmatizer: str = "auto",
    keep_overlapping: bool = False,
    max_ngram: int | None = None,
) -> Callable[..., Any]:
    """A loader for ``[initialize.components.<name>.linker_loader]``: the linker of a saved KG.

    Args:
        kg: directory of a saved :class:`~kglm.kg.KnowledgeGraph` (its linker
            index under ``extras/linker/`` is built and saved on first use).
        lemmatizer: lemmatizer mode of the linker (see :mod:`kglm.linking.lemmatizer`).
        keep_overlapping: keep all overlapping n-gram matches in ``doc._.kg_mentions``.
        max_ngram: longest n-gram matched (``None``: the longest label).
    """

    def load(vocab: Any = None) -> LexiconLinker:
        return LexiconLinker.load(kg, lemmatizer=lemmatizer, keep_overlapping=keep_overlapping, max_ngram=max_ngram)

    load.kg_dir = kg  # type: ignore[attr-defined]
    load.options = {"lemmatizer": lemmatizer, "keep_overlapping": keep_overlapping, "max_ngram": max_ngram}  # type: ignore[attr-defined]
    return load


class KGLinkerComponent:
    """spaCy component: link a ``Doc`` to KG entities (see module docstring).

    Args:
        nlp: the pipeline.
        name: the component's name.
        label: entity label of the spans put in ``doc.ents``.
        set_ents: write ``doc.ents`` (``doc._.kg_mentions`` is always set).
        overwrite_ents: KG spans replace overlapping entities already in ``doc.ents``.
        linker: the linker, when already built (else :meth:`initialize` loads it).
    """

    def __init__(
        self,
        nlp: Language | None = None,
        name: str = "kglm_linker",
        *,
        label: str = "KG",
        set_ents: bool = True,
        overwrite_ents: bool = False,
        linker: LexiconLinker | None = None,
    ):
        self.name = name
        self.label = label
        self.set_ents = set_ents
        self.overwrite_ents = overwrite_ents
        self.linker = linker
        self._kg_dir: str | None = None
        self._options: dict[str, Any] = {}

    # ------------------------------------------------------------------ setup
    def initialize(
        self,
        get_examples: Any = None,
        *,
        nlp: Any = None,
        linker_loader: Any = None,
    ) -> None:
        """Load the linker (``nlp.initialize()`` calls this with the ``[initialize]`` settings).

        Raises:
            ValueError: without a ``linker_loader`` when no linker is loaded yet.
        """
        if linker_loader is None:
            if self.linker is None:
                raise ValueError(
                    f"{self.name} needs a KG: set [initialize.components.{self.name}.linker_loader] "
                    '(@misc = "kglm.LinkerLoader.v1", kg = "path/to/saved/kg") or pass '
                    'config={"kg": "path/to/saved/kg"} to add_pipe'
                )
            return
        self.linker = linker_loader(nlp.vocab if nlp is not None else None)
        self._kg_dir = getattr(linker_loader, "kg_dir", None)
        self._options = dict(getattr(linker_loader, "options", {}))

    def _require(self) -> LexiconLinker:
        if self.linker is None:
            raise ValueError(f"{self.name} is not initialized: call nlp.initialize() with its linker_loader")
        return self.linker

    # ------------------------------------------------------------------ linking
    def _tokens(self, doc: Doc) -> Tokens | None:
        """The doc's own non-space tokens with lemmas the linker's index understands (``None``: not possible)."""
        linker = self._require()
        if linker.mode == "qagnn":
            return None
        mode = getattr(linker.lemmatizer, "mode", None)
        words = [t for t in doc if not t.is_space]
        if mode == "rule":
            lemmas = [rule_lemma(t.text) for t in words]
        elif mode in ("spacy", "auto") and doc.has_annotation("LEMMA"):
            lemmas = [t.lemma_ or t.text for t in words]
        else:
            return None
        return Tokens([t.idx for t in words], [t.idx + len(t.text) for t in words], lemmas, [t.text for t in words])

    def _link(self, doc: Doc) -> list[Mention]:
        tokens = self._tokens(doc)
        if tokens is None:
            return self._require()(doc.text)
        return self._require().link_tokens(tokens, doc.text)

    def __call__(self, doc: Doc) -> Doc:
        """Link the doc's tokens and annotate ``doc``."""
        return self._annotate(doc, self._link(doc))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Process a stream of docs."""
        it = iter(docs)
        while True:
            batch = list(islice(it, batch_size))
            if not batch:
                return
            if all(self._tokens(d) is not None for d in batch):
                yield from (self(d) for d in batch)
                continue
            for doc, mentions in zip(batch, self._require().pipe([d.text for d in batch], batch_size=batch_size)):
                yield self._annotate(doc, mentions)

    def _annotate(self, doc: Doc, mentions: list[Mention]) -> Doc:
        doc._.kg_mentions = mentions
        if self.set_ents and mentions:
            spans: list[Span] = []
            seen: set[tuple[int, int]] = set()
            for m in mentions:  # sorted by (start, end, entity_id): first = smallest id
                if (m.start, m.end) in seen:
                    continue
                seen.add((m.start, m.end))
                span = doc.char_span(m.start, m.end, label=self.label, kb_id=m.entity, alignment_mode="expand")
                if span is not None:
                    spans.append(span)
            kept = filter_spans(spans)  # longest first, no overlaps
            existing = list(doc.ents)
            if self.overwrite_ents:
                covered = [False] * len(doc)
                for s in kept:
                    for t in range(s.start, s.end):
                        covered[t] = True
                others = [s for s in existing if not any(covered[s.start : s.end])]
                doc.ents = sorted(others + kept, key=lambda s: s.start)
            else:  # never drop an entity the doc already had
                blocked = [False] * len(doc)
                for s in existing:
                    for t in range(s.start, s.end):
                        blocked[t] = True
                taken = {(s.start, s.end) for s in existing}
                new = [s for s in filter_spans(existing + spans)
                       if (s.start, s.end) not in taken and not any(blocked[s.start : s.end])]
                doc.ents = sorted(existing + new, key=lambda s: s.start)
        return doc

    # ------------------------------------------------------------------ serialization
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the settings, the KG and the linker's index under ``path``."""
        from kglm.kg.graph import KnowledgeGraph

        linker = self._require()
        if self._kg_dir is None:
            raise ValueError(f"{self.name}: only a linker loaded from a saved KG (linker_loader) can be saved")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        cfg = {"label": self.label, "set_ents": self.set_ents, "overwrite_ents": self.overwrite_ents,
               "options": self._options}
        (out / _CFG).write_text(json.dumps(cfg, indent=1), encoding="utf-8")
        KnowledgeGraph.load(self._kg_dir).save(out / _KG)
        linker.save(out / _KG)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> KGLinkerComponent:
        """Load what :meth:`to_disk` wrote (``spacy.load`` calls this)."""
        src = Path(path)
        cfg = json.loads((src / _CFG).read_text(encoding="utf-8"))
        self.label, self.set_ents, self.overwrite_ents = cfg["label"], cfg["set_ents"], cfg["overwrite_ents"]
        self._options = dict(cfg.get("options", {}))
        self._kg_dir = str(src / _KG)
        self.linker = LexiconLinker.load(self._kg_dir, save=False, **self._options)
        return self


@Language.factory(
    "kglm_linker",
    assigns=["doc.ents", "doc._.kg_mentions"],
    default_config={
        "label": "KG",
        "set_ents": True,
        "overwrite_ents": False,
        "kg": None,
        "lemmatizer": "auto",
        "keep_overlapping": False,
        "max_ngram": None,
    },
)
def make_linker(
    nlp: Language,
    name: str,
    label: str = "KG",
    set_ents: bool = True,
    overwrite_ents: bool = False,
    kg: str | None = None,
    lemmatizer: str = "auto",
    keep_overlapping: bool = False,
    max_ngram: int | None = None,
) -> KGLinkerComponent:
    """Factory of the ``"kglm_linker"`` component.

    Args:
        nlp: the pipeline.
        name: component name.
        label: label of the spans set in ``doc.ents``.
        set_ents: write ``doc.ents``.
        overwrite_ents: KG spans replace overlapping entities already in ``doc.ents``.
        kg: shortcut: a saved KG directory to load at once (the spaCy way is the
            ``[initialize]`` loader, see the module docstring).
        lemmatizer, keep_overlapping, max_ngram: linker options for the ``kg`` shortcut.
    """
    component = KGLinkerComponent(nlp, name, label=label, set_ents=set_ents, overwrite_ents=overwrite_ents)
    if kg:
        component.initialize(nlp=nlp, linker_loader=load_linker(kg, lemmatizer, keep_overlapping, max_ngram))
    return component
