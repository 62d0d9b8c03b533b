"""The active-speaker gate: does the clip's face speak the clip's audio? (Light-ASD; Note [Stage contract]).

Note [Speaker gate]: the stage takes the clip's frames at 25 fps (the frame shown at start + k/25, as
the head stage's exact sampling), finds faces with the head stage's BlazeFace + Face Mesh backend on every
`detect_every`-th of them, links them into tracks (Note [Speaker features]) and scores the track with the
most detections: grey mouth-half crops and 13 MFCCs of the clip's own audio over the track's span,
Light-ASD in 1-6 s windows, averaged (Note [Multi-duration scoring]). A frame is *speaking* where the
5-frame centred mean of its score is > 0 (upstream's Columbia evaluation). The clip records the per-frame
scores (null outside the track), their mean, and `speaking_fraction` = speaking frames / all 25 fps frames
of the clip (frames without the tracked face count as not speaking); the gate passes iff
speaking_fraction >= `min_speaking_fraction`. No audio stream (or undecodable audio) fails `no_audio`; no
face track fails `no_face`. The stage runs only when the profile has a `[speaker]` section.

Note [Speaking over speech]: `speaking_fraction` counts the speaking frames over all the clip's frames, so
a speaker who pauses (retalking face1: speech in about half of it) scores low for the pauses, which are
not evidence that someone else speaks. The gate's question is whether the speech that is heard is the
visible face's: `speaking_fraction_of_speech` counts the speaking frames among the frames where the voice
activity detector hears speech (`vad`: webrtcvad or Silero, as the speech gate's, Note [Which VAD]), 0 when
no speech is heard. Upstream's
Light-ASD is trained on AVA-ActiveSpeaker, whose positive label is "speaking and audible", so a frame of
silence is a correct "not speaking" either way. `fraction_of` picks which of the two the gate reads
(`clip` by default; `open` reads `speech`); both are recorded.

Note [Which Light-ASD weights]: the default is `pretrain_AVA_CVPR.model` (AVA-ActiveSpeaker), not the
TalkSet fine-tune the spec first named. Measured on 2 s of two real speakers (sadtalker AOC and KatieHill,
docs/speaker.md): with the TalkSet weights the talking face scores as speaking in 98 % of the frames over
its own speech, another speaker's speech, digital silence and -60 dBFS noise alike (it reads the lips and
ignores the audio); with the AVA weights silence and noise give 0 %, the still face 0 %, the own speech
92 %. Neither rejects a talking face dubbed with another speaker's speech (AVA: 74 %): Light-ASD asks
"does this face talk while speech is heard", not "are these lips in sync" (a SyncNet-style check would).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from ..clips import Clip
from ..engines import RUNTIMES, ModelEngine, open_model_engine, pick_device
from ..head.stage import sample_indices
from ..stages._api import FrameRequest, StageResult, StageUnavailable, Views
from ..vad import VadParams, speech_flags
from .features import (
    DURATIONS,
    FPS,
    SAMPLES_PER_FRAME,
    FaceTrack,
    face_tracks,
    mfcc,
    multi_duration_scores,
    smooth_scores,
    track_crops,
)
from .sync_gate import SYNC_MODES, sync_check, sync_passes

VIEW = "speaker"
GATE = "speaking_fraction"
SYNC_GATE = "sync"
PRECISIONS = ("fp32", "fp16", "bf16")
FRACTIONS = ("clip", "speech")
DEFAULTS: dict[str, Any] = {
    "min_speaking_fraction": 0.5,  # gate: fraction of the frames (`fraction_of`) where the tracked face speaks
    "fraction_of": "clip",  # clip: all 25 fps frames | speech: the frames where `vad` hears speech
    "vad": "webrtcvad",  # voice activity for fraction_of = "speech": webrtcvad | silero (Note [Which VAD])
    "vad_aggressiveness": 2,  # webrtcvad mode (the speech gate's default)
    "vad_threshold": 0.5,  # silero: speech where its probability >= this (upstream's default)
    "sync": "off",  # off | syncnet: also check lip sync with SyncNet v2 (Note [Sync gate]; weights syncnet_v2)
    "min_sync_confidence": 3.0,  # sync gate: SyncNet confidence >= this (LatentSync's data pipeline) ...
    "max_sync_offset": 6,  # ... and |AV offset| <= this many 25 fps frames (LatentSync's)
    "weights": "pretrain_AVA_CVPR.model",  # or finetuning_TalkSet.model (Note [Which Light-ASD weights])
    "durations": list(DURATIONS),  # scoring windows, seconds (upstream's six)
    "smooth_frames": 5,  # centred moving mean of the scores before the > 0 decision
    "detect_every": 5,  # run the face detector on every k-th 25 fps frame, interpolate between
    "max_side": 640,  # the view's longer side at most this (px); the crop is 224 px of a face region
    "crop_scale": 0.4,  # upstream's cropScale
    "min_track": 10,  # a track needs more than this many frames with a detection (upstream's minTrack) ...
    "max_gap": 10,  # ... and breaks after more than this many frames without one (numFailedDet)
    "min_iou": 0.5,  # IoU with the track's last box to join it
    "detector": "full_range",  # head stage's BlazeFace model
    "min_detection_score": None,  # BlazeFace threshold; None: MediaPipe's default
    "min_presence": 0.5,  # Face Mesh presence below which a detection is not a face
    "batch_size": 64,  # detector / landmark frames per call
    "precision": "fp32",
    "runtime": "auto",
}


def heard_frames(audio: np.ndarray, frames: int, vad: VadParams) -> np.ndarray:
    """bool (frames,): whether the detector hears speech at each 25 fps frame of the clip (the VAD frame that
    holds the frame's centre, (k + 0.5) / 25 s; False past the audio's end)."""
    flags, hop = speech_flags(audio, vad)
    at = ((np.arange(frames) + 0.5) / FPS / hop).astype(np.int64)
    out = np.zeros(frames, bool)
    inside = at < len(flags)
    out[inside] = flags[at[inside]]
    return out


def speaker_size(height: int, width: int, max_side: int) -> tuple[int, int] | None:
    """The view size: the display size scaled so its longer side is at most `max_side` (None: unchanged)."""
    if max_side <= 0 or max(height, width) <= max_side:
        return None
    k = max_side / max(height, width)
    return max(1, round(height * k)), max(1, round(width * k))


class SpeakerStage:
    """Active-speaker gate. params = the profile's [speaker] section (keys: `DEFAULTS`, docs/speaker.md)."""

    name: ClassVar[str] = "speaker"
    whole_source: ClassVar[bool] = (
        False  #: requests read only the clip and the frame size (Note [Scene buffer])
    )

    def __init__(self, params: dict[str, Any], device: str = "cpu") -> None:
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown [speaker] keys {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
        self.configured = bool(params)
        self.params = {**DEFAULTS, **params}
        p = self.params
        self.threshold = float(p["min_speaking_fraction"])
        if p["fraction_of"] not in FRACTIONS:
            raise ValueError(f"speaker fraction_of {p['fraction_of']!r}; allowed: {', '.join(FRACTIONS)}")
        self.vad = VadParams.from_section(p, "speaker")
        if p["sync"] not in SYNC_MODES:
            raise ValueError(f"speaker sync {p['sync']!r}; allowed: {', '.join(SYNC_MODES)}")
        self.durations = tuple(int(d) for d in p["durations"])
        if not self.durations or any(d not in DURATIONS for d in self.durations):
            raise ValueError(f"speaker durations {p['durations']}; allowed: a subset of {list(DURATIONS)}")
        self.detect_every = int(p["detect_every"])
        if self.detect_every < 1:
            raise ValueError(f"speaker detect_every must be >= 1, got {self.detect_every}")
        for key, allowed in (("precision", PRECISIONS), ("runtime", RUNTIMES)):
            if p[key] not in allowed:
                raise ValueError(f"speaker {key} {p[key]!r}; allowed: {', '.join(allowed)}")
        self.device = pick_device(device)
        if self.device.type == "cpu" and p["precision"] != "fp32":
            raise ValueError("speaker precision fp16/bf16 needs CUDA; use precision = 'fp32' on the CPU")
        self.faces: Any = None
        self.syncnet: Any = None
        self.engines: dict[int, ModelEngine] = {}
        self.model = ""

    def setup(self) -> None:
        """Loads Light-ASD and the face models; StageUnavailable when the profile has no [speaker] section
        or weights are missing (WeightsMissing names the fetch command)."""
        if not self.configured:
            raise StageUnavailable(
                "the profile has no [speaker] section",
                "add one to run the active-speaker gate (docs/speaker.md)",
            )
        from ..head._facemesh_backend import FaceMeshBackend
        from ..weights import locate, sha256_of
        from .model import load_light_asd
        from .weights import LIGHT_ASD

        p = self.params
        path = locate(LIGHT_ASD, str(p["weights"]))
        self.vad.require_weights()  # the speech frames are recorded whatever `fraction_of` reads
        if p["sync"] == "syncnet":
            from ..evalnets.syncnet import load_syncnet

            self.syncnet = load_syncnet(str(self.device), str(p["runtime"]))
        net = load_light_asd(path).to(self.device)
        self.engines = {
            d: open_model_engine(
                f"light_asd_{d}s",
                net,
                self.device,
                str(p["precision"]),
                str(p["runtime"]),
                weights_tag=path.stem,
            )
            for d in self.durations
        }
        self.model = f"{path.name}@{sha256_of(path)[:12]}" + (
            "+syncnet_v2" if self.syncnet is not None else ""
        )
        self.faces = FaceMeshBackend(
            self.device,
            detector=str(p["detector"]),
            min_score=p["min_detection_score"],
            min_presence=float(p["min_presence"]),
            batch_size=int(p["batch_size"]),
            precision=str(p["precision"]),
            runtime=str(p["runtime"]),
        )

    @property
    def backend(self) -> str:
        engine = self.engines[self.durations[0]].name if self.engines else "?"
        return f"light-asd-{engine}+{self.faces.name if self.faces else '?'}"

    def requests(self, clip: Clip) -> list[FrameRequest]:
        h, w = clip.source.height, clip.source.width
        size = speaker_size(h, w, int(self.params["max_side"]))
        # the view only feeds our face detector: the cheap uint8 antialiased kernel (FrameRequest)
        aa = size is not None
        return [
            FrameRequest(VIEW, sample_indices(clip, "exact", FPS), size, antialias=aa, antialias_uint8=aa)
        ]

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        if self.faces is None:
            raise RuntimeError("SpeakerStage.setup() must be called before process()")
        results: list[StageResult | None] = [None] * len(batch)
        audios: dict[int, np.ndarray] = {}
        for i, (clip, _) in enumerate(batch):
            audio = self._audio(clip)
            if isinstance(audio, str):
                results[i] = self._result({"audio": audio or "no audio stream"}, "no_audio")
            else:
                audios[i] = audio
        todo = sorted(audios)
        views = [batch[i][1][VIEW] for i in todo]
        grids = [torch.arange(0, len(v), self.detect_every, device=v.device) for v in views]
        try:
            found = self.faces.analyze([v[g] for v, g in zip(views, grids, strict=True)]) if todo else []
        except Exception as exc:  # one bad clip must not fail the batch: retry one by one
            if len(batch) == 1:
                return [
                    StageResult(error=f"{type(exc).__name__}: {exc}", backend=self.backend, model=self.model)
                ]
            return [r for item in batch for r in self.process([item])]
        for i, view, grid, faces in zip(todo, views, grids, found, strict=True):
            try:
                results[i] = self._score(view, grid.cpu().numpy(), faces, audios[i])
            except Exception as exc:
                results[i] = StageResult(
                    error=f"{type(exc).__name__}: {exc}", backend=self.backend, model=self.model
                )
        return [r for r in results if r is not None]

    @staticmethod
    def _audio(clip: Clip) -> np.ndarray | str:
        """The clip's 16 kHz mono audio, or the reason it has none ("" = no audio stream)."""
        from ..segment._audio import NoAudio, load_audio_16k

        src = clip.source
        if src.audio_path is None and src.audio_codec is None:
            return ""
        try:
            return load_audio_16k(src.audio_path or src.path, clip.start, clip.end)
        except NoAudio as exc:
            return str(exc)

    def _score(
        self, view: torch.Tensor, grid: np.ndarray, faces: list[Any], audio: np.ndarray
    ) -> StageResult:
        p, n = self.params, len(view)
        boxes: list[np.ndarray] = [np.zeros((0, 4))] * n
        for f, fc in zip(grid, faces, strict=True):
            boxes[int(f)] = fc.box
        tracks = face_tracks(
            boxes,
            float(p["min_iou"]),
            max(int(p["max_gap"]), self.detect_every),
            max(1, math.ceil(int(p["min_track"]) / self.detect_every)),
            hold=self.detect_every - 1,
        )
        scores: dict[str, Any] = {"num_frames": n, "num_tracks": len(tracks)}
        if not tracks:
            return self._result(scores, "no_face")
        track: FaceTrack = tracks[0]
        frames = view.cpu().numpy()
        crops = track_crops(frames, track, float(p["crop_scale"]))
        a0, a1 = int(track.frames[0]) * SAMPLES_PER_FRAME, (int(track.frames[-1]) + 1) * SAMPLES_PER_FRAME
        raw = multi_duration_scores(mfcc(audio[a0:a1]), crops, self._run, self.durations)
        speaking = smooth_scores(raw, int(p["smooth_frames"])) > 0
        per_frame: list[float | None] = [None] * n
        for k, s in enumerate(raw):
            per_frame[int(track.frames[0]) + k] = round(float(s), 4)
        fraction = float(speaking.sum() / n) if n else 0.0
        # Note [Speaking over speech]: the same speaking frames, counted over the frames where speech is heard
        heard = heard_frames(audio, n, self.vad)
        spoken = np.zeros(n, bool)
        spoken[int(track.frames[0]) : int(track.frames[0]) + len(speaking)] = speaking
        of_speech = float((spoken & heard).sum() / heard.sum()) if heard.any() else 0.0
        scores.update(
            speaking_fraction=fraction,
            speech_frames=int(heard.sum()),
            speaking_fraction_of_speech=of_speech,
            mean_score=float(raw.mean()) if len(raw) else None,
            track_frames=len(raw),
            track_detections=track.detections,
            speaking_scores=per_frame,
        )
        gates: dict[str, bool] = {}
        if self.syncnet is not None:  # Note [Sync gate]
            scores.update(sync_check(self.syncnet, frames, track, audio[a0:a1], float(p["crop_scale"])))
            gates[SYNC_GATE] = sync_passes(scores, float(p["min_sync_confidence"]), int(p["max_sync_offset"]))
        return self._result(scores, None, of_speech if p["fraction_of"] == "speech" else fraction, gates)

    def _result(
        self,
        scores: dict[str, Any],
        reason: str | None,
        fraction: float = 0.0,
        more: dict[str, bool] | None = None,
    ) -> StageResult:
        gates = {GATE: reason is None and fraction >= self.threshold, **(more or {})}
        ok = reason is None and all(gates.values())
        failed = next((g for g, v in gates.items() if not v), None)
        return StageResult(
            scores=scores,
            gates=gates,
            passed=ok,
            failed_gate=reason if reason is not None else failed,
            backend=self.backend,
            model=self.model,
        )

    @torch.inference_mode()
    def _run(self, seconds: int, audio: np.ndarray, video: np.ndarray) -> np.ndarray:
        a = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device)
        v = torch.from_numpy(np.ascontiguousarray(video)).to(self.device)
        (out,) = self.engines[seconds](a, v)
        return out.float().cpu().numpy()
