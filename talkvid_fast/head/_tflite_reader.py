"""A dependency-free reader of `.tflite` flatbuffers: the op graph, tensor shapes and weights.

Note [TFLite reader]: a `.tflite` file is a flatbuffer with the schema `tensorflow/lite/schema/schema.fbs`.
We read only what a float inference graph needs: Model.{operator_codes, subgraphs[0], buffers},
SubGraph.{tensors, inputs, outputs, operators}, Tensor.{shape, type, buffer, name, sparsity} and the
builtin options of the ops we implement. Two kinds of ops only transform constants and are folded here,
at load time: DEQUANTIZE (float16 weights -> float32) and DENSIFY (block-sparse weights -> dense, the
algorithm of TFLite's `FormatConverter::Populate`, vectorised). What remains is a graph of compute ops
that `_tflite_graph.TFLiteNet` runs in PyTorch. Field numbers below are the schema's field ids.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# BuiltinOperator codes (schema.fbs) of the ops these models use.
OPCODES = {
    0: "ADD",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    17: "MAX_POOL_2D",
    19: "RELU",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    5: "DEPTH_TO_SPACE",
    34: "PAD",
    54: "PRELU",
    124: "DENSIFY",
}
_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


class _Table:
    """One flatbuffer table: `field(i)` gives the absolute position of field id i, or None when absent."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt = vt
        self.vt_len = struct.unpack_from("<H", buf, vt)[0]

    def field(self, i: int) -> int | None:
        off = 4 + 2 * i
        if off >= self.vt_len:
            return None
        rel = struct.unpack_from("<H", self.buf, self.vt + off)[0]
        return None if rel == 0 else self.pos + rel

    def scalar(self, i: int, fmt: str, default: Any = 0) -> Any:
        p = self.field(i)
        return default if p is None else struct.unpack_from("<" + fmt, self.buf, p)[0]

    def _deref(self, i: int) -> int | None:
        p = self.field(i)
        return None if p is None else p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, i: int) -> _Table | None:
        p = self._deref(i)
        return None if p is None else _Table(self.buf, p)

    def vector(self, i: int, dtype: Any) -> np.ndarray:
        p = self._deref(i)
        if p is None:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, p)[0]
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=p + 4)

    def tables(self, i: int) -> list[_Table]:
        p = self._deref(i)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        out = []
        for k in range(n):
            q = p + 4 + 4 * k
            out.append(_Table(self.buf, q + struct.unpack_from("<I", self.buf, q)[0]))
        return out

    def string(self, i: int) -> str:
        return bytes(self.vector(i, np.uint8)).decode("utf-8", "replace")


@dataclass
class TFLTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: Any
    data: np.ndarray | None  #: constant value (already dequantized / densified), None for activations


@dataclass
class TFLOp:
    kind: str  #: e.g. "CONV_2D"
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TFLGraph:
    tensors: list[TFLTensor]
    ops: list[TFLOp]  #: compute ops in execution order (constant-only ops folded away)
    inputs: list[int]
    outputs: list[int]


def _options(kind: str, t: _Table | None) -> dict[str, Any]:
    if t is None:
        return {}
    if kind == "CONV_2D":
        return {
            "padding": t.scalar(0, "b"),
            "stride": (t.scalar(2, "i"), t.scalar(1, "i")),
            "act": t.scalar(3, "b"),
            "dilation": (t.scalar(5, "i", 1), t.scalar(4, "i", 1)),
        }
    if kind == "DEPTHWISE_CONV_2D":
        return {
            "padding": t.scalar(0, "b"),
            "stride": (t.scalar(2, "i"), t.scalar(1, "i")),
            "multiplier": t.scalar(3, "i"),
            "act": t.scalar(4, "b"),
            "dilation": (t.scalar(6, "i", 1), t.scalar(5, "i", 1)),
        }
    if kind == "MAX_POOL_2D":
        return {
            "padding": t.scalar(0, "b"),
            "stride": (t.scalar(2, "i"), t.scalar(1, "i")),
            "kernel": (t.scalar(4, "i"), t.scalar(3, "i")),
            "act": t.scalar(5, "b"),
        }
    if kind in ("ADD", "CONCATENATION"):
        # AddOptions: fused_activation_function(0); ConcatenationOptions: axis(0), fused_activation(1)
        return (
            {"act": t.scalar(0, "b")}
            if kind == "ADD"
            else {"axis": t.scalar(0, "i"), "act": t.scalar(1, "b")}
        )
    if kind == "RESHAPE":
        return {"new_shape": tuple(int(v) for v in t.vector(0, np.int32))}
    if (
        kind == "RESIZE_BILINEAR"
    ):  # ResizeBilinearOptions: new_h(0), new_w(1) deprecated, align_corners(2), hpc(3)
        return {"align_corners": bool(t.scalar(2, "B")), "half_pixel_centers": bool(t.scalar(3, "B"))}
    if kind == "DEPTH_TO_SPACE":
        return {"block": t.scalar(0, "i")}
    return {}


