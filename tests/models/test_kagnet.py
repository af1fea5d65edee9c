"""Tests of kglm.models.kagnet (KagNet-style model) over the five tiny encoder families."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from kglm.models.controls import apply_kg_control
from kglm.models.kagnet import KagNetConfig, KagNetForMultipleChoice
from kglm.models.outputs import MultipleChoiceKGOutput


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    """One intra-op thread for these tiny models (restored afterwards): on a busy
    machine torch's thread pool spin-waits and tiny ops slow down 10-100x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(encoder_config: dict, seed: int = 0, **kwargs) -> KagNetForMultipleChoice:
    torch.manual_seed(seed)
    kwargs = {
        "num_entities": 20, "entity_dim": 16, "num_relations": 6, "gnn_hidden": 16,
        "gnn_layers": 1, "freeze_entity_embeddings": False, **kwargs,
    }
    return KagNetForMultipleChoice(KagNetConfig(encoder=encoder_config, **kwargs))


def test_config_defaults() -> None:
    config = KagNetConfig()
    assert config.model_type == "kglm-kagnet" and config.graph_kind == "paths"


def test_shapes_loss_and_path_attention(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config).eval()
    out = model(**toy_batch, return_path_attention=True)
    assert isinstance(out, MultipleChoiceKGOutput)
    assert out.logits.shape == (2, 3)
    torch.testing.assert_close(
        out.loss, torch.nn.functional.cross_entropy(out.logits, toy_batch["labels"])
    )
    p = toy_batch["path_nodes"].size(0)
    assert out.path_attention.shape == (p,)
    sums = torch.zeros(6).index_add_(0, toy_batch["path_graph"], out.path_attention)
    torch.testing.assert_close(sums, torch.tensor([1.0, 1, 1, 1, 1, 0]))
    unlabeled = {k: v for k, v in toy_batch.items() if k != "labels"}
    out2 = model(**unlabeled)
    assert out2.loss is None and out2.path_attention is None
    torch.testing.assert_close(out2.logits, out.logits)


def test_loss_decreases(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.eval()
    losses = []
    for _ in range(10):
        loss = model(**toy_batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model.path_encoder.lstm.weight_ih_l0.grad.abs().sum() > 0


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
    loaded = KagNetForMultipleChoice.from_pretrained(tmp_path).eval()
    assert loaded.config.model_type == "kglm-kagnet"
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # exact weights; logits only up to float rounding (transformers picks sdpa on load)
    torch.testing.assert_close(loaded(**toy_batch).logits, before, rtol=0, atol=1e-6)


def test_empty_graphs_and_controls(encoder_type: str, encoder_config: dict, make_batch) -> None:
    model = _model(encoder_config).eval()
    batch = make_batch(encoder_type)
    empty = make_batch(encoder_type, empty_graphs=True)
    out_empty = model(**empty, return_path_attention=True)
    assert out_empty.logits.shape == (2, 3) and out_empty.path_attention.shape == (0,)
    text_only = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    torch.testing.assert_close(model(**text_only).logits, out_empty.logits, rtol=0, atol=0)
    # the last choice has no paths: its logit equals its logit in the empty batch
    with_paths = model(**batch).logits
    assert with_paths[1, 2] == out_empty.logits[1, 2]
    assert not torch.allclose(with_paths[0], out_empty.logits[0])

    model.config.kg_control = "no_graph"
    torch.testing.assert_close(model(**batch).logits, out_empty.logits, rtol=0, atol=0)
    for control in ("permute_edges", "permute_relations"):
        model.config.kg_control = control
        torch.manual_seed(0)
        out = model(**batch, return_path_attention=True)
        assert out.logits.shape == (2, 3) and out.path_attention.shape == batch["path_length"].shape
        torch.manual_seed(0)
        permuted = apply_kg_control(batch, control)
        model.config.kg_control = "none"
        torch.testing.assert_close(model(**permuted).logits, out.logits, rtol=0, atol=0)


def test_scorer_keeps_its_checkpoint_names(encoder_config: dict) -> None:
    """The shared choice_scorer MLP keeps the parameter names saved checkpoints hold."""
    names = {n for n in _model(encoder_config).state_dict() if n.startswith("scorer.")}
    assert names == {"scorer.0.weight", "scorer.0.bias", "scorer.3.weight", "scorer.3.bias"}
