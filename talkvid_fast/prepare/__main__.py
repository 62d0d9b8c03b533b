"""`python -m talkvid_fast.prepare`: turn a curation run's passing clips into a trainer's data set.

Exit codes: 0 done (clips that could not be prepared are recorded with a reason); 2 could not start (bad
arguments, not a run folder, output prepared with other parameters); 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engines import RUNTIMES
from ._layouts import DEFAULT_FPS, FORMATS
from ._rules import CROP_RULES

FEATURES = ("wav2vec2",)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m talkvid_fast.prepare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="output folder of `python -m talkvid_fast.run`")
    p.add_argument("--format", required=True, choices=FORMATS, help="the trainer's layout (docs/prepare.md)")
    p.add_argument("--out", default=None, help="output folder (default: RUN/prepared_FORMAT)")
    p.add_argument(
        "--fps",
        type=float,
        default=None,
        help="output frame rate (default: the trainer's, vexpress 24, hallo 25, webdataset 24)",
    )
    p.add_argument(
        "--size", type=int, default=512, help="side of the square face crop in pixels (default 512)"
    )
    p.add_argument(
        "--crop",
        default="talkvid",
        choices=CROP_RULES,
        help="talkvid: TalkVid's union box x 1.6 (default); smoothed: follows the face over time",
    )
    p.add_argument("--smooth-seconds", type=float, default=1.0, help="smoothed crop: averaging window (s)")
    p.add_argument(
        "--face-tolerance",
        type=float,
        default=0.0,
        help="fraction of output frames allowed without exactly one face (default 0: TalkVid's rule)",
    )
    p.add_argument(
        "--audio-features",
        default=None,
        choices=FEATURES,
        help="also write wav2vec2-base-960h features (python -m talkvid_fast.weights fetch wav2vec2_base_960h)",
    )
    p.add_argument(
        "--device", default="cpu", help="cpu, cuda or cuda:N (decode on NVDEC, models and warp on it)"
    )
    p.add_argument("--decoder", default="auto", choices=("auto", "pyav", "nvdec"))
    p.add_argument(
        "--runtime",
        default=None,
        choices=RUNTIMES,
        help="face models' engine (default: the run's [head] runtime); onnxruntime needs "
        "`python -m talkvid_fast.engines build --models facemesh --export-only`",
    )
    p.add_argument("--crf", type=int, default=18, help="x264 CRF of the cropped videos (default 18)")
    p.add_argument(
        "--shard-clips", type=int, default=100, help="webdataset: clips per tar shard (default 100)"
    )
    p.add_argument("--fresh", action="store_true", help="discard what --out holds and start over")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ._driver import ParamsChanged, prepare_run
    from ._source import PrepareParams

    try:
        fps = DEFAULT_FPS[args.format] if args.fps is None else args.fps
        if fps <= 0 or args.size < 16 or args.size % 2 or not 0 <= args.face_tolerance <= 1:
            raise ValueError("--fps must be > 0, --size an even number >= 16, --face-tolerance within 0..1")
        if args.smooth_seconds < 0 or not 0 <= args.crf <= 51:
            raise ValueError("--smooth-seconds must be >= 0 and --crf within 0..51")
        params = PrepareParams(
            format=args.format,
            fps=fps,
            size=args.size,
            crop=args.crop,
            smooth_seconds=args.smooth_seconds,
            face_tolerance=args.face_tolerance,
            crf=args.crf,
            audio_features="wav2vec2_base_960h" if args.audio_features else None,
            device=args.device,
            decoder=args.decoder,
            runtime=args.runtime,
        )
        out = Path(args.out) if args.out else Path(args.run) / f"prepared_{args.format}"
        summary = prepare_run(Path(args.run), out, params, shard_clips=args.shard_clips, fresh=args.fresh)
    except (ValueError, FileNotFoundError, ParamsChanged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    d = summary.as_dict()
    print(
        f"prepared {d['prepared']} of {d['clips']} passing clips; dropped {d['dropped'] or 'none'}; "
        f"audio features: {d['audio_features']}"
    )
    print(
        f"this run: {d['this_run_clips']} clips in {d['seconds']} s ({d['clips_per_second']} clips/s, RTF {d['rtf']})"
    )
    for m in d["manifests"][:3]:
        print(f"manifest: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
