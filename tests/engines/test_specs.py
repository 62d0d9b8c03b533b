"""engines/*.toml: the repository's specs parse into one schema, agree with the exporters, and bad specs
fail with errors that name the key and list the allowed values."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import tomllib

from talkvid_fast.engines._specs import SpecError, find_graph, load_specs, parse_spec, select_graphs, spec_dir

GOOD: dict[str, Any] = {
    "name": "m",
    "weights": "mw",
    "precision": ["fp16", "fp32"],
    "graph": [
        {
            "name": "g",
            "weights_file": "m.pth",
            "outputs": ["y"],
            "batch": {"min": 1, "opt": 2, "max": 4},
            "inputs": {"x": {"shape": [5, 3]}, "q": {"shape": [7], "batch": {"min": 1, "opt": 1, "max": 1}}},
        }
    ],
}


def test_repository_specs() -> None:
    specs = load_specs()
    assert sorted(specs) == [
        "cotracker3", "dover", "facemesh", "i3d_videogpt", "inception_fid", "light_asd", "syncnet_v2", "transnetv2"
    ]  # fmt: skip
    for metric in ("inception_fid", "syncnet_v2", "i3d_videogpt"):  # metrics run fp32 by default
        assert specs[metric].default_precision == "fp32"
    assert [g.name for g in specs["syncnet_v2"].graphs] == ["syncnet_v2_audio", "syncnet_v2_lip"]
    assert find_graph(specs, "i3d_videogpt").input("clips").shape == (3, 16, 224, 224)
    transnet = find_graph(specs, "transnetv2")
    assert transnet.input("frames").shape == (100, 27, 48, 3) and transnet.outputs == ("single", "many")
    assert specs["transnetv2"].default_precision == "fp32"
    dover = specs["dover"].graphs[0]
    assert [(i.name, i.shape, i.profile()[2][0]) for i in dover.inputs] == [
        ("tech_view", (3, 32, 224, 224), 48),
        ("aes_view", (3, 32, 224, 224), 16),
    ]
    assert specs["dover"].fp32_ops == ("LayerNormalization", "Softmax")
    assert specs["dover"].default_precision == "fp16"
    names = [g.name for g in specs["cotracker3"].graphs]
    assert names == ["cotracker3_paper", *[f"cotracker3_official_t{t}" for t in (10, 11, 12, 13)]]
    t13 = find_graph(specs, "cotracker3_official_t13")
    assert t13.input("video").shape == (13, 3, 384, 512) and t13.input("queries").shape == (10000, 3)
    assert t13.input("queries").batch.max == 3 and not t13.is_base
    assert find_graph(specs, "cotracker3_official_t12").is_base
    assert find_graph(specs, "dover") is dover and find_graph(specs, "facemesh").inputs[0].name == "crop"


def test_specs_agree_with_the_exporters() -> None:
    from talkvid_fast.motion.export import INPUTS, OUTPUTS
    from talkvid_fast.quality.export import INPUT_NAMES, OUTPUT_NAMES

    specs = load_specs()
    dover = specs["dover"].graphs[0]
    assert tuple(i.name for i in dover.inputs) == INPUT_NAMES and dover.outputs == OUTPUT_NAMES
    for g in specs["cotracker3"].graphs:
        assert tuple(i.name for i in g.inputs) == INPUTS and g.outputs == OUTPUTS
        assert g.options["model"] in ("online", "offline")


def test_every_spec_file_uses_only_the_schema_keys() -> None:
    """Each repository spec parses strictly as it is, and the same file with one unknown key added (at the
    top, in a graph, in an input) is rejected naming that key: the parse that accepts them is strict."""
    paths = sorted(spec_dir().glob("*.toml"))
    assert [p.stem for p in paths] == [
        "cotracker3", "dover", "facemesh", "i3d_videogpt", "inception_fid", "light_asd", "syncnet_v2", "transnetv2"
    ]  # fmt: skip
    for path in paths:
        data = tomllib.loads(path.read_text())
        assert parse_spec(data, str(path)).name == path.stem
        graph = data["graph"][0]
        first_input = next(iter(graph["inputs"].values()))
        for where in (data, graph, first_input):
            where["typo_key"] = 1
            with pytest.raises(SpecError, match=r"unknown keys \['typo_key'\]"):
                parse_spec(data, str(path))
            del where["typo_key"]


def _bad(edit: Any) -> str:
    data = copy.deepcopy(GOOD)
    edit(data)
    with pytest.raises(SpecError) as info:
        parse_spec(data, "m.toml")
    return str(info.value)


def test_good_spec_and_shared_batch() -> None:
    spec = parse_spec(copy.deepcopy(GOOD))
    g = spec.graphs[0]
    assert g.input("x").profile() == ((1, 5, 3), (2, 5, 3), (4, 5, 3))
    assert g.input("q").profile() == ((1, 7), (1, 7), (1, 7))
    assert spec.check_precision(None) == "fp16"
    with pytest.raises(SpecError, match="precision 'bf16' not allowed; allowed: fp16, fp32"):
        spec.check_precision("bf16")


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d.update(precsion=["fp16"]),
            r"unknown keys \['precsion'\]; allowed: fp32_ops, graph, name",
        ),
        (lambda d: d.update(precision=["int8"]), r"unknown \['int8'\]; allowed: fp16, bf16, fp32"),
        (lambda d: d.update(fp32_ops=["Conv"]), r"unknown \['Conv'\]; allowed: LayerNormalization, Softmax"),
        (lambda d: d.pop("weights"), "missing key 'weights'"),
        (lambda d: d.update(opset=9), "opset must be in 13..21"),
        (lambda d: d["graph"][0].pop("batch"), r"inputs.x: no batch range"),
        (lambda d: d["graph"][0].update(batch={"min": 4, "opt": 2, "max": 8}), "min <= opt <= max"),
        (lambda d: d["graph"][0].update(batch={"min": 1, "max": 8}), "exactly min, opt, max"),
        (lambda d: d["graph"][0]["inputs"]["x"].update(shape=[5, 0]), "positive integers"),
        (
            lambda d: d["graph"][0]["inputs"]["x"].update(dims=[5]),
            r"unknown keys \['dims'\]; allowed: batch, shape",
        ),
        (lambda d: d["graph"][0].update(name="a-b"), "name must be an identifier"),
        (lambda d: d["graph"].append(copy.deepcopy(d["graph"][0])), r"duplicate graph names \['g'\]"),
        (lambda d: d["graph"][0].update(variants={"input": "z", "axis": 0, "values": [5]}), "allowed: x, q"),
        (
            lambda d: d["graph"][0].update(variants={"input": "x", "axis": 2, "values": [5]}),
            "axis must be in 0..1",
        ),
        (
            lambda d: d["graph"][0].update(variants={"input": "x", "axis": 0, "values": [4, 6]}),
            "must include",
        ),
    ],
)
def test_bad_specs_name_the_problem(edit: Any, message: str) -> None:
    import re

    text = _bad(edit)
    assert text.startswith("m.toml") and re.search(message, text), text


def test_variants_expand() -> None:
    data = copy.deepcopy(GOOD)
    data["graph"][0]["variants"] = {"input": "x", "axis": 0, "values": [4, 5, 6], "tag": "t"}
    graphs = parse_spec(data).graphs
    assert [(g.name, g.input("x").shape, g.is_base, g.family) for g in graphs] == [
        ("g_t4", (4, 3), False, "g"),
        ("g_t5", (5, 3), True, "g"),
        ("g_t6", (6, 3), False, "g"),
    ]


def test_select_graphs_by_model_alias_graph_and_family() -> None:
    specs = load_specs()

    def pick(names: str) -> list[str]:
        return [g.name for _, gs in select_graphs(specs, names) for g in gs]

    assert pick("cotracker") == pick("cotracker3") and len(pick("cotracker")) == 5
    assert pick("cotracker3_paper,dover") == ["cotracker3_paper", "dover"]
    assert pick("cotracker3_official") == [f"cotracker3_official_t{t}" for t in (10, 11, 12, 13)]
    assert len(pick("dover,cotracker,facemesh,light_asd,transnetv2")) == 15
    assert (
        len(pick("all"))
        == len(pick("dover,cotracker,facemesh,light_asd,transnetv2,inception_fid,syncnet_v2,i3d_videogpt"))
        == 19
    )
    with pytest.raises(SpecError, match=r"unknown models \['doverr'\]; allowed: .*cotracker3_paper.*dover"):
        select_graphs(specs, "doverr")
    with pytest.raises(SpecError, match="unknown engine graph 'cotracker3'; allowed: cotracker3_paper"):
        find_graph(specs, "cotracker3")  # five graphs: name one


def test_spec_folder_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_ENGINE_SPECS", str(tmp_path))
    with pytest.raises(SpecError, match="no engine specs"):
        load_specs()
    (tmp_path / "a.toml").write_text("name = [")
    with pytest.raises(SpecError, match=r"a\.toml: not valid TOML"):
        load_specs()
