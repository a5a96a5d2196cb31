"""Per-campaign timelines: requests per hour per member, as geometry for an inline SVG.

Synchronised fleets show up as vertical stripes (members active in the same hours) and
load-balanced ones as an even carpet; that picture convinces a reviewer faster than a
table. Counts come from the events with one pass (Ibis over DuckDB) over the Parquet dataset
for all campaigns at once; without events the report falls back to each member's first-to-last
activity span from ``accounts.parquet``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard import _duck, _engine
from distillguard.report._display import display_id

_US_PER_HOUR = 3_600_000_000

# Drawing constants (pixels): not thresholds, just the layout of the picture.
_WIDTH = 820
_LABEL_W = 170
_ROW_H = 13
_TOTAL_H = 56
_AXIS_H = 18


@dataclass
class Timeline:
    """Everything the template needs to draw one campaign's timeline."""

    kind: str  # "hourly" (from events), "span" (first/last seen) or "none"
    note: str
    width: int = _WIDTH
    height: int = 0
    label_w: int = _LABEL_W
    rows: list[dict[str, Any]] = field(default_factory=list)  # {label, y, cells|bar}
    total_points: str = ""  # polyline of the campaign's total per bucket
    total_max: int = 0
    ticks: list[dict[str, Any]] = field(default_factory=list)  # {x, text}
    bucket_hours: int = 1
    hidden_members: int = 0


def _events(con: Any, files: list[str]) -> Any:
    """``files`` as one Ibis table (columns missing from some parts read as null)."""
    return _engine.read_parquet(con, files, "dg_events")


def count_events(files: list[str]) -> int:
    """Number of events in ``files`` (DuckDB answers from Parquet footers, no scan)."""
    con = _duck.backend()
    try:
        return int(_events(con, files).count().to_pyarrow().as_py())
    finally:
        con.disconnect()


