"""--workers N runs sources in a process pool (the path --gpus N uses) with the same records as one process."""

from __future__ import annotations

from pathlib import Path

from tests.media import scene_frames, write_video
from tests.pipeline.helpers import comparable, journal, run_cli


def test_pool_gives_the_same_records_as_one_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        write_video(corpus / f"s{i}.mp4", scene_frames([60, 40][: 1 + i % 2], size=(48, 64), seed=i), fps=10)
    (corpus / "broken.mp4").write_bytes(b"\x00" * 100)
    args = ["--input", str(corpus), "--profile", "official", "--stages", "segment"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(*args, "--output", str(one)).returncode == 0
    result = run_cli(*args, "--output", str(two), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert comparable(journal(two)) == comparable(journal(one))
    assert len([r for r in journal(two) if r["kind"] == "source"]) == 5
