"""The `cotracker` weight set: CoTracker3 checkpoints from Hugging Face (facebook/cotracker3)."""

from __future__ import annotations

from ..weights import WeightFile, WeightSet, register

_HF = "https://huggingface.co/facebook/cotracker3/resolve/main"

COTRACKER = register(
    WeightSet(
        name="cotracker",
        files=(
            # sha256 not published upstream: checked after the first verified download, when known
            WeightFile("scaled_offline.pth", url=f"{_HF}/scaled_offline.pth"),
            WeightFile("scaled_online.pth", url=f"{_HF}/scaled_online.pth"),
        ),
        license="CC-BY-NC-4.0",
        description="CoTracker3 offline (window 60) and online (window 16), pseudo-label fine-tuned",
        notes=("plain state_dicts; loaded with torch.load(weights_only=True) and strict=True",),
    )
)

#: checkpoint kind -> file name
CHECKPOINTS = {"offline": "scaled_offline.pth", "online": "scaled_online.pth"}
