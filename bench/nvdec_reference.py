"""NVDEC against FFmpeg with no PyAV on the GPU machine (`bench/gpu_check.sh` with GPU_CHECK_NVDEC=1).

Note [NVDEC reference]: the device image has neither PyAV nor PyNvVideoCodec, and the 64 MiB that travel hold
only one of their wheels (av 35.8 MB, PyNvVideoCodec 26.9 MB). H.264 and HEVC decoding is bit-exact by
specification, so FFmpeg's decoded planes are the reference for NVDEC's, and they can travel as hashes:

- `make` (here, with PyAV): for every frame of each source, its pts and the sha1 (first 16 hex digits) of its Y
  plane and of its chroma in NVDEC's NV12 layout (U and V interleaved), read from FFmpeg's own planes.
- `check` (on the GPU machine, PyNvVideoCodec and no PyAV): decodes each source with NVDEC into device
  surfaces as `decode/_nvdec.py` does (same demuxer/decoder calls), hashes the same planes, compares frame by
  frame (pts and both planes), and times decode only with 1..N concurrent NVDEC sessions on one source.
  `--stand-in` runs it on the CPU with the tests' stand-in PyNvVideoCodec (FFmpeg's NV12 via swscale), which
  is the dry run's check of this script and of the reference.

Writes nvdec_check.{json,md}. Only 8-bit 4:2:0 sources are compared (NV12 is what NVDEC gives for them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("yuv420p", "yuvj420p")


def _h(a: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def make(sources: list[Path], base: Path, max_frames: int) -> dict[str, Any]:
    import av

    out: dict[str, Any] = {}
    for path in sources:
        key = str(path.relative_to(base)) if path.is_relative_to(base) else path.name
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            w, h, fmt = s.codec_context.width, s.codec_context.height, s.codec_context.pix_fmt
            rec: dict[str, Any] = {"codec": s.codec_context.name, "width": w, "height": h, "pix_fmt": fmt}
            if fmt not in FORMATS:
                out[key] = {**rec, "skipped": f"pix_fmt {fmt}: NVDEC gives NV12 only for 8-bit 4:2:0"}
                continue
            ch, cw = (h + 1) // 2, (w + 1) // 2
            pts: list[int] = []
            ys: list[str] = []
            uvs: list[str] = []
            for f in c.decode(s):
                if len(pts) == max_frames:
                    break

                def plane(i: int, rows: int, cols: int, f: Any = f) -> np.ndarray:
                    p = f.planes[i]
                    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:rows, :cols]

                uv = np.stack([plane(1, ch, cw), plane(2, ch, cw)], axis=-1).reshape(ch, 2 * cw)
                pts.append(int(f.pts or 0))
                ys.append(_h(plane(0, h, w)))
                uvs.append(_h(uv))
        out[key] = {**rec, "pts": pts, "y": ys, "uv": uvs}
    return {"max_frames": max_frames, "sources": out}


def _decode(nvc: Any, path: str, device: Any, each: Any = None, limit: int = 0) -> int:
    """Every frame of `path` through NVDEC (as NvdecDecoder._surfaces); `each(pts, surface)` per frame."""
    import torch

    demux = nvc.CreateDemuxer(filename=path)
    stream = torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else 0
    dec = nvc.CreateDecoder(
        gpuid=device.index or 0,
        codec=demux.GetNvCodecId(),
        cudacontext=0,
        cudastream=stream,
        usedevicememory=True,
    )
    n = 0
    for packet in demux:
        for frame in dec.Decode(packet):
            if each is not None:
                each(int(frame.getPTS()), torch.from_dlpack(frame))
            n += 1
            if n == limit:
                return n
    return n


class _Planes:
    """Per NVDEC surface (NV12, (H * 3/2, W) uint8): its pts and the hashes of its Y and UV planes."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w, self.ch, self.cw = h, w, (h + 1) // 2, (w + 1) // 2
        self.pts: list[int] = []
        self.y: list[str] = []
        self.uv: list[str] = []

    def __call__(self, pts: int, surface: Any) -> None:
        host = surface.cpu().numpy()  # the check's own copy; the pipeline never makes it
        self.pts.append(pts)
        self.y.append(_h(host[: self.h, : self.w]))
        self.uv.append(_h(host[self.h : self.h + self.ch, : 2 * self.cw]))


