"""Atomic writes and compressed input: the one implementation the package uses.

* :func:`atomic_write` / :func:`atomic_write_json` write a file through a
  temporary sibling, ``fsync`` it, then ``os.replace`` it over the target: a
  reader sees the old file or the new one, never a partial one, and a kill
  leaves at most a ``.NAME.tmp-*`` sibling that the next write cleans up.
* :func:`atomic_file` yields a temporary sibling *path* for writers that need
  one (``safetensors``, ``np.save``, ``save_pretrained``, matplotlib); it keeps
  the target's suffix, and is fsynced and renamed the same way on success.
* :func:`atomic_directory` does the same for a directory: fill the temporary
  directory it yields; on success it takes the target's place. Where the OS
  offers an atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``) there is no
  moment at which the target is missing; elsewhere the window is two renames.
* :func:`open_compressed` opens plain, ``.gz``, ``.bz2`` and ``.xz`` files by
  their content (magic bytes), not their name; :func:`strip_compression` /
  :func:`inner_suffix` see through those suffixes (``x.csv.gz`` is a CSV file).
* :func:`read_json` / :func:`parse_json` read JSON, any defect reported as one error that names the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import ctypes.util
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kglm.errors import DataFormatError

__all__ = [
    "atomic_write", "atomic_write_json", "atomic_file", "atomic_directory", "publish", "open_compressed", "clean_debris",
    "pid_alive", "read_json", "parse_json", "PathLike", "COMPRESSION_SUFFIXES", "strip_compression", "inner_suffix",
]

PathLike = str | os.PathLike[str]

_TMP_MARK = ".tmp-"
_OLD_MARK = ".old-"


def _tmp_sibling(target: Path, mark: str = _TMP_MARK, suffix: str = "") -> Path:
    return target.parent / f".{target.name}{mark}{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


def _fsync_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask_mode(mode: int) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a process we may not signal counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    """Remove a file, link or directory tree, ignoring errors (a link is removed, not followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_debris(target: PathLike) -> list[Path]:
    """Remove temporary siblings of ``target`` left by killed writers (their process is gone).

    Returns the paths removed. Only names this module makes (``.NAME.tmp-PID-*``
    and ``.NAME.old-PID-*`` in the target's own directory) are touched.
    """
    target = Path(target)
    removed: list[Path] = []
    parent = target.parent
    if not parent.is_dir():
        return removed
    for mark in (_TMP_MARK, _OLD_MARK):
        prefix = f".{target.name}{mark}"
        for entry in parent.iterdir():
            if not entry.name.startswith(prefix):
                continue
            pid_text = entry.name[len(prefix):].split("-", 1)[0]
            if not pid_text.isdigit() or pid_alive(int(pid_text)):
                continue
            _remove(entry)
            removed.append(entry)
    return removed


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, data: bytes | str, *, mode: int = 0o644, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (temporary sibling, fsync, rename).

    Args:
        path: the target file; its directory is created if needed.
        data: bytes, or text encoded with ``encoding``.
        mode: permission bits of the new file (before the umask).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(target)
    tmp = _tmp_sibling(target)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return target


@contextlib.contextmanager
def atomic_file(path: PathLike, *, mode: int = 0o644) -> Iterator[Path]:
    """Write a file atomically through a path: write to the yielded temporary sibling; on success
    it is fsynced, given ``mode`` (less the umask) and renamed over ``path``.

    The temporary name keeps the target's suffix (``np.save`` and matplotlib
    choose by it). On an exception it is removed and ``path`` is untouched;
    debris of killed earlier writers is cleaned first.

    Example:
        >>> with atomic_file("weights.safetensors") as tmp:  # doctest: +SKIP
        ...     save_file(tensors, tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(target)
    tmp = _tmp_sibling(target, suffix="".join(target.suffixes[-1:]))
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: the writer did not create the file")
        _fsync_path(tmp)
        os.chmod(tmp, _umask_mode(mode))
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(target.parent)


def publish(src: PathLike, dest: PathLike) -> Path:
    """Move a finished file ``src`` (e.g. a completed ``.part`` download) onto ``dest``: fsync, rename, fsync the directory."""
    src, dest = Path(src), Path(dest)
    _fsync_path(src)
    os.replace(src, dest)
    _fsync_dir(dest.parent)
    return dest


def read_json(path: PathLike, error: type[Exception] = DataFormatError, *, object_only: bool = False) -> Any:
    """The JSON value stored in ``path`` (UTF-8).

    Args:
        path: the file.
        error: the exception class raised for a defective file, with a message
            ``"PATH: reason"`` (invalid JSON with its line and column, not UTF-8,
            nested too deeply, not an object).
        object_only: the value must be a JSON object (a ``dict``).

    Raises:
        FileNotFoundError: the file is missing (as ``open`` raises it).
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    return parse_json(raw, path, error, object_only=object_only)


def parse_json(
    raw: str | bytes, source: PathLike, error: type[Exception] = DataFormatError, *, object_only: bool = False
) -> Any:
    """:func:`read_json` for JSON already read from ``source`` (the file named in the errors)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{source}: not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise error(f"{source}: JSON nested too deeply") from None
    if object_only and not isinstance(value, dict):
        raise error(f"{source}: not a JSON object")
    return value


def atomic_write_json(path: PathLike, obj: Any, *, indent: int | None = 2, **kwargs: Any) -> Path:
    """:func:`atomic_write` of ``json.dumps(obj)`` (UTF-8, trailing newline)."""
    return atomic_write(path, json.dumps(obj, indent=indent, **kwargs) + "\n")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with ``renameat2(RENAME_EXCHANGE)``; ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - old libc
        return False
    at_fdcwd = -100
    rename_exchange = 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


@contextlib.contextmanager
def atomic_directory(path: PathLike, *, if_exists: str = "replace") -> Iterator[Path]:
    """Build a directory atomically: fill the yielded temporary directory; on success it becomes ``path``.

    If ``path`` exists it is replaced as a whole (exchanged atomically where the
    OS allows: there is no moment at which ``path`` is missing), or, with
    ``if_exists="keep"``, left as it is and the new copy dropped (for caches
    that concurrent processes fill with the same content: the first one wins
    and readers of it are never disturbed). On an exception the temporary
    directory is removed and ``path`` is untouched. Debris of killed earlier
    writers (``.NAME.tmp-PID-*`` of dead processes) is cleaned first.
    """
    if if_exists not in ("replace", "keep"):
        raise ValueError(f"if_exists must be 'replace' or 'keep', got {if_exists!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(target)
    tmp = _tmp_sibling(target)
    tmp.mkdir()
    try:
        yield tmp
        for root, dirs, files in os.walk(tmp):
            for name in files:
                _fsync_path(Path(root, name))
            for name in dirs:
                _fsync_path(Path(root, name))
        _fsync_path(tmp)
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise FileExistsError(f"{target}: exists and is not a directory; not replacing it")
        if not target.exists():
            try:
                os.rename(tmp, target)  # an empty directory made meanwhile would be replaced silently by os.replace
            except OSError:
                if not target.is_dir():
                    raise
        if tmp.exists() and if_exists == "keep":
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():  # the target existed (or appeared meanwhile): swap it out
            if _exchange(tmp, target):
                # tmp now holds the old contents
                shutil.rmtree(tmp, ignore_errors=True)
            else:  # pragma: no cover - non-Linux fallback: short window between the renames
                old = _tmp_sibling(target, _OLD_MARK)
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


class _CheckedReader(io.RawIOBase):
    """A raw binary stream over a decompressor that turns its failures into :class:`DataFormatError`.

    ``gzip`` / ``bz2`` / ``lzma`` report a truncated stream as ``EOFError`` and
    a damaged one as ``OSError`` / ``zlib.error`` / ``LZMAError``, none of which
    names the file: this names it.
    """

    def __init__(self, inner: IO[bytes], path: str, kind: str, underlying: IO[bytes]):
        super().__init__()
        self._inner = inner
        self._underlying = underlying
        self.name = path
        self._path = path
        self._kind = kind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import lzma
        import zlib

        try:
            data = self._inner.read(len(buffer))
        except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise DataFormatError(f"{self._path}: truncated or corrupt {self._kind} data ({exc})") from None
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._inner.close()
            self._underlying.close()  # a decompressor does not close a file object passed to it
        finally:
            super().close()


class _TextDecodeError(DataFormatError, UnicodeDecodeError):
    """Undecodable text: a :class:`DataFormatError` naming the file that is still a ``UnicodeDecodeError``."""

    message = ""

    def __str__(self) -> str:
        return self.message or UnicodeDecodeError.__str__(self)


class _CheckedText(io.TextIOWrapper):
    """A text stream whose decoding errors name the file (a :class:`DataFormatError`)."""

    _kglm_path = ""

    def _wrap(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except _TextDecodeError:
            raise
        except UnicodeDecodeError as exc:
            err = _TextDecodeError(exc.encoding, exc.object, exc.start, exc.end, exc.reason)
            err.message = f"{self._kglm_path}: not valid {self.encoding} text ({exc.reason})"
            raise err from None

    def read(self, size: int | None = -1) -> str:
        return self._wrap(super().read, size)

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        return self._wrap(super().readline, size)

    def __next__(self) -> str:
        return self._wrap(super().__next__)


#: file suffixes of the compressed formats :func:`open_compressed` reads -> the format
COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz"}


def strip_compression(path: PathLike) -> Path:
    """``a/b.ttl.gz`` -> ``a/b.ttl``: the path without a compression suffix (any case)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in COMPRESSION_SUFFIXES else p


def inner_suffix(path: PathLike) -> str:
    """The lower-case suffix under any compression suffix: ``quiz.CSV.gz`` -> ``".csv"``."""
    return strip_compression(path).suffix.lower()


def open_compressed(path: PathLike, mode: str = "rt", encoding: str = "utf-8", **kwargs: Any) -> IO[Any]:
    """Open a plain, gzip, bzip2 or xz file for reading, detected by its first bytes.

    ``mode`` is ``"rt"`` (text, default) or ``"rb"``. A file named ``.gz`` /
    ``.bz2`` / ``.xz`` that is empty or not compressed, a truncated or corrupt
    compressed stream, and (in text mode) bytes that are not valid in
    ``encoding``, raise :class:`kglm.errors.DataFormatError` naming the file
    when read. ``kwargs`` go to :class:`io.TextIOWrapper` (``newline``, ``errors``).
    """
    if mode not in ("rt", "rb", "r"):
        raise ValueError(f"open_compressed reads only; got mode {mode!r}")
    path = os.fspath(path)
    raw_file = open(path, "rb")
    head = raw_file.peek(6)[:6] if hasattr(raw_file, "peek") else b""
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    named = COMPRESSION_SUFFIXES.get(os.path.splitext(path)[1].lower())
    if named is not None and kind is None:
        raw_file.close()
        what = "empty file" if not head else "not compressed data"
        raise DataFormatError(f"{path}: {what} (the name says {named})")
    text = mode != "rb"
    if kind is None:
        binary: IO[bytes] = raw_file
    else:
        import bz2
        import gzip
        import lzma

        opener = {"gzip": gzip.GzipFile, "bz2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
        inner = opener(fileobj=raw_file) if kind == "gzip" else opener(raw_file)
        binary = io.BufferedReader(_CheckedReader(inner, path, kind, raw_file))
    if not text:
        return binary
    stream = _CheckedText(binary, encoding=encoding, **kwargs)
    stream._kglm_path = path
    return stream
