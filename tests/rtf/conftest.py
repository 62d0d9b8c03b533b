"""A tiny benchmark corpus, built once per session from the real test media."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkvid_fast.rtf import build_corpus


@pytest.fixture(scope="session")
def tiny_corpus(testmedia: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rtf_tiny")
    build_corpus(out, "tiny", testmedia, seed=0, log=lambda _: None)
    return out
