"""kglm.utils.io read helpers: read_json / parse_json (every defect of a JSON file one error naming it) and the compression suffixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kglm.errors import DataFormatError, IntegrityError
from kglm.utils.io import parse_json, read_json


@pytest.mark.parametrize("content, reason", [
    (b'{"a": ', r"invalid JSON at line 1 column 7: Expecting value$"),
    (b'"caf\xe9"', r"not UTF-8 text \(invalid continuation byte\)$"),
    (b"[" * 100_000 + b"]" * 100_000, r"JSON nested too deeply$"),
])
def test_defects_name_the_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=f"^{path}: {reason}"):
        read_json(path)
    with pytest.raises(IntegrityError, match=reason):
        read_json(path, IntegrityError)


def test_object_only_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[1, "é"]', encoding="utf-8")
    assert read_json(path) == [1, "é"]
    with pytest.raises(IntegrityError, match=f"^{path}: not a JSON object$"):
        read_json(path, IntegrityError, object_only=True)
    path.write_text('{"model_type": "kglm-lm"}')
    assert read_json(path, object_only=True) == {"model_type": "kglm-lm"}
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json")


def test_parse_json_names_the_source() -> None:
    assert parse_json(b'{"a": [1]}', "mem.json", object_only=True) == {"a": [1]}
    with pytest.raises(IntegrityError, match=r"^kg/labels.json: invalid JSON at line 2 column 1: Expecting value$"):
        parse_json('[1,\n', "kg/labels.json", IntegrityError)


def test_compression_suffixes_known_once() -> None:
    from kglm.kg.triples import strip_compression as kg_strip
    from kglm.utils.io import COMPRESSION_SUFFIXES, inner_suffix, strip_compression

    assert kg_strip is strip_compression
    assert [inner_suffix(f"quiz.CSV{s}") for s in ("", *COMPRESSION_SUFFIXES, ".GZ")] == [".csv"] * 6
    assert strip_compression("a/b.ttl.bz2") == Path("a/b.ttl") and strip_compression("a/b.ttl") == Path("a/b.ttl")
