"""Loading the upstream reference code in ../shared/upstream (test oracles only; never copied into the project).

Each test imports the upstream files themselves and stubs only what it does not exercise (a missing package,
a subprocess, a file reader), saying which; `upstream_dir` skips the test with a reason when the folder is absent.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = Path(os.environ.get("TALKVID_UPSTREAM", REPO.parent / "shared" / "upstream"))


def upstream_dir(*parts: str) -> Path:
    """../shared/upstream/<parts>; skips the calling test when it is not there."""
    path = UPSTREAM.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"upstream reference code not found at {path} (set TALKVID_UPSTREAM)")
    return path


def stub_module(name: str, **attrs: Any) -> types.ModuleType:
    """A stand-in module holding only `attrs` (for an import the test does not exercise)."""
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


@contextmanager
def patched_modules(modules: dict[str, types.ModuleType], path: Path | None = None) -> Iterator[None]:
    """Installs stand-in modules (and `path` on sys.path) for the duration of an upstream import; afterwards
    the stand-ins and every module loaded from `path` leave sys.modules and sys.path is restored, so no
    stub or upstream module leaks into other tests (modules the import pulled in from site-packages stay)."""
    before = {name: sys.modules.get(name) for name in modules}
    saved_path = list(sys.path)
    sys.modules.update(modules)
    if path is not None:
        sys.path.insert(0, str(path))
    try:
        yield
    finally:
        for name, old in before.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
        if path is not None:
            root = str(path.resolve())
            for name, mod in list(sys.modules.items()):
                if str(getattr(mod, "__file__", None) or "").startswith(root):
                    del sys.modules[name]
        sys.path[:] = saved_path


def load_file(path: Path, name: str) -> types.ModuleType:
    """Executes one upstream file as module `name` (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
