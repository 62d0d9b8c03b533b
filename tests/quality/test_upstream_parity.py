"""DOVER, the whole model and its scores, against upstream DOVER's own modules and TalkVid's scoring code.

Oracles (../shared/upstream): DOVER's `dover/models` (the `DOVER` evaluator as dover.yml builds it: both
backbones, the divided heads, its forward and pooling) and TalkVid's `onnx_inference.py` (`fuse_results`,
`rescale_results`: the fused and TalkVid DOVER scores). Identical random weights: ours are drawn, then loaded
strictly into upstream's modules (every key, nothing left over).

Stubbed, as narrowly as the test allows: `timm`'s `trunc_normal_` / `DropPath` / `register_model` when timm is
not installed (it is not in the test extra: it would pull torchvision; these are init and training-only parts:
weights are overwritten, DropPath is the identity in eval), and `einops.rearrange` only when einops (in the test
extra) is missing; `torchvision.ops` (the unused ROI heads import it); `decord` and `dover.datasets` for
onnx_inference.py (its video reading is not exercised); in the evaluator, the backbone factories, so that the
default test builds upstream's own SwinTransformer3D / ConvNeXt3D classes at our `DoverConfig.tiny()` sizes
(`convnext_3d_tiny(pretrained=True)` would also download ImageNet weights). The full-size model is compared
by the slow test. The reference prediction sets (`dover_predictions/val-*.pkl`, not shipped) are replaced by
arrays with the same length, mean and population std as the real ones (scores.REFERENCE_SETS): the appended
z-score depends on nothing else.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from talkvid_fast.quality.model import DOVER, DoverConfig
from talkvid_fast.quality.scores import REFERENCE_SETS, clip_scores
from tests.upstream import load_file, patched_modules, stub_module, upstream_dir

DOVER_SCRIPT = ("talkvid", "data_pipeline", "2_video_quality_motion_filtering", "dover")


def _rearrange(x: torch.Tensor, pattern: str) -> torch.Tensor:  # the permutations upstream uses
    src, dst = (p.split() for p in pattern.split("->"))
    return x.permute(*[src.index(a) for a in dst])


def _stubs() -> dict[str, Any]:
    stubs: dict[str, Any] = {"torchvision": stub_module("torchvision")}
    stubs["torchvision.ops"] = stub_module("torchvision.ops", roi_align=None, roi_pool=None)
    if importlib.util.find_spec("einops") is None:
        stubs["einops"] = stub_module("einops", rearrange=_rearrange)
    if importlib.util.find_spec("timm") is None:
        identity = lambda *a, **k: torch.nn.Identity()  # noqa: E731
        stubs["timm"] = stub_module("timm")
        stubs["timm.models"] = stub_module("timm.models")
        stubs["timm.models.layers"] = stub_module(
            "timm.models.layers", trunc_normal_=torch.nn.init.trunc_normal_, DropPath=identity
        )
        stubs["timm.models.registry"] = stub_module("timm.models.registry", register_model=lambda f: f)
    return stubs


def upstream_dover(config: DoverConfig) -> torch.nn.Module:
    """Upstream's `DOVER` evaluator built from dover.yml's model args, backbones at `config`'s sizes."""
    root = upstream_dir("dover")
    args = yaml.safe_load((root / "dover.yml").read_text())["model"]["args"]
    # a bare `dover` package: its __init__ imports dover.datasets (not in the shared copy, not exercised)
    package = stub_module("dover", __path__=[str(root / "dover")])
    with patched_modules({**_stubs(), "dover": package}, root):
        import importlib

        models = importlib.import_module("dover.models.evaluator")
        conv_backbone = importlib.import_module("dover.models.conv_backbone")
        swin = functools.partial(
            models.VideoBackbone,
            embed_dim=config.swin_dim,
            depths=list(config.swin_depths),
            num_heads=list(config.swin_heads),
            base_x_size=(config.frames, config.size, config.size),
        )
        conv = functools.partial(
            conv_backbone.ConvNeXt3D, depths=list(config.conv_depths), dims=list(config.conv_dims)
        )
        saved = models.VideoBackbone, models.convnext_3d_tiny
        models.VideoBackbone, models.convnext_3d_tiny = swin, lambda pretrained=False: conv()  # type: ignore[attr-defined]
        try:
            head = {"in_channels": config.conv_dims[-1], "hidden_channels": config.head_hidden}
            model = models.DOVER(**{**args, "vqa_head": {**args["vqa_head"], **head}})
        finally:
            models.VideoBackbone, models.convnext_3d_tiny = saved  # type: ignore[attr-defined]
    return model.eval()


def _random_state(model: DOVER, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        k: (torch.randn(v.shape, generator=g) * 0.05 if v.is_floating_point() else v)
        for k, v in model.state_dict().items()
    }


