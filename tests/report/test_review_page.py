"""The review sample and the blinded labelling page, end to end in headless Chromium on a real run's clips."""

from __future__ import annotations

import json
import random
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.agreement import load_labels
from talkvid_fast.review import ReviewSession, consensus, draw, label_value, start_server
from talkvid_fast.review.__main__ import main as review_main
from talkvid_fast.review._sample import Candidate

from .conftest import keep_screenshot


def _cand(source: str, n: int, keep: bool, margin: float) -> Candidate:
    return Candidate({"clip_id": f"{source}-{n}", "source_id": source}, keep, margin)


def test_draw_takes_the_boundary_then_both_sides_one_source_at_a_time() -> None:
    # source a: 6 clips (3 kept, 3 rejected), b and c: 2 clips each; margins chosen so the three clips
    # nearest the boundary are a-0 (0.01), b-0 (0.02), a-1 (0.03)
    cands = [_cand("a", i, i % 2 == 0, m) for i, m in enumerate([0.01, 0.03, 2.0, -3.0, 4.0, -5.0])]
    cands += [_cand("b", 0, True, 0.02), _cand("b", 1, False, -1.0)]
    cands += [_cand("c", 0, True, 1.5), _cand("c", 1, False, -0.5)]
    got = draw(cands, 6, random.Random(0))
    strata = {c.clip["clip_id"]: s for c, s in got}
    # boundary (n // 3 = 2): round robin over sources ordered by their nearest clip: a-0, then b-0
    assert [c.clip["clip_id"] for c, s in got if s == "boundary"] == ["a-0", "b-0"]
    kept = [c for c, s in got if s == "kept"]
    rejected = [c for c, s in got if s == "rejected"]
    assert (
        len(kept) == 2
        and len(rejected) == 2
        and all(c.keep for c in kept)
        and not any(c.keep for c in rejected)
    )
    assert len({c.clip["source_id"] for c in rejected}) == 2, "one source filled a stratum"
    assert len(strata) == 6  # no clip twice
    assert draw(cands, 6, random.Random(0)) == got  # seeded


def test_a_short_side_is_filled_from_the_other() -> None:
    cands = [_cand("a", i, True, None) for i in range(5)] + [_cand("b", 0, False, None)]  # type: ignore[arg-type]
    got = draw(cands, 4, random.Random(1))
    assert sorted(s for _, s in got) == [
        "kept",
        "kept",
        "kept",
        "rejected",
    ]  # no margins: no boundary stratum


