"""report.html: one self-contained page (inline CSS, images as data: URIs, no script, no network) plus PNG
copies of its plots in `report_files/`."""

from __future__ import annotations

import base64
import datetime as dt
import json
import platform
import re
from html import escape
from pathlib import Path
from typing import Any

from ..manifest import RunFolder, write_atomic
from . import _data, _figures
from ._thresholds import score_lines
from ._thumbs import thumbnail_jpeg

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px;margin:18px 0 4px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}
h3{font-size:15px;margin:14px 0 6px} table{border-collapse:collapse;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f5f7} td.n{text-align:right;font-variant-numeric:tabular-nums} .meta{color:#555}
.grid{display:flex;flex-wrap:wrap;gap:8px} .grid img{border:1px solid #eee;max-width:100%}
.strip{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 10px} figure{margin:0;width:164px;font-size:11px}
figure img{width:160px;height:120px;object-fit:contain;background:#111;border:2px solid #2e7d32;display:block} figure.rej img{border-color:#c0392b}
figcaption{word-break:break-all} .none{color:#888;font-style:italic} pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
"""


def _img(png: bytes, alt: str, mime: str = "image/png") -> str:
    return f'<img alt="{escape(alt)}" src="data:{mime};base64,{base64.b64encode(png).decode()}">'


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(c))}</td>'
            if isinstance(c, int | float)
            else f"<td>{escape(str(c))}</td>"
            for c in r
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(run: RunFolder, summary: dict[str, Any], thumbs_per_side: int = 5) -> Path:
    """Writes `report.html` and `report_files/*.png` into the run folder; returns the HTML's path."""
    folder = run.folder
    files = folder / "report_files"
    files.mkdir(exist_ok=True)
    for old in files.glob("*.png"):  # plots of a score no longer in the records must not linger
        old.unlink()
    parts: list[str] = []

    def figure(png: bytes, name: str, alt: str) -> str:
        write_atomic(files / f"{_slug(name)}.png", png)
        return _img(png, alt)

    # header
    info = run.info
    backends = _data.backends(run)
    parts.append(f"<h1>talkvid_fast run report: {escape(str(folder.name))}</h1>")
    parts.append(
        f'<p class="meta">profile <b>{escape(run.profile_name)}</b> ({escape(str(info.get("profile_source", "?")))}, '
        f"digest {escape(str(info.get('profile_digest', '?')))}), stages {escape(', '.join(info.get('stages', [])))}; "
        f"decoder {escape(', '.join(backends.get('decoder', [])) or '-')}; report written "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {escape(platform.node() or '?')} "
        f"({escape(platform.machine())}, {escape(platform.processor() or platform.system())})</p>"
    )
    s = summary
    parts.append(
        f"<p><b>{s['sources']}</b> sources ({s['sources_ok']} ok, {s['sources_failed']} failed), "
        f"<b>{s['hours_in']:.3f} h</b> in, {s['scenes']} scenes; <b>{s['clips']}</b> clips, "
        f"<b>{s['clips_passed']}</b> passed ({s['funnel'][-1]['hours'] if s['funnel'] else 0:.3f} h), "
        f"{s['clips_exported']} exported.</p>"
    )
    for name, why in s.get("stages_not_run", {}).items():
        parts.append(f'<p class="none">not run: {escape(name)}: {escape(why)}</p>')

    # funnel (Figure 3)
    parts.append("<h2>Attrition funnel</h2>")
    parts.append(
        figure(_figures.funnel_png(s["funnel"], s["hours_in"], s["clips"]), "funnel", "attrition funnel")
    )
    parts.append(
        _table(
            ["after gate", "clips left", "hours left", "ran"],
            [
                [f["gate"], f["clips"], round(f["hours"], 4), "yes" if f["ran"] else "not run"]
                for f in s["funnel"]
            ],
        )
    )

    # score distributions (Figure 4, top row)
    parts.append("<h2>Score distributions</h2>")
    parts.append(
        '<p class="meta">Dashed red: the threshold of the profile used; blue: clips that passed the stage.</p>'
    )
    scores = _data.stage_scores(run)
    for stage, st in scores.items():
        lines = score_lines(stage, run.section(stage), st.gates)
        imgs = []
        for name, values in st.values.items():
            if not values or (name not in lines and all(v == int(v) for v in values)):
                continue  # counts (frames sampled, windows) are not scores
            draw = list(lines.get(name, []))
            if name == "clip duration (s)":
                md = run.section("segment").get("min_duration", 5.0)
                draw = [(float(md), f"pass if > {md:g}")]
            png = _figures.histogram_png(f"{stage}.{name}", values, draw, st.passed.get(name))
            imgs.append(figure(png, f"hist_{stage}_{name}", f"histogram of {stage}.{name}"))
        if imgs:
            parts.append(f"<h3>{escape(stage)}</h3><div class='grid'>{''.join(imgs)}</div>")
    if not scores:
        parts.append('<p class="none">no clip was scored</p>')

    # examples per gate
    parts.append("<h2>Examples per gate</h2>")
    parts.append(
        '<p class="meta">A frame of each clip (the keyframe before its middle when it lies in the clip); green border: kept by the gate, red: rejected, with the reason.</p>'
    )
    for f in s["funnel"]:
        kept, rejected = _data.examples(run, f["gate"], thumbs_per_side)
        if not kept and not rejected:
            continue
        parts.append(f"<h3>{escape(f['gate'])}</h3>")
        for label, side, cls in (("kept", kept, ""), ("rejected", rejected, "rej")):
            cells = []
            for ex in side:
                c = ex.clip
                jpg = thumbnail_jpeg(c.get("source_path", ""), c["start"], c["end"])
                pic = _img(jpg, c["clip_id"], "image/jpeg") if jpg else '<span class="none">no frame</span>'
                cells.append(
                    f'<figure class="{cls}">{pic}<figcaption>{escape(c["clip_id"])} '
                    f"({c['start']:.1f}-{c['end']:.1f} s)<br>{escape(ex.reason)}</figcaption></figure>"
                )
            body = "".join(cells) or '<span class="none">none</span>'
            parts.append(f"<div><b>{label}</b><div class='strip'>{body}</div></div>")

    # failures
    parts.append("<h2>Failures by reason</h2>")
    src_fail = _data.source_failures(run)
    if src_fail:
        rows: list[list[Any]] = [[reason, p, d] for reason, items in src_fail.items() for p, d in items]
        parts.append("<h3>Sources</h3>" + _table(["reason", "source", "detail"], rows))
    else:
        parts.append('<p class="none">no source failed</p>')
    clip_fail = _data.clip_failures(run)
    if clip_fail:
        rows = [[gate, n, ", ".join(srcs)] for gate, (n, srcs) in clip_fail.items()]
        parts.append("<h3>Clips (first failed gate)</h3>" + _table(["gate", "clips", "sources"], rows))

    # speed
    parts.append("<h2>Speed</h2>")
    timing: dict[str, list[float]] = {}
    for src in run.sources:
        for k, v in (src.get("timings") or {}).items():
            t = timing.setdefault(k, [0.0, 0.0])
            t[0] += v
            t[1] += (src.get("stage_input_seconds") or {}).get(k, 0.0)
    rows = [
        [k, round(v[1], 1), round(v[0], 2), s["rtf"].get(k, "-"), ", ".join(backends.get(k, [])) or "-"]
        for k, v in timing.items()
    ]
    parts.append(
        _table(["stage", "video seconds in", "wall seconds", "RTF", "engine / device"], rows)
        + '<p class="meta">RTF = seconds of video a stage consumed / its wall seconds, summed over the sources '
        "(whole sources for segment and decode_scan, clips for the filters). The engine names carry the device.</p>"
    )
    whole, now = s.get("whole_output"), s.get("this_run")
    if whole:
        parts.append(
            f"<p>Whole output (all runs): {whole['sources']} sources, {whole['hours_in']:.4f} h, "
            f"{whole['processing_seconds']:.1f} s of processing summed over sources, RTF {whole['rtf_processing']}.</p>"
        )
    if now:
        text = (
            f"nothing left to do ({now['skipped']} sources already done)"
            if now["processed"] == 0
            else f"{now['processed']} sources processed in {now['wall_seconds']:.1f} s wall, RTF end to end {now['rtf_end_to_end']}"
        )
        parts.append(f"<p>Last run: {escape(text)}.</p>")

    # profile
    parts.append("<h2>Profile</h2>")
    parts.append(
        f"<pre>{escape(json.dumps(run.sections, indent=2) if run.sections else 'run.json holds no parameters')}</pre>"
    )

    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>talkvid_fast report: {escape(folder.name)}</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    path = folder / "report.html"
    write_atomic(path, page.encode())
    return path
