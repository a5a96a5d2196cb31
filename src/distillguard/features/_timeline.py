"""The feature timeline: per-account features at every replay checkpoint from one pass.

Why: ``flagged_at`` must be the time an account *would* have been flagged had the scan run
then, which means re-running detection on every prefix of the input. Recomputing features
from raw events per checkpoint costs a full pass each; here the events are aggregated once
into partials per (account, interval) and running sums give all checkpoints together. The
last checkpoint ``K`` is the whole input, so the main scan and the replay share one code path
(no second implementation that could drift).

The queries are Ibis expressions (:mod:`._ibis_exprs`, :mod:`._ibis_grid`); this module only
decides where their results live. On DuckDB (the default) each stage 1 partial is a temp
table named ``{src}_<part>`` (detectors re-read ``{src}_af`` and ``{src}_attr``) and the
timeline is the main-catalog table ``{src}_feat``, built in account chunks so that one
chunk's window aggregates are in flight at a time. On PySpark each partial is computed once
and kept (:func:`distillguard._engine.keep`: a view over a local checkpoint) and the timeline
stays a lazy expression over them; on other backends everything stays lazy, planned whole by
that engine.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from distillguard import _engine
from distillguard.features import _ibis_exprs as X
from distillguard.features._ibis_grid import cumulative, features


@dataclass
class Timeline:
    """Features of every account at checkpoints ``0..K`` (``K`` = the whole input).

    ``checkpoints[k]`` is the time of checkpoint ``k < K``: it sees the events strictly
    before it (``cp <= k`` in the event table). The features of all checkpoints stay in the
    backend (on DuckDB the table ``table``, which spills past DuckDB's memory limit);
    :meth:`at` materializes one checkpoint's slice as Arrow and keeps only the last one, so
    the replay holds one checkpoint outside the backend at a time. ``cache`` holds
    cross-account partial tables that detectors build once and re-aggregate per checkpoint.
    """

    con: Any  #: the DuckDB connection (detectors run SQL on it), or the Ibis backend
    src: str
    checkpoints: list[dt.datetime]
    table: str  #: name of the table of all checkpoints (column ``k``)
    cache: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per build step
    expr: Any = field(default=None, repr=False)  #: Ibis table of all checkpoints
    backend: Any = field(default=None, repr=False)  #: the Ibis backend the expressions run on
    parts: dict[str, Any] = field(default_factory=dict, repr=False)  #: stage 1 partials (Ibis)
    _last: tuple[int, pa.Table] | None = field(default=None, repr=False)

    @property
    def final(self) -> int:
        return len(self.checkpoints)

    def at(self, k: int | None = None) -> pa.Table:
        """Features of the accounts seen before checkpoint ``k`` (default: the whole input)."""
        k = self.final if k is None else int(k)
        if self._last is None or self._last[0] != k:
            self._last = None  # free the previous slice before reading the next
            sl = self.expr.filter(self.expr.k == k).drop("k").order_by("aid")
            self._last = (k, _stable(sl.to_pyarrow()))
        return self._last[1]

    def time_of(self, k: int) -> dt.datetime | None:
        return self.checkpoints[k] if k < self.final else None


#: (account, checkpoint) grid rows whose running sums are taken in one chunk: bounds the
#: memory of the window aggregates in flight to a few hundred MB whatever the number of
#: accounts; a 1M-event input is a single chunk.
GRID_CHUNK_ROWS = 1_000_000


#: Decimal places kept on float features: parallel aggregation sums in a varying order, and
#: the last bits must not decide a verdict (same input, same bytes out).
FLOAT_DECIMALS = 9


def _stable(table: pa.Table) -> pa.Table:
    import pyarrow.compute as pc

    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_floating(col.type):
            col = pc.round(col, FLOAT_DECIMALS)
        elif pa.types.is_timestamp(col.type) and col.type != UTC_MICROS:
            # PySpark hands back its session's (UTC) instants without a zone, maybe in ns
            col = col.cast(pa.timestamp(col.type.unit, "UTC")).cast(UTC_MICROS)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


#: Timestamps of the feature table on every backend: UTC microseconds (DuckDB's own).
UTC_MICROS = pa.timestamp("us", "UTC")


def utc_micros(table: pa.Table) -> pa.Table:
    """Timestamp columns as UTC epoch microseconds, for comparing backends' results: PySpark
    hands timestamps back without a zone (its session zone is UTC), the same instant."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us", tz=col.type.tz or "UTC")).cast(pa.int64())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def ibis_backend(con: Any) -> Any:
    """The Ibis backend of ``con``: itself if it is one, else an Ibis DuckDB client over the
    same DuckDB connection (its settings left as they were, so other stages' SQL on the
    connection behaves the same)."""
    import ibis

    if isinstance(con, ibis.BaseBackend):
        return con

    before = con.execute("SELECT current_setting('python_enable_replacements')").fetchall()[0][0]
    backend = ibis.duckdb.from_connection(con)
    con.execute(f"SET python_enable_replacements = {'true' if before else 'false'}")
    return backend


