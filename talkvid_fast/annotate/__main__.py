"""python -m talkvid_fast.annotate --run OUT --endpoint URL --model NAME ... (docs/annotate.md)."""

from __future__ import annotations

import argparse
import os
import sys

from ._client import ChatClient, EndpointFatal
from ._prompt import IMAGE_FORMATS, ImageOptions
from ._run import AnnotateOptions, annotate_run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m talkvid_fast.annotate",
        description="Annotate a run's passing clips with a vision-language model (TalkVid Appendix F prompt).",
    )
    p.add_argument("--run", required=True, help="the run's output folder (holds journal.jsonl)")
    p.add_argument(
        "--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1"
    )
    p.add_argument(
        "--model", required=True, help="model name the endpoint serves, e.g. Qwen/Qwen2.5-VL-7B-Instruct"
    )
    p.add_argument(
        "--api-key-env", default=None, help="environment variable holding the API key (none: no key)"
    )
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight at once (default 4)")
    p.add_argument("--frames", type=int, default=8, help="frames sent per clip (default 8)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one reply (default 120)")
    p.add_argument("--max-retries", type=int, default=5, help="retries of a failed request (default 5)")
    p.add_argument("--max-invalid", type=int, default=2, help="re-asks after an invalid reply (default 2)")
    p.add_argument("--max-wait", type=float, default=60.0, help="longest backoff pause, s (default 60)")
    p.add_argument("--max-tokens", type=int, default=2048, help="max_tokens of each request (default 2048)")
    p.add_argument("--price-in", type=float, default=0.0, help="price per million prompt tokens")
    p.add_argument("--price-out", type=float, default=0.0, help="price per million completion tokens")
    p.add_argument(
        "--image-max-side", type=int, default=640, help="longest image side sent, px (default 640)"
    )
    p.add_argument("--image-format", choices=IMAGE_FORMATS, default="jpeg")
    p.add_argument("--all-clips", action="store_true", help="annotate failing clips too")
    p.add_argument("--skip-failed", action="store_true", help="do not ask again for clips that failed before")
    p.add_argument(
        "--paper-prompt-only",
        action="store_true",
        help="send the Appendix F prompt alone (no demographics addendum, no subtitles): groups stay Unknown",
    )
    args = p.parse_args(argv)
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            p.error(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    try:
        options = AnnotateOptions(
            frames=args.frames,
            concurrency=args.concurrency,
            max_invalid=args.max_invalid,
            image=ImageOptions(max_side=args.image_max_side, format=args.image_format),
            price_in=args.price_in,
            price_out=args.price_out,
            all_clips=args.all_clips,
            retry_failed=not args.skip_failed,
            demographics=not args.paper_prompt_only,
        )
        client = ChatClient(
            args.endpoint,
            args.model,
            api_key=api_key,
            timeout=args.timeout,
            max_retries=args.max_retries,
            max_wait=args.max_wait,
            max_tokens=args.max_tokens,
        )
    except ValueError as exc:
        p.error(str(exc))
    try:
        summary = annotate_run(args.run, client, options)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EndpointFatal as exc:
        print(f"error: the endpoint refuses requests, run stopped: {exc}", file=sys.stderr)
        return 3
    print(summary.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
