"""Time to detection: how much a campaign harvested before its first account was flagged.

Recall says whether a fleet was caught; this says whether it was caught in time. For
every true campaign we count the exchanges its accounts sent before the earliest
``flagged_at`` among them, the hours from its first exchange to that moment, and the
share of all its exchanges that came before. Each campaign also gets its deadline: the
moment its ``early_share``-th share of exchanges had been sent (``early_share_at``,
``hours_to_early_share``); a flag at or before it counts as early. Knowing how long a
campaign gave the detector says whether a miss is a matter of minutes or of days (on
``tiny`` the capability sweep reaches 5% in under two hours, the relay in thirteen). The
events are read straight from the Parquet dataset by Ibis expressions (on DuckDB), so
memory stays bounded at tens of millions of events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard import _duck, _engine

#: The issue's target: a campaign counts as caught early when flagged before this share of
#: its exchanges was sent (reported as ``flagged_early``).
EARLY_SHARE = 0.05

_US_PER_HOUR = 3_600_000_000


def connect() -> Any:
    """An Ibis backend on an in-memory DuckDB connection set up for large scans (UTC, no
    order preservation: aggregates do not need input order; dropping it lets DuckDB stream
    and spill)."""
    return _duck.backend(preserve_insertion_order=False)


def events(con: Any, files: Sequence[str]) -> Any:
    """The event Parquet ``files`` as an Ibis table of ``account_id`` and ``t`` (epoch microseconds)."""
    ev = _engine.read_parquet(con, files, "dg_events")
    return ev.select("account_id", t=_engine.epoch_us(con, ev.timestamp))


def campaign_first_flags(
    campaign: np.ndarray, flagged: np.ndarray, flagged_at_us: np.ndarray, not_flagged: int
) -> pa.Table:
    """Per true campaign, the earliest flag time of a flagged member (absent when none)."""
    has = np.not_equal(campaign, None) & flagged & (flagged_at_us != not_flagged)
    names, inverse = np.unique(campaign[has].astype(str), return_inverse=True)
    first = np.full(names.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse, flagged_at_us[has])
    return pa.table({"campaign": pa.array(names.tolist(), pa.string()), "first_us": pa.array(first)})


def time_to_detection(
    con: Any,
    files: Sequence[str],
    members: pa.Table,
    first_flags: pa.Table,
    *,
    early_share: float = EARLY_SHARE,
) -> dict[str, Any]:
    """Exchanges, hours and share of exchanges before each campaign's first flag.

    ``members`` maps attack ``account_id`` -> true ``campaign``; ``first_flags`` maps
    ``campaign`` -> ``first_us`` (epoch microseconds). A campaign never flagged harvested
    everything undetected: share 1, hours unknown.
    """
    e = events(con, files)
    m = _engine.arrow_table(con, "dg_members", members)
    f = _engine.arrow_table(con, "dg_first", first_flags)
    jm = e.join(m, "account_id")
    j = jm.left_join(f, jm.campaign == f.campaign)
    per = (
        j.group_by("campaign")
        .aggregate(
            total=j.count(),
            before=j.count(where=j.first_us.isnull() | (j.t < j.first_us)),
            start_us=j.t.min(),
            first_us=j.first_us.arbitrary(),
        )
        .order_by("campaign")
        .to_pyarrow()
    )
    columns = ("campaign", "total", "before", "start_us", "first_us")
    rows = list(zip(*(per[c].to_pylist() for c in columns), strict=True))
    deadlines = _early_share_times(con, files, members, {r[0]: r[1] for r in rows}, early_share)
    out = []
    for name, total, before, start_us, first_us in rows:
        detected = first_us is not None
        deadline_us = deadlines.get(name)
        out.append(
            {
                "campaign": name,
                "detected": detected,
                "exchanges": int(total),
                "exchanges_before": int(before),
                "share_before": round(before / total, 6) if total else None,
                "hours_before": round((first_us - start_us) / _US_PER_HOUR, 3) if detected else None,
                "first_flagged_at": _iso(first_us) if detected else None,
                "early_share_at": _iso(deadline_us) if deadline_us is not None else None,
                "hours_to_early_share": (
                    round((deadline_us - start_us) / _US_PER_HOUR, 3) if deadline_us is not None else None
                ),
            }
        )
    return {"campaigns": out, "summary": _summary(out, early_share)}


def _early_rank(total: int, early_share: float) -> int:
    """The 1-based rank of the exchange a flag must come no later than to be early.

    Early means ``before / total < early_share`` (``_summary``), i.e. at most ``k - 1``
    exchanges before the flag, for the smallest ``k`` with ``k / total >= early_share``;
    computed with that same float comparison so the two never disagree at a boundary.
    """
    k = max(1, math.ceil(early_share * total))
    while k > 1 and (k - 1) / total >= early_share:
        k -= 1
    while k < total and k / total < early_share:
        k += 1
    return k


def _early_share_times(
    con: Any,
    files: Sequence[str],
    members: pa.Table,
    totals: dict[str, int],
    early_share: float,
) -> dict[str, int]:
    """Per campaign, the time (epoch us) of the exchange at rank :func:`_early_rank`."""
    if not totals:
        return {}
    ranks = pa.table(
        {
            "campaign": pa.array(list(totals), pa.string()),
            "k": pa.array([_early_rank(int(n), early_share) for n in totals.values()], pa.int64()),
        }
    )
    import ibis

    e = events(con, files)
    m = _engine.arrow_table(con, "dg_members", members)
    r = _engine.arrow_table(con, "dg_ranks", ranks)
    o = e.join(m, "account_id")
    o = o.mutate(rn=ibis.row_number().over(group_by="campaign", order_by="t") + 1)
    hits = o.join(r, [o.campaign == r.campaign, o.rn == r.k]).select(o.campaign, o.t).to_pyarrow()
    return {name: int(t) for name, t in zip(hits["campaign"].to_pylist(), hits["t"].to_pylist(), strict=True)}


def _summary(rows: list[dict[str, Any]], early_share: float) -> dict[str, Any]:
    shares = np.array([r["share_before"] for r in rows if r["share_before"] is not None], dtype=float)
    hours = np.array([r["hours_before"] for r in rows if r["hours_before"] is not None], dtype=float)
    return {
        "campaigns": len(rows),
        "detected": sum(r["detected"] for r in rows),
        "early_share": early_share,
        "flagged_early": int(np.sum(shares < early_share)) if shares.size else 0,
        "median_share_before": round(float(np.median(shares)), 6) if shares.size else None,
        "max_share_before": round(float(np.max(shares)), 6) if shares.size else None,
        "median_hours_before": round(float(np.median(hours)), 3) if hours.size else None,
        "max_hours_before": round(float(np.max(hours)), 3) if hours.size else None,
    }


def _iso(us: int) -> str:
    import datetime as dt

    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return moment.isoformat().replace("+00:00", "Z")
