"""KGModelConfig.text_pooling: how encode_text turns a sequence into one vector."""

from __future__ import annotations

import pytest
import torch

from kglm.models.base import KGModelConfig
from kglm.models.lm import LMConfig, LMForMultipleChoice
from tests.models.conftest import tiny_encoder_config


def _batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    ids = torch.randint(5, 99, (2, 3, 8))
    mask = torch.ones_like(ids)
    mask[:, :, 5:] = 0  # padding at the end of every sequence
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("encoder_type", ["bert", "distilbert"])
def test_pooling_modes(encoder_type: str) -> None:
    batch = _batch()
    pooled = {}
    for mode in ("auto", "cls", "mean"):
        torch.manual_seed(0)
        model = LMForMultipleChoice(LMConfig(encoder=tiny_encoder_config(encoder_type), text_pooling=mode)).eval()
        with torch.no_grad():
            seq, pooled[mode] = model.encode_text(**batch)
    mask = batch["attention_mask"].reshape(-1, 8, 1).float()
    torch.testing.assert_close(pooled["mean"], (seq * mask).sum(1) / mask.sum(1))
    torch.testing.assert_close(pooled["cls"], seq[:, 0])
    if encoder_type == "bert":  # has a pooler: auto uses it, so it differs from the first token
        assert not torch.allclose(pooled["auto"], seq[:, 0])
    else:  # no pooler: auto is the first token
        torch.testing.assert_close(pooled["auto"], seq[:, 0])


def test_padding_does_not_change_the_mean() -> None:
    torch.manual_seed(0)
    model = LMForMultipleChoice(LMConfig(encoder=tiny_encoder_config("bert"), text_pooling="mean")).eval()
    batch = _batch()
    longer = {k: torch.cat([v, torch.zeros_like(v[..., :4])], -1) for k, v in batch.items()}
    longer["input_ids"][..., 8:] = 0
    with torch.no_grad():
        a = model(**batch).logits
        b = model(**longer).logits
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_bad_pooling_and_round_trip(tmp_path) -> None:
    with pytest.raises(ValueError, match="text_pooling"):
        KGModelConfig(encoder=tiny_encoder_config("bert"), text_pooling="max")
    model = LMForMultipleChoice(LMConfig(encoder=tiny_encoder_config("bert"), text_pooling="mean"))
    model.save_pretrained(tmp_path)
    assert LMForMultipleChoice.from_pretrained(tmp_path).config.text_pooling == "mean"
