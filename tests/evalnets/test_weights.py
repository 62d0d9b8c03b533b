"""The evaluation networks' weight sets: registered, fetchable by name, strict and pickle-free loading, and a
clear "not run" with the fetch command when absent."""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast import evalnets
from talkvid_fast.evalnets import inception as inception_module
from talkvid_fast.evalnets._checkpoint import read_state_dict
from talkvid_fast.evalnets.syncnet import SyncNet
from talkvid_fast.weights import WeightsMissing, get, set_dir, sha256_of
from talkvid_fast.weights.__main__ import main as weights_cli
from tests.evalnets.oracles import randomise

LOADERS: dict[str, Callable[[], object]] = {
    "inception_fid": evalnets.load_inception,
    "i3d_fvd": evalnets.load_i3d,
    "i3d_videogpt": lambda: evalnets.load_i3d(protocol="videogpt"),
    "syncnet_v2": evalnets.load_syncnet,
}


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", list(LOADERS))
def test_absent_weights_say_how_to_fetch(home: Path, name: str) -> None:
    with pytest.raises(WeightsMissing) as info:
        LOADERS[name]()
    message = str(info.value)
    assert f"not run: weights {name} absent" in message
    assert f"fetch with python -m talkvid_fast.weights fetch {name}" in message


def test_registered_and_listed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = {name: get(name).files[0].url or "" for name in LOADERS}
    assert urls["inception_fid"].endswith("/fid_weights/pt_inception-2015-12-05-6726825d.pth")
    assert urls["i3d_fvd"].endswith(
        "/5f751734ce9cef4cd2dddb235726b75dff62a387/fvd/styleganv/i3d_torchscript.pt"
    )
    assert urls["i3d_videogpt"].endswith("/fvd/videogpt/i3d_pretrained_400.pt")
    assert urls["syncnet_v2"].endswith("/lipsync/data/syncnet_v2.model")
    assert weights_cli(["list"]) == 0
    listed = capsys.readouterr().out
    assert all(f"{name}" in listed for name in LOADERS)


def test_syncnet_loads_from_the_cache(home: Path) -> None:
    state = randomise(SyncNet(), seed=5)
    folder = set_dir("syncnet_v2")
    folder.mkdir(parents=True)
    torch.save(state, folder / "syncnet_v2.model")
    embedder = evalnets.load_syncnet()
    assert torch.equal(embedder.net.state_dict()["netfclip.3.weight"], state["netfclip.3.weight"])


def test_syncnet_onnx_runtime_from_the_official_export(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader asks the engine layer for the export of its own weights: absent, a clear "not run" with the
    export command; after that command (into the default engine cache), ONNX Runtime gives torch's
    embeddings (max rel 1e-5)."""
    from talkvid_fast.engines.__main__ import main as engines_cli
    from talkvid_fast.stages._api import StageUnavailable

    monkeypatch.delenv("TALKVID_FAST_ENGINES", raising=False)
    folder = set_dir("syncnet_v2")
    folder.mkdir(parents=True)
    torch.save(randomise(SyncNet(), seed=7), folder / "syncnet_v2.model")
    command = "engines build --models syncnet_v2_audio --weights official --export-only"
    with pytest.raises(StageUnavailable, match=f"syncnet_v2_audio-syncnet_v2.onnx.*{command}"):
        evalnets.load_syncnet(runtime="onnxruntime")
    assert engines_cli(["build", "--models", "syncnet_v2", "--export-only"]) == 0
    ort, ref = evalnets.load_syncnet(runtime="onnxruntime"), evalnets.load_syncnet(runtime="torch")
    assert (ort.audio_engine.name, ort.lip_engine.name) == ("onnxruntime-cpu", "onnxruntime-cpu")
    wav = (np.random.default_rng(0).standard_normal(4000) * 3000).astype(np.int16)
    crops = torch.randint(0, 256, (6, 224, 224, 3), dtype=torch.uint8)
    for run in (lambda e: e.audio_embeddings(wav), lambda e: e.video_embeddings(crops)):
        got, want = run(ort), run(ref)
        assert float((got - want).abs().max() / want.abs().max()) <= 1e-5


def test_inception_file_must_carry_its_hash_prefix(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file under the right name whose sha256 does not start with 6726825d is refused; with the prefix
    made to match (the real file's check), the same file loads."""
    state = randomise(inception_module.FIDInception(), seed=6)
    folder = set_dir("inception_fid")
    folder.mkdir(parents=True)
    path = folder / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    with pytest.raises(WeightsMissing, match="sha256 does not start with 6726825d"):
        evalnets.load_inception()
    monkeypatch.setattr(inception_module, "INCEPTION_SHA256_PREFIX", sha256_of(path)[:8])
    features = evalnets.load_inception()
    assert torch.equal(features.net.state_dict()["fc.weight"], state["fc.weight"])


@pytest.mark.parametrize(
    ("protocol", "name", "file", "blob"),
    [
        ("styleganv", "i3d_fvd", "i3d_torchscript.pt", "93daef59c7ae"),
        ("videogpt", "i3d_videogpt", "i3d_pretrained_400.pt", "a867b87ac3a9"),
    ],
)
def test_i3d_file_must_be_the_repositorys_blob(
    home: Path, protocol: str, name: str, file: str, blob: str
) -> None:
    folder = set_dir(name)
    folder.mkdir(parents=True)
    (folder / file).write_bytes(b"not the detector")
    with pytest.raises(WeightsMissing, match=f"git blob sha1 {blob}"):
        evalnets.load_i3d(protocol=protocol)


def test_checkpoints_are_read_without_pickle(tmp_path: Path) -> None:
    """weights_only: a file holding a Python object other than tensors is refused, not unpickled."""
    path = tmp_path / "syncnet_v2.model"
    torch.save({"netfclip.3.weight": torch.zeros(1), "evil": argparse.Namespace(x=1)}, path)
    with pytest.raises(pickle.UnpicklingError, match=r"[Ww]eights only load failed"):
        read_state_dict(path)
