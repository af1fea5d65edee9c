"""kglm.training.preflight: missing data, KG or backbone fail at once with one line."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.errors import MissingResourceError
from kglm.training import preflight
from kglm.training.config import TrainingConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _empty_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(preflight, "_REACHABLE", {})


def test_missing_files_name_the_field(tmp_path):
    config = TrainingConfig(model="qagnn", backbone="minilm-2l", kg=str(tmp_path / "kg.nt"),
                            train_file="demo", dev_file="demo")
    with pytest.raises(MissingResourceError, match=r"kg='.*kg\.nt': no such file"):
        preflight.check_config(config)
    config = config.replace(train_file=str(tmp_path / "csqa" / "train.jsonl"))
    with pytest.raises(MissingResourceError, match="train_file=.*kglm download"):
        preflight.check_config(config)
    # the LM baseline needs no KG
    preflight.check_config(config.replace(model="lm", train_file="demo"))


def test_backbone_offline_unreachable_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingResourceError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE"):
        preflight.check_backbone("bert-base-uncased")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.perf_counter()
    with pytest.raises(MissingResourceError, match="cannot be reached"):
        preflight.check_backbone("bert-base-uncased", timeout=2.0)
    assert time.perf_counter() - started < 5
    snapshot = tmp_path / "hub" / "models--bert-base-uncased" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    preflight.check_backbone("bert-base-uncased")  # cached: fine without the hub
    preflight.check_backbone("minilm-2l")
    preflight.check_backbone("tiny-bert")
    with pytest.raises(MissingResourceError, match="no such directory"):
        preflight.check_backbone("./no/such/model")


def test_cli_train_missing_data_is_one_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"model: qagnn\nbackbone: minilm-2l\nkg: demo\ntrain_file: {tmp_path}/none.jsonl\n")
    started = time.perf_counter()
    assert main(["train", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kglm: error: train_file='{tmp_path}/none.jsonl': no such file or directory"]
    assert time.perf_counter() - started < 10


def _run(name: str, args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return info.value.code


def test_examples_fail_fast(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path / "nothing"))
    assert _run("run_benchmark.py", ["--suite", "csqa-quick"], monkeypatch) == 1
    assert "run_benchmark.py: error: KGLM_DATA_DIR=" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _run("add_fusion_layer.py", ["--model", "bert-base-uncased"], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "add_fusion_layer.py: error: --model='bert-base-uncased'" in err[0]


def test_preflight_and_the_resolver_agree_on_packaged_backbones() -> None:
    from kglm.training.resources import is_packaged_backbone

    assert all(is_packaged_backbone(n) for n in ("minilm", "minilm-2l", "minilm-12l", "tiny-bert"))
    assert not any(is_packaged_backbone(n) for n in ("minilm-l", "minilm-2", "bert-base-uncased", "./minilm"))
    for name in ("minilm-2l", "tiny-bert"):
        preflight.check_backbone(name)  # packaged: passes with no hub and no path
