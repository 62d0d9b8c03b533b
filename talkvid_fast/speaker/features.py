"""Light-ASD's inputs as upstream's `Columbia_test.py` makes them: one face track, its grey crops, MFCCs.

Note [Speaker features]: Columbia_test.py resamples the video to 25 fps, detects faces (S3FD), links
detections into tracks (IoU > 0.5 with the track's last box, at most 10 frames missed, more than 10
detections), interpolates the boxes linearly over the track's span, takes per frame the half-size
s = max(w, h) / 2 and the centre, median-filters the three over 13 frames (`scipy.signal.medfilt`, zero
padded), and cuts `[y - s, y + s(1 + 2c)] x [x - s(1 + c), x + s(1 + c)]` (c = 0.4, the frame padded
with grey 110) resized to 224x224; scoring reads that back, converts it to grey and keeps the central
112x112 (the mouth half of the face). Audio: 16 kHz mono of the track's span, 13 MFCCs with 25 ms windows
every 10 ms (python_speech_features). We do the same with three differences: faces come from the head
stage's BlazeFace (its detection box, on every `detect_every`-th frame, interpolated like upstream's
gaps), the frames are the pipeline's view (maybe downscaled) rather than JPEG files, and the crop is not
round-tripped through an XVID video file.

Note [Multi-duration scoring]: upstream trims both streams to the same length (`length` = MFCC frames
rounded down to a multiple of 4, over 100; this drops the last video frame of a track), scores the
track in consecutive windows of d seconds for d in {1, 2, 3, 4, 5, 6} (its `durationSet` is a Python
set, so the repeated 1s, 2s and 3s in its literal count once) and averages the six per-frame scores.
The GRU sees each window alone, so the average mixes short and long context. Upstream then rounds to one
decimal; we keep the unrounded mean (the rounding is only upstream's display).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .model import AUDIO_PER_VIDEO, CROP

FPS = 25.0  #: video rate of Light-ASD's input
SAMPLE_RATE = 16_000
SAMPLES_PER_FRAME = 640  #: 16 kHz / 25 fps
DURATIONS = (1, 2, 3, 4, 5, 6)  #: upstream's scoring windows, seconds (Note [Multi-duration scoring])
CROP_SCALE = 0.4
MEDFILT = 13
PAD_VALUE = 110


@dataclass(frozen=True)
class FaceTrack:
    """One face followed over consecutive 25 fps frames [first, last] of a clip."""

    frames: np.ndarray  #: int64 (N,) frame numbers (consecutive)
    boxes: np.ndarray  #: float64 (N, 4) x1, y1, x2, y2, interpolated between detections
    detections: int  #: frames where the face was detected (the rest are interpolated)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def face_tracks(
    boxes: Sequence[np.ndarray],
    min_iou: float = 0.5,
    max_gap: int = 10,
    min_detections: int = 10,
    hold: int = 0,
) -> list[FaceTrack]:
    """Links per-frame boxes ((F_i, 4) each; empty where nothing was detected) into tracks, longest first.

    Upstream's `track_shot` rule (Note [Speaker features]): a box joins a track when its IoU with the
    track's last box exceeds `min_iou` and at most `max_gap` frames passed; tracks with more than
    `min_detections` boxes are kept and interpolated over their span. `hold` extends a track's last box
    over up to that many following frames (detection on every k-th frame: the k - 1 frames after the
    last detected one).
    """
    left = [[np.asarray(b, np.float64) for b in frame] for frame in boxes]
    tracks: list[FaceTrack] = []
    while True:
        track: list[tuple[int, np.ndarray]] = []
        for f, faces in enumerate(left):
            if track and f - track[-1][0] > max_gap:
                break
            for k, box in enumerate(faces):
                if not track or iou(box, track[-1][1]) > min_iou:
                    track.append((f, box))
                    del faces[k]
                    break
        if not track:
            break
        if len(track) > min_detections:
            fr = np.array([f for f, _ in track], np.int64)
            bx = np.stack([b for _, b in track])
            span = np.arange(fr[0], min(fr[-1] + hold, len(left) - 1) + 1, dtype=np.int64)
            inter = np.stack([np.interp(span, fr, bx[:, j]) for j in range(4)], 1)
            tracks.append(FaceTrack(span, inter, len(track)))
    return sorted(tracks, key=lambda t: (-t.detections, int(t.frames[0])))


def smooth_boxes(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 4) boxes -> half-size s, centre x, centre y, each median-filtered as upstream (13, zero padded)."""
    from scipy.signal import medfilt

    s = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    y = (boxes[:, 1] + boxes[:, 3]) / 2
    return (medfilt(s, MEDFILT), medfilt(x, MEDFILT), medfilt(y, MEDFILT))


