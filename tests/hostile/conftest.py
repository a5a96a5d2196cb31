"""Hostile-input tests: import the byte builders of ``_corpus.py`` as a fixture module."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

_HERE = Path(__file__).parent


def _load_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def corpus() -> ModuleType:
    return _load_corpus()


@pytest.fixture
def cli():
    """Run ``distillguard ARGS`` in a child process (a segfault must not kill the test run)."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "distillguard", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
        )

    return run
