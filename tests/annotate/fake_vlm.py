"""A fake OpenAI-compatible chat endpoint on 127.0.0.1 for the annotation tests: scripted per clip."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

EXAMPLE = json.loads((Path(__file__).parent / "appendix_f_example.json").read_text())
USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}
DEMOGRAPHICS = {"age_group": "31-45", "gender": "Female", "ethnicity": "White", "language": "English"}


def good_reply(demographics: dict[str, str] | None = None) -> str:
    """The paper's Appendix F.2 example plus a demographics key."""
    return json.dumps({**EXAMPLE, "demographics": demographics or DEMOGRAPHICS})


@dataclass
class Action:
    """What the server does with one request."""

    kind: str = "ok"  #: ok | status | hang | slow
    content: str = ""  #: ok/slow: the message content (default: good_reply())
    status: int = 200  #: status: the HTTP status
    body: str = "error"  #: status: the body
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  #: slow: seconds before answering


def clip_key(body: dict[str, Any]) -> str:
    """Identifies the clip of a request: a hash of its first image (clips have distinct frames)."""
    for part in body["messages"][0]["content"]:
        if part.get("type") == "image_url":
            return hashlib.sha256(part["image_url"]["url"].encode()).hexdigest()[:12]
    return "?"


class FakeVLM:
    """Counts every request per clip; `script(clip_key, n_for_clip, body)` says what to do with it."""

    def __init__(self, script: Callable[[str, int, dict[str, Any]], Action] | None = None) -> None:
        self.script = script or (lambda key, n, body: Action())
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []  #: (clip key, body, headers)
        self.answered: dict[str, int] = {}  #: clip key -> 200 replies carrying usage (what was paid)
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = threading.Event()  #: set to let "hang" requests end (with a 503)

    def count(self, key: str) -> int:
        with self.lock:
            return sum(1 for k, _, _ in self.requests if k == key)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        body = json.loads(handler.rfile.read(length))
        key = clip_key(body)
        with self.lock:
            n = sum(1 for k, _, _ in self.requests if k == key)
            self.requests.append((key, body, dict(handler.headers)))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            action = self.script(key, n, body)
            if action.kind == "hang":
                self.release.wait(30)
                action = Action("status", status=503)
            if action.kind == "slow":
                time.sleep(action.delay)
            if action.kind in ("ok", "slow"):
                payload = json.dumps(
                    {
                        "id": "x",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": action.content or good_reply()},
                            }
                        ],
                        "usage": USAGE,
                    }
                ).encode()
                status, headers = 200, {"Content-Type": "application/json"}
                with self.lock:
                    self.answered[key] = self.answered.get(key, 0) + 1
            else:
                payload, status, headers = action.body.encode(), action.status, action.headers
            try:
                handler.send_response(status)
                for k, v in headers.items():
                    handler.send_header(k, v)
                handler.send_header("Content-Length", str(len(payload)))
                handler.end_headers()
                handler.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass
        finally:
            with self.lock:
                self.in_flight -= 1


@contextmanager
def serve(fake: FakeVLM) -> Iterator[str]:
    """Runs `fake` on 127.0.0.1 (a free port) in a thread; yields the base URL (`.../v1`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake.handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
