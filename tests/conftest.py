"""Shared fixtures: the built corpus (once per session) and the real samples in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from corpus.build import build_corpus
from corpus.common import Expected

# CI runs the same examples every time (a red run is reproducible, never a dice roll);
# locally hypothesis keeps exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REAL_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"


@pytest.fixture(scope="session")
def real_samples() -> Path:
    if not REAL_SAMPLES.is_dir():
        pytest.skip("../shared/samples/real is not beside this checkout")
    return REAL_SAMPLES


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    """The whole corpus, built once into a temporary folder: (root, input -> Expected)."""
    root = tmp_path_factory.mktemp("corpus")
    expected = build_corpus(root)
    return root, {e.input: e for e in expected}
