"""Grounding of multiple-choice examples (QA-GNN / MHGRN convention)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kglm.grounding.ground import GroundedChoice, ground_choices, ground_examples
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker, Mention

NAMES = ["milk", "cold", "fridge", "keep", "oven", "the", "ice cream", "bank (money)", "bank (river)"]


@dataclass
class Example:
    question: str
    choices: list[str]


@pytest.fixture(scope="module")
def linker() -> LexiconLinker:
    kg = KnowledgeGraph(NAMES, ["AtLocation"], [[0, 0, 2]], labels={7: ["bank"], 8: ["bank"]})
    return LexiconLinker.from_kg(kg, lemmatizer="rule")


def test_question_entities_minus_answer(linker: LexiconLinker) -> None:
    question = "Where do you keep milk cold, a fridge?"
    out = ground_choices(linker, question, ["fridge", "hot oven", "xyzzy"])
    q_mentions = [
        Mention(13, 17, "keep", 3, "keep"),
        Mention(18, 22, "milk", 0, "milk"),
        Mention(23, 27, "cold", 1, "cold"),
        Mention(31, 37, "fridge", 2, "fridge"),
    ]
    assert out == [
        GroundedChoice([3, 0, 1], [2], q_mentions, [Mention(0, 6, "fridge", 2, "fridge")]),
        GroundedChoice([3, 0, 1, 2], [4], q_mentions, [Mention(4, 8, "oven", 4, "oven")]),
        GroundedChoice([3, 0, 1, 2], [], q_mentions, []),
    ]


def test_whole_choice_fallback(linker: LexiconLinker) -> None:
    # "The" is a stop word, never linked as an n-gram, but it is a label: fallback
    (g,) = ground_choices(linker, "Which word?", ["  The. "])
    assert g.answer_entities == [5]
    assert g.answer_mentions == [Mention(2, 6, "The.", 5, "the")]


def test_ambiguous_answer_and_duplicates(linker: LexiconLinker) -> None:
    (g,) = ground_choices(linker, "milk, milk and a bank", ["bank"])
    assert g.question_entities == [0]
    assert g.answer_entities == [7, 8]
    assert [m.score for m in g.answer_mentions] == [0.5, 0.5]


@pytest.mark.parametrize("question", ["", "   ", "?!", "😀😀", None])
def test_bad_questions_never_crash(linker: LexiconLinker, question: str | None) -> None:
    out = ground_choices(linker, question, ["", "milk", None])  # type: ignore[arg-type, list-item]
    assert [(g.question_entities, g.answer_entities) for g in out] == [([], []), ([], [0]), ([], [])]


def test_ground_examples_equals_ground_choices(linker: LexiconLinker) -> None:
    examples = [
        Example("Where do you keep milk cold?", ["fridge", "oven", "ice creams"]),
        Example("", []),
        Example("Ice cream in the bank?", ["the", "milk"]),
        Example("Where do you keep milk cold?", ["fridge"]),
    ]
    got = ground_examples(linker, examples, batch_size=2, show_progress=False)
    assert got == [ground_choices(linker, ex.question, ex.choices) for ex in examples]
    assert got[0][2].answer_entities == [6]


def test_roundtrip_dict(linker: LexiconLinker) -> None:
    (g,) = ground_choices(linker, "milk in a bank", ["cold fridge"])
    assert GroundedChoice.from_dict(g.to_dict()) == g


def test_package_exports_resolve() -> None:
    import kglm.grounding

    for name in kglm.grounding.__all__:
        assert getattr(kglm.grounding, name) is not None, name


WORDS = st.sampled_from(["milk", "cold", "fridge", "keep", "oven", "the", "ice", "cream", "bank", "?", "😀", "xyz"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WORDS, max_size=10).map(" ".join), st.lists(st.lists(WORDS, max_size=3).map(" ".join), max_size=5))
def test_grounding_invariants(linker: LexiconLinker, question: str, choices: list[str]) -> None:
    out = ground_choices(linker, question, choices)
    assert len(out) == len(choices)
    for g, choice in zip(out, choices):
        assert not set(g.question_entities) & set(g.answer_entities)
        assert len(set(g.question_entities)) == len(g.question_entities)
        assert g.answer_entities == list(dict.fromkeys(m.entity_id for m in g.answer_mentions))
        assert set(g.question_entities) <= {m.entity_id for m in g.question_mentions}
        assert all(question[m.start : m.end] == m.text for m in g.question_mentions)
        assert all(choice[m.start : m.end] == m.text for m in g.answer_mentions)
