"""Evaluation networks of the bench evaluator: FID Inception-v3, FVD I3D and SyncNet v2 (docs/evaluation_networks.md).

Each `load_*` reads its weight set (`python -m talkvid_fast.weights fetch inception_fid|i3d_fvd|syncnet_v2`) and
raises WeightsMissing, with that command, when it is absent. The networks run in torch eager mode, fp32, on the
given device.
"""

from __future__ import annotations

from .i3d import I3DFeatures, fvd_preprocess, load_i3d
from .inception import InceptionFeatures, fid_preprocess, load_inception
from .syncnet import SyncNetEmbedder, load_syncnet, mfcc_16k, sync_window_count

__all__ = [
    "I3DFeatures",
    "InceptionFeatures",
    "SyncNetEmbedder",
    "fid_preprocess",
    "fvd_preprocess",
    "load_i3d",
    "load_inception",
    "load_syncnet",
    "mfcc_16k",
    "sync_window_count",
]
