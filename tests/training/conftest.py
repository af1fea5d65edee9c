"""Shared settings of the training tests: a tiny random BERT on the bundled demo data."""

from __future__ import annotations

from typing import Any

from kglm.training.config import TrainingConfig


def tiny_training_config(tmp_path: Any, **changes: Any) -> TrainingConfig:
    """A seconds-long run: ``tiny-bert`` on the demo KG and questions; ``changes`` override any field."""
    base: dict[str, Any] = dict(
        model="qagnn",
        backbone="tiny-bert",
        kg="demo",
        train_file="demo",
        dev_file="demo",
        max_seq_length=32,
        batch_size=8,
        eval_batch_size=16,
        kg_lr=1e-2,
        warmup=0.0,
        entity_embeddings="random",
        entity_dim=16,
        max_nodes=24,
        model_kwargs={"gnn_hidden": 16, "gnn_layers": 1},
        output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"),
        logging_steps=1,
        show_progress=False,
        eval_each_epoch=True,
    )
    base.update(changes)
    return TrainingConfig(**base)
