"""Class 4: downloads never splice versions, never take more (or less) than declared, stay on their host."""

from __future__ import annotations

import hashlib
import http.server
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kglm.errors import DownloadError, UnsafeInputError
from kglm.datasets.download import ArchiveMember, DatasetSource, RemoteFile, download_dataset, download_file

V1 = bytes(range(256)) * 400  # 102,400 bytes
V2 = bytes(reversed(range(256))) * 400


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Server:
    base: str = ""
    body: bytes = V1
    etag: str | None = '"v1"'
    requests: list[dict[str, str | None]] = field(default_factory=list)
    truncate_next: int | None = None
    declare_length: bool = True
    redirect_to: str | None = None

    def url(self, path: str = "/f.bin") -> str:
        return f"{self.base}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                   "if-range": self.headers.get("If-Range")})
            if state.redirect_to is not None and self.path == "/f.bin":
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, start = state.body, 0
            rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
            if rng and (if_range is None or if_range == state.etag):
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            if state.etag:
                self.send_header("ETag", state.etag)
            if state.declare_length:
                self.send_header("Content-Length", str(len(payload)))
            else:
                self.close_connection = True
            self.end_headers()
            if state.truncate_next is not None:
                payload, state.truncate_next = payload[: state.truncate_next], None
                self.close_connection = True
            self.wfile.write(payload)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def test_resume_uses_if_range_and_never_splices(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError, match="resume"):
        download_file(server.url(), dest, progress=False, timeout=10)
    server.body, server.etag = V2, '"v2"'  # the file changes upstream meanwhile
    download_file(server.url(), dest, progress=False, timeout=10, force=False)
    assert server.requests[1]["range"] == "bytes=40000-" and server.requests[1]["if-range"] == '"v1"'
    assert dest.read_bytes() == V2  # whole new version, not V1[:40000] + V2[40000:]


def test_no_validator_and_no_checksum_restarts(server: Server, tmp_path: Path) -> None:
    server.etag = None
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError):
        download_file(server.url(), dest, progress=False, timeout=10)
    server.body = V2
    download_file(server.url(), dest, progress=False, timeout=10)
    assert server.requests[1]["range"] is None
    assert dest.read_bytes() == V2


def test_pinned_checksum_resume_catches_a_splice(server: Server, tmp_path: Path) -> None:
    server.etag = None
    dest = tmp_path / "f.bin"
    server.truncate_next = 40_000
    with pytest.raises(DownloadError):
        download_file(server.url(), dest, _sha(V1), progress=False, timeout=10)
    server.body = V2  # the server ignores the change: a Range resume would splice
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_file(server.url(), dest, _sha(V1), progress=False, timeout=10)
    assert not dest.exists() and not (tmp_path / "f.bin.part").exists()


def test_body_larger_than_pinned_size_refused(server: Server, tmp_path: Path) -> None:
    server.declare_length = False
    server.body = V1 * 50  # 5 MB without Content-Length
    with pytest.raises(DownloadError, match="larger than"):
        download_file(server.url(), tmp_path / "f.bin", progress=False, size=len(V1), timeout=10)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_declared_size_mismatch_refused(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="declares"):
        download_file(server.url(), tmp_path / "f.bin", progress=False, size=len(V1) - 1, timeout=10)


def test_short_body_refused(server: Server, tmp_path: Path) -> None:
    server.truncate_next = 1000
    with pytest.raises(DownloadError, match="transfer"):
        download_file(server.url(), tmp_path / "f.bin", progress=False, timeout=10)
    assert not (tmp_path / "f.bin").exists()


def test_cross_host_redirect_refused(server: Server, tmp_path: Path) -> None:
    port = server.base.rsplit(":", 1)[1]
    server.redirect_to = f"http://localhost:{port}/other.bin"
    with pytest.raises(DownloadError, match=r"redirected to .*localhost.*allow"):
        download_file(server.url(), tmp_path / "f.bin", progress=False, timeout=10)
    assert [r["path"] for r in server.requests] == ["/f.bin"]
    download_file(server.url(), tmp_path / "f.bin", progress=False, timeout=10, allow_redirects=True)
    assert (tmp_path / "f.bin").read_bytes() == V1


def test_same_host_redirect_followed(server: Server, tmp_path: Path) -> None:
    server.redirect_to = "/other.bin"
    download_file(server.url(), tmp_path / "f.bin", progress=False, timeout=10)
    assert (tmp_path / "f.bin").read_bytes() == V1


def test_unpinned_prints_sha_and_a_changed_upstream_file_is_refused(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dest = tmp_path / "f.bin"
    with caplog.at_level(logging.WARNING, logger="kglm.datasets.download"):
        download_file(server.url(), dest, progress=False, timeout=10)
    assert _sha(V1) in caplog.text and "not pinned" in caplog.text
    server.body, server.etag = V2, '"v2"'
    with pytest.raises(DownloadError, match="upstream file changed"):
        download_file(server.url(), dest, progress=False, timeout=10, force=True)
    assert dest.read_bytes() == V1


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "sub/evil.txt", ".."])
def test_archive_and_file_names_stay_in_the_directory(server: Server, tmp_path: Path, name: str) -> None:
    source = DatasetSource("x", [RemoteFile(server.url(), "f.zip", extract=(ArchiveMember("a", name),))])
    with pytest.raises(UnsafeInputError):
        download_dataset(source, tmp_path / "d", progress=False)
    source = DatasetSource("y", [RemoteFile(server.url(), name)])
    with pytest.raises(UnsafeInputError):
        download_dataset(source, tmp_path / "d", progress=False)
    assert server.requests == []
