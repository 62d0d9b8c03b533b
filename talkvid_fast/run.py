"""`python -m talkvid_fast.run`: curate a folder, a video or a manifest into TalkVid-style clips.

Exit codes: 0 the run finished (sources that failed are recorded in the manifest with a reason);
2 the run could not start (bad arguments, unreadable input, output not writable, changed profile);
130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .engines import gpu_devices, pick_device
from .export import ENCODERS, EXPORT_MODES, ExportParams, write_spans_json, write_talkvid_json
from .inputs import InputError, discover
from .manifest import ProfileChanged
from .pipeline import ALL_STAGES, RunConfig, parse_stages, run_sources
from .pipeline._streams import check_decode_streams
from .profile import load_profile
from .report import render, summarize, write_summary
from .stages import StageUnavailable

EXIT_OK, EXIT_CANNOT_START, EXIT_INTERRUPTED = 0, 2, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m talkvid_fast.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--input", required=True, help="folder of videos, one video, or a .json/.jsonl/.csv manifest"
    )
    p.add_argument("--output", required=True, help="output folder (manifest, clips, talkvid.json, summary)")
    p.add_argument(
        "--profile",
        default="paper",
        help="paper (default), official, open, or a path to an edited profile TOML",
    )
    p.add_argument("--stages", default="all", help=f"'all' or a comma list of {', '.join(ALL_STAGES)}")
    p.add_argument("--gpus", type=int, default=0, help="GPUs to use, one worker each (0 = CPU only)")
    p.add_argument("--workers", type=int, default=1, help="CPU worker processes (default 1)")
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run the workers as Ray actors: a cluster address, 'auto' (the cluster this node is in) "
        "or 'local' (a private Ray on this machine); with --gpus N, N actors of one GPU each",
    )
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda with --gpus, else cpu)")
    p.add_argument("--decoder", default="auto", choices=("auto", "pyav", "nvdec"))
    p.add_argument("--clip-batch", type=int, default=8, help="clips decoded and scored together (default 8)")
    p.add_argument(
        "--decode-streams",
        type=int,
        default=0,
        metavar="N",
        help="decode streams per worker, each decoding a source while the models score earlier clips "
        "(default 0: 1 on the CPU, one per NVDEC engine on a GPU, e.g. 7 on H100/H200)",
    )
    p.add_argument(
        "--scene-buffer-mb",
        type=int,
        default=-1,
        metavar="MB",
        help="decoded frames kept per decode stream until their scene closes, and with media export until "
        "their clip is exported (default 4096: 55 s of 1080p, 13.8 s of 2160p); clips whose frames did not "
        "fit are decoded again and say so in their record",
    )
    p.add_argument(
        "--cascade", action="store_true", help="run a filter only on clips that passed the ones before"
    )
    p.add_argument("--crf", type=int, default=18, help="x264 CRF of exported clips (default 18)")
    p.add_argument(
        "--export",
        default="media",
        choices=EXPORT_MODES,
        help="media: cut and encode passing clips (default); spans: write spans.json, no re-encode",
    )
    p.add_argument(
        "--encoder", default="auto", choices=ENCODERS, help="auto: NVENC where the GPU has it, else x264"
    )
    p.add_argument("--encode-workers", type=int, default=2, help="x264 encoder threads (default 2)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume",
        dest="fresh",
        action="store_false",
        default=False,
        help="skip sources already in the output's manifest (the default)",
    )
    resume.add_argument(
        "--fresh", dest="fresh", action="store_true", help="discard the output's manifest and start over"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _check_output(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"output folder {folder} is not writable: {exc}") from exc


def _write_html_report(output: Path, summary: dict[str, Any]) -> None:
    """report.html beside the manifest; a report that cannot be drawn never fails a finished run."""
    try:
        from .htmlreport import write_report
        from .manifest import read_run

        print(f"report: {write_report(read_run(output), summary)}")
    except Exception as exc:
        logging.getLogger(__name__).warning("report.html not written: %s: %s", type(exc).__name__, exc)
        print(
            f"report.html not written ({type(exc).__name__}: {exc}); retry with python -m talkvid_fast.report --run {output}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.gpus < 0 or args.workers < 1 or args.clip_batch < 1:
            raise ValueError("--gpus must be >= 0, --workers >= 1 and --clip-batch >= 1")
        check_decode_streams(args.decode_streams)
        if args.scene_buffer_mb < -1:
            raise ValueError(
                f"--scene-buffer-mb must be >= 0 (or -1 for the default), got {args.scene_buffer_mb}"
            )
        # on a Ray cluster the GPUs live on other nodes: Ray places the actors, we only count them
        devices = ([f"cuda:{i}" for i in range(args.gpus)] or None) if args.ray else gpu_devices(args.gpus)
        device = args.device or ("cuda" if args.gpus else "cpu")
        if not args.ray:
            pick_device(device)
        profile = load_profile(args.profile)
        stages = parse_stages(args.stages)
        output = Path(args.output)
        _check_output(output)
        inputs = discover(args.input)
        config = RunConfig(
            profile=profile,
            output=output,
            stages=stages,
            device=device,
            decoder=args.decoder,
            clip_batch=args.clip_batch,
            cascade=args.cascade,
            decode_streams=args.decode_streams,
            scene_buffer_mb=args.scene_buffer_mb,
            export=ExportParams(
                crf=args.crf, mode=args.export, encoder=args.encoder, encode_workers=args.encode_workers
            ),
        )
    except (ValueError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        outcome = run_sources(
            config,
            inputs,
            devices=devices,
            ray_address=args.ray,
            workers=args.workers,
            fresh=args.fresh,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except (ProfileChanged, StageUnavailable) as exc:  # StageUnavailable: stage 1's weights are missing
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    talkvid_path, n = write_talkvid_json(outcome.journal, output)
    if config.export.mode == "spans":
        talkvid_path, n = write_spans_json(outcome.journal, output)
    summary = summarize(
        outcome.journal, outcome.unavailable, outcome.wall_seconds, set(outcome.processed_ids)
    )
    summary.update(processed_this_run=outcome.processed, skipped_finished=outcome.skipped)
    write_summary(summary, output)
    print(render(summary))
    if not args.no_report:
        _write_html_report(output, summary)
    if outcome.dropped_bytes:
        print(f"{outcome.dropped_bytes} torn bytes dropped from the journal")
    print(
        f"manifest: {output / 'journal.jsonl'} (+ clips.parquet, sources.parquet); {n} clips in {talkvid_path}"
    )
    outcome.journal.close()
    return EXIT_OK


if __name__ == "__main__":
    os.environ.setdefault("TQDM_MININTERVAL", "0.5")
    sys.exit(main())
