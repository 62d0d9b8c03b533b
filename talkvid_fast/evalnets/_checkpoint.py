"""Strict loading of the evaluation networks' checkpoints (see Note [Weights] in talkvid_fast/weights)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..weights import WeightSet, locate


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
    """Every key, shape and dtype must match; only BatchNorm's `num_batches_tracked` may be missing (old
    checkpoints predate it and upstream loaders accept that too; it plays no part in eval mode)."""
    own = model.state_dict()
    missing = sorted(k for k in set(own) - set(state) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        k for k in own if k in state and (own[k].shape != state[k].shape or own[k].dtype != state[k].dtype)
    ]
    if missing or unexpected or wrong:
        raise ValueError(
            f"not a {what} checkpoint: {len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} "
            f"unexpected (e.g. {unexpected[:3]}), {len(wrong)} with another shape/dtype (e.g. {wrong[:3]})"
        )
    full = dict(own)  # keeps the model's own num_batches_tracked where the file has none
    full.update(state)
    model.load_state_dict(full, strict=True)
