"""`--out` safety: a folder that is not a prepare output is refused (nothing of the user's is touched);
`--fresh` empties only a prepare output; an empty run prepares nothing and still writes its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkvid_fast.manifest import Journal
from talkvid_fast.prepare._driver import ParamsChanged, prepare_run
from talkvid_fast.prepare._source import PrepareParams

PARAMS = PrepareParams(format="vexpress", fps=24.0)


def _empty_run(folder: Path) -> Path:
    journal = Journal(folder)
    journal.append({"source_id": "s", "path": "/nowhere.mp4", "status": "ok"}, [])
    journal.close()
    return folder


def test_a_users_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    run = _empty_run(tmp_path / "run")
    user = tmp_path / "dataset"
    (user / "videos").mkdir(parents=True)
    (user / "videos" / "mine.mp4").write_bytes(b"precious")
    for fresh in (False, True):
        with pytest.raises(ParamsChanged, match=r"holds no prepare\.json"):
            prepare_run(run, user, PARAMS, fresh=fresh, log=lambda _: None)
    assert (user / "videos" / "mine.mp4").read_bytes() == b"precious"


def test_fresh_empties_a_prepare_output(tmp_path: Path) -> None:
    run = _empty_run(tmp_path / "run")
    out = tmp_path / "out"
    summary = prepare_run(run, out, PARAMS, log=lambda _: None)
    assert summary.clips == summary.prepared == 0 and json.loads((out / "vexpress.json").read_text()) == []
    (out / "videos-crop").mkdir()
    (out / "videos-crop" / "old.mp4").write_bytes(b"x")
    (out / "videos-crop" / ".old.mp4.tmp.mp4").write_bytes(b"x")  # left by a killed run
    prepare_run(run, out, PARAMS, log=lambda _: None)
    assert (out / "videos-crop" / "old.mp4").exists() and not (
        out / "videos-crop" / ".old.mp4.tmp.mp4"
    ).exists()
    with pytest.raises(ParamsChanged, match="--fresh"):
        prepare_run(run, out, PrepareParams(format="vexpress", fps=25.0), log=lambda _: None)
    prepare_run(run, out, PrepareParams(format="vexpress", fps=25.0), fresh=True, log=lambda _: None)
    assert not (out / "videos-crop").exists()
    assert json.loads((out / "prepare.json").read_text())["params"]["fps"] == 25.0
