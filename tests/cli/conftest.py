"""Fixtures for the command-line conventions: the installed console script and a tiny simulation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

DISTILLGUARD = Path(sys.executable).with_name("distillguard")


def run_cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (stdout and stderr are pipes, not terminals)."""
    return subprocess.run(
        [str(DISTILLGUARD), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture(scope="session")
def tiny_scan(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scan of ``tiny_dir`` (no replay, to stay fast)."""
    from distillguard.scan import scan

    out = tmp_path_factory.mktemp("cli-scan") / "scan"
    scan([tiny_dir], out, replay=False, progress=False)
    return out


@pytest.fixture
def fake_scan() -> Callable[[dict[str, int]], Callable[..., SimpleNamespace]]:
    """A stand-in for ``distillguard.scan.scan`` with the given verdict counts (CLI logic only)."""

    def make(counts: dict[str, int]) -> Callable[..., SimpleNamespace]:
        def scan(inputs, out, **_kwargs):
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / "scan_meta.json").write_text("{}")
            return SimpleNamespace(
                verdict_counts=counts,
                meta={"events": 10, "timings_s": {"all": 1.0}, "prompt_text_present": True},
                accounts=pa.table({"account_id": ["a"] * sum(counts.values())}),
                campaigns=[],
            )

        return scan

    return make
