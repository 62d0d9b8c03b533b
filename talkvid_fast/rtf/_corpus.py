"""The benchmark corpus: long multi-shot 1080p/2160p H.264/HEVC sources built reproducibly from real clips.

Note [Benchmark corpus]: the paper's input is long YouTube videos, 1080p and up, H.264 or HEVC, with many
shots. We have short real clips (../shared/testmedia). The builder plans each corpus source as a run of
shots, each a span of one real clip (never the same clip twice in a row, so every join is a hard cut),
maps the clip onto the source's constant frame rate (output frame k of a shot shows the clip frame on
screen at shot start + k / fps), upscales it into the source's frame (aspect kept, black bars), and
re-encodes the whole at a realistic bitrate with libx264 or libx265 plus the clips' audio as AAC.

The truth is exact by construction: a cut is the first frame of every shot but the first ("join"). Cuts
are recorded as frame numbers of the corpus source (decoded-frame index: the sources are CFR and start at
0) and seconds (frame / fps). Only single-shot clips are inputs: the multishot clips have no hard-cut
truth (PySceneDetect's testvideo is still test patterns joined by fades through black plus an unlisted
change near 18 s, and its published list marks the fades; goldeneye and issue-134 have no list), so a
span of them would add transitions that cannot be scored.

The plan depends only on the seed, the size and the input clips (their sha256 is recorded); the encoded
bytes also depend on the encoder builds (PyAV's wheel, recorded) and are byte-identical across runs with
the same wheel because encoder thread counts are fixed.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..decode import probe

FORMAT = "talkvid_fast.rtf.corpus/1"
MANIFEST = "corpus.json"
MIN_SHOT_SECONDS = 1.2  #: shortest shot; above the detector's min_scene_len (15 frames) at 25-30 fps

# Clips the corpus is cut from, relative to the testmedia folder: the single-shot talking-head positives
# (see Note [Benchmark corpus] for why the multishot clips are not used).
INPUTS = (
    "positives/liveportrait__d0.mp4",
    "positives/liveportrait__d10.mp4",
    "positives/liveportrait__d13.mp4",
    "positives/liveportrait__d18.mp4",
    "positives/liveportrait__d19.mp4",
    "positives/liveportrait__d20.mp4",
    "positives/liveportrait__d6.mp4",
    "positives/liveportrait__d9.mp4",
    "positives/liveportrait__s32.mp4",
    "positives/retalking__face1.mp4",
    "positives/retalking__face2.mp4",
    "positives/retalking__face3.mp4",
    "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4",
    "positives/sadtalker__WDA_KatieHill_000.mp4",
)


@dataclass(frozen=True)
class SourceSpec:
    """One corpus source to build."""

    name: str  #: file stem
    codec: str  #: h264 | hevc
    width: int
    height: int
    fps: int  #: constant frame rate
    seconds: float  #: length
    video_kbps: int  #: target average bitrate (ABR with a VBV cap of 1.5x)
    preset: str  #: x264/x265 preset


def _spec(codec: str, height: int, fps: int, seconds: float, kbps: int, preset: str) -> SourceSpec:
    width = height * 16 // 9
    return SourceSpec(
        f"{codec}_{height}p{fps}_{round(seconds)}s", codec, width, height, fps, seconds, kbps, preset
    )


# Bitrates are YouTube-like for the resolution and codec (HEVC at about half of H.264).
SIZES: dict[str, tuple[SourceSpec, ...]] = {
    # unit tests and CI: seconds to build, still two codecs and many cuts
    "tiny": (_spec("h264", 360, 25, 20, 900, "ultrafast"), _spec("hevc", 360, 30, 12, 500, "ultrafast")),
    # a CPU measurement in a few minutes on 2 cores
    "small": (
        _spec("h264", 1080, 25, 60, 8000, "veryfast"),
        _spec("hevc", 1080, 30, 30, 4000, "ultrafast"),
        _spec("h264", 2160, 25, 12, 35000, "veryfast"),
        _spec("hevc", 2160, 30, 8, 16000, "ultrafast"),
    ),
    # real measurements on a GPU: 33 minutes of video
    "full": (
        _spec("h264", 1080, 25, 600, 8000, "faster"),
        _spec("h264", 1080, 30, 480, 8000, "faster"),
        _spec("hevc", 1080, 25, 300, 4000, "superfast"),
        _spec("h264", 2160, 30, 300, 40000, "faster"),
        _spec("hevc", 2160, 25, 300, 16000, "superfast"),
    ),
}


LONGEST_SHOT = {"tiny": 7.0, "small": 10.0, "full": 16.0}  #: seconds; short sizes keep many cuts


@dataclass(frozen=True)
class InputClip:
    path: str  #: relative to the testmedia folder
    duration: float  #: seconds (container header)


@dataclass(frozen=True)
class Shot:
    """A span of one input clip placed at [start_frame, start_frame + frames) of a corpus source."""

    input: str
    input_start: float  #: seconds into the input clip shown at the shot's first frame
    start_frame: int
    frames: int


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_inputs(testmedia: Path) -> list[InputClip]:
    clips = []
    for rel in INPUTS:
        path = testmedia / rel
        if not path.is_file():
            raise FileNotFoundError(f"corpus input {path} is missing (testmedia folder: {testmedia})")
        clips.append(InputClip(rel, probe(str(path)).header_duration))
    return clips


def _shot_seconds(rng: random.Random, longest: float) -> float:
    """Shot lengths: a third short (cutaways, 1.2-4 s: stage 1 drops them), the rest 5.5 s to `longest`."""
    if rng.random() < 1 / 3:
        return rng.uniform(MIN_SHOT_SECONDS, 4.0)
    return rng.uniform(5.5, longest)


def plan_shots(
    spec: SourceSpec, clips: list[InputClip], rng: random.Random, max_shot: float = 16.0
) -> list[Shot]:
    """Covers exactly round(seconds * fps) frames with shots; consecutive shots come from different clips."""
    total = round(spec.seconds * spec.fps)
    min_frames = round(MIN_SHOT_SECONDS * spec.fps)
    shots: list[Shot] = []
    pos = 0
    previous = ""
    while pos < total:
        clip = rng.choice([c for c in clips if c.path != previous])
        longest = int((clip.duration - 0.1) * spec.fps)  # frames this clip can supply
        if longest < min_frames:
            continue
        remaining = total - pos
        n = min(round(_shot_seconds(rng, max_shot) * spec.fps), longest, remaining)
        if remaining - n < min_frames:  # never leave a remainder shorter than a shot
            n = remaining if remaining <= longest else min(n, remaining - min_frames)
        start = rng.uniform(0.0, max(0.0, clip.duration - 0.1 - n / spec.fps))
        shots.append(Shot(clip.path, round(start, 4), pos, n))
        pos += n
        previous = clip.path
    return shots


def shot_cuts(shots: list[Shot], fps: int) -> list[dict[str, Any]]:
    """The truth: the first frame of every shot but the first, a hard cut between two different clips."""
    return [
        {"frame": s.start_frame, "time": round(s.start_frame / fps, 6), "kind": "join"} for s in shots[1:]
    ]


def build_corpus(out: Path, size: str, testmedia: Path, seed: int = 0, log: Any = print) -> dict[str, Any]:
    """Builds every source of `size` into `out` and writes `out/corpus.json`; returns the manifest."""
    import av

    from ._render import encoder_settings, render_source

    if size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}; allowed: {', '.join(SIZES)}")
    out.mkdir(parents=True, exist_ok=True)
    clips = load_inputs(testmedia)
    sources = []
    for n, spec in enumerate(SIZES[size]):
        rng = random.Random(f"{seed}/{spec.name}/{n}")
        shots = plan_shots(spec, clips, rng, LONGEST_SHOT[size])
        path = out / f"{spec.name}.mp4"
        log(
            f"building {path.name}: {len(shots)} shots, {spec.width}x{spec.height} {spec.codec} {spec.video_kbps} kb/s"
        )
        render_source(path, spec, shots, testmedia)
        frames = sum(s.frames for s in shots)
        sources.append(
            {
                "file": path.name,
                "sha256": sha256_of(path),
                "bytes": path.stat().st_size,
                **asdict(spec),
                "frames": frames,
                "duration": round(frames / spec.fps, 6),
                "encoder": encoder_settings(spec),
                "audio": {"codec": "aac", "sample_rate": 44100, "channels": 2, "kbps": 128},
                "cuts": shot_cuts(shots, spec.fps),
                "shots": [asdict(s) for s in shots],
            }
        )
    manifest = {
        "format": FORMAT,
        "size": size,
        "seed": seed,
        "built_with": {
            "av": av.__version__,
            "libraries": {k: list(v) for k, v in av.library_versions.items()},
        },
        "inputs": [{"path": c.path, "sha256": sha256_of(testmedia / c.path)} for c in clips],
        "sources": sources,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def load_corpus(folder: Path) -> dict[str, Any]:
    """Reads `folder/corpus.json` (written by build_corpus) and checks that every source is present."""
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: build a corpus first with `python -m talkvid_fast.rtf build-corpus --out {folder}`"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    for src in manifest["sources"]:
        if not (folder / src["file"]).is_file():
            raise FileNotFoundError(f"corpus source {folder / src['file']} is missing; rebuild the corpus")
    return manifest
