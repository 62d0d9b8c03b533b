"""Annotating a run against a fake endpoint: every failure mode recovered or recorded, nothing paid twice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.annotate import (
    ANNOTATIONS,
    AnnotateOptions,
    AnnotationStore,
    ChatClient,
    EndpointFatal,
    ImageOptions,
    annotate_run,
    clip_annotations,
)
from talkvid_fast.annotate._prompt import data_url

from .fake_vlm import USAGE, Action, FakeVLM, good_reply, serve
from .runs import clip_record, colour_frames, make_run

OPTIONS = AnnotateOptions(frames=3, concurrency=3, max_invalid=2, price_in=2.0, price_out=10.0)


def _key(clip_id: str, options: AnnotateOptions = OPTIONS) -> str:
    """The fake server's key of a clip's requests (hash of its first image, as fake_vlm.clip_key)."""
    url = data_url(colour_frames({"clip_id": clip_id}, 1)[0], options.image)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def _client(url: str, **kw: Any) -> ChatClient:
    return ChatClient(
        url,
        "fake-vl",
        timeout=kw.pop("timeout", 2.0),
        max_retries=kw.pop("max_retries", 2),
        backoff_base=0.001,
        seed=0,
        **kw,
    )


def _run(tmp_path: Path, n: int = 6) -> Path:
    clips = [clip_record("vid", i, 10.0 * i, 10.0 * i + 6.0) for i in range(1, n + 1)]
    clips.append(clip_record("vid", 99, 990.0, 996.0, passed=False))  # failing clips are not annotated
    return make_run(tmp_path / "run", {"vid": clips})


def test_every_failure_mode_is_recovered_or_recorded(tmp_path: Path) -> None:
    run = _run(tmp_path)
    k = {i: _key(f"vid-scene{i}") for i in range(1, 7)}
    retry_texts: list[str] = []

    def script(key: str, n: int, body: dict[str, Any]) -> Action:
        if key == k[1]:
            return Action()  # good at once
        if key == k[2]:  # malformed JSON, then good
            if n == 1:
                retry_texts.append(body["messages"][-1]["content"])
                assert body["messages"][-2] == {"role": "assistant", "content": "{not json"}
            return Action(content="{not json") if n == 0 else Action()
        if key == k[3]:
            return Action(content=json.dumps({"scene_context": {}}))  # invalid structure every time
        if key == k[4]:
            return Action("status", status=500)  # server error every time
        if key == k[5]:  # 429 then a timeout then good
            return [
                Action("status", status=429, headers={"Retry-After": "0.01"}),
                Action("slow", delay=0.5),
                Action(),
            ][min(n, 2)]
        return Action(
            content=good_reply(
                {"age_group": "60+", "gender": "Male", "ethnicity": "Black", "language": "Unknown"}
            )
        )

    fake = FakeVLM(script)
    with serve(fake) as url:
        summary = annotate_run(
            run, _client(url, timeout=0.2), OPTIONS, frames_for=colour_frames, log=lambda s: None
        )
    got = {
        json.loads(line)["clip_id"]: json.loads(line) for line in (run / ANNOTATIONS).read_text().splitlines()
    }
    assert sorted(got) == [f"vid-scene{i}" for i in range(1, 7)]  # vid-scene99 did not pass: not asked
    assert {c: r["status"] for c, r in got.items()} == {
        "vid-scene1": "ok",
        "vid-scene2": "ok",
        "vid-scene3": "failed",
        "vid-scene4": "failed",
        "vid-scene5": "ok",
        "vid-scene6": "ok",
    }
    assert (
        got["vid-scene3"]["reason"] == "invalid_reply"
        and "background is missing" in got["vid-scene3"]["error"]
    )
    assert got["vid-scene3"]["invalid_replies"] == 3 and fake.count(k[3]) == 3  # asked 1 + max_invalid times
    assert got["vid-scene4"]["reason"] == "http_500" and fake.count(k[4]) == 3  # 1 + max_retries
    assert got["vid-scene5"]["retried"] == {"http_429": 1, "timeout": 1}
    assert "not valid JSON" in retry_texts[0]  # the re-ask carries the validation error
    assert got["vid-scene6"]["annotation"]["ethnicity"] == "Black"
    # tokens: every 200 reply carried USAGE; the summary adds exactly what the client received (the
    # reply to the timed-out request was sent after the client left: served, maybe billed, never seen)
    assert sum(fake.answered.values()) == 1 + 2 + 3 + 0 + 2 + 1
    paid = 1 + 2 + 3 + 0 + 1 + 1
    assert summary.prompt_tokens == paid * USAGE["prompt_tokens"]
    assert summary.completion_tokens == paid * USAGE["completion_tokens"]
    assert summary.cost == pytest.approx(paid * (1000 * 2.0 + 200 * 10.0) / 1e6)
    assert summary.requests == len(fake.requests)
    assert summary.annotated == 4 and summary.failed == {"invalid_reply": 1, "http_500": 1}
    assert (
        json.loads((run / "annotations_summary.json").read_text())["total_tokens"]
        == paid * USAGE["total_tokens"]
    )
    ann = clip_annotations(run)
    assert sorted(ann) == ["vid-scene1", "vid-scene2", "vid-scene5", "vid-scene6"]
    assert ann["vid-scene1"]["age"] == "31-45" and ann["vid-scene1"]["caption"].startswith(
        "The video shows a woman"
    )
    assert ann["vid-scene1"]["model"] == "fake-vl" and ann["vid-scene1"]["frames"] == 3

    # a rerun asks only for the two failed clips (which now succeed); the others cost nothing
    fake2 = FakeVLM()
    with serve(fake2) as url:
        again = annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None)
    assert sorted(fake2.answered) == sorted([k[3], k[4]]) and len(fake2.requests) == 2
    assert again.cached == 4 and again.annotated == 2
    assert sorted(clip_annotations(run)) == [f"vid-scene{i}" for i in range(1, 7)]
    # and one more rerun costs nothing at all
    fake3 = FakeVLM()
    with serve(fake3) as url:
        assert (
            annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None).cached == 6
        )
    assert fake3.requests == []


def test_switching_models_back_and_forth_pays_each_once(tmp_path: Path) -> None:
    run = _run(tmp_path, n=2)
    fake = FakeVLM()
    with serve(fake) as url:
        for model in ("model-a", "model-b", "model-a", "model-b"):
            client = ChatClient(url, model, max_retries=0)
            annotate_run(run, client, OPTIONS, frames_for=colour_frames, log=lambda s: None)
    assert sorted(b["model"] for _, b, _ in fake.requests) == ["model-a"] * 2 + ["model-b"] * 2
    assert {a["model"] for a in clip_annotations(run).values()} == {"model-b"}  # the latest annotation


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    run = _run(tmp_path, n=8)
    fake = FakeVLM(lambda key, n, body: Action("slow", delay=0.15))
    options = AnnotateOptions(frames=1, concurrency=3)
    with serve(fake) as url:
        annotate_run(run, _client(url), options, frames_for=colour_frames, log=lambda s: None)
    assert len(fake.requests) == 8 and fake.max_in_flight == 3


def test_a_rejected_key_stops_the_run_and_keeps_the_summary(tmp_path: Path) -> None:
    run = _run(tmp_path, n=4)
    fake = FakeVLM(lambda key, n, body: Action("status", status=401, body="invalid api key"))
    with serve(fake) as url, pytest.raises(EndpointFatal, match="401"):
        annotate_run(
            run,
            _client(url),
            AnnotateOptions(frames=1, concurrency=1),
            frames_for=colour_frames,
            log=lambda s: None,
        )
    assert len(fake.requests) == 1  # not one request per clip
    assert "401" in json.loads((run / "annotations_summary.json").read_text())["stopped"]


def test_a_torn_last_line_is_cut_and_the_clip_asked_again(tmp_path: Path) -> None:
    run = _run(tmp_path, n=2)
    with serve(FakeVLM()) as url:
        annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None)
    path = run / ANNOTATIONS
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])  # kill -9 in the middle of the second line
    torn_clip = json.loads(lines[1])["clip_id"]
    with AnnotationStore(run) as store:
        assert store.dropped_bytes == len(lines[1]) // 2 and list(store.latest) == [
            json.loads(lines[0])["clip_id"]
        ]
    fake = FakeVLM()
    with serve(fake) as url:
        annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None)
    assert list(fake.answered) == [_key(torn_clip)]
    assert sorted(clip_annotations(run)) == ["vid-scene1", "vid-scene2"]


def test_language_from_metadata_then_subtitles_then_model(tmp_path: Path) -> None:
    srt = tmp_path / "fr.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:05,000\nBonjour à tous, aujourd'hui nous allons parler de la cuisine française.\n\n",
        encoding="utf-8",
    )
    run = make_run(
        tmp_path / "run",
        {
            "given": [clip_record("given", 1, 0.0, 6.0)],
            "subs": [clip_record("subs", 1, 0.0, 6.0)],
            "none": [clip_record("none", 1, 0.0, 6.0)],
        },
        meta={"given": {"Language": "Polish"}},
        subtitles={"subs": str(srt), "given": str(srt)},
    )
    with serve(FakeVLM()) as url:  # the model says English for every clip
        annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None)
    ann = clip_annotations(run)
    assert (ann["given-scene1"]["language"], ann["given-scene1"]["language_source"]) == ("Polish", "metadata")
    assert (ann["subs-scene1"]["language"], ann["subs-scene1"]["language_source"]) == ("French", "subtitles")
    assert (ann["none-scene1"]["language"], ann["none-scene1"]["language_source"]) == ("English", "model")


def test_the_annotation_reaches_talkvid_json(tmp_path: Path) -> None:
    run = _run(tmp_path, n=1)
    (run / "talkvid.json").write_text(json.dumps([{"id": "vid-scene1", "metadata": {"duration": 6.0}}]))
    with serve(FakeVLM()) as url:
        annotate_run(run, _client(url), OPTIONS, frames_for=colour_frames, log=lambda s: None)
    meta = json.loads((run / "talkvid.json").read_text())[0]["metadata"]
    assert meta["duration"] == 6.0
    assert meta["annotation"]["gender"] == "Female" and "structured" not in meta["annotation"]


def test_options_fail_fast() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        AnnotateOptions(concurrency=0)
    with pytest.raises(ValueError, match="allowed: jpeg, png"):
        ImageOptions(format="gif")


def test_the_request_is_the_papers_prompt_the_frames_and_our_addendum(tmp_path: Path) -> None:
    import base64

    import cv2
    import numpy as np

    from talkvid_fast.annotate import appendix_f_prompt

    run = _run(tmp_path, n=1)
    big = [np.full((480, 1280, 3), (10, 200, 30), dtype=np.uint8)] * 2  # shrunk to 640 on the long side
    fake = FakeVLM()
    with serve(fake) as url:
        annotate_run(
            run, _client(url), AnnotateOptions(frames=2), frames_for=lambda c, k: big[:k], log=lambda s: None
        )
    content = fake.requests[0][1]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "image_url", "text"]
    assert content[0]["text"] == appendix_f_prompt()  # sent as is
    assert '"demographics"' in content[3]["text"] and "No subtitles" in content[3]["text"]
    head, b64 = content[1]["image_url"]["url"].split(",", 1)
    assert head == "data:image/jpeg;base64"
    img = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert (
        img is not None
        and img.shape == (240, 640, 3)
        and np.abs(img[120, 320].astype(int) - (30, 200, 10)).max() <= 3
    )  # BGR


def test_the_papers_prompt_alone(tmp_path: Path) -> None:
    from talkvid_fast.annotate import appendix_f_prompt

    from .fake_vlm import EXAMPLE

    run = _run(tmp_path, n=1)
    fake = FakeVLM(lambda key, n, body: Action(content=json.dumps(EXAMPLE)))  # the paper's example: no groups
    options = AnnotateOptions(frames=2, demographics=False)
    with serve(fake) as url:
        annotate_run(run, _client(url), options, frames_for=colour_frames, log=lambda s: None)
    content = fake.requests[0][1]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "image_url"]
    assert content[0]["text"] == appendix_f_prompt()
    ann = clip_annotations(run)["vid-scene1"]
    assert (ann["age"], ann["gender"], ann["ethnicity"]) == ("Unknown",) * 3
    assert ann["prompt"].startswith("talkvid-appendix-f:")


def test_the_key_comes_from_the_named_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from talkvid_fast.annotate.__main__ import main

    from ..media import write_video

    video = write_video(tmp_path / "v.mp4", [np.full((32, 32, 3), 90, np.uint8)] * 20, fps=10)
    run = make_run(tmp_path / "run", {"vid": [clip_record("vid", 1, 0.0, 2.0, source_path=str(video))]})
    monkeypatch.delenv("TVF_TEST_KEY", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "--run",
                str(run),
                "--endpoint",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--api-key-env",
                "TVF_TEST_KEY",
            ]
        )
    assert exit_.value.code == 2
    monkeypatch.setenv("TVF_TEST_KEY", "sk-from-env")
    fake = FakeVLM(lambda key, n, body: Action("status", status=401))
    with serve(fake) as url:
        code = main(
            [
                "--run",
                str(run),
                "--endpoint",
                url,
                "--model",
                "m",
                "--api-key-env",
                "TVF_TEST_KEY",
                "--frames",
                "1",
            ]
        )
    assert code == 3 and fake.requests[0][2]["Authorization"] == "Bearer sk-from-env"
