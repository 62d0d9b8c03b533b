"""`review serve`: the blinded labelling page on a local HTTP server (loopback by default).

The page (`page.html`, no external resources) gets only what a blinded annotator may see: per item the
criterion, its written guideline, and the source video with the clip's time range (a media fragment
`#t=start,end`). Verdicts, strata and scores stay on the server. Each answer is saved at once to
`labels_<annotator>.json` beside the sample, in labels.json's format, so closing the tab loses nothing.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import av

from ..decode import DecodeError
from ..manifest import write_atomic
from ._guidelines import KEYS, guideline, label_value
from ._preview import make_preview

log = logging.getLogger(__name__)
CHUNK = 1 << 20


def safe_name(annotator: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", annotator.strip()).strip("._")
    if not name:
        raise ValueError("annotator name is empty; give letters or digits")
    return name[:64]


class ReviewSession:
    """The sample being labelled and the labels saved so far (one file per annotator)."""

    def __init__(self, sample_path: Path, out_dir: Path | None = None) -> None:
        self.sample_path = Path(sample_path)
        data = json.loads(self.sample_path.read_text())
        self.items: list[dict[str, Any]] = data["items"]
        self.by_id = {i["item_id"]: i for i in self.items}
        self.media = sorted({i["file"] for i in self.items})
        self.out_dir = Path(out_dir) if out_dir else self.sample_path.parent
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def public_items(self) -> list[dict[str, Any]]:
        """What the page may know of each item (blinded: no verdict, stratum, filter or score)."""
        index = {f: k for k, f in enumerate(self.media)}
        out = []
        for n, i in enumerate(self.items):
            question, text = guideline(i["criterion"])
            out.append(
                {
                    "item_id": i["item_id"],
                    "criterion": i["criterion"],
                    "question": question,
                    "guideline": text,
                    "media": f"/media/{index[i['file']]}",
                    "preview": f"/preview/{n}",
                    "start": i["start"],
                    "end": i["end"],
                }
            )
        return out

    def labels_path(self, annotator: str) -> Path:
        return self.out_dir / f"labels_{safe_name(annotator)}.json"

    def answers(self, annotator: str) -> dict[str, str]:
        path = self.labels_path(annotator)
        if not path.is_file():
            return {}
        out = {}
        for entry in json.loads(path.read_text()):
            for criterion, label in entry["labels"].items():
                out[f"{criterion}|{entry['clip_id']}"] = label.get("answer", "")
        return out

    def save(self, annotator: str, answers: dict[str, str]) -> Path:
        """Writes every answer of `annotator` as labels.json entries (one per clip); raises ValueError."""
        unknown = [k for k in answers if k not in self.by_id]
        if unknown:
            raise ValueError(f"unknown items {unknown[:3]}")
        entries: dict[str, dict[str, Any]] = {}
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for item_id, answer in answers.items():
            item = self.by_id[item_id]
            entry = entries.setdefault(
                item["clip_id"],
                {
                    "file": item["file"],
                    "clip_id": item["clip_id"],
                    "start": item["start"],
                    "end": item["end"],
                    "annotator": annotator,
                    "labels": {},
                },
            )
            entry["labels"][item["criterion"]] = {
                "value": label_value(item["criterion"], answer),
                "answer": answer,
                "reason": f"review page, {annotator}, {now}",
            }
        path = self.labels_path(annotator)
        with self.lock:
            write_atomic(path, json.dumps(list(entries.values()), indent=1).encode())
        return path


def _handler(session: ReviewSession) -> type[BaseHTTPRequestHandler]:
    page = resources.files("talkvid_fast.review").joinpath("page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("review: " + format, *args)

        def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, obj: Any, status: int = 200) -> None:
            self._send(json.dumps(obj).encode(), "application/json", status)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path in ("/", "/index.html"):
                self._send(page, "text/html; charset=utf-8")
            elif url.path == "/api/items":
                self._json(
                    {"items": session.public_items(), "keys": KEYS, "sample": session.sample_path.name}
                )
            elif url.path == "/api/labels":
                try:
                    self._json({"answers": session.answers(query.get("annotator", [""])[0])})
                except ValueError as exc:
                    self._json({"error": str(exc)}, 400)
            elif url.path == "/api/export":
                try:
                    path = session.labels_path(query.get("annotator", [""])[0])
                    body = path.read_bytes() if path.is_file() else b"[]"
                except ValueError as exc:
                    self._json({"error": str(exc)}, 400)
                    return
                self._send(body, "application/json")
            elif url.path.startswith("/media/"):
                self._media(url.path.removeprefix("/media/"))
            elif url.path.startswith("/preview/"):
                self._preview(url.path.removeprefix("/preview/"))
            else:
                self._json({"error": "not found"}, 404)

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/api/labels":
                self._json({"error": "not found"}, 404)
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                path = session.save(str(body["annotator"]), dict(body["answers"]))
            except (ValueError, KeyError, TypeError) as exc:
                self._json({"error": str(exc)}, 400)
                return
            self._json({"saved": str(path), "n": len(body["answers"])})

        def _preview(self, key: str) -> None:
            """A browser-playable copy of the item's clip (`_preview.py`), for sources the browser cannot decode."""
            if not key.isdigit() or int(key) >= len(session.items):
                self._json({"error": "no such item"}, 404)
                return
            item = session.items[int(key)]
            out = session.out_dir / "previews" / f"{safe_name(item['clip_id'])}.mp4"
            try:
                with session.lock:
                    make_preview(item["file"], item["start"], item["end"], out)
            except (DecodeError, OSError, av.error.FFmpegError) as exc:
                self._json({"error": f"no preview: {exc}"}, 500)
                return
            self._file(out)

        def _media(self, key: str) -> None:
            """The source file, with byte ranges (browsers seek to the clip's start with them)."""
            if not key.isdigit() or int(key) >= len(session.media):
                self._json({"error": "no such media"}, 404)
                return
            self._file(Path(session.media[int(key)]))

        def _file(self, path: Path) -> None:
            try:
                size = path.stat().st_size
            except OSError:
                self._json({"error": f"{path.name} is not readable"}, 404)
                return
            start, end = 0, size - 1
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
            status = HTTPStatus.OK
            if match and (match[1] or match[2]):
                if match[1]:
                    start = int(match[1])
                    end = min(int(match[2]), size - 1) if match[2] else size - 1
                else:
                    start = max(0, size - int(match[2]))
                if start > end:
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.end_headers()
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            try:
                with path.open("rb") as f:
                    f.seek(start)
                    left = end - start + 1
                    while left > 0:
                        chunk = f.read(min(CHUNK, left))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser cancelled the request (it often does when seeking)

    return Handler


def start_server(
    session: ReviewSession, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """Starts serving in a daemon thread; returns the server and its URL (port 0: any free port)."""
    server = ThreadingHTTPServer((host, port), _handler(session))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"
