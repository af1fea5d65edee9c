"""Tests of kglm.models.knowledge_fusion: fusion hooked into five HF encoder families."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForMultipleChoice, GPT2Config, GPT2Model

from kglm.models.knowledge_fusion import FUSION_LAYER_PATHS, add_knowledge_fusion, align_entity_states
from kglm.nn.fusion import KnowledgeFusion


def _encoder(config: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    return AutoModel.from_config(AutoConfig.for_model(**config)).eval()


def _text(batch: dict) -> dict:
    return {k: batch[k].flatten(0, 1) for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}


def _entities(batch: dict, dim: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    mask = batch["token_entity"].flatten(0, 1) >= 0
    states = torch.randn(*mask.shape, dim, generator=torch.Generator().manual_seed(1))
    return states, mask


def test_fresh_fusion_reproduces_encoder(encoder_config: dict, toy_batch: dict) -> None:
    encoder = _encoder(encoder_config)
    text = _text(toy_batch)
    with torch.no_grad():
        expected = encoder(**text)
    adapter = add_knowledge_fusion(encoder, layers=[0, 1], entity_dim=6)
    states, mask = _entities(toy_batch)
    with torch.no_grad(), adapter.entities(states, mask):
        got = encoder(**text)
    assert torch.equal(got.last_hidden_state, expected.last_hidden_state)
    if getattr(expected, "pooler_output", None) is not None:
        assert torch.equal(got.pooler_output, expected.pooler_output)
    # the entity states did go through both fusion layers
    assert adapter.entity_output is not None and adapter.entity_output.shape == (6, 8, 6)
    assert not torch.allclose(adapter.entity_output[mask], states[mask])
    assert torch.equal(adapter.entity_output[~mask], states[~mask])


def test_fusion_runs_after_the_chosen_layers(encoder_config: dict, toy_batch: dict) -> None:
    """Each fusion's input is exactly its layer's output (ALBERT: that call of its shared group)."""
    encoder = _encoder(encoder_config)
    text = _text(toy_batch)
    with torch.no_grad():
        hidden_states = encoder(**text, output_hidden_states=True).hidden_states
    adapter = add_knowledge_fusion(encoder, layers=[0, 1], entity_dim=6)
    seen: dict[int, list[torch.Tensor]] = {0: [], 1: []}
    for layer in (0, 1):
        adapter.fusions[str(layer)].register_forward_hook(lambda m, args, out, layer=layer: seen[layer].append(args[0]))
    states, mask = _entities(toy_batch)
    with torch.no_grad(), adapter.entities(states, mask):
        encoder(**text)
        encoder(**text)  # the layer counter restarts with every forward
    for layer in (0, 1):
        assert len(seen[layer]) == 2
        assert torch.equal(seen[layer][0], hidden_states[layer + 1])
        assert torch.equal(seen[layer][1], hidden_states[layer + 1])


def test_trained_fusion_changes_only_through_entities_and_remove_restores(encoder_config: dict, toy_batch: dict) -> None:
    encoder = _encoder(encoder_config)
    text = _text(toy_batch)
    with torch.no_grad():
        original = encoder(**text).last_hidden_state
    adapter = add_knowledge_fusion(encoder, layers=[-1], entity_dim=6, dropout=0.0)
    assert adapter.layers == (1,)
    with torch.no_grad():
        adapter.fusions["1"].token_out.weight.normal_()
    states, mask = _entities(toy_batch)
    with torch.no_grad():
        with adapter.entities(states, mask):
            fused = encoder(**text).last_hidden_state
        with adapter.entities(states + 1.0, mask):
            moved = encoder(**text).last_hidden_state
    assert not torch.allclose(fused, original)
    # an entity only reaches the token its mention starts at (fusion after the last layer)
    assert not torch.allclose(moved[mask], fused[mask])
    assert torch.equal(moved[~mask], fused[~mask])
    adapter.remove()
    with torch.no_grad():
        assert torch.equal(encoder(**text).last_hidden_state, original)
    add_knowledge_fusion(encoder, layers=[0], entity_dim=6)  # allowed again after remove()


def test_attach_registers_parameters_and_head_models_work(tiny_config, make_batch) -> None:
    config = AutoConfig.for_model(**tiny_config("bert"))
    torch.manual_seed(0)
    model = AutoModelForMultipleChoice.from_config(config).eval()
    batch = make_batch("bert")
    text = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        expected = model(**text).logits
    adapter = add_knowledge_fusion(model, layers=[1], entity_dim=6)
    assert model.knowledge_fusion is adapter
    names = {name for name, _ in model.named_parameters()}
    assert "knowledge_fusion.fusions.1.token_out.weight" in names
    assert not any(name.startswith("bert.knowledge_fusion") or "_kglm" in name for name in names)
    states, mask = _entities(batch)
    with torch.no_grad(), adapter.entities(states, mask):
        assert torch.equal(model(**text).logits, expected)
    detached = add_knowledge_fusion(_encoder(tiny_config("bert")), layers=[0], entity_dim=4, attach=False)
    assert isinstance(detached.fusions["0"], KnowledgeFusion)


def test_errors(tiny_config) -> None:
    gpt2 = GPT2Model(GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=99))
    with pytest.raises(ValueError, match="'gpt2'.*albert.*bert.*distilbert.*electra.*roberta"):
        add_knowledge_fusion(gpt2, layers=[0], entity_dim=4)
    encoder = _encoder(tiny_config("bert"))
    with pytest.raises(ValueError, match="2 layers"):
        add_knowledge_fusion(encoder, layers=[2], entity_dim=4)
    with pytest.raises(ValueError, match="2 layers"):
        add_knowledge_fusion(encoder, layers=[], entity_dim=4)
    adapter = add_knowledge_fusion(encoder, layers=[0], entity_dim=4)
    with pytest.raises(ValueError, match="already has knowledge fusion"):
        add_knowledge_fusion(encoder, layers=[1], entity_dim=4)
    with pytest.raises(ValueError, match=r"\(batch, length, 4\)"):
        adapter.set_entities(torch.zeros(2, 8, 5), torch.zeros(2, 8, dtype=torch.bool))
    # entities for a different batch size than the text: a clear error, not a silent broadcast
    adapter.set_entities(torch.zeros(3, 8, 4), torch.zeros(3, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="do not match"):
        encoder(input_ids=torch.ones(2, 8, dtype=torch.long))
    assert set(FUSION_LAYER_PATHS) == {"bert", "roberta", "electra", "albert", "distilbert"}
    adapter.clear_entities()
    getattr(encoder, "activation_checkpointing_enable", encoder.gradient_checkpointing_enable)()
    encoder.train()
    with pytest.raises(RuntimeError, match="gradient checkpointing"):
        encoder(input_ids=torch.ones(2, 8, dtype=torch.long))


def test_without_entities_runs_token_only_path(tiny_config) -> None:
    encoder = _encoder(tiny_config("bert"))
    ids = torch.randint(5, 99, (2, 8), generator=torch.Generator().manual_seed(0))
    adapter = add_knowledge_fusion(encoder, layers=[0], entity_dim=4, dropout=0.0)
    with torch.no_grad():
        adapter.fusions["0"].token_out.weight.normal_()
        no_context = encoder(input_ids=ids).last_hidden_state
        assert adapter.entity_output is None
        with adapter.entities(torch.randn(2, 8, 4), torch.zeros(2, 8, dtype=torch.bool)):
            all_masked = encoder(input_ids=ids).last_hidden_state
    assert torch.equal(no_context, all_masked)
    assert adapter.entity_output is not None  # still readable after the context


def test_align_entity_states() -> None:
    nodes = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    token_entity = torch.tensor([[[-1, 2, -1], [0, -1, 1]]])  # (B=1, C=2, L=3)
    states, mask = align_entity_states(nodes, token_entity)
    assert states.shape == (1, 2, 3, 2)
    assert mask.tolist() == [[[False, True, False], [True, False, True]]]
    expected = torch.tensor([[[[0.0, 0.0], [3.0, 3.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]]])
    assert torch.equal(states, expected)
    empty_states, empty_mask = align_entity_states(torch.zeros(0, 2), torch.full((1, 2, 3), -1))
    assert empty_states.shape == (1, 2, 3, 2) and not empty_mask.any()
    with pytest.raises(ValueError, match="has none"):
        align_entity_states(torch.zeros(0, 2), token_entity)
