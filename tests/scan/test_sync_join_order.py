"""The synchronized-pairs query with its joins pinned in order gives the unpinned query's pairs."""

from __future__ import annotations

import pytest

from distillguard.detectors.base import DetectionContext
from distillguard.detectors.coordination import CoordinationDetector, _partials, _queries
from distillguard.features import FeatureParams, build_timeline, register_events
from distillguard.features._source import load_events
from distillguard.scan import _checkpoints, connect
from distillguard.scoring import ReplaySchedule

#: The query as it was before the joins were pinned (the optimizer chose the order).
_UNPINNED = """
WITH p AS (SELECT src, dst, key, sum(shared) AS sh FROM {src}_pairs WHERE cp <= {k} GROUP BY ALL),
na AS (SELECT aid, sum(n) AS na FROM {src}_na WHERE cp <= {k} GROUP BY aid),
nk AS (SELECT aid, key, sum(n) AS nk FROM {src}_nk WHERE cp <= {k} GROUP BY ALL),
nb AS (SELECT key, sum(n) AS nb FROM {src}_nb WHERE cp <= {k} GROUP BY key)
SELECT p.src, p.dst, sum(p.sh) AS shared,
       sum(p.sh) / sum(greatest(a.nk * b.nk / nb.nb, 1e-9)) AS lift,
       sum(p.sh) / least(any_value(ca.na), any_value(cb.na)) AS overlap
FROM p
JOIN nk a ON a.aid = p.src AND a.key = p.key
JOIN nk b ON b.aid = p.dst AND b.key = p.key
JOIN nb ON nb.key = p.key
JOIN na ca ON ca.aid = p.src
JOIN na cb ON cb.aid = p.dst
WHERE ca.na >= {min_actions} AND cb.na >= {min_actions}
GROUP BY p.src, p.dst
HAVING sum(p.sh) >= {min_shared}
ORDER BY p.src, p.dst
"""


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory):
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("tiny")
    simulate("tiny", out, seed=1)
    events = load_events([out]).events
    cps = _checkpoints(events, ReplaySchedule())
    con = connect()
    register_events(con, events, "ev", checkpoints_ms=[int(c.timestamp() * 1000) for c in cps])
    return build_timeline(con, "ev", cps, FeatureParams())


def test_pinned_sync_query_equals_unpinned(timeline) -> None:
    p = CoordinationDetector.Params()
    fmt = {"min_actions": p.sync_min_actions, "min_shared": p.sync_min_shared}
    nonempty = 0
    for k in (timeline.final // 2, timeline.final):
        ctx = DetectionContext.at(timeline, k, has_prompts=True)
        _partials.sync(ctx, p.sync_bucket_s, p.sync_max_cell, p.sync_min_actions, p.sync_min_shared)
        pinned = _queries.run(ctx, _queries.SYNC, **fmt)
        unpinned = _queries.run(ctx, _UNPINNED, **fmt)
        assert pinned.column_names == unpinned.column_names
        for col in ("src", "dst", "shared"):
            assert pinned[col].to_pylist() == unpinned[col].to_pylist(), col
        for col in ("lift", "overlap"):
            assert pinned[col].to_pylist() == pytest.approx(unpinned[col].to_pylist(), rel=1e-12)
        nonempty += pinned.num_rows > 0
    assert nonempty  # the world has synchronized pairs, so the comparison is not vacuous