def _views(seed: int, config: DoverConfig, tech_clips: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (3, config.frames, config.size, config.size)
    return torch.randn(tech_clips, *shape, generator=g), torch.randn(1, *shape, generator=g)


def _compare(config: DoverConfig, seeds: range, tech_clips: int) -> None:
    """Per seed: upstream's score maps pooled as evaluate_one_video does == ours, bit for bit; then the fused
    and TalkVid scores from upstream's scoring code == ours."""
    ours = DOVER(config).eval()
    theirs = upstream_dover(config)
    order = list(
        yaml.safe_load((upstream_dir("dover") / "dover.yml").read_text())["data"]["val-l1080p"]["args"][
            "sample_types"
        ]
    )
    assert order == ["technical", "aesthetic"]  # DOVER's views (and so its results) come in this order
    for seed in seeds:
        state = _random_state(ours, seed)
        ours.load_state_dict(state, strict=True)
        theirs.load_state_dict(state, strict=True)  # same keys, nothing missing or left over
        tech, aes = _views(100 + seed, config, tech_clips)
        with torch.inference_mode():
            maps = theirs({"technical": tech, "aesthetic": aes}, inference=True, reduce_scores=False)
            t_ours, a_ours = ours(tech, aes)
        theirs.eval()  # upstream's forward leaves the module in train mode
        t_up, a_up = (m.mean((1, 2, 3, 4)) for m in maps)  # per clip, as the ONNX export pools
        # bit-identical: the same operations in the same order on the same weights (no tolerance needed)
        assert torch.equal(t_ours, t_up) and torch.equal(a_ours, a_up), seed
        # over clips: the stage (and TalkVid's ONNX path) averages the per-clip values, evaluate_one_video
        # the whole map: the same mean up to float32 summation order
        results = [float(t_up.mean()), float(a_up.mean())]
        for m, r in zip(maps, results, strict=True):
            assert float(m.mean()) == pytest.approx(r, rel=1e-5, abs=1e-7)
        check_scores(clip_scores(float(t_ours.mean()), float(a_ours.mean())), results)


@functools.cache
def _scoring() -> Any:
    root = upstream_dir(*DOVER_SCRIPT)
    stubs = {
        "decord": stub_module("decord"),
        "dover": stub_module("dover"),
        "dover.datasets": stub_module("dover.datasets"),
    }
    with patched_modules(stubs):
        return load_file(root / "onnx_inference.py", "_talkvid_onnx_inference")


def reference_pickles(folder: Path) -> None:
    """dover_predictions/val-*.pkl with the real sets' N, mean and population std (float64)."""
    out = folder / "dover_predictions"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for s in REFERENCE_SETS:
        arrays = {}
        for key, mean, std in (
            ("fragments", s.fragments_mean, s.fragments_std),
            ("resize", s.resize_mean, s.resize_std),
        ):
            z = rng.standard_normal(s.n)
            arrays[key] = mean + std * (z - z.mean()) / z.std()
        (out / f"val-{s.name}.pkl").write_bytes(pickle.dumps(arrays))


def check_scores(scores: dict[str, float], results: list[float]) -> None:
    """results = [technical, aesthetic] in DOVER's order; TalkVid hands rescale_results the ONNX order
    [aesthetic, technical] (MinimumDOVER's outputs) and reads the overall technical z-score."""
    up = _scoring()
    # fused: the same formula and constants as DOVER's evaluate_one_video (float64 both)
    assert scores["dover_fused"] == pytest.approx(float(up.fuse_results(results)), rel=1e-12)
    talkvid = up.rescale_results([results[1], results[0]])["overall"]["technical_quality"]["normalized_score"]
    if scores["dover_score"] != talkvid:
        # allowed only where the unrounded mean z-score sits on a rounding boundary: our closed form and
        # upstream's array z-scores differ by ~1e-15 (upstream's own gaussian_rescale on the same sets)
        sets = [
            pickle.loads(p.read_bytes())["fragments"] for p in sorted(Path("dover_predictions").glob("*.pkl"))
        ]
        mean_z = np.mean([up.gaussian_rescale(np.concatenate(([results[1]], f)))[0] for f in sets])
        assert abs(abs(mean_z * 100) % 1 - 0.5) < 1e-9, (scores["dover_score"], talkvid, mean_z)


def test_dover_whole_model_and_scores_equal_upstream_tiny(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference_pickles(tmp_path)
    monkeypatch.chdir(tmp_path)  # rescale_results opens dover_predictions/ relative to the working directory
    # 16 frames instead of 32 and one seed keep it to a few seconds; the full size is the slow test's
    _compare(replace(DoverConfig.tiny(), frames=16), range(1), tech_clips=2)


def test_talkvid_dover_score_equals_rescale_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The score over the aesthetic range that matters (raw -0.2 .. 0.4, i.e. TalkVid scores -2.5 .. 12)."""
    reference_pickles(tmp_path)
    monkeypatch.chdir(tmp_path)
    for a in np.linspace(-0.2, 0.4, 301):
        check_scores(clip_scores(0.0, float(a)), [0.0, float(a)])


@pytest.mark.slow
def test_dover_whole_model_equals_upstream_full_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference_pickles(tmp_path)
    monkeypatch.chdir(tmp_path)
    _compare(DoverConfig(), range(1), tech_clips=3)
