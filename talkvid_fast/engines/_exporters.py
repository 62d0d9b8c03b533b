"""The ONNX export step of `engines build`: one adapter per engine spec, calling the model package's exporter.

Note [Build weights]: `official` loads the graph's `weights_file` from its weight set (WeightsMissing, with
the fetch command, when absent); `random` exports the full architecture with seeded random weights (engines
for timing on a machine without weights); `tiny` exports the smallest graph of the same structure (DOVER's
tiny config, CoTracker at 64x64 with 8 queries and only the base segment length, the videogpt I3D at 9
frames; the other evaluation networks are small enough at full size) so tests can run the whole
build step on a CPU. Models without a random form (facemesh: its architecture is read from the .tflite
file, fetched from PyPI) use their official weights in every mode. The ONNX file name carries the weights
tag (`<graph>-<tag>.onnx`: DOVER, DOVER_plus_plus, scaled_online, random, tiny, ...), so engines of
different weights never share a cache key's ONNX hash by accident.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ._specs import EngineSpec, GraphSpec

WEIGHT_MODES = ("official", "random", "tiny")


@dataclass(frozen=True)
class Exporter:
    """How one model's graphs are exported."""

    export: Callable[[GraphSpec, Path, str, int], Path]  #: (graph, path, mode, opset) -> path
    has_random: bool = True  #: False: every mode uses the official weights
    shrink: Callable[[GraphSpec], GraphSpec] | None = None  #: the `tiny` shapes


def _check_mode(mode: str) -> None:
    if mode not in WEIGHT_MODES:
        raise ValueError(f"weights mode {mode!r}; allowed: {', '.join(WEIGHT_MODES)}")


