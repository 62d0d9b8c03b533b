"""Active-speaker gate: Light-ASD on the clip's face track and audio (docs/speaker.md)."""

from __future__ import annotations

from .model import LightASD, load_light_asd

__all__ = ["LightASD", "load_light_asd"]
