"""Training, evaluation and prediction through :class:`transformers.Trainer`.

Public API::

    from kglm.training import TrainingConfig, load_config, train, evaluate, Predictor

    config = load_config("train.yaml", overrides=["epochs=2"])
    result = train(config)                      # TrainResult
    evaluate(result.model_dir, "dev.jsonl")     # {"accuracy": ...}
    Predictor.load(result.model_dir).predict("question?", ["a", "b"])

Submodules are imported on first use of a name (no work at import time).
"""

from __future__ import annotations

from kglm._lazy import lazy_exports

_NAMES: dict[str, str] = {
    "TrainingConfig": "kglm.training.config",
    "load_config": "kglm.training.config",
    "apply_overrides": "kglm.training.config",
    "KGTrainer": "kglm.training.trainer",
    "FreezeEncoderCallback": "kglm.training.trainer",
    "PreparedData": "kglm.training.trainer",
    "TrainResult": "kglm.training.trainer",
    "compute_accuracy": "kglm.training.trainer",
    "prepare_data": "kglm.training.trainer",
    "prepare_shared_data": "kglm.training.trainer",
    "RunResources": "kglm.training.resources",
    "resolve_run": "kglm.training.resources",
    "build_model": "kglm.training.trainer",
    "train": "kglm.training.trainer",
    "evaluate": "kglm.training.trainer",
    "FrozenEncoderCache": "kglm.training.encoder_cache",
    "install_encoder_cache": "kglm.training.encoder_cache",
    "Predictor": "kglm.training.predict",
    "Prediction": "kglm.training.predict",
    "draw_choice_graph": "kglm.training.drawing",
}

__all__ = list(_NAMES)

__getattr__, __dir__ = lazy_exports(__name__, _NAMES)
