"""--ray: the same worker as Ray actors on a private local Ray instance, with the same records as one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import scene_frames, write_video
from tests.pipeline.helpers import comparable, journal, run_cli

pytest.importorskip("ray", reason="needs Ray (pip install 'ray>=2.30')")
pytestmark = pytest.mark.ray


def test_ray_actors_give_the_same_records_and_resume(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        write_video(corpus / f"s{i}.mp4", scene_frames([60, 40][: 1 + i % 2], size=(48, 64), seed=i), fps=10)
    (corpus / "broken.mp4").write_bytes(b"")
    args = ["--input", str(corpus), "--profile", "official", "--stages", "segment"]
    one, ray_out = tmp_path / "one", tmp_path / "ray"
    assert run_cli(*args, "--output", str(one)).returncode == 0
    result = run_cli(*args, "--output", str(ray_out), "--ray", "local", "--workers", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert comparable(journal(ray_out)) == comparable(journal(one))
    again = run_cli(*args, "--output", str(ray_out), "--ray", "local", "--workers", "2")
    assert again.returncode == 0 and "nothing left to do (4 sources already done)" in again.stdout
