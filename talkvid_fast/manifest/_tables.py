"""Parquet copies of the journal for pandas / DuckDB (flat columns, one row per clip or source)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ._journal import Journal, write_atomic


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"quality": {"scores": {"a": 1}}} -> {"quality.scores.a": 1}; lists become JSON strings."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    flat = [flatten(r) for r in rows]
    columns: dict[str, list[Any]] = {k: [] for r in flat for k in r}
    for r in flat:
        for k in columns:
            columns[k].append(r.get(k))
    arrays = {}
    for k, values in columns.items():
        try:
            arrays[k] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: keep them as text
            arrays[k] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def write_tables(journal: Journal, folder: Path) -> tuple[Path, Path]:
    """Writes sources.parquet and clips.parquet atomically from the committed journal."""
    sources, clips = [], []
    for source, clip_records in journal.records():
        sources.append(source)
        clips.extend(clip_records)
    paths = []
    for name, rows in (("sources", sources), ("clips", clips)):
        buf = io.BytesIO()
        pq.write_table(_table(rows) if rows else pa.table({}), buf)
        path = folder / f"{name}.parquet"
        write_atomic(path, buf.getvalue())
        paths.append(path)
    return paths[0], paths[1]
