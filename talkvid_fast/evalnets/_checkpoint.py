"""Strict loading of the evaluation networks' checkpoints (see Note [Weights] in talkvid_fast/weights)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..weights import WeightSet, locate
from ..weights._strict import load_state_strict as _load_state_strict


def weights_file(ws: WeightSet, file_name: str, what: str) -> Path:
    """The verified path of a weight file; when absent, WeightsMissing reads
    "<what> not run: weights NAME absent at PATH. fetch with python -m talkvid_fast.weights fetch NAME"."""
    from ..weights import WeightsMissing, fetch_command, set_dir

    path = set_dir(ws.name) / file_name
    if not path.is_file():
        raise WeightsMissing(
            f"{what} not run: weights {ws.name} absent at {path}", f"fetch with {fetch_command(ws.name)}"
        )
    return locate(ws, file_name)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """`torch.load(weights_only=True)`: tensors only, never arbitrary pickled objects."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return state


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Every key, shape and dtype must match; only BatchNorm's `num_batches_tracked` may be missing."""
    _load_state_strict(model, state, what, may_lack=("num_batches_tracked",))