def hourly_counts(files: list[str], members: pa.Table, max_buckets: int) -> tuple[pa.Table, dict[str, tuple]]:
    """Counts per (campaign, drawn member or null, bucket) and per-campaign (start, bucket width).

    ``members`` has ``ckey`` (campaign index), ``account_id`` and ``drawn`` (bool); members
    not drawn are summed into the null row that feeds only the campaign total.
    """
    import ibis

    con = _duck.backend()
    try:
        ev = _events(con, files)
        source = ev.select("account_id", t=_engine.epoch_us(con, ev.timestamp))
        m = _engine.arrow_table(con, "dg_members", members)
        j = source.join(m, "account_id")
        spans = j.group_by("ckey").aggregate(t0=j.t.min(), t1=j.t.max()).to_pyarrow()
        params: dict[str, tuple] = {}
        for ckey, t0, t1 in zip(*(spans[c].to_pylist() for c in ("ckey", "t0", "t1")), strict=True):
            hours = max(1, math.ceil((t1 - (t0 // _US_PER_HOUR) * _US_PER_HOUR + 1) / _US_PER_HOUR))
            width = max(1, math.ceil(hours / max_buckets))
            start = (t0 // _US_PER_HOUR) * _US_PER_HOUR
            params[ckey] = (start, width, math.ceil(hours / width))
        p = _engine.arrow_table(
            con,
            "dg_params",
            pa.table(
                {
                    "ckey": pa.array(list(params), pa.string()),
                    "start_us": pa.array([p[0] for p in params.values()], pa.int64()),
                    "bucket_us": pa.array([p[1] * _US_PER_HOUR for p in params.values()], pa.int64()),
                }
            ),
        )
        j = source.join(m, "account_id").join(p, "ckey")
        # t >= start_us: the floor division is a plain integer division on every engine
        counts = (
            j.group_by(
                ckey=j.ckey,
                account_id=ibis.ifelse(j.drawn, j.account_id, ibis.null("string")),
                bucket=((j.t - j.start_us) // j.bucket_us).cast("int64"),
            )
            .aggregate(n=j.count())
            .order_by(["ckey", "account_id", "bucket", "n"])
            .to_pyarrow()
        )
    finally:
        con.disconnect()
    return counts, params


def _ticks(
    start_us: int, bucket_hours: int, n_buckets: int, x0: float, cell_w: float
) -> list[dict[str, Any]]:
    """Axis ticks on round UTC times (midnights for day steps), at most about six.

    A date label under a tick that is not at midnight reads as the wrong day, so ticks
    sit on multiples of the step (hours) or on midnights (days), not on the first event.
    """
    import datetime as dt

    total_hours = n_buckets * bucket_hours
    step_hours = next(s for s in (1, 3, 6, 12, 24, 48, 168, 336, 720, 10**9) if total_hours / s <= 6)
    align = step_hours if step_hours <= 24 else 24
    start_h = start_us // _US_PER_HOUR
    first = -(-start_h // align) * align
    width = total_hours / bucket_hours * cell_w
    ticks = []
    for h_abs in range(first, start_h + total_hours + 1, step_hours):
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h_abs)
        text = moment.strftime("%m-%d %H:00" if step_hours < 24 else "%Y-%m-%d")
        offset = (h_abs - start_h) / bucket_hours * cell_w
        # Labels near an edge are anchored inside the picture so they are not cut off.
        anchor = "start" if offset < 40 else ("end" if width - offset < 40 else "middle")
        ticks.append({"x": round(x0 + offset, 1), "text": text, "anchor": anchor})
    return ticks


def hourly_timeline(drawn: list[str], hidden: int, counts: pa.Table | None, param: tuple | None) -> Timeline:
    """Heat-map rows (one per drawn member) and a total line for one campaign."""
    if counts is None or param is None or counts.num_rows == 0:
        return Timeline(kind="none", note="no events for these accounts in the given event directory")
    start_us, bucket_hours, n_buckets = param
    n_buckets = max(1, n_buckets)
    x0 = float(_LABEL_W)
    cell_w = (_WIDTH - _LABEL_W - 8) / n_buckets
    bucket = counts["bucket"].to_numpy()
    n = counts["n"].to_numpy()
    total = np.bincount(bucket, weights=n, minlength=n_buckets)[:n_buckets]
    total_max = int(total.max()) if total.size else 0
    account = counts["account_id"].to_pylist()
    per_member: dict[str, list[tuple[int, int]]] = {}
    for acc, b, c in zip(account, bucket.tolist(), n.tolist(), strict=True):
        if acc is not None:
            per_member.setdefault(acc, []).append((b, c))
    member_max = max((c for cells in per_member.values() for _, c in cells), default=1)
    rows = []
    top = _TOTAL_H + 6
    for i, acc in enumerate(drawn):
        y = top + i * _ROW_H
        cells = [
            {
                "x": round(x0 + b * cell_w, 2),
                "w": round(max(cell_w, 0.8), 2),
                # Log scale: one request and a thousand both stay visible.
                "opacity": round(0.15 + 0.85 * math.log1p(c) / math.log1p(member_max), 3),
                "title": f"{display_id(acc)}: {c} requests",
            }
            # sorted: the query's row order varies with DuckDB's threads, the picture must not
            for b, c in sorted(per_member.get(acc, []))
        ]
        rows.append({"label": display_id(acc), "y": y, "cells": cells})
    xs = x0 + (np.arange(n_buckets) + 0.5) * cell_w
    ys = _TOTAL_H - 4 - (total / max(total_max, 1)) * (_TOTAL_H - 10)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))
    height = top + len(drawn) * _ROW_H + _AXIS_H
    unit = "hour" if bucket_hours == 1 else f"{bucket_hours} h"
    return Timeline(
        kind="hourly",
        note=f"requests per {unit} per member (darker = more); line: all members together",
        height=height,
        rows=rows,
        total_points=points,
        total_max=total_max,
        ticks=_ticks(start_us, bucket_hours, n_buckets, x0, cell_w),
        bucket_hours=bucket_hours,
        hidden_members=hidden,
    )


def span_timeline(accounts: pa.Table, drawn: list[str], hidden: int) -> Timeline:
    """Without events: one bar per member from its first to its last request."""
    import pyarrow.compute as pc

    rows_t = accounts.filter(pc.is_in(accounts["account_id"], pa.array(drawn, pa.string())))
    first = pc.cast(rows_t["first_seen"], pa.int64()).to_pylist()
    last = pc.cast(rows_t["last_seen"], pa.int64()).to_pylist()
    spans = {
        a: (lo, hi)
        for a, lo, hi in zip(rows_t["account_id"].to_pylist(), first, last, strict=True)
        if lo is not None and hi is not None
    }
    if not spans:
        return Timeline(kind="none", note="no events given and no first/last seen times in accounts.parquet")
    t0 = min(lo for lo, _ in spans.values())
    t1 = max(hi for _, hi in spans.values())
    start = (t0 // _US_PER_HOUR) * _US_PER_HOUR
    hours = max(1, math.ceil((t1 - start + 1) / _US_PER_HOUR))
    x0, span_w = float(_LABEL_W), _WIDTH - _LABEL_W - 8
    scale = span_w / (hours * _US_PER_HOUR)
    rows = []
    top = 6
    for i, acc in enumerate(drawn):
        y = top + i * _ROW_H
        if acc in spans:
            lo, hi = spans[acc]
            bar = {"x": round(x0 + (lo - start) * scale, 2), "w": round(max((hi - lo) * scale, 1.5), 2)}
        else:
            bar = None
        rows.append({"label": display_id(acc), "y": y, "bar": bar})
    return Timeline(
        kind="span",
        note="first to last request per member (pass the events for requests per hour)",
        height=top + len(drawn) * _ROW_H + _AXIS_H,
        rows=rows,
        ticks=_ticks(start, 1, hours, x0, span_w / hours),
        hidden_members=hidden,
    )
