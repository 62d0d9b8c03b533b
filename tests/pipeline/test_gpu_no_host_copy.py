"""The GPU path keeps frames on the device (issue 6, "one decode, every filter"): a CUDA profile of one source
through NVDEC, stage 1 and the three filters shows no device-to-host copy as large as one decoded frame.

How: torch.profiler records every CUDA memcpy with its byte count (Kineto's `bytes` argument in the
exported Chrome trace). The only frames allowed to reach the host are stage 1's ~256 px scene-detection
frames (Note [Decode passes]); scores, detections and landmarks are small. Skips without a GPU and
PyNvVideoCodec (docs/architecture.md says how this was run and what it found).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
import torch

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.nvdec,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(importlib.util.find_spec("PyNvVideoCodec") is None, reason="needs PyNvVideoCodec"),
]

CLIP = "positives/sadtalker__WDA_KatieHill_000.mp4"


def _device_to_host_copies(trace: Path) -> list[int]:
    events = json.loads(trace.read_text())["traceEvents"]
    return [
        int(e.get("args", {}).get("bytes", 0))
        for e in events
        if "Memcpy DtoH" in str(e.get("name", "")) or "Memcpy DtoH" in str(e.get("args", {}).get("kind", ""))
    ]


def test_no_full_frame_reaches_the_host(testmedia: Path, tmp_path: Path) -> None:
    from talkvid_fast.decode import open_decoder
    from talkvid_fast.pipeline._config import RunConfig
    from talkvid_fast.pipeline._worker import Worker
    from talkvid_fast.profile import load_profile

    profile = load_profile("paper")
    sections = {k: dict(v) for k, v in profile.sections.items()}
    sections["quality"].update(weights="random", architecture="tiny")  # no DOVER weights needed
    sections["motion"].update(backend="klt")  # the Numba CUDA tracker on the device frames
    sections["segment"].update(speech_gate="keep")
    config = RunConfig(
        dataclasses.replace(profile, sections=sections),
        tmp_path / "out",
        stages=["segment", "quality", "motion", "head"],
        device="cuda:0",
        decoder="nvdec",
    )
    path = testmedia / CLIP
    meta = open_decoder(str(path), "nvdec", "cuda:0").metadata
    frame_bytes = meta.width * meta.height * 3 // 2  # one NV12 surface, the smallest full frame
    worker = Worker(config)
    assert not worker.unavailable, worker.unavailable
    fields = {"video-path": str(path), "video-id": path.stem}
    worker.process(fields)  # warm-up: kernels compiled, models loaded
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        src, clips = worker.process(fields)
        torch.cuda.synchronize()
    trace = tmp_path / "trace.json"
    prof.export_chrome_trace(str(trace))
    assert src["decoder"].startswith("nvdec") and clips, src
    assert all(not c["stages"][s].get("error") for c in clips for s in ("quality", "motion", "head"))
    copies = _device_to_host_copies(trace)
    assert copies, "the profile recorded no device-to-host copy at all (scores must come back somehow)"
    assert max(copies) < frame_bytes, (max(copies), frame_bytes)
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "copies": len(copies),
                "max_bytes": max(copies),
                "total_bytes": sum(copies),
                "frame_bytes": frame_bytes,
            }
        )
    )