def check(ref: dict[str, Any], base: Path, throughput: Path | None, streams: list[int]) -> dict[str, Any]:
    import PyNvVideoCodec as nvc  # the real one on the GPU machine; the stand-in with --stand-in
    import torch

    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    results: dict[str, Any] = {}
    for key, want in ref["sources"].items():
        if "skipped" in want:
            results[key] = {"skipped": want["skipped"]}
            continue
        got = _Planes(want["height"], want["width"])
        try:
            _decode(nvc, str(base / key), device, got, limit=len(want["pts"]))
        except Exception as exc:  # a codec this GPU's NVDEC lacks: reported, not hidden
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        pts = got.pts
        n = min(len(pts), len(want["pts"]))
        bad_y = [i for i in range(n) if got.y[i] != want["y"][i]]
        bad_uv = [i for i in range(n) if got.uv[i] != want["uv"][i]]
        results[key] = {
            "frames": len(pts),
            "reference_frames": len(want["pts"]),
            "pts_equal": pts == want["pts"],
            "y_mismatches": len(bad_y),
            "uv_mismatches": len(bad_uv),
            "first_mismatch": min(bad_y + bad_uv) if bad_y or bad_uv else None,
            "equal": pts == want["pts"] and not bad_y and not bad_uv,
        }
    out: dict[str, Any] = {"device": str(device), "sources": results}
    if throughput is not None:
        out["throughput"] = _throughput(nvc, throughput, device, streams)
    return out


def _throughput(nvc: Any, path: Path, device: Any, streams: list[int]) -> list[dict[str, Any]]:
    """Decode only (surfaces untouched): frames/s with k concurrent NVDEC sessions, one thread each."""
    import torch

    rows = []
    for k in streams:
        counts = [0] * k

        def run(i: int, counts: list[int] = counts) -> None:
            with torch.cuda.stream(torch.cuda.Stream(device)) if device.type == "cuda" else _null():
                counts[i] = _decode(nvc, str(path), device)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(k)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        wall = time.perf_counter() - t
        rows.append({"sessions": k, "frames": sum(counts), "seconds": round(wall, 3),
                     "frames_per_s": round(sum(counts) / wall, 1)})  # fmt: skip
    return rows


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# NVDEC against FFmpeg's planes (bench/nvdec_reference.py) on {result['device']}", ""]
    lines += [
        "| source | frames | pts equal | Y mismatches | UV mismatches | equal |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in result["sources"].items():
        if "frames" not in r:
            lines.append(f"| {key} | {r.get('skipped') or r.get('error')} | | | | |")
            continue
        lines.append(
            f"| {key} | {r['frames']}/{r['reference_frames']} | {r['pts_equal']} | {r['y_mismatches']} | "
            f"{r['uv_mismatches']} | **{r['equal']}** |"
        )
    if "throughput" in result:
        lines += ["", "| NVDEC sessions | frames | seconds | frames/s |", "|---|---|---|---|"]
        lines += [f"| {t['sessions']} | {t['frames']} | {t['seconds']} | {t['frames_per_s']} |"
                  for t in result["throughput"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="the reference, here with PyAV")
    m.add_argument("sources", nargs="+", type=Path)
    m.add_argument("--base", type=Path, required=True, help="folder the reference's keys are relative to")
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--max-frames", type=int, default=0, help="frames per source (0: all)")
    c = sub.add_parser("check", help="NVDEC against the reference (no PyAV needed)")
    c.add_argument("--ref", type=Path, required=True)
    c.add_argument("--base", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True, help="folder for nvdec_check.{json,md}")
    c.add_argument("--throughput", type=Path, help="a source to time decode-only NVDEC on")
    c.add_argument("--streams", default="1,2,4,7", help="concurrent NVDEC sessions to time")
    c.add_argument("--stand-in", action="store_true", help="the tests' stand-in PyNvVideoCodec (CPU dry run)")
    args = p.parse_args(argv)
    if args.command == "make":
        ref = make(sorted(args.sources), args.base, args.max_frames or -1)
        args.out.write_text(json.dumps(ref))
        print(f"reference of {len(ref['sources'])} sources: {args.out} ({args.out.stat().st_size} bytes)")
        return 0
    if args.stand_in:
        sys.path.insert(0, str(ROOT))
        from tests.decode.test_nvdec_path import _fake_pynvvideocodec

        sys.modules["PyNvVideoCodec"] = _fake_pynvvideocodec()
    streams = [int(s) for s in args.streams.split(",") if s.strip()]
    result = check(json.loads(args.ref.read_text()), args.base, args.throughput, streams)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nvdec_check.json").write_text(json.dumps(result, indent=1))
    (args.out / "nvdec_check.md").write_text(markdown(result))
    print(markdown(result))
    compared = [r for r in result["sources"].values() if "frames" in r]
    return 0 if compared and all(r["equal"] for r in compared) else 1


if __name__ == "__main__":
    sys.exit(main())
