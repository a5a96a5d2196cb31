"""The feature timeline built in account chunks, kept in DuckDB, read one checkpoint at a time."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distillguard.features import FeatureParams, _timeline, build_timeline, register_events
from distillguard.features._prepare import compact_events
from distillguard.features._source import load_events
from distillguard.scan import _checkpoints, connect
from distillguard.scoring import ReplaySchedule


@pytest.fixture(scope="module")
def loaded(tiny_dir: Path):
    return load_events([tiny_dir])


def _timeline_of(events: pa.Table, tmp: Path | None = None) -> _timeline.Timeline:
    cps = _checkpoints(events, ReplaySchedule())
    con = connect(0.5, tmp, on_disk=True) if tmp else connect()
    register_events(con, events, "ev", checkpoints_ms=[int(c.timestamp() * 1000) for c in cps])
    return build_timeline(con, "ev", cps, FeatureParams())


def _assert_same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema.equals(b.schema)
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a[name], b[name]
        if pa.types.is_floating(x.type):
            xv = x.to_numpy(zero_copy_only=False)
            yv = y.to_numpy(zero_copy_only=False)
            np.testing.assert_allclose(xv, yv, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name)
        else:
            assert x.equals(y), name


def test_chunked_grid_equals_one_chunk(loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _timeline_of(loaded.events)
    monkeypatch.setattr(_timeline, "GRID_CHUNK_ROWS", 200)
    many = _timeline_of(loaded.events, tmp_path)  # file-backed, spilling connection too
    base = _timeline.ibis_backend(many.con).table("ev_pb")
    chunks = _timeline._account_chunks(base, many.final, 200)
    assert len(chunks) > 5  # really several chunks
    assert chunks[0][0] == 0 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(chunks))
    assert one.final == many.final > 10
    for k in range(one.final + 1):
        _assert_same(one.at(k), many.at(k))


def test_at_keeps_one_checkpoint(loaded) -> None:
    tl = _timeline_of(loaded.events)
    seen = [tl.at(k).num_rows for k in range(tl.final + 1)]
    assert seen == sorted(seen) and seen[0] < seen[-1]  # accounts only accumulate
    last = tl.at()
    assert tl.at(tl.final) is last  # cached while it is the current slice
    first = tl.at(0)
    assert tl._last is not None and tl._last[0] == 0 and first is tl.at(0)
    assert "k" not in last.column_names
    assert last["aid"].to_pylist() == sorted(last["aid"].to_pylist())
    assert last.num_rows == len(set(loaded.events["account_id"].to_pylist()))


def test_compact_events_gives_the_same_view(loaded) -> None:
    small = compact_events(loaded.events)
    assert small.nbytes < 0.7 * loaded.events.nbytes
    assert pa.types.is_dictionary(small.schema.field("user_agent").type)
    views = []
    for events in (loaded.events, small):
        con = connect()
        register_events(con, events, "ev")
        views.append(con.sql("SELECT * FROM ev ORDER BY event_id").to_arrow_table())
    assert views[0].equals(views[1])
