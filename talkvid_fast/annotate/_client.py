"""An OpenAI-compatible chat-completions client with bounded retries (Note [Backoff]).

Note [Backoff]: a request is retried on a timeout, a dropped connection, HTTP 408, 429 and 5xx, and on a
200 whose body is not a chat completion, up to `max_retries` times. The wait before retry n (0-based) is
"full jitter": uniform in [0, min(max_wait, base * 2**n)], so many clients that hit the same rate limit
spread out; a Retry-After header (seconds or an HTTP date) is honoured exactly when it says longer, capped
at `max_wait`. Other 4xx are not retried: 400 is this request's fault (recorded on the clip); 401, 403 and
404 are the endpoint's or key's and stop the run (EndpointFatal), since every further request would fail
the same way.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

FATAL_STATUS = (401, 403, 404)


class EndpointFatal(RuntimeError):
    """The endpoint refuses every request (bad URL, key or model): the run stops."""


class RequestFailed(RuntimeError):
    """This request failed after its retries; `kind` names the last failure (timeout, http_429, ...)."""

    def __init__(self, kind: str, detail: str, attempts: int) -> None:
        super().__init__(f"{kind}: {detail} (after {attempts} attempts)")
        self.kind = kind
        self.attempts = attempts


@dataclass
class ChatReply:
    content: str
    usage: dict[str, int]  #: prompt_tokens, completion_tokens, total_tokens as the endpoint reported
    model: str  #: the model the endpoint says answered
    attempts: int  #: HTTP requests this reply took (1 = no retry)
    failures: dict[str, int] = field(default_factory=dict)  #: retried failures by kind


def chat_url(endpoint: str) -> str:
    """`http://host:8000/v1` or the full `.../chat/completions` URL -> the full URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/chat/completions") else endpoint + "/chat/completions"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # some servers return content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise ValueError("message.content is not text")
    return content


class ChatClient:
    """Posts chat completions to one endpoint/model; thread-safe (one HTTP session per thread)."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        max_wait: float = 60.0,
        max_tokens: int | None = 2048,
        temperature: float | None = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        if timeout <= 0 or max_retries < 0 or backoff_base < 0 or max_wait < 0:
            raise ValueError("timeout must be > 0; max_retries, backoff_base and max_wait must be >= 0")
        self.url = chat_url(endpoint)
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._local = threading.local()
        self.fatal: str | None = None  #: set by the first EndpointFatal: later requests are not sent

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def wait_seconds(self, retry: int, retry_after: float | None) -> float:
        """The pause before retry `retry` (0-based), Note [Backoff]."""
        jitter = self._rng.uniform(0.0, min(self.max_wait, self.backoff_base * 2**retry))
        if retry_after is not None and retry_after > jitter:
            return min(self.max_wait, retry_after)
        return jitter

    def complete(self, messages: list[dict[str, Any]]) -> ChatReply:
        """One chat completion, retried as Note [Backoff] says; raises RequestFailed or EndpointFatal."""
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        failures: dict[str, int] = {}
        attempt = 0
        while True:
            if self.fatal is not None:  # another thread's request was refused: send nothing more
                raise EndpointFatal(self.fatal)
            attempt += 1
            retry_after: float | None = None
            try:
                resp = self._session().post(self.url, json=body, headers=self._headers, timeout=self.timeout)
            except requests.Timeout as exc:
                kind, detail = "timeout", f"no reply within {self.timeout} s ({type(exc).__name__})"
            except requests.ConnectionError as exc:
                kind, detail = "connection", str(exc)[:200]
            else:
                status = resp.status_code
                if status == 200:
                    try:
                        data = resp.json()
                        content = _content(data["choices"][0]["message"])
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        kind, detail = "bad_response", f"HTTP 200 without a chat completion ({exc})"
                    else:
                        usage = {
                            k: int(v) for k, v in (data.get("usage") or {}).items() if isinstance(v, int)
                        }
                        return ChatReply(
                            content, usage, str(data.get("model", self.model)), attempt, failures
                        )
                elif status in FATAL_STATUS:
                    self.fatal = f"{self.url} answered HTTP {status}: {resp.text[:300]}"
                    raise EndpointFatal(self.fatal)
                elif status in (408, 429) or status >= 500:
                    kind, detail = f"http_{status}", resp.text[:200]
                    retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                else:
                    raise RequestFailed(f"http_{status}", resp.text[:300], attempt)
            failures[kind] = failures.get(kind, 0) + 1
            if attempt > self.max_retries:
                raise RequestFailed(kind, detail, attempt)
            self._sleep(self.wait_seconds(attempt - 1, retry_after))
