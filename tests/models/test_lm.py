"""Tests of kglm.models.lm (LM baseline), kglm.models.base and kglm.models.auto."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoConfig, AutoModelForMultipleChoice, BertConfig

from kglm.kg.embeddings import EntityEmbeddings
from kglm.models.auto import get_model_class, kg_model_types, load_model, register_auto_classes
from kglm.models.base import KGModelConfig
from kglm.models.lm import LMConfig, LMForMultipleChoice
from kglm.models.outputs import MultipleChoiceKGOutput


def _model(encoder_config: dict, seed: int = 0) -> LMForMultipleChoice:
    torch.manual_seed(seed)
    return LMForMultipleChoice(LMConfig(encoder=encoder_config))


def test_output_shapes_and_loss(encoder_type: str, encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config).eval()
    out = model(**toy_batch)
    assert isinstance(out, MultipleChoiceKGOutput)
    assert out.logits.shape == (2, 3)
    assert out.loss is not None and out.loss.ndim == 0
    expected = torch.nn.functional.cross_entropy(out.logits, toy_batch["labels"])
    torch.testing.assert_close(out.loss, expected)
    unlabeled = {k: v for k, v in toy_batch.items() if k != "labels"}
    out2 = model(**unlabeled)
    assert out2.loss is None
    torch.testing.assert_close(out2.logits, out.logits)
    # the loss comes first, as in every HF output
    assert list(out.keys())[0] == "loss"
    # graph keys are accepted and ignored
    text_only = {k: toy_batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in toy_batch}
    assert torch.equal(model(**text_only).logits, out.logits)


def test_loss_decreases(encoder_config: dict, toy_batch: dict) -> None:
    model = _model(encoder_config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.eval()  # no dropout: a deterministic objective
    losses = []
    for _ in range(6):
        loss = model(**toy_batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_save_load_identical_logits(encoder_config: dict, toy_batch: dict, tmp_path: Path) -> None:
    model = _model(encoder_config, seed=3).eval()
    # move the weights away from any initialisation so a re-randomised load would show
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    before = model(**toy_batch).logits
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "kglm-lm"
    torch.manual_seed(123)
    loaded = LMForMultipleChoice.from_pretrained(tmp_path).eval()
    # transformers' own round trip is exact only up to float rounding (kernel alignment)
    torch.testing.assert_close(loaded(**toy_batch).logits, before, rtol=0, atol=1e-6)
    again = load_model(tmp_path).eval()
    assert type(again) is LMForMultipleChoice
    torch.testing.assert_close(again(**toy_batch).logits, before, rtol=0, atol=1e-6)


@pytest.mark.parametrize("model_type", ["bert", "albert", "roberta"])
def test_same_logits_as_auto_model_for_multiple_choice(model_type: str, make_batch, tiny_config) -> None:
    """With the same weights, the baseline is the transformers multiple-choice head (pooled [CLS] families)."""
    encoder = tiny_config(model_type)
    torch.manual_seed(0)
    reference = AutoModelForMultipleChoice.from_config(AutoConfig.for_model(**encoder)).eval()
    model = LMForMultipleChoice(LMConfig(encoder=encoder)).eval()
    prefix = reference.base_model_prefix + "."
    ours = {
        ("text_encoder." + k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in reference.state_dict().items()
    }
    ours["entity_embeddings.weight"] = model.entity_embeddings.weight.detach()
    missing, unexpected = model.load_state_dict(ours, strict=True)
    assert not missing and not unexpected
    batch = make_batch(model_type)
    text = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    expected = reference(**text, labels=batch["labels"])
    got = model(**batch)
    torch.testing.assert_close(got.logits, expected.logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(got.loss, expected.loss, rtol=0, atol=1e-6)


def test_from_encoder_keeps_pretrained_weights(tmp_path: Path, tiny_config) -> None:
    from transformers import AutoModel

    torch.manual_seed(7)
    encoder = AutoModel.from_config(AutoConfig.for_model(**tiny_config("bert")))
    encoder.save_pretrained(tmp_path / "enc")
    model = LMForMultipleChoice.from_encoder(str(tmp_path / "enc"), dropout=0.2)
    assert model.config.dropout == 0.2
    assert model.config.encoder["model_type"] == "bert"
    for name, value in encoder.state_dict().items():
        assert torch.equal(model.text_encoder.state_dict()[name], value), name
    assert model.training


def test_entity_embeddings_frozen_and_loaded(tiny_config) -> None:
    config = LMConfig(encoder=tiny_config("bert"), num_entities=5, entity_dim=4)
    model = LMForMultipleChoice(config)
    assert not model.entity_embeddings.weight.requires_grad
    weight = torch.arange(20, dtype=torch.float).view(5, 4)
    model.load_entity_embeddings(weight)
    assert torch.equal(model.entity_embeddings.weight, weight)
    with pytest.raises(ValueError, match=r"\(5, 4\)"):
        model.load_entity_embeddings(torch.zeros(4, 4))
    assert model.config.kg_fingerprint is None
    model.load_entity_embeddings(EntityEmbeddings(weight * 2, "abc123", "transe"))
    assert torch.equal(model.entity_embeddings.weight, weight * 2)
    assert model.config.kg_fingerprint == "abc123"
    model.check_kg(SimpleNamespace(fingerprint="abc123"))
    with pytest.raises(ValueError, match="abc123"):
        model.check_kg(SimpleNamespace(fingerprint="other"))
    trainable = LMForMultipleChoice(LMConfig(encoder=tiny_config("bert"), freeze_entity_embeddings=False))
    assert trainable.entity_embeddings.weight.requires_grad


def test_config_validation_and_round_trip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gnn_conv"):
        KGModelConfig(gnn_conv="gcn")
    with pytest.raises(ValueError, match="kg_control"):
        KGModelConfig(kg_control="shuffle")
    with pytest.raises(ValueError, match="model_type"):
        KGModelConfig(encoder={"hidden_size": 3})
    with pytest.raises(ValueError, match="config.encoder is None"):
        LMForMultipleChoice(LMConfig())
    assert LMConfig(encoder=BertConfig(hidden_size=32)).encoder["hidden_size"] == 32  # config objects become dicts
    config = LMConfig(encoder=BertConfig(hidden_size=32).to_dict(), num_relations=8, gnn_layers=3)
    config.save_pretrained(tmp_path)
    loaded = LMConfig.from_pretrained(tmp_path)
    assert (loaded.num_relations, loaded.gnn_layers, loaded.encoder["hidden_size"]) == (8, 3, 32)


def test_auto_registry(tmp_path: Path, tiny_config) -> None:
    assert set(kg_model_types()) >= {"kglm-lm", "kglm-ernie", "kglm-qagnn", "kglm-kagnet"}
    assert get_model_class("kglm-lm") is LMForMultipleChoice
    with pytest.raises(ValueError, match="kglm-lm"):
        get_model_class("bert")
    register_auto_classes()
    model = _model(tiny_config("distilbert"))
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), LMConfig)
    assert type(AutoModelForMultipleChoice.from_pretrained(tmp_path)) is LMForMultipleChoice


def test_trainer_runs_one_epoch(tmp_path: Path, make_batch, tiny_config) -> None:
    from transformers import Trainer, TrainingArguments

    class ToyDataset(torch.utils.data.Dataset):
        def __init__(self) -> None:
            batch = make_batch("bert", num_questions=4)
            self.rows = [{k: batch[k][i] for k in ("input_ids", "attention_mask", "token_type_ids", "labels")} for i in range(4)]

        def __len__(self) -> int:
            return len(self.rows)

        def __getitem__(self, i: int) -> dict:
            return self.rows[i]

    model = _model(tiny_config("bert"))
    args = TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=1,
        per_device_train_batch_size=2,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_strategy="no",
    )
    trainer = Trainer(model=model, args=args, train_dataset=ToyDataset())
    result = trainer.train()
    assert result.global_step == 2
    assert torch.isfinite(torch.tensor(result.training_loss))
