"""The relational feature queries as Ibis expressions, written once for every backend.

Two stages, so that the ``flagged_at`` replay costs one pass instead of one pass per
checkpoint. Stage 1 aggregates events into *partials* per (account, replay interval ``cp``):
counts, sums, maxima, first occurrences. Stage 2 lays a grid of (account, checkpoint ``k``)
and takes running sums / maxima over ``cp <= k``: the features of every account as the scan
would have seen them at every checkpoint, the last one (``k = K``) being the whole input.
Every feature is defined so that it composes over time (sums of counts, first occurrences
for distinct counts, sums of squares for concentration).

Every function takes and returns ``ibis.Table`` expressions and never names an engine: the
same code compiles to DuckDB (the default, embedded), Polars, or PySpark when logs outgrow
one machine. Portability rules followed here (each learnt on a backend that broke):

* epoch milliseconds of a timestamp are whole epoch seconds of the timestamp truncated to
  the second, times 1000, plus its millisecond field (:func:`epoch_ms`): ``epoch_seconds``
  is typed int32 by Ibis but returns fractional seconds on DuckDB 2, and timestamp
  differences are not supported on Polars / PySpark;
* modulo is made non-negative with ``((x % m) + m) % m`` (C-style on DuckDB / Spark,
  floor-style on Polars);
* ``count(*) FILTER`` is ``table.count(where=...)`` (a sum of booleans is NULL, not 0, on an
  all-NULL group);
* grids over checkpoints join a small in-memory table of ``k`` (no engine ``range``).

The input ``ev`` has the normalized view columns (:data:`~._prepare.VIEW_COLUMNS`) plus
``aid``, ``t`` and ``cp`` (see :func:`~._prepare.register_events`).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

#: Main-population UTC offset (minutes, standard time) of billing countries, for the local
#: clock of a declared customer: people work by day where they say they live. Multi-zone
#: countries use their population centre (the US: Central), so the night window is judged
#: as a share, not hour by hour. Countries not listed have no local clock (NULL).
COUNTRY_UTC_OFFSET_MIN: dict[str, int] = {
    "US": -360, "CA": -300, "MX": -360, "BR": -180, "AR": -180, "CL": -240, "CO": -300,
    "PE": -300, "GB": 0, "IE": 0, "PT": 0, "IS": 0, "FR": 60, "DE": 60, "ES": 60, "IT": 60,
    "NL": 60, "BE": 60, "CH": 60, "AT": 60, "SE": 60, "NO": 60, "DK": 60, "PL": 60, "CZ": 60,
    "HU": 60, "NG": 60, "FI": 120, "GR": 120, "RO": 120, "UA": 120, "IL": 120, "EG": 120,
    "ZA": 120, "TR": 180, "RU": 180, "SA": 180, "KE": 180, "AE": 240, "PK": 300, "IN": 330,
    "BD": 360, "TH": 420, "VN": 420, "ID": 420, "MY": 480, "SG": 480, "PH": 480, "CN": 480,
    "HK": 480, "TW": 480, "KR": 540, "JP": 540, "AU": 600, "NZ": 720,
}  # fmt: skip

_HOUR_MS = 3_600_000


def epoch_ms(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Milliseconds since the epoch rounded half up, as DuckDB's ``epoch_ms``, on any backend:
    shift by half a millisecond, then whole seconds * 1000 + the millisecond field (integer
    arithmetic only: PySpark cannot extract microseconds, and float rounding modes differ)."""
    r = ts + ibis.interval(microseconds=500)
    return r.truncate("s").epoch_seconds().cast("int64") * 1000 + r.millisecond()


def checkpoint_table(n_checkpoints: int) -> ir.Table:
    """The checkpoints ``k = 0..K`` as a one-column in-memory table (``k`` int32)."""
    import pyarrow as pa

    return ibis.memtable(pa.table({"k": pa.array(range(n_checkpoints + 1), pa.int32())}))


def timezones() -> ir.Table:
    """(country, off_min) of :data:`COUNTRY_UTC_OFFSET_MIN`."""
    import pyarrow as pa

    items = sorted(COUNTRY_UTC_OFFSET_MIN.items())
    return ibis.memtable(
        pa.table({"country": [c for c, _ in items], "off_min": pa.array([m for _, m in items], pa.int32())})
    )


