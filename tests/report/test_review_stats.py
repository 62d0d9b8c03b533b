"""`review stats` on two label files: the shared labels and a copy with deliberate disagreements, with
expected figures worked out by hand (in the comments) from the shared labels' counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.agreement import load_labels
from talkvid_fast.review import consensus, iaa
from talkvid_fast.review.__main__ import main as review_main

AOC = "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4"
KATIE = "positives/sadtalker__WDA_KatieHill_000.mp4"
FACE2 = "positives/retalking__face2.mp4"
D18 = "positives/liveportrait__d18.mp4"


def _disagreeing_copy(shared: Path, out: Path) -> Path:
    """Annotator B: the shared labels with four deliberate changes."""
    data: list[dict[str, Any]] = json.loads(shared.read_text())
    by_file = {e["file"]: e["labels"] for e in data}
    by_file[D18]["speaking"]["value"] = True  # A: false (digital silence)
    by_file[KATIE]["speaking"]["value"] = False  # A: true
    by_file[FACE2]["speaking"]["value"] = "uncertain"  # A: true; now counts for neither side
    by_file[AOC]["keep"]["value"] = False  # A: true
    out.write_text(json.dumps(data))
    return out


@pytest.fixture
def two_files(testmedia: Path, tmp_path: Path) -> tuple[Path, Path]:
    shared = testmedia / "labels.json"
    counts = {v: 0 for v in ("T", "F")}
    for e in json.loads(shared.read_text()):
        v = e["labels"]["speaking"]["value"]
        if isinstance(v, bool):
            counts["T" if v else "F"] += 1
    # the hand calculations below start from these counts of the shared file
    assert counts == {"T": 21, "F": 23}, f"labels.json changed ({counts}): recompute the expected figures"
    return shared, _disagreeing_copy(shared, tmp_path / "annotator_b.json")


def test_iaa_and_kappa_by_hand(two_files: tuple[Path, Path]) -> None:
    a, b = (load_labels(p) for p in two_files)
    speaking = iaa([a, b], "speaking")
    assert speaking is not None
    # decided in both: 44 - 1 (face2 unsure in B) = 43 pairs; disagreements d18, KatieHill -> 41/43.
    # A over the 43: 20 true, 23 false; B: 20 true (20 - Katie + d18), 23 false.
    # p_e = (20*20 + 23*23) / 43^2 = 929/1849; kappa = (41*43 - 929) / (1849 - 929) = 834/920
    assert speaking.n == 43
    assert speaking.accuracy == pytest.approx(41 / 43)
    assert speaking.kappa == pytest.approx(834 / 920)
    keep = iaa([a, b], "keep")
    assert keep is not None
    # keep decided on 46 files (11 true, 35 false); B drops AOC: 45/46 agree; B 10 true, 36 false
    # p_e = (10*11 + 36*35) / 46^2 = 1370/2116; kappa = (45*46 - 1370) / (2116 - 1370) = 700/746
    assert (keep.n, keep.accuracy, keep.kappa) == (46, pytest.approx(45 / 46), pytest.approx(700 / 746))
    frontal = iaa([a, b], "frontal")
    assert frontal is not None and frontal.accuracy == 1.0 and frontal.kappa == pytest.approx(1.0)


def test_consensus_leaves_disagreements_undecided(two_files: tuple[Path, Path]) -> None:
    gold = {e.file: e for e in consensus([load_labels(p) for p in two_files])}
    assert gold[D18].value("speaking") is None and gold[KATIE].value("speaking") is None
    assert gold[FACE2].value("speaking") is None and gold[AOC].value("keep") is None
    assert gold[AOC].value("speaking") is True and gold[D18].value("keep") is False


def test_stats_cli_table_against_a_real_run(
    two_files: tuple[Path, Path], small_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stats.json"
    args = ["stats", "--labels", str(two_files[0]), "--labels", str(two_files[1]), "--run", str(small_run)]
    assert review_main([*args, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| speaking | 43 | 95.3 | 0.907 |" in text
    rows = {r["filter"]: r for r in json.loads(out.read_text())["rows"]}
    # the speech gate judged AOC and face1 (kept, speaking in both files) and d18 (rejected; the files
    # disagree on it, so the consensus leaves it out): 2 true positives, 1 undecided
    speech = rows["segment.speech"]
    assert speech["confusion"] == {"tp": 2, "fp": 0, "fn": 0, "tn": 0} and speech["undecided_labels"] == 1
    assert speech["iaa"]["accuracy"] == pytest.approx(41 / 43)
    # keep: face1 passed (keep in both), d18 rejected (keep false in both), AOC undecided (B changed it);
    # d0 is shorter than 5 s and left out
    overall = rows["overall"]
    assert overall["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1} and overall["undecided_labels"] == 1
    assert overall["too_short"] == 1
    # with the shared labels as gold instead, d18 counts again (a true negative)
    assert review_main([*args, "--gold", str(two_files[0]), "--json", str(out)]) == 0
    rows = {r["filter"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["segment.speech"]["confusion"] == {"tp": 2, "fp": 0, "fn": 0, "tn": 1}
