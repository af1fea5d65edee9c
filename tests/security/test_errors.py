"""Class 7: hostile or damaged input ends as one ``kglm: error:`` line naming the file, exit status 1."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.errors import ConfigError, DataFormatError, KGLMError
from kglm.utils.io import open_compressed

FIXTURES = Path(__file__).resolve().parents[1] / "kg" / "fixtures"


def _one_error_line(capsys: pytest.CaptureFixture[str], *names: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kglm: error: "), err
    assert "Traceback" not in err[0]
    for name in names:
        assert name in err[0]
    return err[0]


@pytest.mark.parametrize("kind", ["gz", "bz2"])
@pytest.mark.parametrize("damage", ["truncated", "empty", "header-only"])
def test_damaged_compressed_kg_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, damage: str) -> None:
    src = (FIXTURES / "animals.nt").read_bytes() * 50
    packed = gzip.compress(src) if kind == "gz" else bz2.compress(src)
    data = {"truncated": packed[: len(packed) // 2], "empty": b"", "header-only": packed[:10]}[damage]
    path = tmp_path / f"animals.nt.{kind}"
    path.write_bytes(data)
    assert main(["kg", "build", str(path), "-o", str(tmp_path / "out")]) == 1
    _one_error_line(capsys, str(path))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_open_compressed_names_the_file(tmp_path: Path, kind: str) -> None:
    import lzma

    mod = {"gz": gzip, "bz2": bz2, "xz": lzma}[kind]
    path = tmp_path / f"x.txt.{kind}"
    packed = mod.compress(b"line\n" * 10_000)
    path.write_bytes(packed[: len(packed) - 20])
    with pytest.raises(DataFormatError, match=str(path)), open_compressed(path) as f:
        f.read()
    path.write_bytes(b"plain text, not compressed")
    with pytest.raises(DataFormatError, match="not compressed"):
        open_compressed(path)


def test_truncated_gz_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kglm.datasets.readers import read_examples

    rows = [{"id": f"q{i}", "question": {"stem": "Where?", "choices": [{"label": c, "text": c} for c in "ABCDE"]},
             "answerKey": "A"} for i in range(2000)]
    packed = gzip.compress("\n".join(json.dumps(r) for r in rows).encode())
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(KGLMError, match=str(path)):
        read_examples(path)


def test_yaml_python_tag_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "evil.yaml"
    cfg.write_text("model: qagnn\nepochs: !!python/object/apply:os.system ['echo pwned']\n")
    from kglm.training.config import load_config

    with pytest.raises(ConfigError, match=r"evil.yaml:2: invalid YAML"):
        load_config(cfg)
    assert main(["train", str(cfg), "--output_dir", str(tmp_path / "run")]) == 1
    _one_error_line(capsys, "evil.yaml:2")


def test_set_type_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "demo", "--set", "epochs=[1, 2]", "--output_dir", str(tmp_path)]) == 1
    _one_error_line(capsys, "epochs")
    assert main(["train", "demo", "--set", "lr={a: 1}", "--output_dir", str(tmp_path)]) == 1
    _one_error_line(capsys, "lr")


def test_missing_and_directory_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kg", "info", str(tmp_path / "missing")]) == 1
    _one_error_line(capsys, "missing")
    assert main(["train", str(tmp_path), "--output_dir", str(tmp_path / "r")]) == 1
    _one_error_line(capsys, str(tmp_path))


def test_every_error_class_is_also_a_builtin() -> None:
    import kglm.errors as errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.KGLMError)
        if cls is not errors.KGLMError:
            assert any(b in cls.__mro__ for b in (ValueError, OSError, RuntimeError)), name
