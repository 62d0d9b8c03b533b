"""Parity and speed of the evaluation networks (docs/evaluation_networks.md): each against its upstream module
with identical random weights on real test media, and per-item CPU/GPU time. Needs the oracle folders of
tests/evalnets/oracles.py under $TALKVID_UPSTREAM. Writes bench/results/evalnets_<device>.json and .md.

    TALKVID_UPSTREAM=/path/to/upstream python bench/micro/evalnets.py [--device cpu|cuda] [--reps 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from talkvid_fast.evalnets._inception_i3d import InceptionI3d  # noqa: E402
from talkvid_fast.evalnets.i3d import I3DFeatures, fvd_preprocess  # noqa: E402
from talkvid_fast.evalnets.inception import FIDInception, InceptionFeatures  # noqa: E402
from talkvid_fast.evalnets.syncnet import SyncNet, SyncNetEmbedder  # noqa: E402
from talkvid_fast.rtf import environment  # noqa: E402
from tests.conftest import TESTMEDIA, decode_rgb  # noqa: E402
from tests.evalnets import oracles  # noqa: E402
from tests.evalnets.test_i3d import CLIPS as FVD_CLIPS  # noqa: E402
from tests.evalnets.test_syncnet import audio_16k  # noqa: E402

FID_CLIPS = ("positives/sadtalker__WDA_KatieHill_000.mp4", "positives/liveportrait__s32.mp4")
SYNC_CLIP = "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4"


def timed(fn: Callable[[], Any], reps: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def inception(device: str, reps: int) -> dict[str, Any]:
    ours = FIDInception()
    state = oracles.randomise(ours, seed=0)
    ours.load_state_dict(state)
    features = InceptionFeatures(ours, device)
    rows = []
    with oracles.pytorch_fid() as module:
        upstream = oracles.fid_upstream(module, state)
        for clip in FID_CLIPS:
            frames = torch.from_numpy(decode_rgb(TESTMEDIA / clip, max_frames=4))
            with torch.inference_mode():
                ref = upstream(frames.permute(0, 3, 1, 2).float() / 255.0)[0].flatten(1)
            rows.append(
                {
                    "clip": clip,
                    "frames": list(frames.shape),
                    "max_rel_err": oracles.max_rel_err(features(frames), ref),
                }
            )
    batch = torch.from_numpy(decode_rgb(TESTMEDIA / FID_CLIPS[0], max_frames=8))
    seconds = timed(lambda: features(batch), reps)
    return {
        "oracle": "pytorch-fid 0.3.0 InceptionV3([3]) + torchvision 0.28.0",
        "parity": rows,
        "ms_per_frame": 1000 * seconds / len(batch),
    }


def syncnet(device: str, reps: int) -> dict[str, Any]:
    import python_speech_features

    upstream = oracles.syncnet_model().S(num_layers_in_fc_layers=1024).eval()
    state = oracles.randomise(upstream, seed=3)
    upstream.load_state_dict(state)
    net = SyncNet()
    net.load_state_dict(state)
    embedder = SyncNetEmbedder(net, device)
    rgb = decode_rgb(TESTMEDIA / SYNC_CLIP, max_frames=24)[:, 144:368, 144:368]
    imtv = torch.from_numpy(
        np.ascontiguousarray(rgb[..., ::-1].transpose(3, 0, 1, 2))[None].astype(np.float32)
    )
    with torch.inference_mode():
        ref_v = upstream.forward_lip(torch.cat([imtv[:, :, i : i + 5] for i in range(20)], 0))
    crops = torch.from_numpy(np.ascontiguousarray(rgb))
    wav = audio_16k(TESTMEDIA / SYNC_CLIP, seconds=2.0)
    mfcc = np.asarray(python_speech_features.mfcc(wav, 16000)).T
    count = (mfcc.shape[1] - 20) // 4 + 1
    cct = torch.from_numpy(mfcc[None, None].astype(np.float32))
    with torch.inference_mode():
        ref_a = upstream.forward_aud(torch.cat([cct[..., 4 * i : 4 * i + 20] for i in range(count)], 0))
    return {
        "oracle": "joonson/syncnet_python @ 6efbb1c SyncNetModel.S(1024)",
        "video": {"windows": 20, "max_rel_err": oracles.max_rel_err(embedder.video_embeddings(crops), ref_v)},
        "audio": {
            "windows": count,
            "max_rel_err": oracles.max_rel_err(embedder.audio_embeddings(wav), ref_a),
        },
        "ms_per_video_window": 1000 * timed(lambda: embedder.video_embeddings(crops), reps) / 20,
        "ms_per_audio_window": 1000 * timed(lambda: embedder.audio_embeddings(wav), reps) / count,
    }


def i3d_videogpt(device: str, reps: int) -> dict[str, Any]:
    fvd, pytorch_i3d = oracles.videogpt_fvd()
    upstream = pytorch_i3d.InceptionI3d(400, in_channels=3).eval()
    state = oracles.randomise(upstream, seed=7)
    upstream.load_state_dict(state)
    net = InceptionI3d()
    net.load_state_dict(state)
    features = I3DFeatures(net, device)
    clip = FVD_CLIPS["landscape"]
    video = torch.from_numpy(decode_rgb(TESTMEDIA / clip, max_frames=16))
    ref = fvd.get_logits(upstream, torch.stack([fvd.preprocess_single(video, 224)]) * 2, "cpu")
    err = oracles.max_rel_err(features(video[None]), ref)
    seconds = timed(lambda: features(video[None]), reps)
    return {
        "oracle": "common_metrics_on_video_quality @ 5f75173 fvd/videogpt/pytorch_i3d.py InceptionI3d(400)",
        "clip": clip,
        "frames": list(video.shape),
        "max_rel_err": err,
        "ms_per_clip": 1000 * seconds,
    }


def i3d_preprocessing() -> dict[str, Any]:
    fvd = oracles.styleganv_fvd()
    rows = []
    for name, clip in FVD_CLIPS.items():
        video = torch.from_numpy(decode_rgb(TESTMEDIA / clip, max_frames=16))
        ref = fvd.preprocess_single(video.permute(3, 0, 1, 2).float() / 255.0)
        rows.append(
            {
                "clip": clip,
                "shape": name,
                "frames": list(video.shape),
                "max_abs_err": float((fvd_preprocess(video[None])[0] - ref).abs().max()),
            }
        )
    return {
        "oracle": "common_metrics_on_video_quality @ 5f75173 fvd/styleganv/fvd.py preprocess_single",
        "preprocessing": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    result = {
        "environment": environment(),
        "device": args.device,
        "weights": "random (identical in ours and upstream); real weights cannot be downloaded here",
        "inception_fid": inception(args.device, args.reps),
        "syncnet_v2": syncnet(args.device, args.reps),
        "i3d_fvd": i3d_preprocessing(),
        "i3d_videogpt": i3d_videogpt(args.device, args.reps),
    }
    out = REPO / "bench" / "results" / f"evalnets_{args.device}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    inc, sync, i3d, vg = (
        result["inception_fid"],
        result["syncnet_v2"],
        result["i3d_fvd"],
        result["i3d_videogpt"],
    )
    env = result["environment"]
    lines = [
        f"# Evaluation networks vs upstream ({args.device})",
        "",
        f"Device: {env['device']}; torch {env['torch']}; git {env['git']}. Weights: random, identical in ours and upstream.",
        "",
        "| network | input | oracle | max relative error |",
        "|---|---|---|---:|",
        *(
            f"| FID Inception | {r['clip']} {r['frames']} | {inc['oracle']} | {r['max_rel_err']:.2e} |"
            for r in inc["parity"]
        ),
        f"| SyncNet lip | {SYNC_CLIP}, 24 frames, 224² crop, {sync['video']['windows']} windows | {sync['oracle']} | {sync['video']['max_rel_err']:.2e} |",
        f"| SyncNet audio | same clip, 2 s speech, {sync['audio']['windows']} windows | {sync['oracle']} | {sync['audio']['max_rel_err']:.2e} |",
        *(
            f"| FVD preprocessing ({r['shape']}) | {r['clip']} {r['frames']} | {i3d['oracle']} | abs {r['max_abs_err']:.2e} |"
            for r in i3d["preprocessing"]
        ),
        f"| FVD I3D, videogpt protocol | {vg['clip']} {vg['frames']} | {vg['oracle']} | {vg['max_rel_err']:.2e} |",
        "",
        "| network | time |",
        "|---|---:|",
        f"| FID Inception (299², batch 8) | {inc['ms_per_frame']:.1f} ms/frame |",
        f"| SyncNet lip (batch 20) | {sync['ms_per_video_window']:.1f} ms/window |",
        f"| SyncNet audio (batch 20) | {sync['ms_per_audio_window']:.2f} ms/window |",
        f"| I3D videogpt (16 x 224²) | {vg['ms_per_clip']:.0f} ms/clip |",
        "",
        f"Command: `TALKVID_UPSTREAM=... python bench/micro/evalnets.py --device {args.device} --reps {args.reps}`",
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
