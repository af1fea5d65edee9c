"""Tests of kglm.nn.fusion.KnowledgeFusion on hand-made inputs."""

from __future__ import annotations

import pytest
import torch

from kglm.nn.fusion import KnowledgeFusion


def _hand_layer() -> KnowledgeFusion:
    """2-d layer with W_t = I, b = 0, W_e = 2I, W'_t = I, W'_e = I, ReLU, no dropout."""
    layer = KnowledgeFusion(2, 2, activation="relu", dropout=0.0)
    eye = torch.eye(2)
    with torch.no_grad():
        layer.token_in.weight.copy_(eye)
        layer.token_in.bias.zero_()
        layer.entity_in.weight.copy_(2 * eye)
        layer.token_out.weight.copy_(eye)
        layer.token_out.bias.zero_()
        layer.entity_out.weight.copy_(eye)
        layer.entity_out.bias.zero_()
    return layer


def test_hand_checked_values() -> None:
    layer = _hand_layer()
    tokens = torch.tensor([[[1.0, -1.0], [1.0, -1.0]]])
    entities = torch.tensor([[[1.0, 1.0], [5.0, 5.0]]])
    mask = torch.tensor([[True, False]])
    new_tokens, new_entities = layer(tokens, entities, mask)
    # token 0 (with entity): h = relu([1,-1] + 2*[1,1]) = [3,1]; w' = [1,-1] + [3,1] = [4,0]
    # token 1 (no entity):   h = relu([1,-1]) = [1,0];            w' = [1,-1] + [1,0] = [2,-1]
    torch.testing.assert_close(new_tokens, torch.tensor([[[4.0, 0.0], [2.0, -1.0]]]))
    # entity 0: LayerNorm([1,1] + [3,1]) = LayerNorm([4,2]) = [1,-1]; entity 1 passes unchanged
    torch.testing.assert_close(new_entities, torch.tensor([[[1.0, -1.0], [5.0, 5.0]]]))


def test_masked_entities_are_ignored_even_if_not_finite() -> None:
    layer = _hand_layer()
    tokens = torch.tensor([[[1.0, -1.0]]])
    new_tokens, new_entities = layer(tokens, torch.full((1, 1, 2), float("nan")), torch.tensor([[False]]))
    torch.testing.assert_close(new_tokens, torch.tensor([[[2.0, -1.0]]]))
    assert torch.isnan(new_entities).all()  # returned unchanged


def test_identity_on_tokens_at_initialisation() -> None:
    torch.manual_seed(0)
    layer = KnowledgeFusion(8, 5, hidden_dim=6)
    layer.train()  # dropout on a zero update is still zero
    tokens = torch.randn(2, 4, 8)
    entities = torch.randn(2, 4, 5)
    mask = torch.tensor([[True, False, True, False], [False, False, False, True]])
    new_tokens, new_entities = layer(tokens, entities, mask)
    assert torch.equal(new_tokens, tokens)
    assert torch.equal(new_entities[~mask], entities[~mask])
    assert not torch.allclose(new_entities[mask], entities[mask])
    assert new_tokens.shape == (2, 4, 8) and new_entities.shape == (2, 4, 5)


def test_learns_from_entities_after_one_step() -> None:
    torch.manual_seed(0)
    layer = KnowledgeFusion(4, 3, dropout=0.0)
    tokens = torch.randn(1, 3, 4)
    entities = torch.randn(1, 3, 3)
    mask = torch.tensor([[True, False, False]])
    out, _ = layer(tokens, entities, mask)
    out.sum().backward()
    assert layer.token_out.weight.grad.abs().sum() > 0  # the zero-initialised update trains
    with torch.no_grad():
        layer.token_out.weight.add_(0.5)
    moved, _ = layer(tokens, entities + 1.0, mask)
    base, _ = layer(tokens, entities, mask)
    # changing the entity changes only the token it is aligned to
    assert not torch.allclose(moved[0, 0], base[0, 0])
    assert torch.equal(moved[0, 1:], base[0, 1:])


def test_reset_parameters_and_repr() -> None:
    layer = _hand_layer()
    layer.reset_parameters()
    assert torch.count_nonzero(layer.token_out.weight) == 0
    assert torch.count_nonzero(layer.token_out.bias) == 0
    assert repr(layer) == "KnowledgeFusion(2, 2, hidden_dim=2, activation='relu')"
    with pytest.raises(ValueError):
        KnowledgeFusion(2, 2, activation="no-such-activation")