def face_region(
    frame: np.ndarray, s: float, x: float, y: float, crop_scale: float = CROP_SCALE
) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (224, 224, 3) uint8 RGB: syncnet_python's `crop_video` crop (pad by the scaled
    half-size with grey 110, cut around the box centre, resize), which Light-ASD and SyncNet both read."""
    bsi = int(s * (1 + 2 * crop_scale))
    padded = np.pad(frame, ((bsi, bsi), (bsi, bsi), (0, 0)), "constant", constant_values=PAD_VALUE)
    my, mx = y + bsi, x + bsi
    face = padded[
        int(my - s) : int(my + s * (1 + 2 * crop_scale)),
        int(mx - s * (1 + crop_scale)) : int(mx + s * (1 + crop_scale)),
    ]
    return np.ascontiguousarray(cv2.resize(face, (2 * CROP, 2 * CROP)))


def crop_face(frame: np.ndarray, s: float, x: float, y: float, crop_scale: float = CROP_SCALE) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (112, 112) uint8 grey: upstream's crop, resize to 224, grey, central half."""
    grey = cv2.cvtColor(face_region(frame, s, x, y, crop_scale), cv2.COLOR_RGB2GRAY)
    lo = CROP // 2
    return np.ascontiguousarray(grey[lo : lo + CROP, lo : lo + CROP])


def track_crops(frames: np.ndarray, track: FaceTrack, crop_scale: float = CROP_SCALE) -> np.ndarray:
    """(N, 112, 112) uint8 grey crops of the track's frames; `frames` indexed by 25 fps frame number."""
    s, x, y = smooth_boxes(track.boxes)
    return np.stack([crop_face(frames[f], s[i], x[i], y[i], crop_scale) for i, f in enumerate(track.frames)])


def track_faces(frames: np.ndarray, track: FaceTrack, crop_scale: float = CROP_SCALE) -> np.ndarray:
    """(N, 224, 224, 3) uint8 RGB face regions of the track's frames (SyncNet's input)."""
    s, x, y = smooth_boxes(track.boxes)
    return np.stack(
        [face_region(frames[f], s[i], x[i], y[i], crop_scale) for i, f in enumerate(track.frames)]
    )


def mfcc(audio: np.ndarray) -> np.ndarray:
    """int16 (or float) 16 kHz mono -> (M, 13) float64 MFCCs at 100 Hz, as upstream computes them."""
    import python_speech_features

    return np.asarray(
        python_speech_features.mfcc(audio, SAMPLE_RATE, numcep=13, winlen=0.025, winstep=0.010), np.float64
    )


def aligned_length(audio_frames: int, video_frames: int) -> int:
    """Video frames upstream scores: MFCC frames cut to a multiple of 4 (x 1/4), at most the video's."""
    return min((audio_frames - audio_frames % AUDIO_PER_VIDEO) // AUDIO_PER_VIDEO, video_frames)


Scorer = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""(seconds, audio (B, 4T, 13) float32, video (B, T, 112, 112) float32) -> (B, T) scores."""


def multi_duration_scores(
    audio_feat: np.ndarray, video: np.ndarray, score: Scorer, durations: Sequence[int] = DURATIONS
) -> np.ndarray:
    """Per-frame speaking scores (T,) float64, T = `aligned_length` (Note [Multi-duration scoring]).

    Windows of one duration are scored in one batch (the full ones; the last, shorter one alone). Every
    duration of 25d >= T frames sees the same single window, which is scored once (the same numbers).
    """
    t = aligned_length(len(audio_feat), len(video))
    if t <= 0:
        return np.zeros(0, np.float64)
    a = audio_feat[: t * AUDIO_PER_VIDEO].astype(np.float32)
    v = video[:t].astype(np.float32)
    out = np.zeros((len(durations), t), np.float64)
    whole: int | None = None  # row of `out` that holds the single-window scores
    for k, d in enumerate(durations):
        w = int(d * FPS)
        if w >= t and whole is not None:
            out[k] = out[whole]
            continue
        whole = k if w >= t else whole
        full = t // w
        if full:
            aw = a[: full * w * AUDIO_PER_VIDEO].reshape(full, w * AUDIO_PER_VIDEO, -1)
            vw = v[: full * w].reshape(full, w, CROP, CROP)
            out[k, : full * w] = np.asarray(score(d, aw, vw)).reshape(-1)
        if full * w < t:
            out[k, full * w :] = np.asarray(
                score(d, a[full * w * AUDIO_PER_VIDEO :][None], v[full * w :][None])
            ).reshape(-1)
    return out.mean(0)


def smooth_scores(scores: np.ndarray, frames: int = 5) -> np.ndarray:
    """Centred moving mean over `frames` (upstream averages 5 frames before thresholding), clipped at the ends."""
    if frames <= 1 or len(scores) == 0:
        return scores.astype(np.float64)
    half = frames // 2
    c = np.concatenate([[0.0], np.cumsum(scores, dtype=np.float64)])
    i = np.arange(len(scores))
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, len(scores))
    return (c[hi] - c[lo]) / (hi - lo)
