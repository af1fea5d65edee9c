import math

import torch

from kglm.nn import AttentionPooling


def _identity_pool() -> AttentionPooling:
    pool = AttentionPooling(2, 2)
    with torch.no_grad():
        for lin in (pool.lin_query, pool.lin_key):
            lin.weight.copy_(torch.eye(2))
            lin.bias.zero_()
    return pool


def test_hand_checked_with_empty_middle_graph():
    pool = _identity_pool()
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.0]])
    graph_index = torch.tensor([0, 0, 2, 2])
    a = math.log(3) * math.sqrt(2) / 2  # score of node 0 = 2a / sqrt(2) = ln 3
    query = torch.tensor([[a, 0.0], [7.0, 7.0], [0.0, 0.0]])
    pooled, attention = pool(x, query, graph_index, num_graphs=3)
    torch.testing.assert_close(attention, torch.tensor([0.75, 0.25, 0.5, 0.5]))
    torch.testing.assert_close(
        pooled, torch.tensor([[1.5, 0.5], [0.0, 0.0], [2.0, 0.5]])
    )


def test_no_nodes_and_repr():
    pool = AttentionPooling(4, 6, hidden_dim=3)
    pooled, attention = pool(
        torch.zeros(0, 4), torch.randn(2, 6), torch.zeros(0, dtype=torch.long), 2
    )
    assert pooled.shape == (2, 4) and attention.shape == (0,)
    assert torch.equal(pooled, torch.zeros(2, 4))
    assert repr(pool) == "AttentionPooling(4, 6, hidden_dim=3)"


def test_attention_sums_to_one_per_graph():
    torch.manual_seed(0)
    pool = AttentionPooling(4, 6)
    graph_index = torch.tensor([0, 1, 1, 1])
    _, attention = pool(torch.randn(4, 4), torch.randn(2, 6), graph_index, 2)
    sums = torch.zeros(2).index_add_(0, graph_index, attention)
    torch.testing.assert_close(sums, torch.ones(2))
