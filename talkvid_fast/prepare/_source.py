"""One source's passing clips from ONE decode: select frames, find faces, crop, encode, write the side files.

Note [Prepare dataflow]: the source is scanned once through the shared decode layer (`open_decoder`: PyAV
on the CPU, NVDEC on a GPU); the scan's frame sink feeds each clip's `FrameSelector` (Note [Frame
selection]), which keeps only the decoded frames the clip shows (decoder layout, 1.5 bytes a pixel). When a
clip's last frame has gone by, the clip is finished while the scan waits: its shown frames are converted to
RGB in chunks for the face models (BlazeFace + Face Mesh, the head stage's backend), the faces decide the
clip (Note [Face rule]) and the crop (Note [Crop rules]), the frames are converted again, warped to the
square by the face-warp op on the decoder's device and encoded, and the clip's frames are dropped. So
memory holds one clip's shown frames, and every source frame is decoded once.

Note [Face rule]: TalkVid drops a clip when any frame of its crop has not exactly one face
(`extract_face_info.py`). Here a clip is dropped (reason `face_count`) when more than `face_tolerance` x K of
its K output frames have not exactly one face; with a tolerance the frames stay in the video (so the audio
stays aligned) and their face rows say how many faces were found (`face_count`; NaN rows where there was
none; the highest-scoring face where there were several).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from ..decode import DecodeError, open_decoder
from ..head.crop import BORDER_REPLICATE, warp
from ..head.pose import head_pose
from ..segment import NoAudio, load_audio_16k, write_wav_16k
from ._layouts import Layout
from ._masks import hallo_masks
from ._rules import CropRegion, FrameSelector, output_frame_count, smoothed_regions, talkvid_region

CHUNK = 32  #: frames converted / warped at once
#: what fails one clip (recorded with reason `error`) rather than the run
CLIP_ERRORS = (DecodeError, OSError, ValueError, RuntimeError)
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class PrepareParams:
    format: str
    fps: float
    size: int = 512
    crop: str = "talkvid"
    smooth_seconds: float = 1.0
    face_tolerance: float = 0.0
    crf: int = 18
    audio_features: str | None = None
    device: str = "cpu"
    decoder: str = "auto"
    runtime: str | None = None  #: the face models' engine; None: the run's [head] runtime

    def digest_fields(self) -> dict[str, Any]:
        """What the output depends on (a resumed run must match it; not where or how fast it ran)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("device", "decoder", "runtime")}


@dataclass
class _ClipWork:
    record: dict[str, Any]
    selector: FrameSelector
    shown: list[tuple[int, int, float, Any]] = field(default_factory=list)  # (k, index, seconds, frame)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{path.suffix}")


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = _tmp(path)
    with tmp.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