@pytest.fixture(scope="module")
def review_sample(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review") / "sample.json"
    assert (
        review_main(
            ["sample", "--run", str(small_run), "--per-filter", "3", "--seed", "3", "--out", str(out)]
        )
        == 0
    )
    return out


def test_sample_is_seeded_and_blinded(review_sample: Path, small_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    assert (
        review_main(
            ["sample", "--run", str(small_run), "--per-filter", "3", "--seed", "3", "--out", str(again)]
        )
        == 0
    )
    data = json.loads(review_sample.read_text())
    assert json.loads(again.read_text())["items"] == data["items"]
    keys = [(i["criterion"], i["clip_id"]) for i in data["items"]]
    assert len(keys) == len(set(keys)), "a clip is asked twice for one criterion"
    # d0 (3.1 s) only failed the 5 s rule: no filter judged it, so it is never drawn
    assert not any(i["clip_id"].startswith("liveportrait__d0") for i in data["items"])
    # the speech gate judged AOC and face1 (kept) and d18 (rejected): all three drawn for 'speaking'
    speaking = {i["clip_id"] for i in data["items"] if i["criterion"] == "speaking"}
    assert {c.split("-scene")[0] for c in speaking} == {
        "sadtalker__WDA_AlexandriaOcasioCortez_000",
        "retalking__face1",
        "liveportrait__d18",
    }
    public = ReviewSession(review_sample, tmp_path).public_items()
    assert all(
        set(p) == {"item_id", "criterion", "question", "guideline", "media", "preview", "start", "end"}
        for p in public
    )


def test_preview_is_the_clip_in_h264(testmedia: Path, tmp_path: Path) -> None:
    import av

    from talkvid_fast.review._preview import make_preview

    src = testmedia / "positives" / "sadtalker__WDA_AlexandriaOcasioCortez_000.mp4"  # MPEG-4 part 2, 25 fps
    out = make_preview(src, 0.3, 7.9, tmp_path / "p.mp4")
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(v))
        assert v.codec_context.name == "h264" and c.streams.audio
    assert frames == round((7.9 - 0.3) * 25)  # the frames shown at 0.32 .. 7.88 s


def test_media_is_served_with_byte_ranges(review_sample: Path, tmp_path: Path) -> None:
    session = ReviewSession(review_sample, tmp_path)
    server, url = start_server(session)
    try:
        req = urllib.request.Request(url + "media/0", headers={"Range": "bytes=10-19"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and r.headers["Content-Range"].endswith(
                f"/{Path(session.media[0]).stat().st_size}"
            )
            assert r.read() == Path(session.media[0]).read_bytes()[10:20]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(url + "media/999")
    finally:
        server.shutdown()


def _wait(driver: Any, script: str, timeout: float = 20.0) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def _label(driver: Any, url: str, name: str, keys: list[str]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    driver.find_element("id", "name").send_keys(name, Keys.ENTER)
    _wait(driver, "return document.getElementById('question').textContent.length > 0")
    special = {"LEFT": Keys.ARROW_LEFT}
    for k in keys:
        ActionChains(driver).send_keys(special.get(k, k)).perform()
        time.sleep(0.2)
    _wait(driver, "return document.getElementById('status').textContent.startsWith('exported')")


def test_label_with_keys_and_export_two_annotators(review_sample: Path, browser: Any, tmp_path: Path) -> None:
    session = ReviewSession(review_sample, tmp_path)
    server, url = start_server(session)
    try:
        items = json.loads(urllib.request.urlopen(url + "api/items").read())["items"]
        assert not any(k in json.dumps(items) for k in ('"stratum"', '"filters"', '"kept"', '"rejected"')), (
            "not blinded"
        )
        browser.set_window_size(1100, 850)
        browser.get(url)
        from selenium.webdriver.common.keys import Keys

        browser.find_element("id", "name").send_keys("alice", Keys.ENTER)
        _wait(browser, "return document.getElementById('question').textContent.length > 0")
        assert items[0]["question"] in browser.find_element("id", "question").text
        assert items[0]["guideline"] == browser.find_element("id", "guideline").text
        # the clip plays, picture included: the source with the clip's time range, or (a codec the browser
        # cannot decode, e.g. AOC's MPEG-4 part 2) the transcoded preview of the clip
        _wait(
            browser,
            "const v = document.getElementById('video'); return v.readyState >= 2 && v.videoWidth > 0",
        )
        src = browser.execute_script("return document.getElementById('video').currentSrc")
        assert src.endswith(items[0]["preview"]) or f"{items[0]['media']}#t=" in src
        _wait(browser, "return document.getElementById('video').currentTime > 0")  # it is playing
        keep_screenshot(browser.get_screenshot_as_png(), "review.png")

        # alice: positive, negative, unsure, back one, negative (replaces unsure), export
        _label(browser, url, "alice", ["y", "n", "u", "LEFT", "2", "e"])
        # bob: positive on the first three, export
        _label(browser, url, "bob", ["1", "y", "y", "e"])
        # alice again: her answers come back, the page resumes at the first unanswered item
        browser.get(url)
        browser.find_element("id", "name").send_keys("alice", Keys.ENTER)
        _wait(browser, "return document.getElementById('progress').textContent.includes('3 answered')")
        assert "item 4 of" in browser.find_element("id", "progress").text
    finally:
        server.shutdown()

    alice = {
        (e.clip_id, c): e.labels[c]["value"]
        for e in load_labels(tmp_path / "labels_alice.json")
        for c in e.labels
    }
    bob = {
        (e.clip_id, c): e.labels[c]["value"]
        for e in load_labels(tmp_path / "labels_bob.json")
        for c in e.labels
    }
    first3 = [(i["item_id"].split("|")[1], i["criterion"]) for i in items[:3]]
    assert [alice[k] for k in first3] == [
        label_value(c, a) for (_, c), a in zip(first3, ["positive", "negative", "negative"], strict=True)
    ]
    assert [bob[k] for k in first3] == [label_value(c, "positive") for _, c in first3]
    assert len(alice) == 3 and len(bob) == 3
    entry = json.loads((tmp_path / "labels_alice.json").read_text())[0]
    assert {"file", "clip_id", "labels", "annotator"} <= set(entry) and Path(entry["file"]).is_file()
    # the two files feed review stats: they agree on the first item only
    gold = {
        (e.clip_id, c): e.value(c)
        for e in consensus([load_labels(tmp_path / f"labels_{n}.json") for n in ("alice", "bob")])
        for c in e.labels
    }
    assert [gold[k] for k in first3] == [True, None, None]
