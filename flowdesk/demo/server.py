"""The demo service: realistic JSON endpoints plus slow, failing and flaky ones, on 127.0.0.1.

It keeps a log of every request and the most requests ever in flight at once,
so tests and benchmarks can check what a run really did. Hostile endpoints
(a trickled body, a gzip bomb, an endless body, JSON nested 100,000 deep) stream their bodies as they
are written, hold nothing large in memory and stop when the client goes away.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

USERS = [
    {"id": 1, "name": "Ada Lovelace", "email": "ada@example.org", "team": "analytics"},
    {"id": 2, "name": "Grace Hopper", "email": "grace@example.org", "team": "compilers"},
    {"id": 3, "name": "Alan Turing", "email": "alan@example.org", "team": "research"},
    {"id": 123, "name": "Edsger Dijkstra", "email": "edsger@example.org", "team": "algorithms"},
]
POSTS = [
    {"id": 10 * user["id"] + n, "userId": user["id"], "title": f"Note {n} by {user['name']}"}
    for user in USERS
    for n in range(1, 4)
]
COMMENTS = [
    {"id": 100 * post["id"] + n, "postId": post["id"], "body": f"Comment {n} on {post['title']}"}
    for post in POSTS
    for n in range(1, 3)
]
POLICIES = [
    {"id": "pol-1", "title": "Data retention", "version": 3},
    {"id": "pol-2", "title": "Access control", "version": 7},
    {"id": "pol-3", "title": "Incident response", "version": 2},
]
MAX_SLOW_SECONDS = 30.0
DEFAULT_PORT = 8911
MB = 1024 * 1024


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class Gzipped:
    data: bytes


@dataclass(frozen=True)
class Streamed:
    """A body written piece by piece as `chunks` yields: with a content-length when `length`
    is given, else with chunked transfer-encoding."""

    chunks: Iterator[bytes]
    content_type: str = "text/plain"
    length: int | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    started: float
    finished: float
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    """The request's headers (names lower-cased), as they arrived."""


