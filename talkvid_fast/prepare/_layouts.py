"""Where each trainer wants the prepared files, and its manifest.

Note [Trainer layouts]:
- `vexpress` (TalkVid's `src/data_preprocess` readme, V-Express `datasets/talking_face_video.py`):
  `videos-crop/ID.mp4` (24 fps), `face_info/ID.npz`, `audio_embeds/ID.npz` (`global_embeds` (T, 1, 768), with
  `--audio-features`), `audios/ID.wav`; manifest `vexpress.json` = `[{video, face_info, audio_embeds}]` (absolute
  paths, `audio_embeds` null without features; an extra `audio` key names the WAV). Their loader
  `torch.load`s pickles; ours are .npz (`docs/prepare.md` has the few lines that adapt their loader).
- `hallo` (fudan-generative-vision/hallo `scripts/data_preprocess.py` step 1 and `extract_meta_info_stage*.py`):
  `videos/ID.mp4` (25 fps), `images/ID/0001.png ...`, `audios/ID.wav`, `face_mask/`, `sep_face_mask/`,
  `sep_pose_mask/`, `sep_lip_mask/ID.png` (Note [Hallo masks]); `face_emb/` and `audio_emb/` are Hallo's step 2
  (InsightFace and its own wav2vec2 with vocal separation: run it on `videos/`); manifests
  `data/hallo_stage1.json` and `data/hallo_stage2.json` with the paths their scripts write.
- `webdataset`: per clip `clips/ID.{mp4,wav,json}` and `clips/ID.face.npz`, then tar shards
  `shards/shard-NNNNNN.tar` of `KEY.mp4`, `KEY.wav`, `KEY.json`, `KEY.face.npz` (KEY = the clip id with dots
  replaced, WebDataset splits names at the first dot) and `index.parquet`: one row per clip with its shard and
  each member's byte offset and size in it, for random access.
Every file goes in under a temporary name and is renamed into place; manifests are rewritten atomically from
the journal at the end of every run.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from ..manifest import write_atomic

FORMATS = ("vexpress", "hallo", "webdataset")
DEFAULT_FPS = {"vexpress": 24.0, "hallo": 25.0, "webdataset": 24.0}
HALLO_MASKS = ("face_mask", "sep_face_mask", "sep_pose_mask", "sep_lip_mask")


class Layout:
    def __init__(self, name: str, root: Path, shard_clips: int = 100) -> None:
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r}; allowed: {', '.join(FORMATS)}")
        if shard_clips < 1:
            raise ValueError(f"shard_clips must be >= 1, got {shard_clips}")
        self.name, self.root, self.shard_clips = name, root, shard_clips

    def paths(self, clip_id: str) -> dict[str, Path]:
        r = self.root
        if self.name == "vexpress":
            return {
                "video": r / "videos-crop" / f"{clip_id}.mp4",
                "face_info": r / "face_info" / f"{clip_id}.npz",
                "audio": r / "audios" / f"{clip_id}.wav",
                "audio_embeds": r / "audio_embeds" / f"{clip_id}.npz",
            }
        if self.name == "hallo":
            out = {
                "video": r / "videos" / f"{clip_id}.mp4",
                "images": r / "images" / clip_id,  # a folder of frames
                "audio": r / "audios" / f"{clip_id}.wav",
                "face_info": r / "face_info" / f"{clip_id}.npz",
                "audio_embeds": r / "audio_embeds" / f"{clip_id}.npz",
            }
            out.update({m: r / m / f"{clip_id}.png" for m in HALLO_MASKS})
            return out
        c = r / "clips"
        return {
            "video": c / f"{clip_id}.mp4",
            "face_info": c / f"{clip_id}.face.npz",
            "audio": c / f"{clip_id}.wav",
            "audio_embeds": c / f"{clip_id}.audio.npz",
        }

    def assemble(self, records: list[dict[str, Any]]) -> list[Path]:
        """Writes the trainer's manifest(s) for the prepared clips `records` (status ok); returns them."""
        records = sorted(records, key=lambda r: r["clip_id"])
        if self.name == "vexpress":
            return [self._vexpress(records)]
        if self.name == "hallo":
            return self._hallo(records)
        return self._webdataset(records)

    def _abs(self, rel: str | None) -> str | None:
        return str((self.root / rel).resolve()) if rel else None

    def _vexpress(self, records: list[dict[str, Any]]) -> Path:
        rows = [
            {
                "video": self._abs(r["files"]["video"]),
                "face_info": self._abs(r["files"]["face_info"]),
                "audio_embeds": self._abs(r["files"].get("audio_embeds")),
                "audio": self._abs(r["files"]["audio"]),
            }
            for r in records
        ]
        path = self.root / "vexpress.json"
        write_atomic(path, json.dumps(rows, indent=2).encode())
        return path

    def _hallo(self, records: list[dict[str, Any]]) -> list[Path]:
        stage1, stage2 = [], []
        for r in records:
            f, cid = r["files"], r["clip_id"]
            face_emb = str((self.root / "face_emb" / f"{cid}.pt").resolve())
            stage1.append(
                {
                    "image_path": str((self.root / "images" / cid).resolve()),
                    "mask_path": self._abs(f["face_mask"]),
                    "face_emb": face_emb,
                }
            )
            stage2.append(
                {
                    "video_path": self._abs(f["video"]),
                    "mask_path": self._abs(f["face_mask"]),
                    "sep_mask_border": self._abs(f["sep_pose_mask"]),
                    "sep_mask_face": self._abs(f["sep_face_mask"]),
                    "sep_mask_lip": self._abs(f["sep_lip_mask"]),
                    "face_emb_path": face_emb,
                    "audio_path": self._abs(f["audio"]),
                    "vocals_emb_base_all": str((self.root / "audio_emb" / f"{cid}.pt").resolve()),
                }
            )
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        out = []
        for name, rows in (("hallo_stage1.json", stage1), ("hallo_stage2.json", stage2)):
            path = self.root / "data" / name
            write_atomic(path, json.dumps(rows, indent=4).encode())
            out.append(path)
        return out

    def _webdataset(self, records: list[dict[str, Any]]) -> list[Path]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        shard_dir = self.root / "shards"
        shard_dir.mkdir(parents=True, exist_ok=True)
        index: list[dict[str, Any]] = []
        shards = []
        for n in range(0, len(records), self.shard_clips):
            name = f"shard-{n // self.shard_clips:06d}.tar"
            tmp = shard_dir / f".{name}.tmp"
            with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
                for r in records[n : n + self.shard_clips]:
                    key = r["clip_id"].replace(".", "_")
                    meta = {k: v for k, v in r.items() if k not in ("files", "kind", "seconds")}
                    members = {
                        "mp4": (self.root / r["files"]["video"]).read_bytes(),
                        "wav": (self.root / r["files"]["audio"]).read_bytes(),
                        "json": json.dumps(meta).encode(),
                        "face.npz": (self.root / r["files"]["face_info"]).read_bytes(),
                    }
                    if r["files"].get("audio_embeds"):
                        members["audio.npz"] = (self.root / r["files"]["audio_embeds"]).read_bytes()
                    row: dict[str, Any] = {
                        "key": key,
                        "clip_id": r["clip_id"],
                        "source_id": r.get("source_id"),
                        "shard": f"shards/{name}",
                        "frames": r["frames"],
                        "fps": r["fps"],
                        "duration": r["frames"] / r["fps"],
                    }
                    for ext, data in members.items():
                        info = tarfile.TarInfo(f"{key}.{ext}")
                        info.size = len(data)
                        header = len(
                            info.tobuf(tar.format, tar.encoding, tar.errors)
                        )  # with long-name records
                        col = ext.replace(".", "_")
                        row[f"{col}_offset"] = tar.offset + header
                        tar.addfile(info, io.BytesIO(data))
                        row[f"{col}_size"] = len(data)
                    index.append(row)
            tmp.replace(shard_dir / name)
            shards.append(shard_dir / name)
        for stale in shard_dir.glob("shard-*.tar"):  # shards of an earlier, larger assembly
            if stale not in shards:
                stale.unlink()
        table = pa.Table.from_pylist(index) if index else pa.table({"key": pa.array([], pa.string())})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        path = self.root / "index.parquet"
        write_atomic(path, buf.getvalue())
        return [path, *shards]
