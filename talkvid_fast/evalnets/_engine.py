"""The evaluation networks behind the engine layer (Note [Evaluation networks on the engine layer]).

Note [Evaluation networks on the engine layer]: the networks we own (FID Inception, SyncNet's audio and lip
towers, the `videogpt` I3D) run through `open_model_engine` like the filters' models, always at fp32 (their
specs list fp32 first; Note [Metrics in fp32]). `runtime`:
  * `auto` (default): TensorRT when its fp32 engine for these weights is built for this GPU, else torch;
  * `tensorrt`: TensorRT or StageUnavailable with the `engines build` command (ValueError on the CPU);
  * `onnxruntime`: ONNX Runtime on the CPU from the exported ONNX file (StageUnavailable with the export
    command when it is absent, or when the device is not the CPU);
  * `torch`: the module itself.
An engine is only taken for known weights: `weights_tag` names the weights the ONNX file was exported from
(the loaders pass the weight file's stem). A network built from other weights (tests' random ones) passes
None and runs on torch, unless the caller exported it itself and names that export's tag. StyleGAN-V's
TorchScript I3D runs through the same object with runtime torch only: it has no spec (we have no source
module to export, only the TorchScript archive).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..engines import RUNTIMES, ModelEngine, open_model_engine


def open_evalnet(
    graph: str,
    module: torch.nn.Module,
    device: torch.device,
    runtime: str = "auto",
    weights_tag: str | None = None,
    out: str | Path | None = None,
) -> ModelEngine:
    """`module` (graph `graph` of engines/*.toml) on `runtime`, fp32; see the Note above."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}; allowed: {', '.join(RUNTIMES)}")
    if runtime == "tensorrt" and device.type != "cuda":  # open_model_engine would run torch on the CPU
        raise ValueError(
            f"runtime 'tensorrt' needs a CUDA device, not {device}; allowed on the CPU: auto, torch, onnxruntime"
        )
    if weights_tag is None:
        if runtime in ("tensorrt", "onnxruntime"):
            raise ValueError(
                f"runtime {runtime!r} for {graph} needs the weights_tag of its export (the loaders pass it); "
                "allowed without one: auto, torch"
            )
        runtime = "torch"
    return open_model_engine(graph, module, device, "fp32", runtime, weights_tag=weights_tag or "", out=out)
