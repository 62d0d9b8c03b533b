"""Which voice-activity detector for `open`'s speech gate: webrtcvad (the paper profile's) against Silero VAD v6,
on the audio of every labelled clip of the shared test media, scored against the `speaking` labels on the
calibration and check halves of the fixed split (`open_calibration.py` CALIBRATION_REPOS), separately.

Each clip is scored on its longest labelled-cut-free span (`open_calibration.span`), as stage 1 would cut it;
a clip passes where the detector hears speech in >= 0.5 of its frames (the spec's `vad_min_speech`; Silero's
per-chunk threshold is upstream's 0.5). No threshold is fitted here. Writes bench/results/open_vad_<device>.json
and .md. Needs `python -m talkvid_fast.weights fetch silero_vad`.

    python bench/open_vad.py [--testmedia ../shared/testmedia]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from open_calibration import CALIBRATION_REPOS, span  # noqa: E402

from talkvid_fast.agreement._stats import Confusion, agreement  # noqa: E402
from talkvid_fast.segment import NoAudio, load_audio_16k  # noqa: E402
from talkvid_fast.vad import VadParams, speech_fraction  # noqa: E402

DETECTORS = {"webrtcvad": VadParams(method="webrtcvad"), "silero": VadParams(method="silero")}
MIN_SPEECH = 0.5


def score(media: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    labels = json.loads((media / "labels.json").read_text())
    repos = {m["file"]: m["repo"] for m in json.loads((media / "manifest.json").read_text())}
    rows: list[dict[str, Any]] = []
    seconds = {name: 0.0 for name in DETECTORS}
    audio_s = 0.0
    for entry in labels:
        start, end = span(entry)
        try:
            audio = load_audio_16k(str(media / entry["file"]), start, end)
        except NoAudio:
            continue
        if len(audio) < 16_000:
            continue
        audio_s += len(audio) / 16_000
        row: dict[str, Any] = {
            "file": entry["file"],
            "part": "calibration" if repos[entry["file"]] in CALIBRATION_REPOS else "check",
            "span": [round(start, 2), round(end, 2)],
            "speaking": entry["labels"].get("speaking", {}).get("value"),
            "reason": entry["labels"].get("speaking", {}).get("reason", ""),
        }
        for name, params in DETECTORS.items():
            t = time.perf_counter()
            row[name] = round(speech_fraction(audio, params), 4)
            seconds[name] += time.perf_counter() - t
        rows.append(row)
    return rows, {name: s / audio_s * 60 for name, s in seconds.items()}


def counts(rows: list[dict[str, Any]], name: str, part: str) -> Confusion:
    return Confusion.of(
        (r[name] >= MIN_SPEECH, r["speaking"] if isinstance(r["speaking"], bool) else None)
        for r in rows
        if r["part"] == part
    )


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}"


def report(rows: list[dict[str, Any]], per_minute: dict[str, float], device: str) -> str:
    lines = [
        "# Which VAD for `open`'s speech gate: webrtcvad against Silero VAD v6, CPU",
        "",
        f"Written by `python bench/open_vad.py` ({device}, torch {torch.__version__}). Each clip's longest "
        "labelled-cut-free span; pass = speech in >= 0.5 of the detector's frames (30 ms webrtcvad mode 2, "
        "32 ms Silero chunks with probability >= 0.5). Scored against the `speaking` labels; `uncertain` "
        "counts for neither side. No threshold fitted.",
        "",
        "| part | detector | TP/FP/FN/TN | accuracy (%) | F1 (%) | κ |",
        "|---|---|---|---:|---:|---:|",
    ]
    for part in ("calibration", "check"):
        for name in DETECTORS:
            c = counts(rows, name, part)
            a = agreement(c)
            kappa = "n/a" if a.kappa is None else f"{a.kappa:.3f}"
            lines.append(
                f"| {part} | {name} | {c.tp}/{c.fp}/{c.fn}/{c.tn} | {pct(a.accuracy)} | {pct(a.f1)} | {kappa} |"
            )
    lines += [
        "",
        "CPU time per minute of audio: "
        + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in per_minute.items())
        + " (Silero: our torch module, one thread per worker as the pipeline runs it).",
        "",
        "| clip | part | speaking (label) | webrtcvad | silero | label's reason |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["part"], r["file"])):
        lines.append(
            f"| {Path(r['file']).stem} | {r['part']} | {r['speaking']} | {r['webrtcvad']:.2f} | {r['silero']:.2f} "
            f"| {r['reason'][:90]} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--testmedia", default=str(REPO.parent / "shared" / "testmedia"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows, per_minute = score(Path(args.testmedia))
    device = f"{platform.processor() or platform.machine()} CPU"
    out = Path(args.out)
    (out / "open_vad_cpu.json").write_text(
        json.dumps({"device": device, "cpu_seconds_per_audio_minute": per_minute, "clips": rows}, indent=1)
    )
    (out / "open_vad_cpu.md").write_text(report(rows, per_minute, device))
    print(report(rows, per_minute, device))


if __name__ == "__main__":
    main()
