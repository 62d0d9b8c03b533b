"""The evaluation of a folder of generated videos on a bench set (docs/evaluation.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..evalset.build import BENCH_JSON
from ..manifest import write_atomic
from ._aggregate import COLUMNS, disparity, subgroup
from ._clip import ClipResult, evaluate_clip
from ._folder import SUFFIX, FolderCheck, check_folder
from ._networks import Networks, engine_names, load_networks
from ._report import markdown, plot_dimensions, write_markdown

METRICS = ("fid", "fvd", "sync", "lmd", "psnr", "ssim", "lpips")
#: metric name on the command line -> the columns it fills
FILLS = {
    "fid": ("fid",),
    "fvd": ("fvd",),
    "sync": ("sync_c", "sync_d", "av_offset"),
    "lmd": ("m_lmd", "f_lmd"),
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "lpips": ("lpips",),
}


NETWORK_OF = {"fid": "inception", "fvd": "i3d", "sync": "syncnet", "lmd": "facemesh", "lpips": "lpips"}


class FolderMismatch(ValueError):
    """The generated folder does not match the bench set; the message lists every problem."""


def read_bench(path: Path) -> tuple[Path, dict[str, Any]]:
    file = path / BENCH_JSON if path.is_dir() else path
    if not file.is_file():
        raise ValueError(
            f"--bench {path}: no {BENCH_JSON} (build one with python -m talkvid_fast.evalset build)"
        )
    return file.parent, json.loads(file.read_text())


def parse_metrics(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()] if text != "all" else list(METRICS)
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise ValueError(f"unknown metrics {bad}; allowed: all, or a comma list of {', '.join(METRICS)}")
    return names


def _skimage_missing() -> str | None:
    try:
        import skimage  # noqa: F401
    except ImportError:
        return "not run: scikit-image is not installed (pip install 'talkvid-fast[eval]')"
    return None


def _raise_unless_ok(check: FolderCheck, generated: Path, bench_dir: Path) -> None:
    if not check.ok:
        raise FolderMismatch(
            f"{generated} does not match the bench set {bench_dir}:\n  " + "\n  ".join(check.problems)
        )


def evaluate(
    bench: Path,
    generated: Path,
    out: Path,
    metrics: list[str],
    device: str = "cpu",
    bootstrap: int = 1000,
    bootstrap_frechet: int = 0,
    frame_stride: int = 1,
    audio_from_bench: bool = False,
    seed: int = 0,
    networks: Networks | None = None,
    progress: bool = False,
    runtime: str = "auto",
) -> dict[str, Any]:
    from tqdm import tqdm

    bench_dir, manifest = read_bench(bench)
    check = check_folder(generated, manifest, need_audio=False)
    _raise_unless_ok(check, generated, bench_dir)
    wanted = set(metrics)
    nets = networks if networks is not None else load_networks(wanted, device, runtime)
    if "sync" in wanted and nets.syncnet is not None and not audio_from_bench:  # Sync needs the audio
        check = check_folder(generated, manifest, need_audio=True)
        _raise_unless_ok(check, generated, bench_dir)
    not_run = dict(nets.not_run)
    for m, attr in NETWORK_OF.items():
        if m in wanted and getattr(nets, attr) is None:
            not_run.setdefault(m, "not run: no network given")
    if "ssim" in wanted and (why := _skimage_missing()):
        not_run["ssim"] = why
        wanted.discard("ssim")
    results: dict[str, ClipResult] = {}
    size = int(manifest["size"])
    for clip in tqdm(manifest["clips"], desc="clips", disable=not progress):
        results[clip["id"]] = evaluate_clip(
            bench_dir,
            clip,
            generated / f"{clip['id']}{SUFFIX}",
            nets,
            wanted,
            size,
            frame_stride,
            audio_from_bench,
        )
    columns = [c for m in metrics if m in wanted and m not in not_run for c in FILLS[m]]
    rng = np.random.default_rng(seed)
    groups = [subgroup("all", "all", list(results.values()), columns, rng, bootstrap, bootstrap_frechet)]
    for dim in manifest["design"]["dimensions"]:
        for group in dim["groups"]:
            members = [
                results[c["id"]]
                for c in manifest["clips"]
                if c["dimension"] == dim["name"] and c["group"] == group
            ]
            groups.append(subgroup(dim["name"], group, members, columns, rng, bootstrap, bootstrap_frechet))
    gaps = disparity([g for g in groups if g.dimension != "all"], columns)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "bench": str(bench_dir.resolve()),
        "generated": str(generated.resolve()),
        "metrics": metrics,
        "columns": {k: COLUMNS[k][0] for k in columns},
        "not_run": not_run,
        "settings": {
            "device": device,
            "runtime": runtime,
            "engines": engine_names(nets),
            "bootstrap": bootstrap,
            "bootstrap_frechet": bootstrap_frechet,
            "frame_stride": frame_stride,
            "audio_from_bench": audio_from_bench,
            "seed": seed,
        },
        "folder_notes": check.notes,
        "clips": [
            {"id": cid, "dimension": c["dimension"], "group": c["group"], **r.values, "notes": r.notes}
            for c in manifest["clips"]
            for cid, r in [(c["id"], results[c["id"]])]
        ],
        "subgroups": [asdict(g) for g in groups],
        "disparity": gaps,
    }
    write_atomic(out / "results.json", json.dumps(report, indent=1, ensure_ascii=False).encode())
    header = f"# TalkVid-Bench: {generated.name} on {bench_dir.name} ({len(results)} clips)"
    write_markdown(out / "results.md", markdown(groups, columns, not_run, gaps, header))
    report["plots"] = [
        str(p) for p in plot_dimensions([g for g in groups if g.dimension != "all"], columns, out)
    ]
    return report
