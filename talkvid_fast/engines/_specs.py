"""Engine specs: `engines/*.toml` parsed and validated into small dataclasses (see Note [Engine spec schema]).

Note [Engine spec schema]: every `engines/<model>.toml` has the same shape:

    name = "dover"                       # model name (`--models`; the weight-set name works too)
    weights = "dover"                    # weight set (`python -m talkvid_fast.weights fetch dover`)
    opset = 17                           # ONNX opset of the export
    precision = ["fp16", "bf16", "fp32"] # builds allowed; the first is the default
    fp32_ops = ["LayerNormalization"]    # optional: ops kept in fp32 in fp16/bf16 builds

    [[graph]]                            # one ONNX graph = one engine
    name = "dover"                       # unique over all specs
    weights_file = "DOVER.pth"           # file of the weight set it is exported from
    profile = "paper"                    # optional: the talkvid profile that uses it
    outputs = ["technical", "aesthetic"]
    batch = { min = 1, opt = 8, max = 32 }   # optional: batch range shared by every input
    variants = { input = "video", axis = 0, values = [10, 12], tag = "t" }  # optional, see below
    options = { model = "online" }       # optional: exporter-specific settings
    [graph.inputs]                       # in the graph's input order
    tech_view = { shape = [3, 32, 224, 224], batch = { min = 3, opt = 24, max = 48 } }

Every input has a dynamic dim 0 (the batch, from the input's or the graph's `batch`) and a static rest
(`shape`). `variants` turns one graph into one engine per value of `shape[axis]` of `input`, named
`<name>_<tag><value>` (CoTracker's official segment lengths).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

PRECISIONS = ("fp16", "bf16", "fp32")
#: ops that `fp32_ops` may keep in fp32 (each maps to a TensorRT layer type in _tensorrt.py)
FP32_OPS = ("LayerNormalization", "Softmax")
_TOP_KEYS = {"name", "weights", "opset", "precision", "fp32_ops", "graph"}
_GRAPH_KEYS = {"name", "weights_file", "profile", "outputs", "batch", "variants", "options", "inputs"}


class SpecError(ValueError):
    """An engine spec file is malformed; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class BatchRange:
    """The optimisation-profile range of the dynamic dim 0."""

    min: int
    opt: int
    max: int


