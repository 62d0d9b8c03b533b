"""ONNX export of DOVER: static 32x224x224 clips, dynamic clip batch per branch (engines/dover.toml).

Inputs `tech_view` float32 (tech_clips, 3, 32, 224, 224) and `aes_view` float32 (aes_clips, 3, 32, 224, 224);
outputs `technical` (tech_clips,) and `aesthetic` (aes_clips,), the per-clip pooled head outputs (Note
[DOVER outputs]: named, so no index can be swapped). The fragment bias is formed in the graph from the
small per-window id buffers (Note [Fragment position bias]), so the file is the weights plus ~15 MB of
relative-position indices, not the 1.6 GB of lifted gpi constants of a naive export.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .model import DOVER

INPUT_NAMES = ("tech_view", "aes_view")
OUTPUT_NAMES = ("technical", "aesthetic")
DYNAMIC_AXES = {
    "tech_view": {0: "tech_clips"},
    "aes_view": {0: "aes_clips"},
    "technical": {0: "tech_clips"},
    "aesthetic": {0: "aes_clips"},
}


def example_inputs(
    model: DOVER, tech_clips: int = 2, aes_clips: int = 1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random normalised inputs of the model's static clip shape: (tech (Bt,3,T,S,S), aes (Ba,3,T,S,S))."""
    g = torch.Generator().manual_seed(seed)
    shape = (3, model.config.frames, model.config.size, model.config.size)
    return torch.randn((tech_clips, *shape), generator=g), torch.randn((aes_clips, *shape), generator=g)


@contextmanager
def traced_index_buffers(model: torch.nn.Module) -> Iterator[None]:
    """Makes the non-persistent index buffers (frag_h, frag_w, region) persistent while exporting.

    The TorchScript exporter traces only state_dict entries as graph values; a non-persistent buffer is
    a Python constant to it, and every op on it (the (nW, 1, N, N) gate, the shift mask) would be baked
    into the file as a huge constant. As initializers they stay small and the bias is formed in-graph."""
    saved = [(m, set(m._non_persistent_buffers_set)) for m in model.modules()]
    try:
        for m, names in saved:
            m._non_persistent_buffers_set.difference_update(names)
        yield
    finally:
        for m, names in saved:
            m._non_persistent_buffers_set.update(names)


def export_dover(model: DOVER, path: str | Path, opset: int = 17) -> Path:
    """Writes the ONNX file atomically (TorchScript exporter: named dynamic axes, TensorRT-friendly ops)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    try:
        with torch.no_grad(), traced_index_buffers(model):
            torch.onnx.export(
                model,
                example_inputs(model),
                tmp,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_axes=DYNAMIC_AXES,
                opset_version=opset,
                # Folding would lift every (nW, nH, N, N) bias to a constant (a 1.6 GB file); ONNX Runtime and
                # TensorRT fold it at session/engine build instead.
                do_constant_folding=False,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ort_session(path: str | Path, threads: int = 0):
    """ONNX Runtime CPU session for an exported DOVER file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def parity(
    model: DOVER, path: str | Path, tech_clips: int = 2, aes_clips: int = 1, seed: int = 1
) -> dict[str, float]:
    """Runs torch and ONNX Runtime on the same random clips; returns max |difference| per output."""
    tech, aes = example_inputs(model, tech_clips, aes_clips, seed)
    with torch.inference_mode():
        t_ref, a_ref = model(tech, aes)
    sess = ort_session(path)
    t_ort, a_ort = sess.run(list(OUTPUT_NAMES), {"tech_view": tech.numpy(), "aes_view": aes.numpy()})
    return {
        "technical_max_abs": float(np.abs(t_ort - t_ref.numpy()).max()),
        "aesthetic_max_abs": float(np.abs(a_ort - a_ref.numpy()).max()),
        "technical_scale": float(np.abs(t_ref.numpy()).max()),
        "aesthetic_scale": float(np.abs(a_ref.numpy()).max()),
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m talkvid_fast.quality.export OUT.onnx [--weights DOVER.pth|DOVER_plus_plus.pth|random]`."""
    import argparse
    import sys

    from ..weights import WeightsMissing, locate
    from .model import build_dover
    from .weights import DOVER as DOVER_SET

    ap = argparse.ArgumentParser(prog="python -m talkvid_fast.quality.export", description=main.__doc__)
    ap.add_argument("out")
    ap.add_argument("--weights", default="DOVER.pth", choices=["DOVER.pth", "DOVER_plus_plus.pth", "random"])
    args = ap.parse_args(argv)
    if args.weights == "random":
        torch.manual_seed(0)
        model = build_dover(None)
    else:
        try:
            model = build_dover(locate(DOVER_SET, args.weights))
        except WeightsMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    path = export_dover(model, args.out)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
