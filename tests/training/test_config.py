"""One override parser and one typed config for every entry point (kglm train, kglm bench --set)."""

from __future__ import annotations

import pytest

from kglm.errors import ConfigError
from kglm.training.config import TrainingConfig, apply_overrides, apply_settings, load_config, parse_overrides


def test_overrides_are_typed_for_every_key_form():
    values = parse_overrides(["encoder_lr=1e-5", "train.kg_lr=2E-3", "model_kwargs.gnn_layers=3", "seed=7"])
    assert values == {"encoder_lr": 1e-5, "train.kg_lr": 2e-3, "model_kwargs.gnn_layers": 3, "seed": 7}
    config = apply_overrides(TrainingConfig(), ["encoder_lr=1e-5", "train.lr=3e-5", "model_kwargs.gnn_layers=3"])
    assert isinstance(config.encoder_lr, float) and config.encoder_lr == 3e-5
    assert config.model_kwargs == {"gnn_layers": 3}
    config = apply_settings(TrainingConfig(), {"encoder_lr": "1e-5", "epochs": "2", "dev_file": "none",
                                               "max_train_examples": "100", "show_progress": "off"})
    assert config.encoder_lr == 1e-5 and config.num_epochs == 2.0 and config.dev_file is None
    assert config.max_train_examples == 100 and config.show_progress is False


@pytest.mark.parametrize(
    "item, match",
    [
        ("encoder_lr=fast", "'encoder_lr'"),
        ("batch_size=2.5", "'batch_size'"),
        ("show_progress=maybe", "'show_progress'"),
        ("model_kwargs=3", "'model_kwargs'"),
        ("seed=none", "'seed'"),
        ("nonsense=1", "'nonsense'"),
        ("seed.sub=1", "'seed.sub'"),
        ("epochs", "KEY=VALUE"),
    ],
)
def test_bad_overrides_are_config_errors_naming_the_key(item, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(TrainingConfig(), [item])


def test_yaml_file_values_are_typed(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train:\n  lr: 1e-5\n  batch: 4\n", encoding="utf-8")
    config = load_config(path)
    assert isinstance(config.encoder_lr, float) and config.encoder_lr == 1e-5 and config.batch_size == 4


def test_bench_set_goes_through_the_same_parser():
    from kglm.bench.runner import suite_config
    from kglm.bench.suites import get_suite
    from kglm.cli.bench import _settings

    settings = _settings(["encoder_lr=1e-5", "train.kg_lr=1e-2", "model_kwargs.gnn_layers=3"])
    config = suite_config(get_suite("demo"), 0, **settings)
    assert isinstance(config.encoder_lr, float) and config.encoder_lr == 1e-5 and config.kg_lr == 1e-2
    assert config.model_kwargs["gnn_layers"] == 3
    with pytest.raises(ConfigError, match="'encoder_lr'"):
        suite_config(get_suite("demo"), 0, **_settings(["encoder_lr=fast"]))


def test_kglm_demo_set_goes_through_the_same_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    import kglm.bench
    from kglm.cli import demo

    seen = {}

    def fake_run_suite(name, out, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(kglm.bench, "run_suite", fake_run_suite)
    parser = argparse.ArgumentParser()
    demo.register(parser.add_subparsers())
    args = parser.parse_args(["demo", "--set", "encoder_lr=1e-5", "--set", "model_kwargs.gnn_layers=3", "--quiet"])
    with pytest.raises(SystemExit):
        args.func(args)
    assert seen["settings"] == {"encoder_lr": 1e-5, "model_kwargs.gnn_layers": 3}
    assert isinstance(seen["settings"]["encoder_lr"], float)


def test_json_config_file_and_its_errors(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"model": "lm", "num_epochs": 2}')
    assert load_config(path).num_epochs == 2
    path.write_text('{"model": ')
    with pytest.raises(ConfigError, match=r"c\.json: invalid JSON at line 1 column 11"):
        load_config(path)
    path.write_text("[1]")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(path)


def test_knowledge_text_defaults_are_the_knowledge_text_config_ones():
    from kglm.knowledge_text.core import KnowledgeTextConfig, knowledge_config_from_settings

    config = TrainingConfig(knowledge_text="both")
    kt = knowledge_config_from_settings(config.to_dict())
    assert (config.knowledge_max_tokens, config.knowledge_max_facts) == (KnowledgeTextConfig.max_tokens,
                                                                         KnowledgeTextConfig.max_facts)
    assert (kt.max_tokens, kt.max_facts) == (config.knowledge_max_tokens, config.knowledge_max_facts)
