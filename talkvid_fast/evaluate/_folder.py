"""Checks a folder of generated videos against a bench set before any metric runs.

A generated clip is `DIR/<bench id>.mp4`: 25 fps, the bench's frame count (clip seconds × 25), a square
frame (resized to the bench's 512² when another size), and an audio track when the Sync metrics are asked
for (or `--audio-from-bench`). Every problem of every clip is listed at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

SUFFIX = ".mp4"
FPS_TOLERANCE = 0.01


@dataclass
class FolderCheck:
    problems: list[str] = field(default_factory=list)  #: what makes the folder unusable
    notes: list[str] = field(default_factory=list)  #: what is fine but worth saying (extra files, resizes)

    @property
    def ok(self) -> bool:
        return not self.problems


def _probe(path: Path) -> tuple[float, int, int, int, bool]:
    """fps, frames, width, height, has audio; frames by decoding when the header has no count."""
    with av.open(str(path)) as c:
        if not c.streams.video:
            raise ValueError("no video stream")
        v = c.streams.video[0]
        fps = float(v.average_rate or v.guessed_rate or 0)
        frames = int(v.frames or 0)
        w, h = v.codec_context.width, v.codec_context.height
        audio = bool(c.streams.audio)
        if frames == 0:
            frames = sum(1 for _ in c.decode(v))
    return fps, frames, w, h, audio


def check_folder(folder: Path, bench: dict[str, Any], need_audio: bool) -> FolderCheck:
    out = FolderCheck()
    if not folder.is_dir():
        out.problems.append(f"--generated {folder} is not a folder")
        return out
    want_frames = round(float(bench["clip_seconds"]) * int(bench["fps"]))
    ids = [str(c["id"]) for c in bench["clips"]]
    missing = [i for i in ids if not (folder / f"{i}{SUFFIX}").is_file()]
    if missing:
        shown = ", ".join(missing[:10]) + (f", ... ({len(missing) - 10} more)" if len(missing) > 10 else "")
        out.problems.append(
            f"missing {len(missing)} of {len(ids)} clips (expected {folder}/<bench id>{SUFFIX}): {shown}"
        )
    for i in ids:
        path = folder / f"{i}{SUFFIX}"
        if i in missing:
            continue
        try:
            fps, frames, w, h, audio = _probe(path)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            out.problems.append(f"{path.name}: cannot be read ({exc})")
            continue
        if abs(fps - int(bench["fps"])) > FPS_TOLERANCE:
            out.problems.append(f"{path.name}: wrong fps {fps:g} (expected {bench['fps']})")
        if frames != want_frames:
            out.problems.append(
                f"{path.name}: wrong length {frames} frames (expected {want_frames}: "
                f"{bench['clip_seconds']} s at {bench['fps']} fps)"
            )
        if w != h:
            out.problems.append(f"{path.name}: frame {w}x{h} is not square (expected {bench['size']}²)")
        elif w != int(bench["size"]):
            out.notes.append(f"{path.name}: {w}² resized to {bench['size']}² (bilinear)")
        if need_audio and not audio:
            out.problems.append(
                f"{path.name}: no audio track (Sync-C/D need the generated video's audio; pass "
                "--audio-from-bench to use the bench's WAV, or leave sync out of --metrics)"
            )
    extra = sorted(p.name for p in folder.glob(f"*{SUFFIX}") if p.stem not in set(ids))
    if extra:
        out.notes.append(f"{len(extra)} videos not in the bench set ignored: {', '.join(extra[:5])}")
    return out