def minority_models(ev: ir.Table, params: Any) -> ir.Table:
    """Models present from the start of the input (not a new release) yet carrying less
    than ``minority_model_share`` of all traffic -- the older generation the population has
    moved away from. Steering a harvest to an older, less-protected model ("defense
    arbitrage") is on the public record; a legacy integration does it too, so the
    per-account share is weak alone."""
    known = ev.filter(ev.model.notnull())
    m = known.group_by("model").aggregate(n=known.count(), f=known.t.min())
    tot = m.aggregate(tot_n=m.n.sum(), t0=m.f.min(), models=m.count())
    j = m.cross_join(tot)
    return j.filter(
        (j.models >= 2)
        & (j.n < params.minority_model_share * j.tot_n)
        & (j.f - j.t0 <= params.new_model_margin_h * _HOUR_MS)
    ).select("model")


def attributes(ev: ir.Table) -> ir.Table:
    """Account attributes (signup path, billing country, card, creation time) as first seen."""
    return ev.group_by("aid").aggregate(
        account_id=ev.account_id.arbitrary(),
        tier=ev.account_tier.argmin(ev.t, where=ev.account_tier != "unknown").coalesce("unknown"),
        country=ev.account_country.argmin(ev.t, where=ev.account_country.notnull()),
        payment=ev.payment_fingerprint.argmin(ev.t, where=ev.payment_fingerprint.notnull()),
        provider=ev.provider.argmin(ev.t),
        created_at=ev.account_created_at.min(),
    )


def gaps(ev: ir.Table) -> ir.Table:
    """``aid``, ``cp``, ``gap`` and ``gap_prev`` per event: seconds since the account's previous
    request, and the gap before that (NULL for its first requests). A window over three
    narrow columns, not over the wide rows. Ties in time need no tie-break: equal times give
    the same (cp, gap, gap_prev) rows in either order, and a prefix of the input (the events
    of ``cp <= k``) has the same gaps, so one pass serves every replay checkpoint."""
    g = ev.select("aid", "cp", "t")
    w = ibis.window(group_by=g.aid, order_by=g.t)
    prev, prev2 = g.t.lag().over(w), g.t.lag(2).over(w)
    return g.select(
        "aid",
        "cp",
        gap=(g.t - prev).cast("float64") / 1000.0,
        gap_prev=(prev - prev2).cast("float64") / 1000.0,
    )


def partial_gaps(ev: ir.Table, params: Any) -> ir.Table:
    """Per (account, interval): the session gaps and their sums, fast gaps, and the steady
    periods (a gap within ``periodic_tol`` of the previous one) of :func:`gaps`."""
    e, p = gaps(ev), params
    sess = e.gap <= p.session_gap_s
    pair = sess & (e.gap_prev <= p.session_gap_s)
    return e.group_by(["aid", "cp"]).aggregate(
        gap_n=e.count(where=sess),
        gap_sum=e.gap.sum(where=sess).coalesce(0.0),
        gap_sq=(e.gap * e.gap).sum(where=sess).coalesce(0.0),
        fast_n=e.count(where=sess & (e.gap < p.fast_gap_s)),
        pair_n=e.count(where=pair),
        periodic_n=e.count(
            where=pair
            & (e.gap_prev >= p.fast_gap_s)
            & ((e.gap - e.gap_prev).abs() <= p.periodic_tol * e.gap_prev)
        ),
    )


