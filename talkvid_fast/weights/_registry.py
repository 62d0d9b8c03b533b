"""Every weight set the engine knows. Each model package adds its entry here."""

from __future__ import annotations

from ._store import WeightSet

# name -> WeightSet. Entries: dover (quality), cotracker (motion), facemesh / insightface (head),
# transnetv2 (shots), silero_vad (vad), inception_fid / i3d_fvd / i3d_videogpt / syncnet_v2 (evalnets),
# wav2vec2_base_960h (prepare).
WEIGHT_SETS: dict[str, WeightSet] = {}


def register(ws: WeightSet) -> WeightSet:
    WEIGHT_SETS[ws.name] = ws
    return ws


def get(name: str) -> WeightSet:
    _load_all()
    if name not in WEIGHT_SETS:
        raise ValueError(
            f"unknown weight set {name!r}; allowed: {', '.join(sorted(WEIGHT_SETS)) or '(none)'}"
        )
    return WEIGHT_SETS[name]


def _load_all() -> None:
    # The model packages declare their weight sets in `<package>/weights.py`; importing them registers.
    import importlib

    for module in (
        "talkvid_fast.quality.weights",
        "talkvid_fast.motion.weights",
        "talkvid_fast.head.weights",
        "talkvid_fast.speaker.weights",
        "talkvid_fast.shots.weights",
        "talkvid_fast.vad.weights",
        "talkvid_fast.evalnets.weights",
        "talkvid_fast.prepare.weights",
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module and not module.startswith(str(exc.name)):
                raise


def all_sets() -> dict[str, WeightSet]:
    _load_all()
    return dict(WEIGHT_SETS)
