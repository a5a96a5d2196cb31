"""Labelled traffic simulator: benign, hard-negative and attack personas -> event directory.

``simulate(scenario, out, seed=0, providers=1, corpus=None)`` writes the event-directory
layout that ``scan`` reads (``events/day=YYYY-MM-DD/part-*.parquet``), plus
``labels.parquet`` (ground truth per account) and ``manifest.json``. Import-light: the
heavy machinery loads on first call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distillguard.simulate._run import SimulationResult
    from distillguard.simulate._scenario import Scenario

__all__ = ["SimulationResult", "available_scenarios", "load_scenario", "simulate"]


def simulate(
    scenario: str | Path | Scenario,
    out: str | Path,
    *,
    seed: int = 0,
    providers: int = 1,
    corpus: str | Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> SimulationResult:
    """Simulate a packaged scenario (name) or YAML file into ``out``; see ``_run.simulate``."""
    from distillguard.simulate._run import simulate as _simulate

    return _simulate(
        scenario, out, seed=seed, providers=providers, corpus=corpus, progress=progress, overwrite=overwrite
    )


def load_scenario(spec: str | Path) -> Scenario:
    """Parse and validate a scenario by packaged name or path."""
    from distillguard.simulate._scenario import load_scenario as _load

    return _load(spec)


def available_scenarios() -> list[str]:
    """Names of the packaged scenarios (``tiny``, ``small``, ``medium``, ``seed``)."""
    from distillguard.simulate._scenario import available

    return available()


def __getattr__(name: str) -> Any:
    if name == "SimulationResult":
        from distillguard.simulate._run import SimulationResult

        return SimulationResult
    raise AttributeError(name)
