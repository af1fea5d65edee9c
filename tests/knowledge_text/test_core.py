"""Knowledge texts on a hand-made graph: facts, ranking, descriptions, token budget, shuffled control."""

from __future__ import annotations

import pytest

from kglm.errors import ConfigError
from kglm.grounding.ground import GroundedChoice
from kglm.kg.graph import KnowledgeGraph
from kglm.knowledge_text.core import (
    Fact,
    KnowledgeText,
    KnowledgeTextConfig,
    knowledge_text,
    knowledge_texts,
    shuffle_knowledge,
)

TRIPLES = [
    ("ice cream", "AtLocation", "freezer"),
    ("freezer", "PartOf", "fridge"),
    ("milk", "AtLocation", "fridge"),
    ("milk", "RelatedTo", "freezer"),
    ("cold", "RelatedTo", "freezer"),
    ("butter", "MadeOf", "milk"),
    ("butter", "AtLocation", "fridge"),
    ("something", "AtLocation", "fridge"),
    ("something", "RelatedTo", "milk"),
    ("something", "RelatedTo", "a"), ("something", "RelatedTo", "b"), ("something", "RelatedTo", "c"),
]
DESCRIPTIONS = {
    "freezer": ["a cold compartment for frozen food", "a second description"],
    "fridge": ["an appliance that keeps food cold"],
    "milk": ["a white liquid produced by mammals"],
    "cold": ["having a low temperature"],
}


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.from_triples(TRIPLES, descriptions=DESCRIPTIONS)


def ids(kg, *names):
    return [kg.entity_id(n) for n in names]


def test_one_hop_fact_and_descriptions(kg):
    choice = GroundedChoice(ids(kg, "ice cream"), ids(kg, "freezer"))
    kt = knowledge_text(choice, kg)
    assert kt.text == "ice cream is found in a freezer. freezer: a cold compartment for frozen food."
    assert [f.triples for f in kt.facts] == [(("ice cream", "AtLocation", "freezer"),)]
    assert [(d.name, d.role) for d in kt.descriptions] == [("freezer", "answer")]
    assert kt.num_tokens == len(kt.text.split()) and kt.dropped_facts == 0


def test_ranking_length_then_prior_then_hub_degree(kg):
    choice = GroundedChoice(ids(kg, "milk"), ids(kg, "fridge"))
    kt = knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=10, include_descriptions=False))
    texts = [f.text for f in kt.facts]
    # 1 hop first; among 2-hop paths: AtLocation/MadeOf (prior 1) before RelatedTo, then lower hub degree
    assert texts == [
        "milk is found in a fridge",
        "butter is made of milk, and butter is found in a fridge",
        "milk is related to freezer, and freezer is part of a fridge",
        "something is related to milk, and something is found in a fridge",
    ]
    assert [f.length for f in kt.facts] == [1, 2, 2, 2]
    assert kt.facts[2].prior == pytest.approx((0.3 + 1.0) / 2)
    assert kt.facts[3].hub_degree > kt.facts[1].hub_degree


def test_question_concept_description_and_fact_preference(kg):
    choice = GroundedChoice(ids(kg, "cold", "milk"), ids(kg, "freezer"))
    plain = knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=1))
    assert plain.descriptions[1].name == "cold"  # first linked question entity with a description
    with_concept = knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=1), question_concept="Milk")
    assert [(d.name, d.role) for d in with_concept.descriptions] == [("freezer", "answer"), ("milk", "question")]
    assert with_concept.facts[0].from_question_concept
    assert with_concept.text.startswith("milk is related to freezer.")
    assert with_concept.text.endswith("milk: a white liquid produced by mammals.")


def test_question_concept_found_through_its_mention(kg):
    from kglm.linking.mention import Mention

    mention = Mention(10, 15, "milks", kg.entity_id("milk"), "milk", 1.0)
    choice = GroundedChoice(ids(kg, "cold", "milk"), ids(kg, "freezer"), [mention])
    kt = knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=1), question_concept="milks")
    assert [d.name for d in kt.descriptions if d.role == "question"] == ["milk"]


def test_answer_description_named_as_the_choice_says_it(kg):
    from kglm.linking.mention import Mention

    mention = Mention(0, 7, "Freezer", kg.entity_id("freezer"), "freezer", 1.0)
    choice = GroundedChoice(ids(kg, "ice cream"), ids(kg, "freezer"), [], [mention])
    assert knowledge_text(choice, kg).text.endswith("Freezer: a cold compartment for frozen food.")


def test_modes_and_empty_text(kg):
    choice = GroundedChoice(ids(kg, "ice cream"), ids(kg, "freezer"))
    facts = knowledge_text(choice, kg, KnowledgeTextConfig.from_mode("facts"))
    descs = knowledge_text(choice, kg, KnowledgeTextConfig.from_mode("descriptions"))
    assert facts.text == "ice cream is found in a freezer." and not facts.descriptions
    assert descs.text == "freezer: a cold compartment for frozen food." and not descs.facts
    nothing = knowledge_text(GroundedChoice([], []), kg)
    assert nothing.text == "" and not nothing and nothing.num_tokens == 0
    with pytest.raises(ConfigError, match="is not one of"):
        KnowledgeTextConfig.from_mode("everything")