def build_timeline(con: Any, src: str, checkpoints: list[dt.datetime], params: Any) -> Timeline:
    """Stage 1 partials + stage 2 running features for the event table ``src``.

    ``con`` is a DuckDB connection or any Ibis backend holding the table ``src``, which
    must have been registered with the same checkpoints (``register_events``).
    """
    backend = ibis_backend(con)
    duck = backend.name == "duckdb"
    ev = backend.table(src)
    n_cp = len(checkpoints)
    timings: dict[str, float] = {}
    parts: dict[str, Any] = {}

    def step(name: str, key: str | None, build: Any) -> Any:
        started = time.perf_counter()
        out = build()
        if key is not None:
            out = _engine.keep(backend, f"{src}_{key}", out)
            parts[key] = out
        timings[name] = round(time.perf_counter() - started, 3)
        return out

    minor = step("minority_models", None, lambda: X.minority_models(ev, params).to_pyarrow()["model"])
    caps = X.capability_names(ev).to_pyarrow()["capability"].to_pylist()
    step("base", "pb", lambda: X.partial_base(ev, minor.to_pylist(), caps, params))
    step("attributes", "attr", lambda: X.attributes(ev))
    step("peaks", "pk", lambda: X.partial_peaks(ev))
    step("first", "pf", lambda: X.partial_first(ev))
    step("families", "af", lambda: X.partial_families(ev))
    step("squares", "sq", lambda: X.partial_squares(parts["af"]))
    step("rare_tls", "rt", lambda: X.rare_tls(ev, parts["pb"], n_cp, params))
    step("pivot", "pv", lambda: X.pivot(ev, n_cp, params))
    started = time.perf_counter()
    table = f"{src}_feat"
    if duck:
        # the running partials of one chunk are a temp table, the features read it: two small
        # queries compile (in Ibis) many times faster than one deeply nested query
        for i, aids in enumerate(_account_chunks(parts["pb"], n_cp, GRID_CHUNK_ROWS)):
            cum = backend.create_table(
                f"{src}_cum", cumulative(parts, n_cp, len(caps), aids), temp=True, overwrite=True
            )
            chunk = features(cum, parts["attr"], parts["rt"], parts["pv"], caps).order_by(["k", "aid"])
            if i == 0:  # a main-catalog table: compressed on disk when the connection has a file
                expr = backend.create_table(table, chunk, overwrite=True)
            else:
                backend.insert(table, chunk)
        backend.drop_table(f"{src}_cum", force=True)
    else:
        cum = cumulative(parts, n_cp, len(caps), None)
        expr = features(cum, parts["attr"], parts["rt"], parts["pv"], caps)
    timings["grid"] = round(time.perf_counter() - started, 3)
    return Timeline(
        con,
        src,
        list(checkpoints),
        table,
        # the minority (older) models the features counted, for detectors that key on the model
        cache={"minority_models": minor.to_pylist()},
        timings=timings,
        expr=expr,
        backend=backend,
        parts=parts,
    )


def _account_chunks(pb: Any, n_checkpoints: int, rows: int) -> list[tuple[int, int]]:
    """Inclusive ``aid`` ranges whose grids hold about ``rows`` (account, checkpoint) rows each
    (at least one range, so an empty input still creates the feature table). ``pb`` is the
    base partial table (Ibis)."""
    import numpy as np

    acc = pb.group_by("aid").aggregate(cp0=pb.cp.min()).order_by("aid").to_pyarrow()
    aid = acc["aid"].to_numpy().astype(np.int64)
    cp0 = acc["cp0"].to_numpy().astype(np.int64)
    if len(aid) == 0:
        return [(0, -1)]
    chunk = np.cumsum(n_checkpoints + 1 - cp0) // max(rows, 1)
    starts = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]])
    ends = np.r_[starts[1:] - 1, len(aid) - 1]
    return [(int(aid[a]), int(aid[b])) for a, b in zip(starts, ends, strict=True)]
