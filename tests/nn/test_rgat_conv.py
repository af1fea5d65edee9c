import math

import pytest
import torch

from kglm.nn import RelationalGATConv

# 4-node graph: 1->0 (rel 0), 2->0 (rel 1), 3->0 (rel 0), 0->1 (rel 1)
X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
EDGE_INDEX = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
EDGE_TYPE = torch.tensor([0, 1, 0, 1])
NODE_TYPE = torch.tensor([0, 1, 2, 2])


def _hand_set(conv: RelationalGATConv) -> None:
    eye = torch.eye(2)
    with torch.no_grad():
        conv.relation_embedding.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        conv.source_type_embedding.weight.zero_()
        conv.target_type_embedding.weight.zero_()
        conv.lin_query.weight.copy_(eye)
        conv.lin_key.weight.copy_(torch.cat([eye, torch.zeros(2, 2)], dim=1))  # key = x_j
        conv.lin_message.weight.copy_(torch.cat([eye, eye], dim=1))  # message = x_j + e_ij
        conv.lin_root.weight.copy_(eye)
        conv.lin_root.bias.zero_()


def test_hand_checked_single_head():
    conv = RelationalGATConv(2, 2, num_relations=2, num_node_types=4, heads=1).eval()
    _hand_set(conv)
    out, alpha = conv(X, EDGE_INDEX, EDGE_TYPE, NODE_TYPE, return_attention_weights=True)
    # Node 0: q = (1, 0); keys x_1, x_2, x_3 -> scores 0, 1/sqrt(2), 0.
    e = math.exp(1 / math.sqrt(2))
    a_side, a_mid = 1 / (2 + e), e / (2 + e)
    # messages: x_1 + R_0 = (1, 1); x_2 + R_1 = (1, 3); x_3 + R_0 = (1, 0)
    node0 = [1.0 + a_side + a_mid + a_side, 0.0 + a_side * 1 + a_mid * 3 + a_side * 0]
    # Node 1: one edge from node 0 with rel 1: alpha = 1, message (1, 2); root x_1 = (0, 1).
    expected = torch.tensor([node0, [1.0, 3.0], [1.0, 1.0], [0.0, 0.0]])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(alpha.view(-1), torch.tensor([a_side, a_mid, a_side, 1.0]))


def test_node_types_enter_the_edge_embedding():
    conv = RelationalGATConv(2, 2, num_relations=2, num_node_types=4, heads=1).eval()
    _hand_set(conv)
    with torch.no_grad():
        conv.source_type_embedding.weight[2] = torch.tensor([0.0, 10.0])
    out = conv(X, EDGE_INDEX, EDGE_TYPE, NODE_TYPE)
    # Only the messages from nodes 2 and 3 (type 2) change; keys ignore e_ij here,
    # so the attention stays as before and node 0 gains 10 * (a_mid + a_side).
    e = math.exp(1 / math.sqrt(2))
    assert out[0, 1].item() == pytest.approx(
        1 / (2 + e) + 3 * e / (2 + e) + 10 * (e + 1) / (2 + e), abs=1e-5
    )
    torch.testing.assert_close(out[1], torch.tensor([1.0, 3.0]))


def test_matches_loop_reference_two_heads():
    torch.manual_seed(0)
    conv = RelationalGATConv(3, 4, num_relations=2, num_node_types=4, heads=2).eval()
    x = torch.randn(4, 3)
    out = conv(x, EDGE_INDEX, EDGE_TYPE, NODE_TYPE)
    expected = conv.lin_root(x).clone()
    for i in range(4):
        incoming = (EDGE_INDEX[1] == i).nonzero().view(-1).tolist()
        if not incoming:
            continue
        q = conv.lin_query(x[i]).view(2, 2)
        keys, msgs = [], []
        for k in incoming:
            j, r = EDGE_INDEX[0, k], EDGE_TYPE[k]
            e = (
                conv.relation_embedding.weight[r]
                + conv.source_type_embedding.weight[NODE_TYPE[j]]
                + conv.target_type_embedding.weight[NODE_TYPE[i]]
            )
            h = torch.cat([x[j], e])
            keys.append(conv.lin_key(h).view(2, 2))
            msgs.append(conv.lin_message(h).view(2, 2))
        scores = torch.stack([(q * kk).sum(-1) / math.sqrt(2) for kk in keys])  # (deg, heads)
        alpha = scores.softmax(dim=0)
        agg = sum(alpha[n].unsqueeze(-1) * msgs[n] for n in range(len(msgs)))
        expected[i] += agg.reshape(-1)
    torch.testing.assert_close(out, expected)


def test_empty_graphs_and_repr():
    conv = RelationalGATConv(8, 8, num_relations=3, num_node_types=4)
    empty_e = torch.zeros(2, 0, dtype=torch.long)
    no_type = torch.zeros(0, dtype=torch.long)
    assert conv(torch.zeros(0, 8), empty_e, no_type, no_type).shape == (0, 8)
    x = torch.randn(4, 8)
    conv.eval()
    torch.testing.assert_close(conv(x, empty_e, no_type, NODE_TYPE), conv.lin_root(x))
    assert repr(conv) == (
        "RelationalGATConv(8, 8, num_relations=3, num_node_types=4, heads=2)"
    )
    with pytest.raises(ValueError, match=r"^out_channels \(7\) must be divisible by heads \(2\)$"):
        RelationalGATConv(8, 7, num_relations=3, num_node_types=4, heads=2)


def test_gradients_reach_all_parameters():
    conv = RelationalGATConv(2, 4, num_relations=2, num_node_types=4)
    conv(X, EDGE_INDEX, EDGE_TYPE, NODE_TYPE).sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None, name
