"""Strict state-dict loading shared by every model port (kept out of `weights/__init__` so the weights CLI
does not import torch)."""

from __future__ import annotations

import torch
from torch import nn


def load_state_strict(
    model: nn.Module, state: dict[str, torch.Tensor], what: str, may_lack: tuple[str, ...] = ()
) -> None:
    """Every key, shape and dtype must match (load_state_dict alone would cast dtypes silently); keys ending
    in one of `may_lack` may be missing from `state` and keep the model's own value (BatchNorm's
    `num_batches_tracked`: old checkpoints predate it, upstream loaders accept that, eval mode ignores it)."""
    own = model.state_dict()
    missing = sorted(k for k in set(own) - set(state) if not k.endswith(may_lack))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        k for k in own if k in state and (own[k].shape != state[k].shape or own[k].dtype != state[k].dtype)
    ]
    if missing or unexpected or wrong:
        raise ValueError(
            f"not a {what} state dict: {len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} "
            f"unexpected (e.g. {unexpected[:3]}), {len(wrong)} with another shape/dtype (e.g. {wrong[:3]})"
        )
    full = dict(own)
    full.update(state)
    model.load_state_dict(full, strict=True)