def _export_dover(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..quality.export import export_dover
    from ..quality.model import DOVER, DoverConfig, build_dover

    if mode == "official":
        from ..quality.weights import DOVER as DOVER_SET
        from ..weights import locate

        model = build_dover(locate(DOVER_SET, graph.weights_file))
    else:
        torch.manual_seed(0)
        model = DOVER(DoverConfig.tiny() if mode == "tiny" else DoverConfig()).eval()
    return export_dover(model, path, opset=opset)


def _export_cotracker(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..motion import cotracker
    from ..motion.export import export_cotracker

    kind = str(graph.options.get("model", ""))
    if mode == "official":
        from ..motion.weights import COTRACKER
        from ..weights import locate

        model = cotracker.load(kind, str(locate(COTRACKER, graph.weights_file)))
    else:
        torch.manual_seed(0)
        model = cotracker.build(kind)
    frames, _, h, w = graph.input("video").shape
    queries = graph.input("queries").shape[0]
    return export_cotracker(model, path, frames=frames, queries=queries, size=(h, w), opset=opset)


def _shrink_cotracker(graph: GraphSpec) -> GraphSpec:
    frames, c, _, _ = graph.input("video").shape
    queries = graph.input("queries").shape
    return graph.with_shapes({"video": (frames, c, 64, 64), "queries": (min(queries[0], 8), queries[1])})


def _export_facemesh(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..head.export import export_detector, export_landmarks

    net = graph.options.get("net")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        if net == "detector":
            made = export_detector(Path(tmp), str(graph.options.get("kind", "full_range")))
        elif net == "landmarks":
            made = export_landmarks(Path(tmp))
        else:
            raise ValueError(
                f"facemesh graph {graph.name!r}: options.net {net!r}; allowed: detector, landmarks"
            )
        os.replace(made, path)
    return path


def _export_light_asd(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..speaker.export import export_light_asd
    from ..speaker.model import LightASD, load_light_asd

    if mode == "official":
        from ..speaker.weights import LIGHT_ASD
        from ..weights import locate

        model = load_light_asd(locate(LIGHT_ASD, graph.weights_file))
    else:  # random and tiny: the model is small, so tiny is the full graph with random weights
        torch.manual_seed(0)
        model = LightASD().eval()
    return export_light_asd(model, path, graph.input("video").shape[0] // 25, opset=opset)


def _export_transnetv2(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..shots.export import export_transnetv2
    from ..shots.transnetv2 import TransNetV2

    model = None
    if mode != "official":  # random and tiny: the full graph (it is small) with seeded weights
        torch.manual_seed(0)
        model = TransNetV2().eval()
    return export_transnetv2(path, model, opset)


def _export_inception(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..evalnets.export import export_inception
    from ..evalnets.inception import FIDInception, inception_weights, load_fid_inception

    if mode == "official":
        net = load_fid_inception(inception_weights())
    else:  # random and tiny: the full graph with seeded weights (the evaluation networks have no tiny form)
        torch.manual_seed(0)
        net = FIDInception().eval()
    return export_inception(net, path, opset, size=graph.input("images").shape[-1])


def _export_syncnet(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..evalnets.export import export_syncnet
    from ..evalnets.syncnet import SyncNet, load_syncnet_model
    from ..evalnets.weights import SYNCNET_FILE, SYNCNET_V2

    if mode == "official":
        from ..weights import locate

        net = load_syncnet_model(locate(SYNCNET_V2, SYNCNET_FILE))
    else:
        torch.manual_seed(0)
        net = SyncNet().eval()
    return export_syncnet(net, str(graph.options.get("tower", "")), path, opset)


def _export_i3d(graph: GraphSpec, path: Path, mode: str, opset: int) -> Path:
    from ..evalnets._inception_i3d import InceptionI3d
    from ..evalnets.export import export_i3d
    from ..evalnets.i3d import load_videogpt_i3d, videogpt_i3d_weights

    if mode == "official":
        net = load_videogpt_i3d(videogpt_i3d_weights())
    else:
        torch.manual_seed(0)
        net = InceptionI3d().eval()
    return export_i3d(net, path, graph.input("clips").shape[1], opset)


def _shrink_i3d(graph: GraphSpec) -> GraphSpec:
    return graph.with_shapes({"clips": (3, 9, 224, 224)})  # 9 frames: the fewest its final pool takes


EXPORTERS: dict[str, Exporter] = {
    "dover": Exporter(_export_dover),
    "cotracker3": Exporter(_export_cotracker, shrink=_shrink_cotracker),
    "facemesh": Exporter(_export_facemesh, has_random=False),
    "light_asd": Exporter(_export_light_asd),
    "transnetv2": Exporter(_export_transnetv2),
    "inception_fid": Exporter(_export_inception),
    "syncnet_v2": Exporter(_export_syncnet),
    "i3d_videogpt": Exporter(_export_i3d, shrink=_shrink_i3d),
}


def exporter(spec: EngineSpec) -> Exporter:
    if spec.name not in EXPORTERS:
        raise ValueError(f"no ONNX exporter for model {spec.name!r}; allowed: {', '.join(EXPORTERS)}")
    return EXPORTERS[spec.name]


def weights_tag(spec: EngineSpec, graph: GraphSpec, mode: str) -> str:
    """The tag in the ONNX file name: the weights file's stem for official weights, else the mode."""
    _check_mode(mode)
    if mode == "official" or not exporter(spec).has_random:
        return Path(graph.weights_file).stem
    return mode


def graphs_for(spec: EngineSpec, mode: str, only: set[str] | None = None) -> list[GraphSpec]:
    """The graphs (of names `only`) a build exports in `mode`; for `tiny` the base ones at tiny shapes."""
    _check_mode(mode)
    graphs = [g for g in spec.graphs if only is None or g.name in only]
    if mode != "tiny":
        return graphs
    shrink = exporter(spec).shrink
    return [shrink(g) if shrink else g for g in graphs if g.is_base]


def export_graph(spec: EngineSpec, graph: GraphSpec, path: Path, mode: str) -> Path:
    """Writes the ONNX file of `graph` (atomically, through the model package's exporter)."""
    _check_mode(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    return exporter(spec).export(graph, path, mode, spec.opset)
