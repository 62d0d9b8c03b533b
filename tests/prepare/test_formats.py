"""The WebDataset and Hallo layouts of the same run, read back: WebDataset shards by the `webdataset` library
itself (and the Parquet index by byte offsets), Hallo's by a reader written from its documented layout."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from talkvid_fast.prepare._driver import prepare_run
from talkvid_fast.prepare._masks import FACE_OVAL, LIPS
from talkvid_fast.prepare._source import PrepareParams

FPS = 2.0  # few frames: the face models dominate the CPU time


def _prepare(run: Path, fmt: str, shard_clips: int = 100) -> Path:
    out = run.parent / f"prepared_{fmt}"
    summary = prepare_run(
        run, out, PrepareParams(format=fmt, fps=FPS), log=lambda _: None, shard_clips=shard_clips
    )
    assert summary.prepared == summary.clips == 2, summary
    return out


def test_webdataset_shards_read_by_webdataset(run: Path) -> None:
    wds = pytest.importorskip("webdataset")
    import pyarrow.parquet as pq

    out = _prepare(run, "webdataset", shard_clips=1)
    shards = sorted(str(p) for p in (out / "shards").glob("shard-*.tar"))
    assert len(shards) == 2
    samples = list(wds.WebDataset(shards, shardshuffle=False).decode())
    assert len(samples) == 2
    index = pq.read_table(out / "index.parquet").to_pylist()
    for sample in samples:
        meta = sample["json"]
        assert sample["__key__"] == meta["clip_id"].replace(".", "_")
        with av.open(io.BytesIO(sample["mp4"]), mode="r") as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == meta["frames"] and frames[0].shape == (512, 512, 3)
        face = sample["face.npz"]
        assert face["landmarks"].shape == (meta["frames"], 468, 3)
        with av.open(io.BytesIO(sample["wav"])) as c:
            a = c.streams.audio[0]
            assert (a.rate, a.channels) == (16_000, 1)
        row = next(r for r in index if r["key"] == sample["__key__"])
        with open(out / row["shard"], "rb") as f:  # random access by the index's offsets
            f.seek(row["mp4_offset"])
            assert f.read(row["mp4_size"]) == sample["mp4"]
            f.seek(row["json_offset"])
            assert json.loads(f.read(row["json_size"])) == meta


def _gray(path: object) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, path
    return image


def _hallo_reader(root: Path) -> list[dict[str, object]]:
    """What Hallo's training reads, from its README and extract_meta_info_stage*.py: data/*_stage2.json entries
    with video, masks and audio; data/*_stage1.json entries with a folder of frames and the union face mask."""
    stage1 = json.loads((root / "data" / "hallo_stage1.json").read_text())
    stage2 = json.loads((root / "data" / "hallo_stage2.json").read_text())
    assert [Path(e["image_path"]).name for e in stage1] == [Path(e["video_path"]).stem for e in stage2]
    for e in stage2:
        for key in (
            "video_path",
            "mask_path",
            "sep_mask_border",
            "sep_mask_face",
            "sep_mask_lip",
            "audio_path",
        ):
            assert Path(e[key]).is_file(), (key, e[key])
        # step 2's outputs (InsightFace, Hallo's wav2vec2) go beside them, named as their scripts name them
        assert (
            Path(e["face_emb_path"]).parent.name == "face_emb"
            and Path(e["vocals_emb_base_all"]).parent.name == "audio_emb"
        )
    return stage2


def test_hallo_layout_and_masks(run: Path) -> None:
    out = _prepare(run, "hallo")
    for e in _hallo_reader(out):
        clip_id = Path(str(e["video_path"])).stem
        with av.open(str(e["video_path"])) as c:
            n = sum(1 for _ in c.decode(video=0))
        pngs = sorted((out / "images" / clip_id).glob("*.png"))
        assert len(pngs) == n and pngs[0].name == "0001.png"
        assert _gray(pngs[0]).shape == (512, 512)
        info = np.load(out / "face_info" / f"{clip_id}.npz")
        lm = info["landmarks"]
        face = _gray(e["mask_path"])
        assert face.shape == (512, 512) and set(np.unique(face)) == {0, 255}
        # the mask is the union over frames of the face-oval boxes: every oval point lies inside or on it
        oval = lm[:, list(FACE_OVAL), :2].reshape(-1, 2)
        ys, xs = np.nonzero(face)
        assert xs.min() <= oval[:, 0].min() + 1 and xs.max() >= oval[:, 0].max() - 2
        assert ys.min() <= oval[:, 1].min() + 1 and ys.max() >= oval[:, 1].max() - 2
        lip_sep = _gray(e["sep_mask_lip"])
        face_sep = _gray(e["sep_mask_face"])
        border = _gray(e["sep_mask_border"])
        assert lip_sep.shape == face_sep.shape == border.shape == (64, 64)
        lips = lm[:, list(LIPS), :2].reshape(-1, 2).mean(0) / 8  # the lips' centre on the 64 px grid
        assert lip_sep[int(lips[1]), int(lips[0])] > 200 and face_sep[int(lips[1]), int(lips[0])] < 60
        assert border[0, 0] > 200 and border[32, 32] < 60  # the corner is background, the centre face
