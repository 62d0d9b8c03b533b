"""Shared by every benchmark (rtf commands and bench/micro/): the machine and versions a figure came from,
and writing `<name>.json` + `<name>.md`."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PAPER = {  # TalkVid paper, Appendix D (8x A800 for the GPU filters, 96 CPU cores for stage 1)
    "stage1_rtf_96_cores": 18.14,
    "motion_rtf_8_gpus": 64.21,
    "quality_rtf_8_gpus": 87.36,
    "head_rtf_8_gpus": 72.47,
}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Device, versions and git revision, recorded beside every figure."""
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        rev = ""
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "git": rev,
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cuda_runtime": torch.version.cuda,
        "tensorrt": _version("tensorrt"),
    }
    for pkg in ("av", "scenedetect", "opencv-python-headless", "onnxruntime", "numba"):
        env[pkg] = _version(pkg)
    env["device"] = env["cuda_device"] or f"CPU: {cpu} ({os.cpu_count()} cores)"
    return env


def write_results(name: str, results: dict[str, Any], table: str, folder: Path) -> tuple[Path, Path]:
    """Writes `<name>.json` and `<name>.md` (the table under a header naming the device)."""
    folder.mkdir(parents=True, exist_ok=True)
    js = folder / f"{name}.json"
    js.write_text(json.dumps(results, indent=2))
    md = folder / f"{name}.md"
    env = results["environment"]
    md.write_text(
        f"# {name}\n\nDevice: {env['device']}; git {env['git']}; torch {env['torch']}; {env['date']}\n\n{table}\n"
    )
    return js, md


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
