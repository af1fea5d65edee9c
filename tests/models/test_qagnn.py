"""Tests of kglm.models.qagnn (QA-GNN-style model) over the five tiny encoder families."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from kglm.models.controls import apply_kg_control
from kglm.models.outputs import MultipleChoiceKGOutput
from kglm.models.qagnn import QAGNNConfig, QAGNNForMultipleChoice


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    """One intra-op thread for these tiny models (restored afterwards): on a busy
    machine torch's thread pool spin-waits and tiny ops slow down 10-100x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(encoder_config: dict, seed: int = 0, **kwargs) -> QAGNNForMultipleChoice:
    torch.manual_seed(seed)
    kwargs = {
        "num_entities": 20, "entity_dim": 16, "num_relations": 6, "gnn_hidden": 16,
        "gnn_layers": 2, "freeze_entity_embeddings": False, **kwargs,
    }
    return QAGNNForMultipleChoice(QAGNNConfig(encoder=encoder_config, **kwargs))


def test_shapes_loss_and_node_attention(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config).eval()
    out = model(**toy_batch, return_node_attention=True)
    assert isinstance(out, MultipleChoiceKGOutput)
    assert list(out.keys())[:2] == ["loss", "logits"]
    assert out.logits.shape == (2, 3)
    torch.testing.assert_close(
        out.loss, torch.nn.functional.cross_entropy(out.logits, toy_batch["labels"])
    )
    n = toy_batch["node_ids"].numel()
    assert out.node_attention.shape == (n,)
    sums = torch.zeros(6).index_add_(0, toy_batch["graph_index"], out.node_attention)
    # every graph but the last (empty) one sums to 1
    torch.testing.assert_close(sums, torch.tensor([1.0, 1, 1, 1, 1, 0]))
    unlabeled = {k: v for k, v in toy_batch.items() if k != "labels"}
    out2 = model(**unlabeled)
    assert out2.loss is None and out2.node_attention is None
    torch.testing.assert_close(out2.logits, out.logits)


def test_loss_decreases(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.eval()  # no dropout: a deterministic objective
    losses = []
    for _ in range(10):
        loss = model(**toy_batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_save_load_identical_logits(encoder_config: dict, toy_batch: dict, tmp_path: Path) -> None:
    model = _model(encoder_config).eval()
    # move the weights away from any initialisation so a re-randomised load would show
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    before = model(**toy_batch).logits
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    torch.manual_seed(123)
    loaded = QAGNNForMultipleChoice.from_pretrained(tmp_path).eval()
    assert loaded.config.model_type == "kglm-qagnn"
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # exact weights; logits only up to float rounding (transformers picks sdpa on load)
    torch.testing.assert_close(loaded(**toy_batch).logits, before, rtol=0, atol=1e-6)


def test_empty_graphs_and_controls(encoder_type: str, encoder_config: dict, make_batch) -> None:
    model = _model(encoder_config).eval()
    batch = make_batch(encoder_type)
    empty = make_batch(encoder_type, empty_graphs=True)
    out_empty = model(**empty, return_node_attention=True)
    assert out_empty.logits.shape == (2, 3) and out_empty.node_attention.shape == (0,)
    text_only = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    torch.testing.assert_close(model(**text_only).logits, out_empty.logits, rtol=0, atol=0)
    with_graph = model(**batch).logits
    assert not torch.allclose(with_graph, out_empty.logits)

    model.config.kg_control = "no_graph"
    torch.testing.assert_close(model(**batch).logits, out_empty.logits, rtol=0, atol=0)
    for control in ("permute_edges", "permute_relations"):
        model.config.kg_control = control
        torch.manual_seed(0)
        out = model(**batch, return_node_attention=True)
        assert out.logits.shape == (2, 3) and out.node_attention.shape == batch["node_ids"].shape
        torch.manual_seed(0)
        permuted = apply_kg_control(batch, control)
        model.config.kg_control = "none"
        torch.testing.assert_close(model(**permuted).logits, out.logits, rtol=0, atol=0)


def test_context_node_wiring(tiny_config) -> None:
    model = _model(tiny_config("bert"), num_relations=2).eval()
    graph = {  # two pairs: nodes 0 (question), 1 (answer), 2 (other) in pair 0; node 3 (answer) in pair 1
        "node_ids": torch.tensor([1, 2, 3, 4]),
        "node_type": torch.tensor([0, 1, 2, 1]),
        "graph_index": torch.tensor([0, 0, 0, 1]),
        "edge_index": torch.tensor([[0, 2], [2, 1]]),
        "edge_type": torch.tensor([0, 1]),
    }
    statement = torch.randn(2, 32)
    x, ei, et, nt, g, num_graphs = model._graph(graph, statement)
    assert num_graphs == 2 and x.shape == (6, 16)
    torch.testing.assert_close(x[:2], model.context_projection(statement))
    assert nt.tolist() == [3, 3, 0, 1, 2, 1] and g.tolist() == [0, 1, 0, 0, 0, 1]
    # KG edges shifted by 2; context 0 <-> nodes 0, 1 and context 1 <-> node 3, relations 2 / 3
    assert ei.tolist() == [[2, 4, 0, 0, 1, 2, 3, 5], [4, 3, 2, 3, 5, 0, 0, 1]]
    assert et.tolist() == [0, 1, 2, 2, 2, 3, 3, 3]


@pytest.mark.parametrize("conv", ["rgcn", "gat"])
@pytest.mark.parametrize("encoder_type", ["bert"])
def test_other_convs_and_options(encoder_config: dict, toy_batch: dict, conv: str) -> None:
    model = _model(encoder_config, gnn_conv=conv, node_relevance=False, interaction=False).eval()
    assert not hasattr(model, "interaction") and not hasattr(model, "relevance_query")
    out = model(**toy_batch, return_node_attention=True)
    assert out.logits.shape == (2, 3) and torch.isfinite(out.logits).all()
    out.loss.backward()
    assert model.gnn.convs[0].bias.grad is not None


@pytest.mark.parametrize("encoder_type", ["bert"])
def test_from_encoder_with_entity_embeddings(tiny_config, toy_batch, tmp_path: Path) -> None:
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)
    encoder = AutoModel.from_config(AutoConfig.for_model(**tiny_config("bert")))
    encoder.save_pretrained(tmp_path)
    table = torch.randn(20, 12)
    model = QAGNNForMultipleChoice.from_encoder(str(tmp_path), entity_embeddings=table, num_relations=6,
                                                gnn_hidden=16)
    assert model.config.num_entities == 20 and model.config.entity_dim == 12
    assert torch.equal(model.entity_embeddings.weight, table)
    assert not model.entity_embeddings.weight.requires_grad  # frozen by default
    for name, weight in encoder.state_dict().items():
        assert torch.equal(model.text_encoder.state_dict()[name], weight), name
    assert model.eval()(**toy_batch).logits.shape == (2, 3)


def test_scorer_keeps_its_checkpoint_names(encoder_config: dict) -> None:
    """The shared choice_scorer MLP keeps the parameter names saved checkpoints hold."""
    names = {n for n in _model(encoder_config).state_dict() if n.startswith("scorer.")}
    assert names == {"scorer.0.weight", "scorer.0.bias", "scorer.3.weight", "scorer.3.bias"}