class DemoServer:
    """`with DemoServer() as server: server.url` — a threaded server on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self.requests: list[RequestRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._flaky_counts: dict[str, int] = {}
        self._httpd = _QuietServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="demo-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop a server started with `start()`."""
        self._httpd.shutdown()
        self.close()
        if self._thread:
            self._thread.join(timeout=5)

    def close(self) -> None:
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0
            self._flaky_counts.clear()

    def max_overlap(self, path: str | None = None) -> int:
        """Most logged requests (to `path`, if given) that were in progress at the same moment."""
        with self._lock:
            records = [r for r in self.requests if path is None or r.path == path]
        moments = sorted(
            [(r.started, 1) for r in records] + [(r.finished, -1) for r in records],
            key=lambda item: (item[0], item[1]),
        )
        current = peak = 0
        for _, step in moments:
            current += step
            peak = max(peak, current)
        return peak

    def paths(self) -> list[str]:
        with self._lock:
            return [record.path for record in self.requests]

    # -- used by the request handler threads ---------------------------------------------

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self, record: RequestRecord) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests.append(record)

    def _flaky_attempt(self, key: str) -> int:
        with self._lock:
            self._flaky_counts[key] = self._flaky_counts.get(key, 0) + 1
            return self._flaky_counts[key]

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, payload): a str payload is sent as text/plain, anything else as JSON."""
        parts = [part for part in path.split("/") if part]
        first = lambda name, default=None: query.get(name, [default])[0]  # noqa: E731
        match parts:
            case ["users"]:
                return 200, USERS
            case ["users", user_id]:
                user = next((u for u in USERS if str(u["id"]) == user_id), None)
                return (200, user) if user else (404, {"error": f"no user {user_id}"})
            case ["posts"]:
                user_id = first("userId")
                return 200, [p for p in POSTS if user_id is None or str(p["userId"]) == user_id]
            case ["comments"]:
                post_id = first("postId")
                return 200, [c for c in COMMENTS if post_id is None or str(c["postId"]) == post_id]
            case ["document", "policy", "list"]:
                return 200, {"policies": POLICIES, "count": len(POLICIES)}
            case ["slow"]:
                seconds = min(float(first("seconds", "1")), MAX_SLOW_SECONDS)
                time.sleep(seconds)
                return 200, {"slept": seconds}
            case ["fail"]:
                return 500, {"error": "the demo service failed on purpose"}
            case ["status", code]:
                return int(code), {"status": int(code)}
            case ["flaky", key]:
                failures = int(first("failures", "2"))
                attempt = self._flaky_attempt(key)
                if attempt <= failures:
                    return 503, {"error": f"flaky: attempt {attempt} of {failures} failing"}
                return 200, {"key": key, "attempt": attempt}
            case ["text"]:
                return 200, "plain text, not JSON"
            case ["redirect"]:
                return 302, Redirect(first("to", "/users/1"))
            case ["gzip"]:
                return 200, Gzipped(json.dumps({"compressed": True, "users": USERS}).encode())
            case ["trickle"]:
                interval = max(float(first("interval", "0.5")), 0.01)
                size = min(int(first("bytes", "20")), int(MAX_SLOW_SECONDS / interval))
                return 200, Streamed(_trickle(size, interval), length=size)
            case ["deep"]:
                depth = min(int(first("depth", "100000")), 1_000_000)
                nested = b"[" * depth + b"]" * depth
                return 200, Streamed(iter([nested]), "application/json", len(nested))
            case ["gzip-bomb"]:
                zeros = _gzipped_zeros(int(first("mb", "1024")))
                return 200, Streamed(zeros, content_type="application/json", encoding="gzip")
            case ["endless"]:
                return int(first("status", "200")), Streamed(_endless())
            case ["echo", *_]:
                text = body.decode("utf-8", "replace")
                try:
                    parsed: Any = json.loads(text) if text else None
                except ValueError:
                    parsed = None
                return 200, {
                    "method": method,
                    "path": path,
                    "query": query,
                    "headers": dict(headers or {}),
                    "json": parsed,
                    "body": text,
                }
        return 404, {"error": f"no route for {method} {path}"}


def _trickle(size: int, interval: float) -> Iterator[bytes]:
    """`size` bytes, one every `interval` seconds."""
    for _ in range(size):
        time.sleep(interval)
        yield b"x"


def _gzipped_zeros(decoded_mb: int) -> Iterator[bytes]:
    """A gzip stream of `decoded_mb` MB of zeros (about 1 KB compressed per MB), compressed
    as it is sent."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    for _ in range(decoded_mb):
        if piece := compressor.compress(zeros):
            yield piece
    yield compressor.flush()


def _endless() -> Iterator[bytes]:
    piece = b"x" * (64 * 1024)
    while True:
        yield piece


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 1024
    """socketserver's default backlog of 5 drops connects when a run opens 150 at once."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, cancelled run) is normal here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _make_handler(server: DemoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            started = time.monotonic()
            server._enter()
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            status, payload = 500, {"error": "internal error"}
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = server.route(self.command, split.path, query, body, headers)
            except (ValueError, TypeError) as exc:
                status, payload = 400, {"error": str(exc)}
            finally:
                # Leave before replying, so a client that has its answer never sees us in flight.
                server._leave(
                    RequestRecord(
                        self.command, split.path, query, started, time.monotonic(), status, headers
                    )
                )
            if isinstance(payload, Streamed):
                self._send_streamed(status, payload)
                return
            extra: dict[str, str] = {}
            if isinstance(payload, Redirect):
                data, content_type, extra = b"", "text/plain", {"location": payload.location}
            elif isinstance(payload, Gzipped):
                data, content_type = gzip.compress(payload.data), "application/json"
                extra = {"content-encoding": "gzip"}
            elif isinstance(payload, str):
                data, content_type = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, content_type = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            self.send_header("content-type", content_type)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _send_streamed(self, status: int, payload: Streamed) -> None:
            self.send_response(status)
            self.send_header("content-type", payload.content_type)
            if payload.encoding:
                self.send_header("content-encoding", payload.encoding)
            chunked = payload.length is None
            if chunked:
                self.send_header("transfer-encoding", "chunked")
            else:
                self.send_header("content-length", str(payload.length))
            self.end_headers()
            if self.command == "HEAD":
                return
            # A client that stops reading makes a write fail, which ends this thread's work.
            for piece in payload.chunks:
                if chunked and piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                elif piece:
                    self.wfile.write(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
