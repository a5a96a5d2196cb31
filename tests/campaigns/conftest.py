"""A detection context with cards and fleet template families only, for the campaign tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

from distillguard.detectors.base import DetectionContext


def card_family_context(
    accounts: list[str], payment: dict[str, str], fams: list[tuple[str, str]], n_pop: int = 5000
) -> DetectionContext:
    """``accounts`` (plus every account named in ``payment`` and ``fams``) with their cards and
    template families, and quiet filler accounts up to ``n_pop``, so group sizes are measured
    against a realistic population."""
    named = set(accounts) | set(payment) | {a for a, _ in fams}
    ids = sorted(named | {f"z{i:05d}" for i in range(max(0, n_pop - len(named)))})
    pay = np.array([payment.get(a) for a in ids], dtype=object)
    sizes: dict[str, int] = {}
    for v in payment.values():
        sizes[v] = sizes.get(v, 0) + 1
    size = np.array([sizes.get(v, 1) if v is not None else 1 for v in pay], dtype=np.float64)
    features = pa.table(
        {"account_id": pa.array(ids, pa.string()), "payment": pa.array(pay.tolist(), pa.string())}
    )
    members = pa.table(
        {
            "account_id": pa.array([a for a, _ in fams], pa.string()),
            "fam": pa.array([f for _, f in fams], pa.string()),
        }
    )
    cache = {"payment_size": size, "fleet_members": members}
    return DetectionContext(None, "ev", features, True, cache=cache)


@pytest.fixture
def make_ctx() -> Callable[..., DetectionContext]:
    return card_family_context
