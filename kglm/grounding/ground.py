"""Ground multiple-choice questions: which KG entities each (question, choice) is about.

The convention of MHGRN / QA-GNN: for each choice,

* **answer entities** are the entities linked in the choice text; when nothing
  links there, the whole choice text is tried as one concept (its normalized
  text must equal a KG label exactly, see :meth:`LexiconLinker.lookup
  <kglm.linking.LexiconLinker.lookup>`), else the list stays empty;
* **question entities** are the entities linked in the question stem, minus the
  answer entities of that choice.

Entity lists are unique and in order of first mention; the mentions are kept
(character spans into the question / choice text) for ERNIE-style token
alignment.

A linker in the ``"qagnn"`` mode (``LexiconLinker(mode="qagnn")``) gets the
reference's per-choice rules instead (:mod:`kglm.linking.qagnn`, rules 4-5):
question spans whose text is the choice's text are left out, an empty side
falls back to hard grounding rather than the whole-choice lookup, and both
sides are pruned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kglm.linking.mention import EntityLinker, Mention

__all__ = ["GroundedChoice", "ground_choices", "ground_examples"]


class _Example(Protocol):
    question: str
    choices: list[str]


@dataclass
class GroundedChoice:
    """The KG entities of one (question, choice) pair.

    Attributes:
        question_entities: entity ids linked in the stem, minus ``answer_entities``.
        answer_entities: entity ids linked in the choice (or the whole-choice fallback).
        question_mentions: every mention in the question text (those of answer
            entities included), sorted by offset.
        answer_mentions: the mentions in the choice text; for the fallback, one
            mention per entity spanning the stripped choice text.
    """

    question_entities: list[int] = field(default_factory=list)
    answer_entities: list[int] = field(default_factory=list)
    question_mentions: list[Mention] = field(default_factory=list)
    answer_mentions: list[Mention] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "question_entities": list(self.question_entities),
            "answer_entities": list(self.answer_entities),
            "question_mentions": [m.to_dict() for m in self.question_mentions],
            "answer_mentions": [m.to_dict() for m in self.answer_mentions],
        }

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        mentions: dict[tuple[Any, ...], Mention] | None = None,
        strings: dict[str, str] | None = None,
    ) -> GroundedChoice:
        """Inverse of :meth:`to_dict`.

        ``mentions`` and ``strings``: dicts kept between calls, so that equal mentions are one
        (immutable) object (pass one dict for the choices of a question: its mentions, repeated
        in every choice, are then stored once) and equal strings are one string. The cache of a
        SWAG-length data set linked against ConceptNet + WordNet holds millions of mentions.
        """

        def mention(m: dict[str, Any]) -> Mention:
            made = Mention.from_dict(m)
            key = (made.start, made.end, made.text, made.entity_id, made.entity, made.score)
            if mentions is not None and key in mentions:
                return mentions[key]  # another choice of the question has it
            if strings is not None:
                made = Mention(made.start, made.end, strings.setdefault(made.text, made.text), made.entity_id,
                               strings.setdefault(made.entity, made.entity), made.score)
            if mentions is not None:
                mentions[key] = made
            return made

        return cls(
            question_entities=[int(i) for i in data["question_entities"]],
            answer_entities=[int(i) for i in data["answer_entities"]],
            question_mentions=[mention(m) for m in data["question_mentions"]],
            answer_mentions=[mention(m) for m in data["answer_mentions"]],
        )


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _fallback(linker: EntityLinker, choice: str) -> list[Mention]:
    lookup = getattr(linker, "lookup", None)
    if lookup is None or not isinstance(choice, str):
        return []
    ids = lookup(choice)
    if not ids:
        return []
    stripped = choice.strip()
    start = choice.index(stripped) if stripped else 0
    end = start + len(stripped)
    names = getattr(linker, "entities", None)
    return [
        Mention(start, end, choice[start:end], int(i), str(names[i]) if names is not None else str(i), 1.0 / len(ids))
        for i in ids
    ]


def _norm_span(text: str) -> str:
    return " ".join(text.lower().split())


def _ground_qagnn(
    linker: Any, question: str, question_mentions: list[Mention], choice: str, choice_mentions: list[Mention]
) -> GroundedChoice:
    """Rules 4 and 5 of :mod:`kglm.linking.qagnn` for one (question, choice)."""
    from kglm.linking.qagnn import prune_concepts

    answer_text = _norm_span(choice if isinstance(choice, str) else "")
    kept = [m for m in question_mentions if _norm_span(m.text) != answer_text]
    answer = _unique(m.entity_id for m in choice_mentions)
    answer_set = set(answer)
    q_mentions = [m for m in kept if m.entity_id not in answer_set]
    if not q_mentions:
        q_mentions = linker.hard_ground(question)
    a_mentions = list(choice_mentions) or linker.hard_ground(choice)
    q_names = prune_concepts(linker.concept_names(_unique(m.entity_id for m in q_mentions)), question=True)
    a_names = prune_concepts(linker.concept_names(_unique(m.entity_id for m in a_mentions)), question=False)
    q_ids, a_ids = linker.concept_ids(q_names), linker.concept_ids(a_names)
    a_keep = set(a_ids)
    return GroundedChoice(
        q_ids, a_ids, list(question_mentions), [m for m in a_mentions if m.entity_id in a_keep]
    )


def _ground(
    linker: EntityLinker,
    question_mentions: list[Mention],
    choice: str,
    choice_mentions: list[Mention],
    question: str = "",
) -> GroundedChoice:
    if getattr(linker, "mode", None) == "qagnn":
        return _ground_qagnn(linker, question, question_mentions, choice, choice_mentions)
    if not choice_mentions:
        choice_mentions = _fallback(linker, choice)
    answer = _unique(m.entity_id for m in choice_mentions)
    answer_set = set(answer)
    question = [e for e in _unique(m.entity_id for m in question_mentions) if e not in answer_set]
    return GroundedChoice(question, answer, list(question_mentions), list(choice_mentions))


def ground_choices(linker: EntityLinker, question: str, choices: Sequence[str]) -> list[GroundedChoice]:
    """Ground every choice of one question (see the module docstring for the rules).

    Args:
        linker: any entity linker (``linker(text) -> list[Mention]``); a
            :class:`~kglm.linking.LexiconLinker` also gives the whole-choice fallback.
        question: the question stem.
        choices: the answer choices.

    Returns:
        One :class:`GroundedChoice` per choice, in order.
    """
    question = question if isinstance(question, str) else ""
    q_mentions = linker(question)
    return [
        _ground(linker, q_mentions, c, linker(c if isinstance(c, str) else ""), question) for c in choices
    ]


def ground_examples(
    linker: EntityLinker,
    examples: Iterable[_Example],
    batch_size: int = 256,
    n_process: int = 1,
    show_progress: bool | None = None,
) -> list[list[GroundedChoice]]:
    """Ground many multiple-choice examples, linking each distinct text once.

    Args:
        linker: the entity linker; its ``pipe`` runs over the distinct stems and
            choice texts in batches of ``batch_size``.
        examples: objects with ``question`` (str) and ``choices`` (list of str),
            such as :class:`~kglm.datasets.MultipleChoiceExample`.
        n_process: worker processes for ``linker.pipe``.
        show_progress: tqdm bar over the distinct texts; ``None`` = only for
            1,000 texts or more.

    Returns:
        ``result[i][j]`` grounds choice ``j`` of example ``i``.
    """
    from tqdm.auto import tqdm

    examples = list(examples)
    texts: dict[str, None] = {}
    for ex in examples:
        texts.setdefault(ex.question if isinstance(ex.question, str) else "", None)
        for c in ex.choices:
            texts.setdefault(c if isinstance(c, str) else "", None)
    unique = list(texts)
    if show_progress is None:
        show_progress = len(unique) >= 1000
    linked: dict[str, list[Mention]] = {}
    stream = linker.pipe(unique, batch_size=batch_size, n_process=n_process)
    for text, mentions in tqdm(
        zip(unique, stream), total=len(unique), desc="linking", unit="text", disable=not show_progress
    ):
        linked[text] = mentions
    out: list[list[GroundedChoice]] = []
    for ex in examples:
        question = ex.question if isinstance(ex.question, str) else ""
        q_mentions = linked[question]
        out.append(
            [
                _ground(linker, q_mentions, c, linked[c if isinstance(c, str) else ""], question)
                for c in ex.choices
            ]
        )
    return out
