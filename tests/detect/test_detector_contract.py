"""One contract every detector honours (the sklearn-estimator-checks habit).

Runs automatically against every detector of ``default_detectors()``: a new family gets
these checks for free, and cannot ship without documented thresholds.
"""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from dg_detect_world import detection_context, standard_world

from distillguard.detectors import FAMILIES, default_detectors
from distillguard.schema import SIGNALS_SCHEMA

DETECTORS = default_detectors()


@pytest.fixture(scope="module")
def ctx_factory():
    table = standard_world(1).table()
    return lambda: detection_context(table)


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.family)
def test_output_schema_and_ranges(det, ctx_factory) -> None:
    ctx = ctx_factory()
    out = det.detect(ctx)
    assert out.schema.equals(SIGNALS_SCHEMA)
    assert out.num_rows > 0, "every family fires somewhere in the standard world"
    assert set(out["family"].to_pylist()) == {det.family}
    assert det.family in FAMILIES
    assert set(out["signal"].to_pylist()) <= set(det.signals)
    strength = out["strength"].to_pylist()
    assert all(0.0 < s <= 1.0 for s in strength)
    assert set(out["account_id"].to_pylist()) <= set(ctx.features["account_id"].to_pylist())
    assert all(e for e in out["evidence"].to_pylist()), "every fired signal carries evidence"
    pairs = list(zip(out["account_id"].to_pylist(), out["signal"].to_pylist(), strict=True))
    assert len(pairs) == len(set(pairs)), "one row per account and signal"


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.family)
def test_deterministic(det, ctx_factory) -> None:
    assert det.detect(ctx_factory()).equals(det.detect(ctx_factory()))


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.family)
def test_thresholds_documented(det) -> None:
    th = det.thresholds()
    assert th, "a detector without named thresholds hides its magic numbers"
    for name, spec in th.items():
        assert name.startswith(f"{det.family}.")
        assert spec["doc"] and len(spec["doc"]) > 10, name
        assert isinstance(spec["value"], int | float | bool | tuple | str)


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.family)
def test_empty_input(det, ctx_factory) -> None:
    ctx = ctx_factory()
    ctx.features = ctx.features.slice(0, 0)
    out = det.detect(ctx)
    assert out.num_rows == 0 and out.schema.equals(SIGNALS_SCHEMA)


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.family)
def test_quiet_on_plain_population(det) -> None:
    """A population of ordinary, independent hobbyists raises (almost) nothing."""
    from dg_detect_world import World

    w = World(seed=3)
    w.hobbyists(150)
    out = det.detect(detection_context(w.table()))
    noisy = set(out.filter(pc.greater_equal(out["strength"], 0.75))["account_id"].to_pylist())
    assert len(noisy) <= 3, sorted(noisy)