@dataclass(frozen=True)
class InputSpec:
    """One graph input: dynamic batch + static item shape."""

    name: str
    shape: tuple[int, ...]  #: the shape without dim 0
    batch: BatchRange

    def profile(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) full shapes for TensorRT's `set_shape`."""
        b = self.batch
        return (b.min, *self.shape), (b.opt, *self.shape), (b.max, *self.shape)


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX graph and the engine built from it."""

    name: str
    model: str  #: the owning spec's name
    weights_file: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[str, ...]
    profile: str | None = None
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    family: str = ""  #: the [[graph]] name it comes from (differs from `name` for variants)
    is_base: bool = True  #: False for the variants other than the spec's base shape

    def input(self, name: str) -> InputSpec:
        for i in self.inputs:
            if i.name == name:
                return i
        raise KeyError(f"graph {self.name!r} has no input {name!r}; inputs: {[i.name for i in self.inputs]}")

    def with_shapes(self, shapes: dict[str, tuple[int, ...]], name: str | None = None) -> GraphSpec:
        """A copy with some item shapes replaced (variants, tiny test builds)."""
        inputs = tuple(replace(i, shape=tuple(shapes.get(i.name, i.shape))) for i in self.inputs)
        return replace(self, inputs=inputs, name=name or self.name)


@dataclass(frozen=True)
class EngineSpec:
    """A parsed `engines/<model>.toml`."""

    name: str
    weights: str
    opset: int
    precisions: tuple[str, ...]  #: allowed builds, default first
    fp32_ops: tuple[str, ...]
    graphs: tuple[GraphSpec, ...]
    path: Path | None = None

    @property
    def default_precision(self) -> str:
        return self.precisions[0]

    def check_precision(self, precision: str | None) -> str:
        """The precision to build (the default for None); an error lists the allowed ones."""
        p = precision or self.default_precision
        if p not in self.precisions:
            raise SpecError(
                f"{self.name}: precision {p!r} not allowed; allowed: {', '.join(self.precisions)}"
            )
        return p


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise SpecError(f"{where}: {msg}")


def _int_list(value: Any, where: str) -> tuple[int, ...]:
    ok = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )
    _need(ok, where, f"expected a list of positive integers, got {value!r}")
    return tuple(value)


def _str_list(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    _need(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        where,
        f"expected strings, got {value!r}",
    )
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        _need(not bad, where, f"unknown {bad}; allowed: {', '.join(allowed)}")
    return tuple(value)


def _batch(value: Any, where: str) -> BatchRange:
    _need(
        isinstance(value, dict) and set(value) == {"min", "opt", "max"},
        where,
        "batch needs exactly min, opt, max",
    )
    b = BatchRange(*(_int_list([value[k]], f"{where}.{k}")[0] for k in ("min", "opt", "max")))
    _need(b.min <= b.opt <= b.max, where, f"batch needs min <= opt <= max, got {b}")
    return b


def _unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    _need(not extra, where, f"unknown keys {extra}; allowed: {', '.join(sorted(allowed))}")


def _graph(raw: Any, model: str, where: str) -> list[GraphSpec]:
    _need(isinstance(raw, dict), where, "each [[graph]] must be a table")
    _unknown(raw, _GRAPH_KEYS, where)
    for key in ("name", "weights_file", "outputs", "inputs"):
        _need(key in raw, where, f"missing key {key!r}")
    name = raw["name"]
    _need(isinstance(name, str) and name.isidentifier(), where, f"name must be an identifier, got {name!r}")
    where = f"{where} ({name})"
    shared = _batch(raw["batch"], f"{where}.batch") if "batch" in raw else None
    _need(isinstance(raw["inputs"], dict) and bool(raw["inputs"]), where, "inputs must be a non-empty table")
    inputs = []
    for iname, spec in raw["inputs"].items():
        w = f"{where}.inputs.{iname}"
        _need(isinstance(spec, dict), w, "expected { shape = [...], batch = {...} }")
        _unknown(spec, {"shape", "batch"}, w)
        _need("shape" in spec, w, "missing key 'shape' (the dims after the batch)")
        batch = _batch(spec["batch"], f"{w}.batch") if "batch" in spec else shared
        _need(batch is not None, w, "no batch range: give the input or the graph a `batch`")
        assert batch is not None
        inputs.append(InputSpec(iname, _int_list(spec["shape"], f"{w}.shape"), batch))
    options = raw.get("options", {})
    _need(isinstance(options, dict), where, "options must be a table")
    profile = raw.get("profile")
    _need(profile is None or isinstance(profile, str), where, "profile must be a string")
    base = GraphSpec(
        name=name,
        model=model,
        weights_file=str(raw["weights_file"]),
        inputs=tuple(inputs),
        outputs=_str_list(raw["outputs"], f"{where}.outputs"),
        profile=profile,
        options=dict(options),
        family=name,
    )
    if "variants" not in raw:
        return [base]
    v = raw["variants"]
    w = f"{where}.variants"
    _need(isinstance(v, dict), w, "expected { input, axis, values, tag }")
    _unknown(v, {"input", "axis", "values", "tag"}, w)
    names = [i.name for i in inputs]
    _need(v.get("input") in names, w, f"input {v.get('input')!r} unknown; allowed: {', '.join(names)}")
    item = base.input(v["input"]).shape
    axis = v.get("axis")
    _need(
        isinstance(axis, int) and 0 <= axis < len(item),
        w,
        f"axis must be in 0..{len(item) - 1} (dims after the batch)",
    )
    values = _int_list(v.get("values"), f"{w}.values")
    _need(item[axis] in values, w, f"values {list(values)} must include the base shape's {item[axis]}")
    tag = str(v.get("tag", v["input"]))
    out = []
    for value in values:
        shape = (*item[:axis], value, *item[axis + 1 :])
        variant = base.with_shapes({v["input"]: shape}, name=f"{name}_{tag}{value}")
        out.append(replace(variant, is_base=value == item[axis]))
    return out


def parse_spec(data: dict[str, Any], where: str = "<spec>") -> EngineSpec:
    """Validates one spec table (the contents of a TOML file) into an EngineSpec."""
    _unknown(data, _TOP_KEYS, where)
    for key in ("name", "weights", "precision", "graph"):
        _need(key in data, where, f"missing key {key!r}")
    name = data["name"]
    _need(isinstance(name, str) and name.isidentifier(), where, f"name must be an identifier, got {name!r}")
    opset = data.get("opset", 17)
    _need(isinstance(opset, int) and 13 <= opset <= 21, where, f"opset must be in 13..21, got {opset!r}")
    precisions = _str_list(data["precision"], f"{where}.precision", PRECISIONS)
    _need(len(precisions) > 0, where, f"precision needs at least one of {', '.join(PRECISIONS)}")
    fp32_ops = _str_list(data.get("fp32_ops", []), f"{where}.fp32_ops", FP32_OPS)
    _need(isinstance(data["graph"], list) and bool(data["graph"]), where, "needs at least one [[graph]]")
    graphs = [g for i, raw in enumerate(data["graph"]) for g in _graph(raw, name, f"{where} graph[{i}]")]
    seen = [g.name for g in graphs]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    _need(not dup, where, f"duplicate graph names {dup}")
    return EngineSpec(name, str(data["weights"]), opset, precisions, fp32_ops, tuple(graphs))


def load_spec(path: str | Path) -> EngineSpec:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return replace(parse_spec(data, str(path)), path=path)


REPO_SPECS = Path(__file__).resolve().parents[2] / "engines"  #: a source checkout (editable install)
PACKAGED_SPECS = (
    Path(__file__).resolve().parents[1] / "engine_specs"
)  #: a wheel (installed by CMakeLists.txt)


def spec_dir() -> Path:
    """`$TALKVID_FAST_ENGINE_SPECS`, else the checkout's `engines/` folder, else the copy in the wheel."""
    env = os.environ.get("TALKVID_FAST_ENGINE_SPECS")
    if env:
        return Path(env)
    return REPO_SPECS if any(REPO_SPECS.glob("*.toml")) else PACKAGED_SPECS


