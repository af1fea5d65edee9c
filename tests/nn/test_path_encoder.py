import math

import torch
import torch.nn.functional as F

from kglm.nn import PathEncoder

# 4 nodes, all in graph 0; graph 1 has no paths.
X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
EDGE_INDEX = torch.tensor([[0, 0, 2, 3], [1, 2, 1, 1]])
# p0: 0 -r0-> 1; p1: 0 -r1-> 2 -r0-> 1 (same pair (0, 1)); p2: 3 -r1-> 1 (pair (3, 1))
PATH_NODES = torch.tensor([[0, 1, -1], [0, 2, 1], [3, 1, -1]])
PATH_REL = torch.tensor([[0, -1], [1, 0], [1, -1]])
PATH_LEN = torch.tensor([1, 2, 1])
PATH_GRAPH = torch.tensor([0, 0, 0])


def _lstm_path(enc: PathEncoder, h: torch.Tensor, p: int) -> torch.Tensor:
    k = int(PATH_LEN[p])
    steps = [
        torch.cat([h[PATH_NODES[p, m]], enc.relation_embedding.weight[PATH_REL[p, m]],
                   h[PATH_NODES[p, m + 1]]])
        for m in range(k)
    ]
    _, (h_n, _) = enc.lstm(torch.stack(steps).unsqueeze(0))
    return h_n[-1, 0]


def test_uniform_hierarchical_attention_hand_checked():
    torch.manual_seed(0)
    enc = PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4, gcn_layers=0).eval()
    with torch.no_grad():
        for lin in (enc.lin_path_query, enc.lin_pair_query):
            lin.weight.zero_()
            lin.bias.zero_()
    out, attention = enc(
        X, EDGE_INDEX, PATH_NODES, PATH_REL, PATH_LEN, PATH_GRAPH, torch.randn(2, 4), 2
    )
    # pair (0,1) holds p0, p1 -> 1/2 each; two pairs in graph 0 -> 1/2 each
    torch.testing.assert_close(attention, torch.tensor([0.25, 0.25, 0.5]))
    p = [_lstm_path(enc, X, i) for i in range(3)]
    torch.testing.assert_close(out[0], 0.25 * p[0] + 0.25 * p[1] + 0.5 * p[2])
    torch.testing.assert_close(out[1], torch.zeros(4))


@torch.no_grad()
def test_attention_matches_reference():
    torch.manual_seed(1)
    enc = PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4, statement_dim=5,
                      gcn_layers=0).eval()
    s = torch.randn(2, 5)
    out, attention = enc(X, EDGE_INDEX, PATH_NODES, PATH_REL, PATH_LEN, PATH_GRAPH, s, 2)
    p = [_lstm_path(enc, X, i) for i in range(3)]
    q1, q2 = enc.lin_path_query(s[0]), enc.lin_pair_query(s[0])
    sc = [float(q1 @ p[i]) / 2 for i in range(3)]  # sqrt(hidden 4) = 2
    a0 = math.exp(sc[0]) / (math.exp(sc[0]) + math.exp(sc[1]))
    v_a, v_b = a0 * p[0] + (1 - a0) * p[1], p[2]
    ea, eb = math.exp(float(q2 @ v_a) / 2), math.exp(float(q2 @ v_b) / 2)
    b_a, b_b = ea / (ea + eb), eb / (ea + eb)
    torch.testing.assert_close(out[0], b_a * v_a + b_b * v_b)
    torch.testing.assert_close(
        attention, torch.tensor([a0 * b_a, (1 - a0) * b_a, b_b]), rtol=1e-5, atol=1e-6
    )


def test_gcn_node_states_hand_checked():
    enc = PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4, gcn_layers=1)
    with torch.no_grad():
        enc.gcns[0].lin.weight.copy_(torch.eye(2))
        enc.gcns[0].bias.zero_()
    ei = torch.tensor([[0], [1]])  # one edge 0 -> 1; GCN adds self loops
    h = enc.node_states(X, ei)
    # deg(0) = 1, deg(1) = 2: gcn_1 = x_0 / sqrt(2) + x_1 / 2, gcn_0 = x_0, others x_i
    gcn = torch.stack([X[0], X[0] / math.sqrt(2) + X[1] / 2, X[2], X[3]])
    torch.testing.assert_close(h, X + F.gelu(gcn))


def test_no_paths_and_repr():
    enc = PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4)
    out, attention = enc(
        torch.zeros(0, 2), torch.zeros(2, 0, dtype=torch.long),
        torch.zeros(0, 3, dtype=torch.long), torch.zeros(0, 2, dtype=torch.long),
        torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long),
        torch.randn(3, 4), 3,
    )
    assert torch.equal(out, torch.zeros(3, 4)) and attention.shape == (0,)
    assert repr(enc) == (
        "PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4, gcn_layers=1)"
    )


def test_gradients_flow():
    enc = PathEncoder(2, num_relations=2, relation_dim=3, hidden_dim=4)
    x = X.clone().requires_grad_()
    out, _ = enc(x, EDGE_INDEX, PATH_NODES, PATH_REL, PATH_LEN, PATH_GRAPH, torch.randn(2, 4), 2)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert enc.lstm.weight_ih_l0.grad is not None
