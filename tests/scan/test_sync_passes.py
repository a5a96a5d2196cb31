"""The synchronized-pairs self-join split into account slices (large inputs) gives what one pass gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.detectors.coordination import _partials
from distillguard.scan import scan

PAIR_ORDER = [(c, "ascending") for c in ("src", "dst", "key", "cp")]


def _scan_keeping_pairs(
    tiny_dir: Path, out: Path, monkeypatch: pytest.MonkeyPatch, also: str | None = None
) -> pa.Table | tuple[pa.Table, pa.Table]:
    """Scan ``tiny_dir`` and return the kept ``pairs`` partial, sorted (and the ``also`` partial)."""
    kept: dict[str, list[pa.Table]] = {"pairs": [], also or "": []}
    real = _partials._register

    def register(ctx: Any, name: str, table: Any) -> Any:
        t = real(ctx, name, table)
        if name in kept:
            kept[name].append(t.to_pyarrow())
        return t

    monkeypatch.setattr(_partials, "_register", register)
    scan([tiny_dir], out, progress=False, report=False, replay=False)
    assert len(kept["pairs"]) == 1
    pairs = kept["pairs"][0].sort_by(PAIR_ORDER)
    return (pairs, kept[also][0]) if also else pairs


def test_pairs_are_every_pair_cell_of_the_synchronized_pairs(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept pair cells are exactly the cells of all pairs (per key and interval) filtered
    to the pairs reaching ``sync_min_shared``, written here as one plain SQL query."""
    from distillguard import _duck
    from distillguard.detectors.coordination import CoordinationDetector

    pairs, act = _scan_keeping_pairs(tiny_dir, tmp_path / "out", monkeypatch, also="act")
    p = CoordinationDetector.Params()
    con = _duck.connect()
    con.register("act", act)
    reference = con.sql(
        f"""
        WITH tot AS (SELECT aid FROM act GROUP BY aid HAVING count(*) >= {p.sync_min_actions}),
        cell AS (SELECT key, b, count(*) AS cell FROM act GROUP BY key, b),
        a2 AS (SELECT a.aid, a.key, a.b, a.cp FROM act a JOIN cell USING (key, b)
               WHERE a.aid IN (SELECT aid FROM tot) AND cell BETWEEN 2 AND {p.sync_max_cell}),
        pc AS (SELECT x.aid AS src, y.aid AS dst, x.key, x.cp, count(*) AS shared
               FROM a2 x JOIN a2 y ON x.key = y.key AND x.b = y.b AND x.aid < y.aid GROUP BY ALL)
        SELECT * FROM pc WHERE (src, dst) IN
            (SELECT (src, dst) FROM pc GROUP BY src, dst HAVING sum(shared) >= {p.sync_min_shared})
        """
    ).to_arrow_table()
    con.close()
    assert pairs.num_rows > 100
    assert reference.cast(pairs.schema).sort_by(PAIR_ORDER).equals(pairs)


def test_account_slices_match_one_pass(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _scan_keeping_pairs(tiny_dir, tmp_path / "one", monkeypatch)
    assert one.num_rows > 100  # tiny has synchronized pairs: the comparison means something
    passes: list[int] = []
    real = _partials._sync_passes

    def spy(*args: Any) -> int:
        passes.append(real(*args))
        return passes[-1]

    monkeypatch.setattr(_partials, "SYNC_PAIR_ROWS_PER_PASS", 500)
    monkeypatch.setattr(_partials, "_sync_passes", spy)
    sliced = _scan_keeping_pairs(tiny_dir, tmp_path / "sliced", monkeypatch)
    assert passes and passes[0] >= 3, passes  # the split really ran
    assert sliced.equals(one)
    for name in ("accounts.parquet", "signals.parquet", "edges.parquet"):
        assert pq.read_table(tmp_path / "one" / name).equals(pq.read_table(tmp_path / "sliced" / name)), name
    campaigns = [(tmp_path / d / "campaigns.json").read_text() for d in ("one", "sliced")]
    assert campaigns[0] == campaigns[1]
