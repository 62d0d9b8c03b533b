"""Evaluation networks of the bench evaluator: FID Inception-v3, FVD I3D and SyncNet v2 (docs/evaluation_networks.md).

Each `load_*` reads its weight set (`python -m talkvid_fast.weights fetch inception_fid|i3d_fvd|i3d_videogpt|
syncnet_v2`) and raises WeightsMissing, with that command, when it is absent. The networks run at fp32 on
the given device through the engine layer (`runtime`: auto | tensorrt | torch | onnxruntime; Note [Evaluation
networks on the engine layer]); torch calls switch TF32 off. The bare modules (`FIDInception`, `InceptionI3d`, `SyncNet`) are
exported too, so tests can wrap them with random weights: `InceptionFeatures(FIDInception())`,
`I3DFeatures(InceptionI3d())`, `SyncNetEmbedder(SyncNet())`.
"""

from __future__ import annotations

from ._inception_i3d import InceptionI3d
from .i3d import PROTOCOLS, I3DFeatures, StyleGANVDetector, fvd_preprocess, load_i3d
from .inception import FIDInception, InceptionFeatures, fid_preprocess, load_inception
from .syncnet import SyncNet, SyncNetEmbedder, load_syncnet, mfcc_16k, sync_window_count

__all__ = [
    "PROTOCOLS",
    "FIDInception",
    "I3DFeatures",
    "InceptionFeatures",
    "InceptionI3d",
    "StyleGANVDetector",
    "SyncNet",
    "SyncNetEmbedder",
    "fid_preprocess",
    "fvd_preprocess",
    "load_i3d",
    "load_inception",
    "load_syncnet",
    "mfcc_16k",
    "sync_window_count",
]
