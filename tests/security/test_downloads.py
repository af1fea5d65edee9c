"""Class 4: downloads never splice versions, never take more (or less) than declared, stay on their host."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kglm.errors import DownloadError, UnsafeInputError
from kglm.datasets.download import ArchiveMember, DatasetSource, RemoteFile, download_dataset, download_file
from tests._http import LoopbackServer, serve

V1 = bytes(range(256)) * 400  # 102,400 bytes
V2 = bytes(reversed(range(256))) * 400


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


F = "/f.bin"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """Serves ``V1`` at ``/f.bin`` (and ``/other.bin``) with ETag ``"v1"``."""
    with serve(LoopbackServer(files={F: V1, "/other.bin": V1}, etag='"v1"')) as state:
        yield state


def test_resume_uses_if_range_and_never_splices(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError, match="resume"):
        download_file(server.url(F), dest, progress=False, timeout=10)
    server.files[F], server.etag = V2, '"v2"'  # the file changes upstream meanwhile
    download_file(server.url(F), dest, progress=False, timeout=10, force=False)
    assert server.requests[1].range == "bytes=40000-" and server.requests[1].if_range == '"v1"'
    assert dest.read_bytes() == V2  # whole new version, not V1[:40000] + V2[40000:]


def test_no_validator_and_no_checksum_restarts(server: LoopbackServer, tmp_path: Path) -> None:
    server.etag = None
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError):
        download_file(server.url(F), dest, progress=False, timeout=10)
    server.files[F] = V2
    download_file(server.url(F), dest, progress=False, timeout=10)
    assert server.requests[1].range is None
    assert dest.read_bytes() == V2


def test_pinned_checksum_resume_catches_a_splice(server: LoopbackServer, tmp_path: Path) -> None:
    server.etag = None
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError):
        download_file(server.url(F), dest, _sha(V1), progress=False, timeout=10)
    server.files[F] = V2  # the server ignores the change: a Range resume would splice
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_file(server.url(F), dest, _sha(V1), progress=False, timeout=10)
    assert not dest.exists() and not (tmp_path / "f.bin.part").exists()


def test_body_larger_than_pinned_size_refused(server: LoopbackServer, tmp_path: Path) -> None:
    server.declare_length = False
    server.files[F] = V1 * 50  # 5 MB without Content-Length
    with pytest.raises(DownloadError, match="larger than"):
        download_file(server.url(F), tmp_path / "f.bin", progress=False, size=len(V1), timeout=10)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_declared_size_mismatch_refused(server: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="declares"):
        download_file(server.url(F), tmp_path / "f.bin", progress=False, size=len(V1) - 1, timeout=10)


def test_short_body_refused(server: LoopbackServer, tmp_path: Path) -> None:
    server.truncate_next = 1000
    with pytest.raises(DownloadError, match="transfer"):
        download_file(server.url(F), tmp_path / "f.bin", progress=False, timeout=10)
    assert not (tmp_path / "f.bin").exists()


def test_cross_host_redirect_refused(server: LoopbackServer, tmp_path: Path) -> None:
    port = server.base.rsplit(":", 1)[1]
    server.redirects[F] = f"http://localhost:{port}/other.bin"
    with pytest.raises(DownloadError, match=r"redirected to .*localhost.*allow"):
        download_file(server.url(F), tmp_path / "f.bin", progress=False, timeout=10)
    assert [r.path for r in server.requests] == ["/f.bin"]
    download_file(server.url(F), tmp_path / "f.bin", progress=False, timeout=10, allow_redirects=True)
    assert (tmp_path / "f.bin").read_bytes() == V1


def test_same_host_redirect_followed(server: LoopbackServer, tmp_path: Path) -> None:
    server.redirects[F] = "/other.bin"
    download_file(server.url(F), tmp_path / "f.bin", progress=False, timeout=10)
    assert (tmp_path / "f.bin").read_bytes() == V1


def test_unpinned_prints_sha_and_a_changed_upstream_file_is_refused(
    server: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dest = tmp_path / "f.bin"
    with caplog.at_level(logging.WARNING, logger="kglm.datasets.download"):
        download_file(server.url(F), dest, progress=False, timeout=10)
    assert _sha(V1) in caplog.text and "not pinned" in caplog.text
    server.files[F], server.etag = V2, '"v2"'
    with pytest.raises(DownloadError, match="upstream file changed"):
        download_file(server.url(F), dest, progress=False, timeout=10, force=True)
    assert dest.read_bytes() == V1


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "sub/evil.txt", ".."])
def test_archive_and_file_names_stay_in_the_directory(server: LoopbackServer, tmp_path: Path, name: str) -> None:
    source = DatasetSource("x", [RemoteFile(server.url(F), "f.zip", extract=(ArchiveMember("a", name),))])
    with pytest.raises(UnsafeInputError):
        download_dataset(source, tmp_path / "d", progress=False)
    source = DatasetSource("y", [RemoteFile(server.url(F), name)])
    with pytest.raises(UnsafeInputError):
        download_dataset(source, tmp_path / "d", progress=False)
    assert server.requests == []