def load_specs(folder: str | Path | None = None) -> dict[str, EngineSpec]:
    """Every `*.toml` of the folder by model name; graph names must be unique across files."""
    folder = Path(folder) if folder is not None else spec_dir()
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise SpecError(f"no engine specs (*.toml) in {folder} (set TALKVID_FAST_ENGINE_SPECS)")
    specs: dict[str, EngineSpec] = {}
    owner: dict[str, str] = {}
    for f in files:
        spec = load_spec(f)
        _need(spec.name not in specs, str(f), f"model {spec.name!r} already defined")
        for g in spec.graphs:
            _need(g.name not in owner, str(f), f"graph {g.name!r} already defined by {owner.get(g.name)}")
            owner[g.name] = spec.name
        specs[spec.name] = spec
    return specs


def select_graphs(
    specs: dict[str, EngineSpec], names: str | list[str] | None
) -> list[tuple[EngineSpec, tuple[GraphSpec, ...]]]:
    """Specs and their graphs by model, weight-set, graph or graph-family name (comma list; None: all).

    `dover,cotracker` picks every graph of both; `cotracker3_paper` only that graph; `cotracker3_official`
    all its segment-length variants. Unknown names raise SpecError listing the allowed ones."""
    if names is None or names in ("", "all"):
        return [(s, s.graphs) for s in specs.values()]
    wanted = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
    groups: dict[str, tuple[EngineSpec, tuple[GraphSpec, ...]]] = {}
    for s in specs.values():
        groups.setdefault(s.weights, (s, s.graphs))
        for g in s.graphs:
            fam = tuple(x for x in s.graphs if x.family == g.family)
            groups.setdefault(g.family, (s, fam))
            groups.setdefault(g.name, (s, (g,)))
    for s in specs.values():
        groups[s.name] = (s, s.graphs)
    bad = [n for n in wanted if n not in groups]
    if bad:
        raise SpecError(f"unknown models {bad}; allowed: {', '.join(sorted(groups))}")
    picked: dict[str, list[GraphSpec]] = {}
    for n in wanted:
        spec, graphs = groups[n]
        have = picked.setdefault(spec.name, [])
        have.extend(g for g in graphs if g not in have)
    return [(specs[m], tuple(g for g in specs[m].graphs if g in gs)) for m, gs in picked.items()]


def find_graph(specs: dict[str, EngineSpec], name: str) -> GraphSpec:
    """A graph by its name, or the only graph of a model; errors list the graph names."""
    for s in specs.values():
        for g in s.graphs:
            if g.name == name:
                return g
    models = {**{s.weights: s for s in specs.values()}, **specs}
    if name in models and len(models[name].graphs) == 1:
        return models[name].graphs[0]
    allowed = [g.name for s in specs.values() for g in s.graphs]
    raise SpecError(f"unknown engine graph {name!r}; allowed: {', '.join(allowed)}")
