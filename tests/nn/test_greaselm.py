import torch

from kglm.nn import GreaseLMInteraction


def test_hand_checked():
    layer = GreaseLMInteraction(text_dim=1, graph_dim=1, hidden_dim=2).eval()
    with torch.no_grad():
        layer.lin1.weight.copy_(torch.eye(2))
        layer.lin1.bias.zero_()
        layer.lin2.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        layer.lin2.bias.copy_(torch.tensor([0.0, 0.5]))
    cls, ctx = layer(torch.tensor([[1.0], [0.0]]), torch.tensor([[2.0], [0.0]]))
    # GELU(1) = 0.841345, GELU(2) = 1.954500, GELU(0) = 0
    torch.testing.assert_close(cls, torch.tensor([[0.841345], [0.0]]))
    torch.testing.assert_close(ctx, torch.tensor([[0.5 - 1.954500], [0.5]]))


def test_shapes_and_repr():
    layer = GreaseLMInteraction(32, 16, 8)
    cls, ctx = layer(torch.randn(5, 32), torch.randn(5, 16))
    assert cls.shape == (5, 32) and ctx.shape == (5, 16)
    cls, ctx = layer(torch.randn(0, 32), torch.randn(0, 16))
    assert cls.shape == (0, 32) and ctx.shape == (0, 16)
    assert repr(layer) == "GreaseLMInteraction(text_dim=32, graph_dim=16, hidden_dim=8)"