def _densify(values: np.ndarray, shape: tuple[int, ...], sparsity: _Table) -> np.ndarray:
    """Dense array of a block-sparse constant (TFLite `FormatConverter`, one numpy pass per level)."""
    traversal = [int(v) for v in sparsity.vector(0, np.int32)]
    block_map = [int(v) for v in sparsity.vector(1, np.int32)]
    metas = sparsity.tables(2)
    rank = len(shape)
    # paths: per traversal level, the index at that level; prev: the linear position feeding the next level
    prev = np.zeros(1, np.int64)
    idx: list[np.ndarray] = []
    for meta in metas:
        if meta.scalar(0, "b") == 0:  # DENSE
            size = meta.scalar(1, "i")
            idx = [np.repeat(a, size) for a in idx]
            here = np.tile(np.arange(size, dtype=np.int64), len(prev))
            prev = np.repeat(prev, size) * size + here
            idx.append(here)
        else:  # SPARSE_CSR: segments/indices are unions of Int32/Uint16/Uint8 vectors (field `values` = 0)
            seg_t, ind_t = meta.scalar(2, "B"), meta.scalar(4, "B")
            kinds = {1: np.int32, 2: np.uint16, 3: np.uint8}
            segs = meta.table(3).vector(0, kinds[seg_t]).astype(np.int64)  # type: ignore[union-attr]
            inds = meta.table(5).vector(0, kinds[ind_t]).astype(np.int64)  # type: ignore[union-attr]
            counts = segs[prev + 1] - segs[prev]
            starts = np.repeat(segs[prev], counts)
            offs = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            pos = starts + offs
            idx = [np.repeat(a, counts) for a in idx]
            idx.append(inds[pos])
            prev = pos
    orig = [np.zeros(0, np.int64)] * rank
    for level in range(rank):
        orig[traversal[level]] = idx[level]
    block_sizes = [metas[rank + b].scalar(1, "i") for b in range(len(block_map))]
    for level in range(rank, len(traversal)):
        b = traversal[level] - rank
        d = block_map[b]
        orig[d] = orig[d] * block_sizes[b] + idx[level]
    dense = np.zeros(shape, values.dtype)
    if len(values) != len(idx[0]):
        raise ValueError(f"densify: {len(values)} values for {len(idx[0])} positions")
    dense[tuple(orig)] = values
    return dense


def read_tflite(path: str | Path) -> TFLGraph:
    """Parses a float `.tflite` model into a folded op graph (see Note [TFLite reader])."""
    buf = Path(path).read_bytes()
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = []
    for oc in model.tables(1):
        code = max(oc.scalar(0, "b"), oc.scalar(3, "i"))
        codes.append(OPCODES.get(code, f"BUILTIN_{code}"))
    buffers = [b.vector(0, np.uint8) for b in model.tables(4)]
    sub = model.tables(2)[0]
    tensors: list[TFLTensor] = []
    sparse: dict[int, _Table] = {}
    for i, t in enumerate(sub.tables(0)):
        shape = tuple(int(v) for v in t.vector(0, np.int32))
        dtype = _TYPES.get(t.scalar(1, "b"), np.float32)
        raw = buffers[t.scalar(2, "I")] if t.scalar(2, "I") < len(buffers) else np.zeros(0, np.uint8)
        data = None
        if raw.size:
            data = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).copy()
            sp = t.table(6)
            if sp is not None:
                sparse[i] = sp
            else:
                data = data.reshape(shape)
        tensors.append(TFLTensor(i, t.string(3), shape, dtype, data))
    ops: list[TFLOp] = []
    for op in sub.tables(3):
        kind = codes[op.scalar(0, "I")]
        ins = [int(v) for v in op.vector(1, np.int32)]
        outs = [int(v) for v in op.vector(2, np.int32)]
        if kind == "DENSIFY":
            src = tensors[ins[0]]
            assert src.data is not None
            tensors[outs[0]].data = _densify(src.data, tensors[outs[0]].shape, sparse[ins[0]])
            continue
        if kind == "DEQUANTIZE" and tensors[ins[0]].data is not None:
            tensors[outs[0]].data = np.asarray(tensors[ins[0]].data, np.float32).reshape(
                tensors[outs[0]].shape
            )
            continue
        ops.append(TFLOp(kind, ins, outs, _options(kind, op.table(4))))
    inputs = [int(v) for v in sub.vector(1, np.int32)]
    outputs = [int(v) for v in sub.vector(2, np.int32)]
    return TFLGraph(tensors, ops, inputs, outputs)
