"""kglm.utils.checksums.file_sha256: the one file digest (downloads, grounding cache, pinned files)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kglm.datasets.download import sha256_of
from kglm.grounding.cache import file_sha256 as cache_sha256
from kglm.utils.checksums import file_sha256


def test_path_and_open_file_give_hashlib_digest(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # several chunks
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert file_sha256(path) == file_sha256(str(path), chunk=1000) == expected
    with open(path, "rb") as f:
        f.read(10)
        assert file_sha256(f) == hashlib.sha256(data[10:]).hexdigest()  # from the current position
    assert sha256_of(path) == expected and cache_sha256 is file_sha256
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