class SourcePreparer:
    """Holds the face models (and the audio encoder) for a whole prepare run."""

    def __init__(self, params: PrepareParams, layout: Layout, faces: Any, features: Any = None) -> None:
        self.p, self.layout, self.faces, self.features = params, layout, faces, features

    def source(
        self, path: str, audio_path: str | None, clips: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Prepares `clips` (run clip records of this source); returns (source record, clip records)."""
        started = time.perf_counter()
        try:
            decoder = open_decoder(path, self.p.decoder, self.p.device)
        except DecodeError as exc:
            return {"status": "failed", "error": str(exc)}, [
                _dropped(c, "decode_error", str(exc)) for c in clips
            ]
        works = []
        for c in sorted(clips, key=lambda c: c["start_frame"]):
            k = output_frame_count(c["start"], c["end"], self.p.fps)
            works.append(_ClipWork(c, FrameSelector(c["start"], k, self.p.fps)))
        done: dict[str, dict[str, Any]] = {}
        w, h = decoder.metadata.width, decoder.metadata.height
        cw, ch = decoder.metadata.coded_width, decoder.metadata.coded_height

        def keep(index: int, seconds: float, frame: Any) -> None:
            for work in works:
                c = work.record
                if c["start_frame"] <= index < c["end_frame"]:
                    work.shown += work.selector.feed(index, seconds, frame)
                    if index == c["end_frame"] - 1:
                        work.shown += work.selector.finish()
                        try:
                            done[c["clip_id"]] = self._clip(decoder, work, audio_path or path, w, h)
                        except CLIP_ERRORS as exc:  # one clip fails alone
                            done[c["clip_id"]] = _dropped(c, "error", f"{type(exc).__name__}: {exc}")
                        work.shown = []

        try:
            decoder.scan((min(32, cw), min(32, ch)), lambda *_: None, keep=keep)
        except DecodeError as exc:
            for work in works:
                done.setdefault(work.record["clip_id"], _dropped(work.record, "decode_error", str(exc)))
        finally:
            decoder.close()
        records = []
        for work in works:  # a clip whose last frame never came (a shorter decode than the run's)
            records.append(
                done.get(work.record["clip_id"])
                or _dropped(work.record, "frames_missing", "the decode ended before the clip's last frame")
            )
        return {
            "status": "ok",
            "decoder": decoder.name,
            "seconds": round(time.perf_counter() - started, 4),
        }, records

    def _rgb_chunks(self, decoder: Any, frames: list[Any]) -> Any:
        for i in range(0, len(frames), CHUNK):
            yield i, torch.stack([decoder.rgb(f) for f in frames[i : i + CHUNK]])

    def _clip(
        self, decoder: Any, work: _ClipWork, audio_source: str, width: int, height: int
    ) -> dict[str, Any]:
        c, started = work.record, time.perf_counter()
        shown = sorted(work.shown, key=lambda s: s[0])
        k_count = work.selector.count
        if not shown or len(shown) != k_count:
            return _dropped(c, "no_frames", f"{len(shown)} of {k_count} output frames")
        # unique source frames (a frame shown twice when the output rate is above the source's)
        order: dict[int, int] = {}
        uniq: list[Any] = []
        for _, index, _, frame in shown:
            if index not in order:
                order[index] = len(uniq)
                uniq.append(frame)
        pos = np.array([order[index] for _, index, _, _ in shown])
        try:
            samples = load_audio_16k(audio_source, c["start"], c["start"] + k_count / self.p.fps)
        except NoAudio as exc:
            return _dropped(c, "no_audio", str(exc))
        n_samples = int(round(k_count / self.p.fps * SAMPLE_RATE))
        samples = np.pad(samples[:n_samples], (0, max(0, n_samples - len(samples))))

        t_faces = time.perf_counter()
        info = self._faces(decoder, uniq)
        t_faces = time.perf_counter() - t_faces
        info = {key: v[pos] for key, v in info.items()}
        bad = info["face_count"] != 1
        if not (info["face_count"] > 0).any():
            return _dropped(c, "no_face", f"no face in any of {k_count} output frames")
        if bad.sum() > self.p.face_tolerance * k_count:
            first = np.flatnonzero(bad)[:10].tolist()
            return _dropped(
                c,
                "face_count",
                f"{int(bad.sum())} of {k_count} output frames have not exactly one face (first: {first}, counts {info['face_count'][first].tolist()})",
            )

        if self.p.crop == "talkvid":
            regions = [talkvid_region(info["bbox"], width, height)] * k_count
        else:
            regions = smoothed_regions(info["bbox"], width, height, self.p.fps, self.p.smooth_seconds)
        paths = self.layout.paths(c["clip_id"])
        if self.features is None:
            paths.pop("audio_embeds")
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        if "images" in paths:
            paths["images"].mkdir(exist_ok=True)
        t_encode = time.perf_counter()
        self._encode(decoder, [s[3] for s in shown], regions, paths)
        t_encode = time.perf_counter() - t_encode
        face_info = _to_crop(info, regions, self.p.size)
        face_info["source_frame"] = np.array([s[1] for s in shown], np.int64)
        face_info["source_time"] = np.array([s[2] for s in shown], np.float64)
        _write_npz(paths["face_info"], face_info)
        write_wav_16k(paths["audio"], samples)
        files = {"video": paths["video"], "face_info": paths["face_info"], "audio": paths["audio"]}
        t_features = time.perf_counter()
        if self.features is not None:
            _write_npz(paths["audio_embeds"], {"global_embeds": self.features(samples)})
            files["audio_embeds"] = paths["audio_embeds"]
        if "face_mask" in paths:
            for name, mask in hallo_masks(face_info["landmarks"], self.p.size).items():
                _write_png(paths[name], mask)
                files[name] = paths[name]
        region = regions[0]
        return {
            "clip_id": c["clip_id"],
            "status": "ok",
            "reason": None,
            "start": c["start"],
            "end": c["start"] + k_count / self.p.fps,
            "frames": k_count,
            "fps": self.p.fps,
            "size": self.p.size,
            "crop": self.p.crop,
            "crop_region": [region.x0, region.y0, region.w, region.h] if self.p.crop == "talkvid" else None,
            "frames_without_one_face": int(bad.sum()),
            "audio_samples": int(n_samples),
            "files": {k: str(v.relative_to(self.layout.root)) for k, v in files.items()},
            "seconds": round(time.perf_counter() - started, 4),
            # face models (with their RGB conversion), crop + x264 (+ Hallo's PNGs), audio features + masks
            "timings": {
                "faces": round(t_faces, 4),
                "crop_encode": round(t_encode, 4),
                "side_files": round(time.perf_counter() - t_features, 4),
            },
        }

    def _faces(self, decoder: Any, frames: list[Any]) -> dict[str, np.ndarray]:
        """Per frame: face count and the highest-scoring face (NaN when none), frame pixels."""
        rows: dict[str, list[np.ndarray]] = {
            k: [] for k in ("bbox", "kps", "landmarks", "pose", "det_score", "presence")
        }
        counts = []
        for _, rgb in self._rgb_chunks(decoder, frames):
            for f in self.faces.analyze([rgb])[0]:
                counts.append(f.count)
                first = f.count > 0
                for key, src, shape in (
                    ("bbox", f.box, (4,)),
                    ("kps", f.kps, (5, 2)),
                    ("landmarks", f.landmarks, (468, 3)),
                    ("pose", f.pose, (3,)),
                    ("det_score", f.score, ()),
                    ("presence", f.presence, ()),
                ):
                    rows[key].append(np.asarray(src[0], np.float64) if first else np.full(shape, np.nan))
        out = {k: np.stack(v) for k, v in rows.items()}
        out["face_count"] = np.asarray(counts, np.int64)
        return out

    def _encode(
        self, decoder: Any, frames: list[Any], regions: list[CropRegion], paths: dict[str, Path]
    ) -> None:
        size = self.p.size
        video = paths["video"]
        tmp = _tmp(video)
        images_dir = paths.get("images")
        with av.open(str(tmp), mode="w", format="mp4") as out:
            rate = Fraction(self.p.fps).limit_denominator(1001)
            stream: Any = out.add_stream("libx264", rate=rate)
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = 1 / rate
            stream.options = {"crf": str(self.p.crf), "preset": "fast"}
            for start, rgb in self._rgb_chunks(decoder, frames):
                crops = _warp_chunk(rgb, regions[start : start + len(rgb)], size)
                for j, img in enumerate(crops):
                    frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                    frame.pts = start + j
                    for packet in stream.encode(frame):
                        out.mux(packet)
                    if images_dir is not None:  # Hallo's frames: ffmpeg's %04d.png numbering from 1
                        _write_png(images_dir / f"{start + j + 1:04d}.png", img)
            for packet in stream.encode(None):
                out.mux(packet)
        os.replace(tmp, video)


def _warp_chunk(rgb: torch.Tensor, regions: list[CropRegion], size: int) -> np.ndarray:
    """(n, H, W, 3) uint8 frames -> (n, size, size, 3) uint8 crops (Note [Crop rules])."""
    if regions[0].slice_:  # one integer slice for the whole clip (the talkvid rule)
        r = regions[0]
        x0, y0 = int(r.x0), int(r.y0)
        images = rgb[:, y0 : y0 + int(r.h), x0 : x0 + int(r.w)].contiguous()
    else:
        images = rgb.contiguous()
    mats = torch.from_numpy(np.stack([r.sample_matrix(size) for r in regions])).float().to(rgb.device)
    index = torch.arange(len(rgb), device=rgb.device)
    out = warp(images, index, mats, size, size, 1.0, 0.0, BORDER_REPLICATE)
    return out.round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def _to_crop(info: dict[str, np.ndarray], regions: list[CropRegion], size: int) -> dict[str, np.ndarray]:
    """Face geometry from frame pixels to crop pixels (continuous); pose re-fitted on the crop's landmarks."""
    m = np.stack([r.to_crop(size) for r in regions])  # (K, 2, 3)
    sx, sy = m[:, 0, 0], m[:, 1, 1]
    tx, ty = m[:, 0, 2], m[:, 1, 2]

    def xy(a: np.ndarray) -> np.ndarray:
        out = a.copy()
        shape = (-1,) + (1,) * (a.ndim - 2)
        out[..., 0] = a[..., 0] * sx.reshape(shape) + tx.reshape(shape)
        out[..., 1] = a[..., 1] * sy.reshape(shape) + ty.reshape(shape)
        return out

    box = info["bbox"].reshape(-1, 2, 2)
    lm = xy(info["landmarks"])
    lm[..., 2] = info["landmarks"][..., 2] * sx[:, None]
    pose = np.full_like(info["pose"], np.nan)
    ok = ~np.isnan(lm).any((1, 2))
    if ok.any():
        pose[ok] = head_pose(lm[ok])
    return {
        "bbox": xy(box).reshape(-1, 4).astype(np.float32),
        "kps": xy(info["kps"]).astype(np.float32),
        "landmarks": lm.astype(np.float32),
        "pose": pose.astype(np.float32),
        "det_score": info["det_score"].astype(np.float32),
        "presence": info["presence"].astype(np.float32),
        "face_count": info["face_count"],
        "crop_matrix": m,
    }


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    tmp = _tmp(path)
    bgr = image[..., ::-1] if image.ndim == 3 else image
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(bgr)):
        raise OSError(f"cannot write {path}")
    os.replace(tmp, path)


def _dropped(c: dict[str, Any], reason: str, detail: str) -> dict[str, Any]:
    return {"clip_id": c["clip_id"], "status": "dropped", "reason": reason, "detail": detail}
