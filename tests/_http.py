"""One loopback HTTP server for the tests that fetch over HTTP (downloads, remote RDF contexts).

:func:`serve` runs a :class:`LoopbackServer` on ``127.0.0.1`` (a free port) in a
thread; a test changes the server's fields between requests to play a server
that supports ranges or not, changes a file upstream, cuts a body short,
declares no length or redirects.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["LoopbackServer", "Request", "serve"]


class Request(NamedTuple):
    """What the server saw of one GET."""

    path: str
    range: str | None
    if_range: str | None


@dataclass
class LoopbackServer:
    """The state of a loopback server, read on every request.

    Attributes:
        files: URL path -> body; other paths get a 404.
        base: ``http://127.0.0.1:PORT`` once serving.
        etag: sent as ``ETag`` when set; a ``Range`` request whose ``If-Range``
            differs from it gets the whole body (200), as HTTP says.
        support_range: answer ``Range: bytes=N-`` with 206 (416 past the end).
        declare_length: send ``Content-Length`` (else the body ends with the connection).
        truncate_next: send only this many bytes of the next body, then close.
        redirects: URL path -> ``Location`` of a 302.
        content_type: sent as ``Content-Type`` when set.
        requests: every request, in order.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    base: str = ""
    etag: str | None = None
    support_range: bool = True
    declare_length: bool = True
    truncate_next: int | None = None
    redirects: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def seen(self) -> list[tuple[str, str | None]]:
        """``(path, Range header)`` of every request, in order."""
        return [(r.path, r.range) for r in self.requests]


def _handler(state: LoopbackServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _empty(self, code: int, **headers: str) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
            state.requests.append(Request(self.path, rng, if_range))
            if self.path in state.redirects:
                self._empty(302, Location=state.redirects[self.path])
                return
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            if rng and state.support_range and (if_range is None or if_range == state.etag):
                match = re.fullmatch(r"bytes=(\d+)-", rng)
                assert match, rng
                start = int(match.group(1))
                if start >= len(body):
                    self._empty(416, Content_Range=f"bytes */{len(body)}")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            if state.etag:
                self.send_header("ETag", state.etag)
            if state.content_type:
                self.send_header("Content-Type", state.content_type)
            if state.declare_length:
                self.send_header("Content-Length", str(len(payload)))
            else:
                self.close_connection = True
            self.end_headers()
            if state.truncate_next is not None:
                payload, state.truncate_next = payload[: state.truncate_next], None
                self.close_connection = True
            self.wfile.write(payload)

    return Handler


@contextmanager
def serve(state: LoopbackServer) -> Iterator[LoopbackServer]:
    """Serve ``state`` on ``127.0.0.1`` until the block ends (then shut down and joined)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
