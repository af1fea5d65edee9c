"""KGLM_CACHE is honoured by training, bench and the resolvers (one cache-dir function: kglm.utils.paths.cache_dir)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_kglm_cache_is_the_default_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kglm.bench.runner import run_suite, suite_config
    from kglm.bench.suites import get_suite
    from kglm.training import resources
    from kglm.training.config import TrainingConfig, load_config

    import inspect

    monkeypatch.setenv("KGLM_CACHE", str(tmp_path / "env-cache"))
    assert TrainingConfig().cache_dir == str(tmp_path / "env-cache")
    assert load_config(None, ["epochs=1"]).cache_dir == str(tmp_path / "env-cache")
    assert TrainingConfig(cache_dir=str(tmp_path / "mine")).cache_dir == str(tmp_path / "mine")
    # bench: run_suite's default and the suite configs it builds
    assert inspect.signature(run_suite).parameters["cache_dir"].default is None
    assert suite_config(get_suite("demo"), 0, cache_dir=None).cache_dir == str(tmp_path / "env-cache")
    # the resolvers write converted KGs under it
    kg_file = tmp_path / "kg.tsv"
    kg_file.write_text("head\trelation\ttail\ncat\tIsA\tanimal\n", encoding="utf-8")
    target = resources.kg_directory(str(kg_file))
    assert target.parent == tmp_path / "env-cache" / "kg"
    monkeypatch.delenv("KGLM_CACHE")
    monkeypatch.chdir(tmp_path)
    assert TrainingConfig().cache_dir == ".kglm_cache"


def test_cli_defaults_are_the_cache_function() -> None:
    import argparse

    from kglm.cli import bench, demo, ground, link

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for module in (bench, demo, ground, link):
        module.register(sub)
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest == "cache_dir":
                assert action.default is None, name
