"""The frozen-encoder cache works through public APIs only and gives exactly the encoder's outputs."""

from __future__ import annotations

import torch
from transformers import BertConfig

from kglm.models.ernie import ErnieFusionConfig, ErnieFusionForMultipleChoice
from kglm.models.lm import LMConfig, LMForMultipleChoice
from kglm.training.encoder_cache import (
    FrozenEncoderCache,
    first_fusion_layer,
    install_encoder_cache,
    remove_encoder_cache,
)

ENCODER = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                     intermediate_size=32).to_dict()


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    b, c, length, n = 2, 3, 7, 12
    ids = torch.randint(1, 50, (b, c, length), generator=g)
    mask = torch.ones(b, c, length, dtype=torch.long)
    mask[0, 1, 5:] = 0
    mask[1, 2, 3:] = 0
    token_entity = torch.full((b, c, length), -1)
    token_entity[0, 0, 1], token_entity[0, 1, 2], token_entity[1, 2, 1], token_entity[1, 0, 4] = 0, 3, 5, 7
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids),
                node_ids=torch.randint(0, 10, (n,), generator=g), node_type=torch.randint(0, 3, (n,), generator=g),
                graph_index=torch.arange(n) % (b * c), edge_index=torch.randint(0, n, (2, 20), generator=g),
                edge_type=torch.randint(0, 4, (20,), generator=g), token_entity=token_entity)


def test_cached_outputs_equal_the_encoder_and_nothing_is_patched() -> None:
    torch.manual_seed(0)
    ernie = ErnieFusionForMultipleChoice(ErnieFusionConfig(
        encoder=ENCODER, num_entities=10, entity_dim=8, num_relations=4, gnn_hidden=8, gnn_layers=1,
        fusion_layers=[1, 2])).eval()
    with torch.no_grad():  # a fusion that changes the token states (it starts as the identity)
        for p in ernie.fusion.parameters():
            p.add_(0.1 * torch.randn_like(p))
    lm = LMForMultipleChoice(LMConfig(encoder=ENCODER)).eval()
    batch = _batch()
    with torch.no_grad():
        expected = {"ernie": ernie(**batch).logits, "lm": lm(**batch).logits}
        ernie_hidden, _ = ernie.encode_text(batch["input_ids"], batch["attention_mask"])
        assert first_fusion_layer(ernie) == 1 and first_fusion_layer(lm) is None
        cache = FrozenEncoderCache()
        install_encoder_cache(ernie, cache, prefix_layers=1)
        install_encoder_cache(lm, FrozenEncoderCache())
        for model in (ernie, lm):  # the encoder object is untouched: no replaced forward
            assert "forward" not in vars(model.text_encoder)
            assert not any(p.requires_grad for p in model.text_encoder.parameters())
        for _ in range(2):  # misses, then hits
            torch.testing.assert_close(ernie(**batch).logits, expected["ernie"], rtol=0, atol=0)
            torch.testing.assert_close(lm(**batch).logits, expected["lm"], rtol=0, atol=0)
        assert cache.misses == 6 and cache.hits == 6
    remove_encoder_cache(ernie)
    with torch.no_grad():
        torch.testing.assert_close(ernie.encode_text(batch["input_ids"], batch["attention_mask"])[0], ernie_hidden)