def partial_base(ev: ir.Table, minor: list[str], capabilities: list[str], params: Any) -> ir.Table:
    """Additive partials per (account, interval); ``minor`` is :func:`minority_models`, and
    ``cap_<i>`` counts the requests of ``capabilities[i]`` (see :func:`capability_names`).
    The gap columns come from :func:`partial_gaps`, joined on (account, interval): both
    group the same events."""
    tz = timezones()
    e = ev.left_join(tz, ev.account_country.upper() == tz.country)
    p = params
    geo = (
        e.account_country.notnull()
        & e.ip_country.notnull()
        & ~e.ip_kind.isin(["relay", "private", "unknown"])
    )
    local_min = (((e.t // 60_000 + e.off_min) % 1440) + 1440) % 1440
    minor_hit = e.model.isin(minor) if minor else ibis.literal(False)
    base = e.group_by(["aid", "cp"]).aggregate(
        n=e.count(),
        first_ts=e.ts.min(),
        last_ts=e.ts.max(),
        in_tok=e.input_tokens.sum().cast("float64"),
        out_tok=e.output_tokens.sum().cast("float64"),
        reason_tok=e.reasoning_tokens.sum().coalesce(0).cast("float64"),
        tool_n=e.count(where=e.tool_count > 0),
        # datacenter egress only: commercial VPN and Tor exits are consumer privacy tools
        # shared by unrelated people (like a NAT or a relay), not evidence of a scripted client
        hosting_n=e.count(where=e.ip_kind == "hosting"),
        relay_n=e.count(where=e.ip_kind == "relay"),
        resid_n=e.count(where=e.ip_kind.isin(["residential", "mobile"])),
        unknown_n=e.count(where=(e.ip_kind == "unknown") | e.client_ip.isnull()),
        mism_den=e.count(where=geo),
        mism_n=e.count(where=geo & (e.ip_country.upper() != e.account_country.upper())),
        tagged_n=e.cot.count(),
        cot_n=e.count(where=e.cot),
        ext_den=e.extraction_tag.count(),
        ext_n=e.count(where=e.extraction_tag),
        tmpl_n=e.template_family.count(),
        tz_n=e.off_min.count(),
        night_n=e.count(where=(local_min >= p.night_start_h * 60) | (local_min < p.night_end_h * 60)),
        minor_n=e.count(where=minor_hit),
        **{f"cap_{i}": e.count(where=e.capability == c) for i, c in enumerate(capabilities)},
    )
    g = partial_gaps(ev, params)
    joined = base.join(g, ["aid", "cp"])
    # the column order of the days gaps were event columns (after tool_n)
    cut = base.columns.index("tool_n") + 1
    names = [*base.columns[:cut], *(c for c in g.columns if c not in ("aid", "cp")), *base.columns[cut:]]
    return joined.select(*names)


def partial_peaks(ev: ir.Table) -> ir.Table:
    """Rolling-window peaks: busiest second / minute / hour per interval (checkpoints fall on
    whole hours, so no bucket straddles two intervals) and the running count of each UTC day."""
    s = ev.group_by(["aid", "cp", (ev.t // 1000).name("b")]).aggregate(c=ev.count())
    m = s.group_by(["aid", "cp", (s.b // 60).name("b")]).aggregate(c=s.c.sum(), ps=s.c.max())
    h = m.group_by(["aid", "cp", (m.b // 60).name("b")]).aggregate(c=m.c.sum(), ps=m.ps.max(), pm=m.c.max())
    d = h.group_by(["aid", "cp", (h.b // 24).name("b")]).aggregate(c=h.c.sum())
    d = d.mutate(cum=d.c.sum().over(ibis.cumulative_window(group_by=[d.aid, d.b], order_by=d.cp)))
    dc = d.group_by(["aid", "cp"]).aggregate(peak_day=d.cum.max())
    hh = h.group_by(["aid", "cp"]).aggregate(
        peak_sec=h.ps.max(), peak_min=h.pm.max(), peak_hour=h.c.max(), hour_buckets=h.count()
    )
    return hh.join(dc, ["aid", "cp"])


def first_keys(ev: ir.Table) -> dict[str, ir.Column]:
    """Distinct counts compose over time as counts of first occurrences of these keys."""
    return {
        "active_hours": ((ev.t // _HOUR_MS) % 24 + 24) % 24,
        "active_days": ev.t // (24 * _HOUR_MS),
        "models": ev.model,
        "ips": ev.client_ip,
        "prefixes": ev.ip_prefix,
        "asns": ev.asn,
        "ip_countries": ev.ip_country,
        "user_agents": ev.user_agent,
        "tls_fps": ev.tls_fingerprint,
        "families": ev.template_family,
        "capabilities": ev.capability.nullif("chat"),
    }


#: Names of the first-occurrence partials, in output order.
FIRST_KEYS: tuple[str, ...] = (
    "active_hours",
    "active_days",
    "models",
    "ips",
    "prefixes",
    "asns",
    "ip_countries",
    "user_agents",
    "tls_fps",
    "families",
    "capabilities",
)


def partial_first(ev: ir.Table) -> ir.Table:
    """First-occurrence partials: per (account, interval) how many new distinct values."""
    branches = []
    for i, (name, key) in enumerate(first_keys(ev).items()):
        assert name == FIRST_KEYS[i]
        f = ev.filter(key.notnull())
        firsts = f.group_by(["aid", key.name("v")]).aggregate(cp=f.cp.min())
        branches.append(firsts.select("aid", "cp", key=ibis.literal(i, "int8")))
    u = ibis.union(*branches, distinct=False)
    return u.group_by(["aid", "cp"]).aggregate(
        **{name: u.count(where=u.key == i) for i, name in enumerate(FIRST_KEYS)}
    )


def partial_families(ev: ir.Table) -> ir.Table:
    """Template-family counts per (account, family, interval); also read by coordination."""
    f = ev.filter(ev.template_family.notnull())
    return f.group_by(["aid", f.template_family.name("f"), "cp"]).aggregate(c=f.count())


def partial_squares(af: ir.Table) -> ir.Table:
    """Concentration of an account's prompts on few families: the running sum of squared
    family counts (Simpson's index = sq / n^2) grows by (cum^2 - (cum - c)^2) per interval."""
    a = af.mutate(cum=af.c.sum().over(ibis.cumulative_window(group_by=[af.aid, af.f], order_by=af.cp)))
    return a.group_by(["aid", "cp"]).aggregate(
        sq=(a.cum * a.cum - (a.cum - a.c) * (a.cum - a.c)).sum().cast("float64")
    )


def capability_names(ev: ir.Table) -> ir.Table:
    """Distinct specific capabilities (everything but plain chat), sorted."""
    c = ev.filter(ev.capability.notnull() & (ev.capability != "chat"))
    return c.select("capability").distinct().order_by("capability")


def _cum(col: ir.Column, group_by: list[Any], order_by: Any) -> ir.Column:
    return col.sum().over(ibis.cumulative_window(group_by=group_by, order_by=order_by))


def rare_tls(ev: ir.Table, pb: ir.Table, n_checkpoints: int, params: Any) -> ir.Table:
    """Share of an account's fingerprinted traffic on TLS fingerprints that few accounts had
    used *by that checkpoint* (a fingerprint is rare while few accounts carry it)."""
    ks = checkpoint_table(n_checkpoints)
    f = ev.filter(ev.tls_fingerprint.notnull())
    afp = f.group_by(["aid", f.tls_fingerprint.name("fp"), "cp"]).aggregate(c=f.count())
    pf = afp.group_by(["aid", "fp"]).aggregate(cp0=afp.cp.min())
    acc = pb.group_by("aid").aggregate(cp0=pb.cp.min())
    new = acc.group_by("cp0").aggregate(new=acc.count())
    tot = ks.left_join(new, ks.k == new.cp0).select(ks.k, new=new.new.coalesce(0))
    tot = tot.select(tot.k, accounts=_cum(tot.new, [], tot.k))
    grid = pf.join(ks, ks.k >= pf.cp0).select(pf.aid, pf.fp, ks.k)
    fpk = grid.group_by(["fp", "k"]).aggregate(fp_accounts=grid.count())
    cum = grid.left_join(afp, [grid.aid == afp.aid, grid.fp == afp.fp, grid.k == afp.cp]).select(
        grid.aid, grid.fp, grid.k, afp.c
    )
    cum = cum.mutate(c=_cum(cum.c, [cum.aid, cum.fp], cum.k))
    j = cum.join(fpk, ["fp", "k"]).join(tot, "k")
    rare = j.fp_accounts <= ibis.greatest(2.0, params.rare_fp_share * j.accounts)
    return j.group_by(["aid", "k"]).aggregate(
        rare_tls_share=rare.ifelse(j.c, 0).sum().cast("float64") / j.c.sum()
    )


def pivot(ev: ir.Table, n_checkpoints: int, params: Any) -> ir.Table:
    """Model-release pivot: the share of an account's traffic that went to a model in the
    first ``pivot_window_h`` hours after that model first appeared in the logs. Models present
    from the start of the input (within ``new_model_margin_h``) are not "new"."""
    ks = checkpoint_table(n_checkpoints)
    mf = ev.group_by("model").aggregate(m_first=ev.t.min())
    t0 = ev.aggregate(t0=ev.t.min())
    newm = mf.cross_join(t0)
    newm = newm.filter(newm.m_first - newm.t0 > params.new_model_margin_h * _HOUR_MS).select(
        nm=newm.model, m_first=newm.m_first
    )
    j = ev.join(newm, (ev.t >= newm.m_first) & (ev.t < newm.m_first + params.pivot_window_h * _HOUR_MS))
    w = j.group_by(["aid", "nm", "cp"]).aggregate(inw=j.count(), onn=j.count(where=j.model == j.nm))
    p = w.group_by(["aid", "nm"]).aggregate(cp0=w.cp.min())
    pg = p.join(ks, ks.k >= p.cp0).select(p.aid, p.nm, ks.k)
    cum = pg.left_join(w, [pg.aid == w.aid, pg.nm == w.nm, pg.k == w.cp]).select(
        pg.aid, pg.nm, pg.k, w.inw, w.onn
    )
    cum = cum.mutate(inw=_cum(cum.inw, [cum.aid, cum.nm], cum.k), onn=_cum(cum.onn, [cum.aid, cum.nm], cum.k))
    return cum.group_by(["aid", "k"]).aggregate(
        pivot_share=(cum.onn.cast("float64") / cum.inw).max(), pivot_n=cum.onn.max()
    )
