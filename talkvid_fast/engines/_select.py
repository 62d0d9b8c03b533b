"""Device choice and the torch engine."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")


def pick_device(device: str = "auto") -> torch.device:
    """`auto` takes CUDA when torch sees a GPU, else the CPU; `cuda` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} asked for, but torch sees no CUDA GPU; allowed here: cpu, auto"
            )
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {device!r}; allowed: {', '.join(DEVICES)} or cuda:N")


def gpu_devices(n: int) -> list[str] | None:
    """`--gpus N`: the device names of one worker per GPU (None for 0); an error if torch sees fewer GPUs."""
    if n <= 0:
        return None
    seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if seen < n:
        raise ValueError(
            f"--gpus {n} asked for, but torch sees {seen} CUDA GPU(s); allowed here: --gpus 0..{seen}"
        )
    return [f"cuda:{i}" for i in range(n)]


class TorchEngine:
    """Runs a torch module in eval mode under inference_mode, in fp32 on CPU or a reduced precision on CUDA."""

    def __init__(self, module: torch.nn.Module, device: torch.device, precision: str = "fp32") -> None:
        if precision not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"precision {precision!r}; allowed: fp32, fp16, bf16")
        if device.type == "cpu" and precision != "fp32":
            raise ValueError("reduced precision needs CUDA; use fp32 on the CPU")
        self.module = module.to(device).eval()
        self.device = device
        self.dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        self.name = f"torch-{device.type}-{precision}"

    @torch.inference_mode()
    def __call__(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...] | torch.Tensor:
        args = [x.to(self.device, non_blocking=True) for x in inputs]
        if self.dtype is torch.float32:
            return self.module(*args)
        with torch.autocast(self.device.type, dtype=self.dtype):
            return self.module(*args)
