"""The ``"kglm_linker"`` spaCy pipeline component.

Importing this module registers the factory (``import kglm.linking.spacy_component``);
with the package's ``spacy_factories`` entry point spaCy finds it by name alone.

>>> import spacy, kglm.linking.spacy_component  # doctest: +SKIP
>>> nlp = spacy.blank("en")  # doctest: +SKIP
>>> nlp.add_pipe("kglm_linker", config={"kg": "path/to/kg_dir"})  # doctest: +SKIP

The component links ``doc.text`` with a :class:`~kglm.linking.LexiconLinker`
loaded from the saved KG directory (its index under ``extras/linker/`` is built
and saved on first use) and sets

* ``doc._.kg_mentions``: every :class:`~kglm.linking.Mention` (overlapping and
  ambiguous ones included), always;
* ``doc.ents``: one span per mention, label ``"KG"`` (``label`` option),
  ``kb_id_`` = entity name, for the mentions that fit: spans already in
  ``doc.ents`` are kept, overlapping candidates are resolved longest-first
  (:func:`spacy.util.filter_spans`), and for an ambiguous span the entity with
  the smallest id is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from kglm.linking.lexicon import LexiconLinker
from kglm.linking.mention import Mention

__all__ = ["KGLinkerComponent", "make_linker"]

if not Doc.has_extension("kg_mentions"):
    Doc.set_extension("kg_mentions", default=None)


class KGLinkerComponent:
    """spaCy component: link a ``Doc`` to KG entities (see module docstring).

    Args:
        linker: the linker to run on ``doc.text``.
        label: entity label of the spans put in ``doc.ents``.
        set_ents: write ``doc.ents`` (``doc._.kg_mentions`` is always set).
    """

    def __init__(self, linker: LexiconLinker, label: str = "KG", set_ents: bool = True):
        self.linker = linker
        self.label = label
        self.set_ents = set_ents

    def __call__(self, doc: Doc) -> Doc:
        """Link ``doc.text`` and annotate ``doc``."""
        return self._annotate(doc, self.linker(doc.text))

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
            existing = list(doc.ents)
            kept = filter_spans(existing + spans)
            # filter_spans prefers longer spans; never drop an entity the doc already had
            taken = {(s.start, s.end) for s in existing}
            blocked = [False] * len(doc)
            for s in existing:
                for t in range(s.start, s.end):
                    blocked[t] = True
            new = [
                s for s in kept
                if (s.start, s.end) not in taken and not any(blocked[s.start : s.end])
            ]
            doc.ents = sorted(existing + new, key=lambda s: s.start)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Process a stream of docs (the linker lemmatizes each text in batches)."""
        it = iter(docs)
        while True:
            batch = list(islice(it, batch_size))
            if not batch:
                return
            for doc, mentions in zip(batch, self.linker.pipe([d.text for d in batch], batch_size=batch_size)):
                yield self._annotate(doc, mentions)


@Language.factory(
    "kglm_linker",
    default_config={
        "kg": "",
        "lemmatizer": "auto",
        "keep_overlapping": False,
        "max_ngram": None,
        "label": "KG",
        "set_ents": True,
    },
)
def make_linker(
    nlp: Language,
    name: str,
    kg: str,
    lemmatizer: str = "auto",
    keep_overlapping: bool = False,
    max_ngram: int | None = None,
    label: str = "KG",
    set_ents: bool = True,
) -> KGLinkerComponent:
    """Factory of the ``"kglm_linker"`` component.

    Args:
        nlp: the pipeline (unused: the linker tokenizes with its own lemmatizer).
        name: component name.
        kg: directory of a saved :class:`~kglm.kg.KnowledgeGraph`.
        lemmatizer: lemmatizer mode of the linker (see :mod:`kglm.linking.lemmatizer`).
        keep_overlapping: keep all overlapping n-gram matches in ``doc._.kg_mentions``.
        max_ngram: longest n-gram matched (``None``: the longest label).
        label: label of the spans set in ``doc.ents``.
        set_ents: write ``doc.ents``.
    """
    if not kg:
        raise ValueError('kglm_linker needs config={"kg": "path/to/saved/kg"}')
    linker = LexiconLinker.load(
        kg, lemmatizer=lemmatizer, keep_overlapping=keep_overlapping, max_ngram=max_ngram
    )
    return KGLinkerComponent(linker, label=label, set_ents=set_ents)
