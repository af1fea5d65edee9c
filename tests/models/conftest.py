"""Shared fixtures of the model tests: tiny text-encoder configs and toy batches.

``encoder_config`` is parametrised over the five supported encoder families
(hidden 32, 2 layers, vocabulary 99, built here, nothing downloaded).
``make_batch`` builds a batch dict exactly as ``docs/architecture.md`` ("Model
batches") describes: 2 questions x 3 choices x 8 tokens and small graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

ENCODER_TYPES = ("bert", "albert", "electra", "roberta", "distilbert")
VOCAB_SIZE = 99
HIDDEN = 32
#: encoder families whose tokenizers make token_type_ids
TOKEN_TYPE_ENCODERS = ("bert", "albert", "electra")


def tiny_encoder_config(model_type: str) -> dict[str, Any]:
    """A tiny transformers config dict (hidden 32, 2 layers, vocab 99) for ``model_type``."""
    from transformers import AutoConfig

    common: dict[str, Any] = {"vocab_size": VOCAB_SIZE, "max_position_embeddings": 64}
    if model_type == "distilbert":
        kwargs = {"dim": HIDDEN, "n_layers": 2, "n_heads": 4, "hidden_dim": 37}
    else:
        kwargs = {"hidden_size": HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
    if model_type == "albert":
        kwargs["embedding_size"] = 16
    if model_type == "electra":
        kwargs["embedding_size"] = HIDDEN
    if model_type == "roberta":
        kwargs.update(pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1)
    return AutoConfig.for_model(model_type, **common, **kwargs).to_dict()


@pytest.fixture(params=ENCODER_TYPES)
def encoder_type(request: pytest.FixtureRequest) -> str:
    """Each supported encoder family in turn."""
    return request.param


@pytest.fixture
def encoder_config(encoder_type: str) -> dict[str, Any]:
    """The tiny config dict of the current encoder family (pass as ``encoder=`` to a KGModelConfig)."""
    return tiny_encoder_config(encoder_type)


def make_toy_batch(
    encoder_type: str = "bert",
    num_questions: int = 2,
    num_choices: int = 3,
    seq_len: int = 8,
    num_entities: int = 20,
    num_relations: int = 6,
    nodes_per_graph: int = 5,
    max_hops: int = 2,
    empty_graphs: bool = False,
    labels: bool = True,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """A model batch per docs/architecture.md with B*C small random graphs.

    Graph g has ``nodes_per_graph + g % 2`` nodes except the last one, which is
    empty (a choice where nothing was linked); ``empty_graphs=True`` makes all
    graph keys empty (N = 0, E = 0, P = 0). ``num_relations`` is the number of
    edge types (2R). Paths are KagNet style: ``max_hops`` hops, -1 padded.
    """
    g = torch.Generator().manual_seed(seed)
    b, c, length = num_questions, num_choices, seq_len
    input_ids = torch.randint(5, VOCAB_SIZE, (b, c, length), generator=g)
    input_ids[..., 0] = 2  # a [CLS]-like first token
    attention_mask = torch.ones(b, c, length, dtype=torch.long)
    attention_mask[0, 1, -2:] = 0  # some padding
    pad_id = 1 if encoder_type == "roberta" else 0
    input_ids[attention_mask == 0] = pad_id
    batch: dict[str, torch.Tensor] = {"input_ids": input_ids, "attention_mask": attention_mask}
    if encoder_type in TOKEN_TYPE_ENCODERS:
        token_type_ids = torch.zeros(b, c, length, dtype=torch.long)
        token_type_ids[..., length // 2 :] = 1
        batch["token_type_ids"] = token_type_ids
    if labels:
        batch["labels"] = torch.arange(b) % c

    num_graphs = b * c
    sizes = [0 if empty_graphs or i == num_graphs - 1 else nodes_per_graph + i % 2 for i in range(num_graphs)]
    node_ids, node_type, graph_index, edges, edge_type = [], [], [], [], []
    path_nodes, path_relations, path_length, path_graph = [], [], [], []
    token_entity = torch.full((b, c, length), -1, dtype=torch.long)
    offset = 0
    for gi, n in enumerate(sizes):
        if n:
            node_ids.append(torch.randint(0, num_entities, (n,), generator=g))
            kinds = torch.full((n,), 2, dtype=torch.long)
            kinds[0] = 0
            kinds[1] = 1
            node_type.append(kinds)
            graph_index.append(torch.full((n,), gi, dtype=torch.long))
            # a chain 0-1-..-(n-1) plus a few random edges, local -> global
            src = torch.cat([torch.arange(n - 1), torch.randint(0, n, (3,), generator=g)])
            dst = torch.cat([torch.arange(1, n), torch.randint(0, n, (3,), generator=g)])
            edges.append(torch.stack([src, dst]) + offset)
            edge_type.append(torch.randint(0, num_relations, (src.numel(),), generator=g))
            # ERNIE alignment: the question concept at token 1, the answer concept at the last real token
            qb, qc = divmod(gi, c)
            token_entity[qb, qc, 1] = offset
            last = int(attention_mask[qb, qc].sum()) - 1
            token_entity[qb, qc, last] = offset + 1
            # two paths: question -> answer directly, and through node 2
            hops = min(max_hops, n - 1)
            p1 = torch.full((max_hops + 1,), -1, dtype=torch.long)
            p1[:2] = torch.tensor([0, 1]) + offset
            p2 = torch.full((max_hops + 1,), -1, dtype=torch.long)
            p2[: hops + 1] = torch.tensor([0, *range(2, hops + 1), 1][: hops + 1]) + offset
            path_nodes += [p1, p2]
            r1 = torch.full((max_hops,), -1, dtype=torch.long)
            r1[0] = int(torch.randint(0, num_relations, (1,), generator=g))
            r2 = torch.full((max_hops,), -1, dtype=torch.long)
            r2[:hops] = torch.randint(0, num_relations, (hops,), generator=g)
            path_relations += [r1, r2]
            path_length += [1, hops]
            path_graph += [gi, gi]
        offset += n

    def cat(parts: list[torch.Tensor], empty_shape: tuple[int, ...]) -> torch.Tensor:
        return torch.cat(parts, dim=-1) if parts else torch.zeros(empty_shape, dtype=torch.long)

    batch["node_ids"] = cat(node_ids, (0,))
    batch["node_type"] = cat(node_type, (0,))
    batch["graph_index"] = cat(graph_index, (0,))
    batch["edge_index"] = cat(edges, (2, 0))
    batch["edge_type"] = cat(edge_type, (0,))
    batch["token_entity"] = token_entity
    batch["path_nodes"] = torch.stack(path_nodes) if path_nodes else torch.zeros(0, max_hops + 1, dtype=torch.long)
    batch["path_relations"] = torch.stack(path_relations) if path_relations else torch.zeros(0, max_hops, dtype=torch.long)
    batch["path_length"] = torch.tensor(path_length, dtype=torch.long)
    batch["path_graph"] = torch.tensor(path_graph, dtype=torch.long)
    return batch


@pytest.fixture
def make_batch() -> Callable[..., dict[str, torch.Tensor]]:
    """The :func:`make_toy_batch` builder, for tests that need several batch variants."""
    return make_toy_batch


@pytest.fixture
def toy_batch(encoder_type: str) -> dict[str, torch.Tensor]:
    """A toy batch for the current encoder family (2 questions x 3 choices x 8 tokens)."""
    return make_toy_batch(encoder_type)


@pytest.fixture
def tiny_config() -> Callable[[str], dict[str, Any]]:
    """The :func:`tiny_encoder_config` builder (model_type -> tiny config dict)."""
    return tiny_encoder_config
