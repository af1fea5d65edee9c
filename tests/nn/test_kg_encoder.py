import pytest
import torch
import torch.nn.functional as F

from kglm.nn import KGEncoder

X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
# 1->0 (rel 0), 2->0 (rel 1), 3->0 (rel 0), 0->1 (rel 1)
EDGE_INDEX = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
EDGE_TYPE = torch.tensor([0, 1, 0, 1])
NODE_TYPE = torch.tensor([0, 1, 2, 3])


def test_rgcn_hand_checked():
    enc = KGEncoder(2, num_layers=1, num_relations=2, conv="rgcn").eval()
    with torch.no_grad():
        enc.node_type_embedding.weight.zero_()
        enc.node_type_embedding.weight[3] = torch.tensor([5.0, 0.0])
        conv = enc.convs[0]
        conv.weight[0] = torch.eye(2)
        conv.weight[1] = 2 * torch.eye(2)
        conv.root.zero_()
        conv.bias.zero_()
    out = enc(X, EDGE_INDEX, EDGE_TYPE, NODE_TYPE)
    # node 3 input becomes (5, 0); node 0: rel-0 mean of x_1, x_3 = (2.5, 0.5);
    # rel-1: 2 * x_2 = (2, 2); sum (4.5, 2.5). node 1: 2 * x_0 = (2, 0).
    g = lambda v: F.gelu(torch.tensor(v)).item()  # noqa: E731
    expected = torch.tensor(
        [[1 + g(4.5), 0 + g(2.5)], [0 + g(2.0), 1.0], [1.0, 1.0], [5.0, 0.0]]
    )
    torch.testing.assert_close(out, expected)


def test_zero_layers_adds_node_type_embedding():
    enc = KGEncoder(2, num_layers=0, num_relations=2)
    out = enc(X, EDGE_INDEX, EDGE_TYPE, NODE_TYPE)
    torch.testing.assert_close(out, X + enc.node_type_embedding.weight[NODE_TYPE])


def test_qagnn_is_a_residual_stack_of_relational_gat():
    torch.manual_seed(0)
    enc = KGEncoder(4, num_layers=2, num_relations=2, conv="qagnn", heads=2).eval()
    x = torch.randn(4, 4)
    h = x + enc.node_type_embedding(NODE_TYPE)
    for conv in enc.convs:
        h = h + F.gelu(conv(h, EDGE_INDEX, EDGE_TYPE, NODE_TYPE))
    torch.testing.assert_close(enc(x, EDGE_INDEX, EDGE_TYPE, NODE_TYPE), h)


@pytest.mark.parametrize("conv", ["qagnn", "rgcn", "gat"])
def test_shapes_empty_and_relations_matter(conv):
    torch.manual_seed(0)
    enc = KGEncoder(8, num_layers=2, num_relations=3, conv=conv).eval()
    with torch.no_grad():  # make the relation signal large enough to see
        for p in enc.parameters():
            p.mul_(10)
    x = torch.randn(4, 8)
    out = enc(x, EDGE_INDEX, EDGE_TYPE, NODE_TYPE)
    assert out.shape == (4, 8)
    other = enc(x, EDGE_INDEX, torch.tensor([2, 2, 2, 2]), NODE_TYPE)
    assert not torch.allclose(out[0], other[0])
    empty_e = torch.zeros(2, 0, dtype=torch.long)
    none = torch.zeros(0, dtype=torch.long)
    assert enc(torch.zeros(0, 8), empty_e, none, none).shape == (0, 8)
    assert enc(x, empty_e, none, NODE_TYPE).shape == (4, 8)


def test_repr_and_errors():
    enc = KGEncoder(8, num_layers=2, num_relations=3, conv="rgcn")
    assert repr(enc) == "KGEncoder(8, num_layers=2, num_relations=3, conv='rgcn')"
    with pytest.raises(ValueError, match="unknown conv"):
        KGEncoder(8, 2, 3, conv="gcn")
    for conv in ("gat", "qagnn"):
        with pytest.raises(ValueError, match=r"^hidden_size \(9\) must be divisible by heads \(2\)$"):
            KGEncoder(9, 2, 3, conv=conv, heads=2)
    KGEncoder(9, 1, 3, conv="rgcn", heads=2)  # R-GCN has no heads
