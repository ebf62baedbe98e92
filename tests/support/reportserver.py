"""A real HTTP file server on 127.0.0.1 for the fetch tests and bench: serves files
by id with ETag and Range, plus the faults a real download meets (error pages,
404, 500, stalls, truncated bodies, redirects, slow bodies)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OK = "ok"
HTML = "html"  # an HTML error page, sent as application/pdf
NOT_FOUND = "404"
FAIL_ONCE = "500-once"  # 500 to the first request, the file after
STALL = "stall"  # headers and a little of the body, then nothing for `stall_seconds`
TRUNCATE_ONCE = "truncate-once"  # the first answer stops halfway; Range requests are honoured
TRUNCATE_ALWAYS = "truncate-always"
REDIRECT_AWAY = "redirect-away"  # 302 to the same file under the host name "localhost"
REDIRECT_HOME = "redirect-home"  # 302 to the same file on this host
SLOW = "slow"  # the body in small pieces with pauses (for killing a fetch mid-download)

ERROR_PAGE = b"<!DOCTYPE html><html><head><title>Error</title></head><body>Sorry, something went wrong.</body></html>\n"


@dataclass
class Route:
    data: bytes
    mode: str = OK


@dataclass
class Files:
    routes: dict[str, Route] = field(default_factory=dict)  # "/files/<id>" -> route
    requests: Counter = field(default_factory=Counter)  # path -> requests seen
    ranges: Counter = field(default_factory=Counter)  # path -> Range requests seen
    stall_seconds: float = 2.0
    slow_piece: int = 16 * 1024
    slow_pause: float = 0.05
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(files: Files, port_box: list[int]):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with files.lock:
                files.requests[path] += 1
                n = files.requests[path]
                if self.headers.get("Range"):
                    files.ranges[path] += 1
            route = files.routes.get(path)
            if route is None or route.mode == NOT_FOUND:
                return self._plain(404, b"not found")
            mode = route.mode
            if mode == FAIL_ONCE and n == 1:
                return self._plain(500, b"server error")
            if mode == REDIRECT_AWAY:
                return self._redirect(f"http://localhost:{port_box[0]}{path}-target")
            if mode == REDIRECT_HOME:
                return self._redirect(f"http://127.0.0.1:{port_box[0]}{path}-target")
            if mode == HTML:
                return self._send(200, ERROR_PAGE, {"Content-Type": "application/pdf"})
            data = route.data
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng.endswith("-") and self.headers.get("If-Range", etag) == etag:
                start = int(rng[6:-1])
                if start >= len(data):
                    return self._plain(416, b"range not satisfiable")
            headers = {"Content-Type": "application/pdf", "ETag": etag, "Accept-Ranges": "bytes"}
            status = 206 if start else 200
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            if mode == STALL:
                self._head(status, len(body), headers)
                self.wfile.write(body[:1024])
                self.wfile.flush()
                time.sleep(files.stall_seconds)
                self.close_connection = True
                return
            if (mode == TRUNCATE_ONCE and n == 1) or mode == TRUNCATE_ALWAYS:
                self._head(status, len(body), headers)
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            if mode == SLOW:
                self._head(status, len(body), headers)
                for i in range(0, len(body), files.slow_piece):
                    self.wfile.write(body[i : i + files.slow_piece])
                    self.wfile.flush()
                    time.sleep(files.slow_pause)
                return
            self._send(status, body, headers)

        def _head(self, status: int, length: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self._head(status, len(body), headers)
            self.wfile.write(body)

        def _plain(self, status: int, body: bytes) -> None:
            self._send(status, body, {"Content-Type": "text/plain"})

        def _redirect(self, location: str) -> None:
            self._send(302, b"", {"Location": location})

    return Handler


@contextlib.contextmanager
def serve(files: Files) -> Iterator[str]:
    """Serve `files` on 127.0.0.1 in a thread; yields the base URL."""
    port_box = [0]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files, port_box))
    server.daemon_threads = True
    port_box[0] = server.server_address[1]
    th = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{port_box[0]}"
    finally:
        server.shutdown()
        server.server_close()


def add_file(files: Files, key: str, path: Path, mode: str = OK) -> str:
    """Serve `path` at /files/<key> (and its redirect target); returns the URL path."""
    data = path.read_bytes()
    files.routes[f"/files/{key}"] = Route(data, mode)
    if mode in (REDIRECT_AWAY, REDIRECT_HOME):
        files.routes[f"/files/{key}-target"] = Route(data, OK)
    return f"/files/{key}"
