"""A TFLite op graph rebuilt as PyTorch layers (NCHW), with the weights taken from the flatbuffer.

Note [TFLite to torch]: BlazeFace and Face Mesh are plain CNNs of a dozen builtin ops. Rather than
hand-copying each architecture (and risking a silent off-by-one in a block), we build the network
from the file's own op list: every CONV_2D / DEPTHWISE_CONV_2D becomes an `nn.Conv2d`, PRELU an
`nn.PReLU`-like layer with its alphas, and so on, wired in the file's order. Layout: TFLite is NHWC,
torch is NCHW; 4-D activations are kept NCHW and converted back to NHWC before a RESHAPE and at the
outputs, so the module's outputs equal the interpreter's tensors. TF "SAME" padding is asymmetric
(extra pixel bottom/right) and is applied explicitly. The leading 1 of a RESHAPE target becomes the
batch size, so the modules run batched and export with a dynamic batch axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._tflite_reader import TFLGraph, TFLOp

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _same_pads(size: int, k: int, stride: int, dil: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dil + 1 - size, 0)
    return total // 2, total - total // 2


def _act(x: torch.Tensor, code: int) -> torch.Tensor:
    if code == 0:
        return x
    if code == 1:
        return F.relu(x)
    if code == 3:
        return x.clamp(0.0, 6.0)
    raise ValueError(f"fused activation code {code} not supported; allowed: 0 (none), 1 (relu), 3 (relu6)")


class _Conv(nn.Module):
    def __init__(self, op: TFLOp, g: TFLGraph) -> None:
        super().__init__()
        w = g.tensors[op.inputs[1]].data
        b = g.tensors[op.inputs[2]].data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        assert w is not None
        depthwise = op.kind == "DEPTHWISE_CONV_2D"
        wt = torch.from_numpy(w.copy()).float()
        # CONV_2D weight (O, kh, kw, I) -> (O, I, kh, kw); DEPTHWISE (1, kh, kw, O) -> (O, 1, kh, kw)
        wt = wt.permute(3, 0, 1, 2) if depthwise else wt.permute(0, 3, 1, 2)
        self.weight = nn.Parameter(wt.contiguous(), requires_grad=False)
        bias = torch.zeros(wt.shape[0]) if b is None else torch.from_numpy(b.copy()).float()
        self.bias = nn.Parameter(bias, requires_grad=False)
        in_shape = g.tensors[op.inputs[0]].shape  # NHWC
        self.groups = in_shape[3] if depthwise else 1
        self.stride = op.options["stride"]
        self.dilation = op.options["dilation"]
        self.act = op.options["act"]
        kh, kw = wt.shape[2], wt.shape[3]
        if op.options["padding"] == 0:  # SAME
            top, bottom = _same_pads(in_shape[1], kh, self.stride[0], self.dilation[0])
            left, right = _same_pads(in_shape[2], kw, self.stride[1], self.dilation[1])
            self.pads = (left, right, top, bottom)
        else:
            self.pads = (0, 0, 0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, C, H, W) float32
        if any(self.pads):
            x = F.pad(x, self.pads)
        y = F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return _act(y, self.act)


class _PReLU(nn.Module):
    def __init__(self, op: TFLOp, g: TFLGraph) -> None:
        super().__init__()
        a = g.tensors[op.inputs[1]].data
        assert a is not None
        alpha = torch.from_numpy(a.copy()).float().reshape(-1)  # per channel (NHWC alpha (1, 1, C))
        self.alpha = nn.Parameter(alpha.reshape(1, -1, 1, 1), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, C, H, W)
        return torch.where(x >= 0, x, x * self.alpha)


class _Op(nn.Module):
    """Parameter-free ops; constant operands (pad widths, shapes, sizes) are stored as plain attributes."""

    def __init__(self, op: TFLOp, g: TFLGraph) -> None:
        super().__init__()
        self.kind = op.kind
        self.pads: tuple[int, ...] = ()
        self.options = dict(op.options)
        if op.kind == "PAD":
            p = g.tensors[op.inputs[1]].data
            assert p is not None  # (4, 2) NHWC before/after
            self.pads = (int(p[2, 0]), int(p[2, 1]), int(p[1, 0]), int(p[1, 1]), int(p[3, 0]), int(p[3, 1]))
            if int(p[0, 0]) or int(p[0, 1]):
                raise ValueError("PAD on the batch axis is not supported")
        if op.kind == "RESHAPE":
            shape = self.options.get("new_shape") or ()
            if not shape and len(op.inputs) > 1 and g.tensors[op.inputs[1]].data is not None:
                shape = tuple(int(v) for v in g.tensors[op.inputs[1]].data)  # type: ignore[union-attr]
            if not shape:
                shape = g.tensors[op.outputs[0]].shape
            self.new_shape = tuple(shape)
        if op.kind == "RESIZE_BILINEAR":
            size = g.tensors[op.inputs[1]].data
            assert size is not None
            self.size = (int(size[0]), int(size[1]))
            if not self.options["half_pixel_centers"] and not self.options["align_corners"]:
                raise ValueError("RESIZE_BILINEAR with legacy (asymmetric) sampling is not supported")
        if op.kind == "MAX_POOL_2D":
            in_shape = g.tensors[op.inputs[0]].shape
            kh, kw = op.options["kernel"]
            sh, sw = op.options["stride"]
            if op.options["padding"] == 0:
                top, bottom = _same_pads(in_shape[1], kh, sh, 1)
                left, right = _same_pads(in_shape[2], kw, sw, 1)
                self.pads = (left, right, top, bottom)
            else:
                self.pads = (0, 0, 0, 0)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        k = self.kind
        if k == "ADD":
            return _act(xs[0] + xs[1], self.options["act"])
        if k == "RELU":
            return F.relu(xs[0])
        if k == "PAD":
            return F.pad(xs[0], self.pads)
        if k == "MAX_POOL_2D":
            x = F.pad(xs[0], self.pads, value=float("-inf")) if any(self.pads) else xs[0]
            return _act(F.max_pool2d(x, self.options["kernel"], self.options["stride"]), self.options["act"])
        if k == "RESHAPE":
            x = xs[0].permute(0, 2, 3, 1) if xs[0].dim() == 4 else xs[0]
            return x.reshape(x.shape[0], *self.new_shape[1:])
        if k == "CONCATENATION":
            axis = self.options["axis"]
            if xs[0].dim() == 4:
                axis = _NHWC_TO_NCHW_AXIS[axis % 4]
            return _act(torch.cat(xs, dim=axis), self.options["act"])
        if k == "RESIZE_BILINEAR":
            return F.interpolate(
                xs[0], size=self.size, mode="bilinear", align_corners=self.options["align_corners"]
            )
        if k == "DEPTH_TO_SPACE":  # TF DCR order: channel = (i * bs + j) * C_out + c
            x = xs[0]
            bs = self.options["block"]
            n, c, h, w = x.shape
            x = x.reshape(n, bs, bs, c // (bs * bs), h, w).permute(0, 3, 4, 1, 5, 2)
            return x.reshape(n, c // (bs * bs), h * bs, w * bs)
        raise ValueError(f"TFLite op {k} not supported")


class TFLiteNet(nn.Module):
    """Runs a folded TFLite graph in torch. Input: (N, H, W, C) float32 NHWC like the interpreter."""

    def __init__(self, g: TFLGraph) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.wiring: list[tuple[list[int], int]] = []  # (activation inputs, output) per layer
        const = {t.index for t in g.tensors if t.data is not None}
        for op in g.ops:
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                layer: nn.Module = _Conv(op, g)
                ins = [op.inputs[0]]
            elif op.kind == "PRELU":
                layer, ins = _PReLU(op, g), [op.inputs[0]]
            else:
                layer = _Op(op, g)
                ins = [i for i in op.inputs if i >= 0 and i not in const]
                if op.kind == "ADD" and len(ins) != 2:
                    raise ValueError("ADD with a constant operand is not supported")
            self.layers.append(layer)
            self.wiring.append((ins, op.outputs[0]))
        self.input_index = g.inputs[0]
        self.output_indices = list(g.outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:  # x: (N, H, W, C) float32
        env: dict[int, torch.Tensor] = {self.input_index: x.permute(0, 3, 1, 2)}
        for layer, (ins, out) in zip(self.layers, self.wiring, strict=True):
            if isinstance(layer, _Op):
                env[out] = layer([env[i] for i in ins])
            else:
                env[out] = layer(env[ins[0]])
        outs = [env[i] for i in self.output_indices]
        return tuple(o.permute(0, 2, 3, 1) if o.dim() == 4 else o for o in outs)
