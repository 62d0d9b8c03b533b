"""The chat client against a fake endpoint on 127.0.0.1: retries, backoff, Retry-After, fatal statuses."""

from __future__ import annotations

import pytest

from talkvid_fast.annotate import ChatClient, EndpointFatal, RequestFailed
from talkvid_fast.annotate._client import retry_after_seconds

from .fake_vlm import USAGE, Action, FakeVLM, serve

MESSAGES = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:x"}}],
    }
]


def _client(url: str, sleeps: list[float], **kw: float) -> ChatClient:
    return ChatClient(
        url,
        "fake-vl",
        api_key="sk-test",
        timeout=kw.pop("timeout", 2.0),
        max_retries=int(kw.pop("max_retries", 3)),
        backoff_base=0.01,
        sleep=sleeps.append,
        seed=0,
    )


def test_a_good_reply_carries_content_usage_and_the_key() -> None:
    fake = FakeVLM()
    sleeps: list[float] = []
    with serve(fake) as url:
        reply = _client(url, sleeps).complete(MESSAGES)
    assert reply.usage == USAGE and reply.attempts == 1 and not sleeps
    _, body, headers = fake.requests[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "fake-vl" and body["messages"] == MESSAGES


def test_429_is_retried_after_its_retry_after() -> None:
    fake = FakeVLM(
        lambda k, n, b: Action("status", status=429, headers={"Retry-After": "0.05"}) if n < 2 else Action()
    )
    sleeps: list[float] = []
    with serve(fake) as url:
        reply = _client(url, sleeps).complete(MESSAGES)
    assert reply.attempts == 3 and reply.failures == {"http_429": 2}
    assert sleeps == [0.05, 0.05]  # the jitter (base 0.01 s) is shorter than Retry-After
    assert len(fake.requests) == 3


def test_5xx_and_bad_bodies_are_retried_until_the_limit() -> None:
    fake = FakeVLM(
        lambda k, n, b: (
            Action("status", status=500) if n % 2 == 0 else Action("status", status=200, body="<html>")
        )
    )
    sleeps: list[float] = []
    with serve(fake) as url, pytest.raises(RequestFailed) as err:
        _client(url, sleeps, max_retries=3).complete(MESSAGES)
    assert err.value.attempts == 4 and len(fake.requests) == 4 and len(sleeps) == 3
    assert err.value.kind == "bad_response"  # the last of 500, bad, 500, bad


def test_408_is_retried() -> None:
    fake = FakeVLM(lambda k, n, b: Action("status", status=408) if n == 0 else Action())
    with serve(fake) as url:
        reply = _client(url, []).complete(MESSAGES)
    assert reply.failures == {"http_408": 1} and reply.attempts == 2


def test_a_timeout_is_retried() -> None:
    fake = FakeVLM(lambda k, n, b: Action("slow", delay=0.6) if n == 0 else Action())
    sleeps: list[float] = []
    with serve(fake) as url:
        reply = _client(url, sleeps, timeout=0.2).complete(MESSAGES)
    assert reply.failures == {"timeout": 1} and reply.attempts == 2


def test_401_stops_at_once_and_400_is_not_retried() -> None:
    sleeps: list[float] = []
    fake = FakeVLM(lambda k, n, b: Action("status", status=401, body="bad key"))
    with serve(fake) as url, pytest.raises(EndpointFatal, match="401"):
        _client(url, sleeps).complete(MESSAGES)
    assert len(fake.requests) == 1
    fake = FakeVLM(lambda k, n, b: Action("status", status=400, body="image too large"))
    with serve(fake) as url, pytest.raises(RequestFailed, match="http_400"):
        _client(url, sleeps).complete(MESSAGES)
    assert len(fake.requests) == 1 and not sleeps


def test_backoff_is_full_jitter_and_honours_retry_after() -> None:
    client = ChatClient("http://127.0.0.1:9/v1", "m", backoff_base=1.0, max_wait=8.0, seed=1)
    for retry in range(6):
        waits = [client.wait_seconds(retry, None) for _ in range(200)]
        cap = min(8.0, 2.0**retry)
        assert min(waits) >= 0 and max(waits) <= cap and max(waits) > 0.8 * cap  # spread over [0, cap]
    assert client.wait_seconds(0, 5.0) == 5.0  # longer than any jitter at retry 0
    assert client.wait_seconds(0, 100.0) == 8.0  # capped at max_wait
    assert retry_after_seconds("2.5") == 2.5 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert client.url == "http://127.0.0.1:9/v1/chat/completions"