@pytest.mark.parametrize("budget", [1, 3, 5, 8, 12, 20, 40])
def test_token_budget_drops_facts_first_then_cuts_descriptions(kg, budget):
    choice = GroundedChoice(ids(kg, "milk"), ids(kg, "fridge"))
    config = KnowledgeTextConfig(max_facts=3, max_tokens=budget)
    kt = knowledge_text(choice, kg, config, question_concept="milk")
    assert kt.num_tokens == len(kt.text.split()) <= budget
    full = knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=3, max_tokens=1000), question_concept="milk")
    if kt.descriptions != full.descriptions:  # descriptions are cut only once every fact is gone
        assert kt.facts == [] and kt.truncated
    assert kt.facts == full.facts[: len(kt.facts)]
    assert kt.dropped_facts == len(full.facts) - len(kt.facts)


def test_budget_counts_model_tokens():
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "[PAD]": 1}
    for w in "ice cream is found in a freezer . : cold compartment for frozen food".split():
        vocab.setdefault(w, len(vocab))
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()  # splits "freezer." into two tokens
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]")
    kg = KnowledgeGraph.from_triples(TRIPLES, descriptions=DESCRIPTIONS)
    choice = GroundedChoice(ids(kg, "ice cream"), ids(kg, "freezer"))
    kt = knowledge_text(choice, kg, KnowledgeTextConfig(max_tokens=12), tokenizer=tokenizer)
    assert kt.num_tokens == len(tokenizer(kt.text, add_special_tokens=False)["input_ids"]) <= 12
    assert kt.text == "freezer: a cold compartment for frozen food." and kt.num_tokens == 9  # the fact (8) went
    cut = knowledge_text(choice, kg, KnowledgeTextConfig(max_tokens=6), tokenizer=tokenizer)
    assert cut.text == "freezer: a cold compartment." and cut.num_tokens == 6 and cut.truncated
    assert tokenizers is not None


def test_batch_equals_single_and_is_deterministic(kg):
    grounded = [
        [GroundedChoice(ids(kg, "milk"), ids(kg, "fridge")), GroundedChoice(ids(kg, "milk"), ids(kg, "freezer"))],
        [GroundedChoice(ids(kg, "ice cream"), ids(kg, "freezer")), GroundedChoice([], ids(kg, "fridge"))],
    ]
    config = KnowledgeTextConfig(max_tokens=30)
    batch = knowledge_texts(grounded, kg, config, question_concepts=["milk", None], batch_size=1)
    again = knowledge_texts(grounded, kg, config, question_concepts=["milk", None])
    assert [[t.to_dict() for t in row] for row in batch] == [[t.to_dict() for t in row] for row in again]
    single = knowledge_text(grounded[0][1], kg, config, question_concept="milk")
    assert batch[0][1].to_dict() == single.to_dict()
    assert KnowledgeText.from_dict(batch[0][0].to_dict()) == batch[0][0]
    assert Fact.from_dict(batch[0][0].facts[0].to_dict()) == batch[0][0].facts[0]


def test_custom_scorer_and_templates(kg):
    choice = GroundedChoice(ids(kg, "milk"), ids(kg, "fridge"))
    config = KnowledgeTextConfig(
        max_facts=1, include_descriptions=False, scorer=lambda f: -f.length,
        templates={"AtLocation": "{head} lives in {tail}"},
    )
    kt = knowledge_text(choice, kg, config)
    assert kt.facts[0].length == 2 and "lives in fridge" in kt.text


def _texts(n_questions: int, n_choices: int) -> list[list[KnowledgeText]]:
    return [[KnowledgeText(f"q{i} c{j} " + "w " * (i % 4)) for j in range(n_choices)] for i in range(n_questions)]


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (10, 0), (10, 7), (101, 3)])
def test_shuffled_control_never_gives_a_choice_its_own_knowledge(n, seed):
    texts = _texts(n, 4)
    shuffled = shuffle_knowledge(texts, seed=seed)
    for i, row in enumerate(shuffled):
        donors = {t.text.split()[0] for t in row}
        assert len(donors) == 1 and donors != {f"q{i}"}  # one other question, same for all choices
        assert [t.text.split()[1] for t in row] == [f"c{j}" for j in range(4)]  # same-index choices
    flat = sorted(t.text for row in texts for t in row)
    assert sorted(t.text for row in shuffled for t in row) == flat  # only reassigned
    assert shuffle_knowledge(texts, seed=seed) == shuffled  # seeded
    if n > 3:
        assert shuffle_knowledge(texts, seed=seed + 1) != shuffled


def test_shuffled_control_groups_by_number_of_choices():
    texts = _texts(3, 4) + _texts(1, 2)
    shuffled = shuffle_knowledge(texts, seed=0)
    assert all(t.text.split()[0] != f"q{i}" for i, row in enumerate(shuffled[:3]) for t in row)
    assert [t.text for t in shuffled[3]] == ["", ""]  # the only 2-choice question has no donor
