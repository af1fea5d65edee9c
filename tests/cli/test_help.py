"""Every kglm sub-command explains itself in --help, and every command that trains, grounds,
scores or benchmarks takes the same --threads option."""

from __future__ import annotations

import argparse

import pytest

from kglm.cli import build_parser
from kglm.cli._common import DEFAULT_THREADS


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:  # argparse keeps its sub-parsers here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _subcommands(sub, prefix + (name,))


def test_every_subcommand_has_a_description() -> None:
    commands = dict(_subcommands(build_parser()))
    assert {("train",), ("evaluate",), ("predict",), ("bench",), ("demo",), ("ground",), ("link",)} <= set(commands)
    for name, sub in commands.items():
        assert sub.description and sub.description.strip(), f"kglm {' '.join(name)} --help has no description"


@pytest.mark.parametrize("argv", [
    ["evaluate", "--model", "m", "--data", "demo"],
    ["predict", "--model", "m", "q?", "--choices", "a", "b"],
    ["bench", "demo"],
    ["demo"],
    ["ground", "--kg", "demo", "--data", "d.jsonl", "-o", "out"],
])
def test_threads_option_is_shared(argv) -> None:
    parser = build_parser()
    assert parser.parse_args(argv).threads == DEFAULT_THREADS
    assert parser.parse_args(argv + ["--threads", "3"]).threads == 3
    with pytest.raises(SystemExit):
        parser.parse_args(argv + ["--threads", "0"])


@pytest.mark.parametrize("argv", [
    ["evaluate", "--data", "demo"],
    ["predict", "q?", "--choices", "a", "b"],
])
def test_model_dir_options_are_shared(argv) -> None:
    parser = build_parser()
    args = parser.parse_args(argv + ["--model", "runs/m"])
    assert (args.model, args.kg) == ("runs/m", None)
    assert parser.parse_args(argv + ["--model", "m", "--kg", "other"]).kg == "other"
    with pytest.raises(SystemExit):  # --model is required
        parser.parse_args(argv)


@pytest.mark.parametrize("argv", [
    ["link", "--kg", "demo"],
    ["ground", "--kg", "demo", "--data", "d.jsonl", "-o", "out"],
    ["bench", "demo"],
    ["demo"],
])
def test_cache_dir_option_is_shared(argv, capsys) -> None:
    parser = build_parser()
    assert parser.parse_args(argv).cache_dir is None
    assert parser.parse_args(argv + ["--cache-dir", "c"]).cache_dir == "c"
    with pytest.raises(SystemExit):
        parser.parse_args([argv[0], "--help"])
    assert "(default: $KGLM_CACHE, else ./.kglm_cache)" in " ".join(capsys.readouterr().out.split())


def test_train_records_the_default_threads(tmp_path, monkeypatch) -> None:
    seen = {}
    monkeypatch.setattr("kglm.training.preflight.check_config", lambda config: seen.setdefault("config", config))
    monkeypatch.setattr("kglm.training.train", lambda config: (_ for _ in ()).throw(KeyboardInterrupt))
    from kglm.cli import main

    assert main(["train", "demo", "--model", "lm", "--output_dir", str(tmp_path)]) == 130
    assert seen["config"].threads == DEFAULT_THREADS
    assert main(["train", "demo", "--model", "lm", "--threads", "2", "--output_dir", str(tmp_path)]) == 130


def test_each_command_is_registered_by_the_module_of_its_name() -> None:
    import importlib

    from kglm.cli import _COMMANDS

    for name in _COMMANDS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"kglm.cli.{name}").register(sub)
        assert name in sub.choices, f"kglm.cli.{name} does not register 'kglm {name}'"
        assert all(command == name or command.startswith(f"{name}-") for command in sub.choices), sorted(sub.choices)
