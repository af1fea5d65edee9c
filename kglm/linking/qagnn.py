"""The grounding rules of the QA-GNN / MHGRN reference code, as a linker mode.

``LexiconLinker(..., mode="qagnn")`` links the way the public QA-GNN grounding
script (``utils/grounding.py`` of QA-GNN, the same rules in MHGRN) does, so that
models trained on kglm's grounding see the concepts the published models saw.
The rules, re-implemented here from their description (no code copied):

1. **Which labels are patterns.** A label is indexed only when it has at most
   four tokens, its first and last tokens are not pronouns
   (:data:`QAGNN_PRONOUNS`: "you get", "his house" are never matched), and not
   every token is a stop word or blacklisted (by text or lemma). The pattern is
   the sequence of the label's lemmas, the label lemmatized *on its own*.
2. **Matching.** The text is lower-cased and lemmatized in context; every
   lemma n-gram equal to a pattern is a match, overlapping and nested matches
   included (spaCy ``Matcher`` semantics).
3. **Per span.** Matches are grouped by their span text. A one-token concept
   also proposes its own out-of-context lemma ("best" -> "well"). Of the three
   shortest candidates (ties broken by name here; the reference leaves them in
   set order), each one not in the blacklist is replaced by its lemma when that
   lemma is among the three, and kept otherwise; a candidate whose text equals
   the span is always kept. So "do well" links ``well``, never ``best``.
4. **Per statement.** Question concepts are those of the question minus spans
   whose text is the answer's text, minus the answer's concepts. An empty side
   falls back to *hard grounding*: each token lemma that is a concept (and a
   one-token text that is one).
5. **Pruning** (:func:`prune_concepts`): a concept ``X + "er"`` or ``X + "e"``
   is dropped when ``X`` is also there; a question concept with any stop-word
   token is dropped, an answer concept made only of stop words too.

Concepts are named by the entity's first label (its name when it has no
label), lower-cased, with ``_`` between words (``"ice_hockey"``), as in
ConceptNet; so a KG whose entities are URIs (RDF) works the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "NLTK_STOPWORDS",
    "QAGNN_PRONOUNS",
    "concept_name",
    "is_pattern",
    "prune_concepts",
    "select_span_concepts",
]

#: NLTK's English stop-word list (179 words), the one the reference uses.
NLTK_STOPWORDS: frozenset[str] = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours
    yourself yourselves he him his himself she she's her hers herself it it's its itself
    they them their theirs themselves what which who whom this that that'll these those
    am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under
    again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just
    don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't
    didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn
    mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
    weren weren't won won't wouldn wouldn't""".split()
)

#: A label whose first or last token is one of these is never a pattern.
QAGNN_PRONOUNS: frozenset[str] = frozenset(
    "my you it its your i he she his her they them their our we".split()
)

#: Labels with this many tokens or more are never patterns.
MAX_PATTERN_TOKENS = 4


def concept_name(entity: str) -> str:
    """The reference's name of a concept: the entity name with ``_`` between its words."""
    return "_".join(entity.split())


def is_pattern(
    forms: Sequence[str],
    lemmas: Sequence[str],
    stopwords: frozenset[str] = NLTK_STOPWORDS,
    blacklist: frozenset[str] = frozenset(),
) -> bool:
    """Whether a label with these tokens (surface forms, out-of-context lemmas) is indexed (rule 1)."""
    if not forms or len(forms) > MAX_PATTERN_TOKENS:
        return False
    if forms[0] in QAGNN_PRONOUNS or forms[-1] in QAGNN_PRONOUNS:
        return False
    return not all(f in stopwords or l in stopwords or l in blacklist for f, l in zip(forms, lemmas))


def select_span_concepts(
    span: str,
    candidates: Iterable[str],
    lemma_of: Callable[[str], str],
    blacklist: frozenset[str],
) -> list[str]:
    """The concepts one span links to (rule 3); sorted by name.

    Args:
        span: the span text (lower-cased).
        candidates: the names of the concepts whose patterns matched the span.
        lemma_of: a concept name -> the ``_``-joined lemmas of its words, each
            lemmatized out of context.
        blacklist: concept names never linked (except by an exact match).
    """
    pool = set(candidates)
    for c in list(pool):
        if "_" not in c:
            pool.add(lemma_of(c))
    ordered = sorted(pool, key=lambda c: (len(c), c))
    shortest = ordered[:3]
    out: set[str] = set()
    for c in shortest:
        if c in blacklist:
            continue
        lemma = lemma_of(c)
        out.add(lemma if lemma in shortest else c)
    out.update(c for c in ordered if c.replace("_", " ") == span)
    return sorted(out)


def prune_concepts(names: Sequence[str], question: bool, stopwords: frozenset[str] = NLTK_STOPWORDS) -> list[str]:
    """Rule 5: the concepts of one side (``question=True``: question side) kept, in order."""
    present = set(names)
    flags = _STOP_FLAGS if stopwords is NLTK_STOPWORDS else {}
    kept = []
    for c in names:
        if (c.endswith("er") and c[:-2] in present) or (c.endswith("e") and c[:-1] in present):
            continue
        f = flags.get(c)
        if f is None:
            words = c.split("_")
            f = (any(w in stopwords for w in words), all(w in stopwords for w in words))
            if len(flags) < 1_000_000:
                flags[c] = f
        if f[0] if question else f[1]:
            continue
        kept.append(c)
    return kept


#: concept name -> (has a stop-word word, is only stop words), for NLTK's list
_STOP_FLAGS: dict[str, tuple[bool, bool]] = {}


def hard_ground_names(
    forms: Sequence[str], lemmas: Sequence[str], concepts: Mapping[str, int]
) -> list[str]:
    """Rule 4's fallback: token lemmas that are concepts, and the whole token sequence."""
    found = [l for l in lemmas if l in concepts]
    # the reference also tries the whole token sequence, but writes it with spaces,
    # so its vocabulary check (names with "_") keeps it only when it is one token
    if len(forms) == 1 and forms[0] in concepts:
        found.append(forms[0])
    return list(dict.fromkeys(found))
