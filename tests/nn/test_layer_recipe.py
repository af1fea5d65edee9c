"""The "how to add a layer" recipe of docs/architecture.md: a layer with its own reset_parameters, used in a
model, keeps its initialisation (even with no parameters of its own) and round-trips through save/load."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig

from kglm.models.base import KGModelConfig, KGPreTrainedModel


class GatedMix(nn.Module):
    """Toy fusion layer: ``h + sigmoid(gate([h, e])) * proj(e)``; starts as the identity on ``h``."""

    def __init__(self, hidden: int, entity_dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden + entity_dim, hidden)
        self.proj = nn.Linear(entity_dim, hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gate.reset_parameters()
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return h + torch.sigmoid(self.gate(torch.cat([h, e], -1))) * self.proj(e)


class ToyLayerConfig(KGModelConfig):
    model_type = "kglm-toy-layer-test"


class ToyLayerModel(KGPreTrainedModel):
    config_class = ToyLayerConfig

    def __init__(self, config: ToyLayerConfig) -> None:
        super().__init__(config)
        self.mix = GatedMix(self.text_hidden_size, config.entity_dim)
        self.post_init()


def test_layer_keeps_its_own_initialisation_and_round_trips(tmp_path: Path) -> None:
    encoder = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32).to_dict()
    model = ToyLayerModel(ToyLayerConfig(encoder=encoder, entity_dim=8))
    assert torch.count_nonzero(model.mix.proj.weight) == 0  # reset_parameters ran last, not a generic init
    h, e = torch.randn(3, 16), torch.randn(3, 8)
    torch.testing.assert_close(model.mix(h, e), h)  # the identity at initialisation
    with torch.no_grad():
        model.mix.proj.weight.normal_()
    model.save_pretrained(tmp_path)
    loaded = ToyLayerModel.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.mix.proj.weight, model.mix.proj.weight)  # loaded weights are not reset
