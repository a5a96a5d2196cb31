"""Stage 2 of the feature queries as Ibis expressions: the (account, checkpoint) grid, the
running sums over checkpoints, and the derived per-account features.

The running sums are window aggregates (``cumulative_window`` over ``k`` per account), so
the whole of stage 2 is one expression that the backend executes and writes where it keeps
tables: on DuckDB nothing of the grid passes through Python, which bounds memory by DuckDB's
(spilling) limit instead of the grid size.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from distillguard.features._ibis_exprs import FIRST_KEYS, checkpoint_table, epoch_ms

#: Partials summed over intervals (everything else in the grid is a running max / min).
SUM_COLUMNS: tuple[str, ...] = (
    "n",
    "in_tok",
    "out_tok",
    "reason_tok",
    "tool_n",
    "gap_n",
    "gap_sum",
    "gap_sq",
    "fast_n",
    "pair_n",
    "periodic_n",
    "hosting_n",
    "relay_n",
    "resid_n",
    "unknown_n",
    "mism_den",
    "mism_n",
    "tagged_n",
    "cot_n",
    "ext_den",
    "ext_n",
    "tmpl_n",
    "tz_n",
    "night_n",
    "minor_n",
    "hour_buckets",
    "sq",
    *FIRST_KEYS,
)
#: Partials whose running value is the maximum so far.
MAX_COLUMNS: tuple[str, ...] = ("last_ts", "peak_sec", "peak_min", "peak_hour", "peak_day")
#: Partials whose running value is the minimum so far (the account's first interval).
MIN_COLUMNS: tuple[str, ...] = ("first_ts",)
#: Partials that are real-valued sums (the rest are counts).
#: E[x^2] - E[x]^2 of (near-)constant gaps cancels to rounding noise in doubles, whose sign
#: and size differ between engines' summation orders; a variance below this share of the
#: squared mean is that noise and counts as 0 (a coefficient of variation under ~3e-5: a
#: clock far more regular than any threshold asks), so DuckDB and PySpark give one value.
VAR_NOISE_RTOL: float = 1e-9
DOUBLE_COLUMNS: frozenset[str] = frozenset({"in_tok", "out_tok", "reason_tok", "gap_sum", "gap_sq", "sq"})


def grid(parts: dict[str, ir.Table], n_checkpoints: int, aids: tuple[int, int] | None) -> ir.Table:
    """Every (account, checkpoint ``k``) from the account's first interval on, with the
    partials of interval ``k`` (NULL where the account was quiet), for the accounts with
    ``aids[0] <= aid <= aids[1]`` (all when ``aids`` is None). ``parts`` holds the stage 1
    tables ``pb`` (base, with the capability counts), ``pk`` (peaks), ``pf``
    (first occurrences) and ``sq`` (squares)."""

    def chunk(t: ir.Table) -> ir.Table:
        return t if aids is None else t.filter(t.aid.between(aids[0], aids[1]))

    ks = checkpoint_table(n_checkpoints)
    pb = chunk(parts["pb"])
    acc = pb.group_by("aid").aggregate(cp0=pb.cp.min())
    g = acc.join(ks, ks.k >= acc.cp0).select(acc.aid, ks.k)
    for name in ("pb", "pk", "pf", "sq"):
        p = chunk(parts[name])
        cols = [c for c in p.columns if c not in ("aid", "cp")]
        g = g.left_join(p, [g.aid == p.aid, g.k == p.cp]).select(
            *[g[c] for c in g.columns], *[p[c] for c in cols]
        )
    return g


def running(g: ir.Table, n_caps: int, *, windows: bool = True) -> ir.Table:
    """Running sums / maxima / minima over ``k`` within each account of the grid (quiet
    intervals add nothing); each account's values depend on its own rows only.

    ``windows=False`` when the grid has one checkpoint (a scan without replay): every
    account has one row, whose running values are its partials, and the window sort over
    ~60 columns is skipped."""
    w = ibis.cumulative_window(group_by=g.aid, order_by=g.k)

    def over(v: ir.Value, how: str) -> ir.Value:
        return getattr(v, how)().over(w) if windows else v

    cols: dict[str, ir.Value] = {"aid": g.aid, "k": g.k}
    for c in (*SUM_COLUMNS, *(f"cap_{i}" for i in range(n_caps))):
        zero = 0.0 if c in DOUBLE_COLUMNS else 0
        cols[c] = over(g[c].coalesce(zero), "sum").cast("float64" if c in DOUBLE_COLUMNS else "int64")
    for c in MIN_COLUMNS:
        cols[c] = over(g[c], "min")
    for c in MAX_COLUMNS:
        v = over(g[c], "max")
        cols[c] = v if c.endswith("_ts") else v.coalesce(0).cast("int64")
    return g.select(**cols)


def _share(num: ir.Value, den: ir.Value) -> ir.Value:
    """``num / den`` as a float, NULL where ``den`` is 0 (nothing to take a share of)."""
    return ibis.cases((den > 0, num.cast("float64") / den))


def features(cum: ir.Table, attr: ir.Table, rt: ir.Table, pv: ir.Table, capabilities: list[str]) -> ir.Table:
    """Derived per-account features of the running partials ``cum`` (one row per account
    and ``k``), in :data:`~distillguard.features.FEATURE_COLUMNS` order after ``account_id``,
    ``aid``, ``k``."""
    c = cum.join(attr, "aid")
    c = c.left_join(rt, [c.aid == rt.aid, c.k == rt.k]).select(*c.columns, rt.rare_tls_share)
    c = c.left_join(pv, [c.aid == pv.aid, c.k == pv.k]).select(*c.columns, pv.pivot_share, pv.pivot_n)
    n = c.n.cast("float64")
    if capabilities:
        caps = [c[f"cap_{i}"] for i in range(len(capabilities))]
        top = ibis.greatest(*caps) if len(caps) > 1 else caps[0]
        name = ibis.cases(
            *[(col == top, ibis.literal(cap)) for col, cap in zip(caps, capabilities, strict=True)]
        )
        cap_top_share = top.cast("float64") / n
        top_capability = ibis.cases((top > 0, name))
    else:
        cap_top_share = ibis.literal(0.0, "float64")
        top_capability = ibis.null("string")
    mean_gap = c.gap_sum / c.gap_n
    raw_var = c.gap_sq / c.gap_n - mean_gap**2
    var_gap = ibis.cases((raw_var > VAR_NOISE_RTOL * mean_gap**2, raw_var), else_=0.0)
    gap_cv = ibis.cases((c.gap_n > 0, (var_gap.sqrt() / mean_gap.nullif(0.0)).coalesce(0.0)))
    created = c.created_at
    first_ms = epoch_ms(c.first_ts)
    return c.select(
        account_id=c.account_id,
        aid=c.aid,
        k=c.k,
        n=c.n,
        first_ts=c.first_ts,
        last_ts=c.last_ts,
        span_h=(epoch_ms(c.last_ts) - first_ms) / 3.6e6,
        in_tok=c.in_tok,
        out_tok=c.out_tok,
        reason_tok=c.reason_tok,
        out_in_ratio=(c.out_tok + 1) / (c.in_tok + 1),
        reasoning_share=c.reason_tok / ibis.greatest(c.out_tok, c.reason_tok, 1.0),
        out_per_req=c.out_tok / n,
        tier=c.tier,
        country=c.country,
        payment=c.payment,
        provider=c.provider,
        created_at=created,
        age_first_use_h=(first_ms - epoch_ms(created)) / 3.6e6,
        active_hours=c.active_hours,
        active_days=c.active_days,
        tool_share=c.tool_n / n,
        models=c.models,
        peak_sec_n=c.peak_sec,
        peak_min_n=c.peak_min,
        peak_hour_n=c.peak_hour,
        peak_day_n=c.peak_day,
        active_hour_buckets=c.hour_buckets,
        gap_n=c.gap_n,
        gap_cv=gap_cv,
        fast_gap_share=_share(c.fast_n, c.gap_n),
        periodic_share=_share(c.periodic_n, c.pair_n),
        tmpl_n=c.tmpl_n,
        families=c.families,
        family_concentration=ibis.cases((c.tmpl_n > 0, c.sq / (c.tmpl_n.cast("float64") * c.tmpl_n))),
        tagged_n=c.tagged_n,
        cot_share=_share(c.cot_n, c.tagged_n),
        extraction_share=_share(c.ext_n, c.ext_den),
        cap_top_share=cap_top_share,
        top_capability=top_capability,
        capabilities=c.capabilities,
        ips=c.ips,
        prefixes=c.prefixes,
        asns=c.asns,
        ip_countries=c.ip_countries,
        user_agents=c.user_agents,
        tls_fps=c.tls_fps,
        hosting_share=c.hosting_n / n,
        relay_share=c.relay_n / n,
        residential_share=c.resid_n / n,
        unknown_ip_share=c.unknown_n / n,
        country_mismatch_share=_share(c.mism_n, c.mism_den),
        rare_tls_share=c.rare_tls_share,
        tz_n=c.tz_n,
        night_share=_share(c.night_n, c.tz_n),
        minority_model_share=c.minor_n / n,
        pivot_share=c.pivot_share.coalesce(0.0),
        pivot_n=c.pivot_n.coalesce(0).cast("int64"),
    )


def cumulative(
    parts: dict[str, Any], n_checkpoints: int, n_caps: int, aids: tuple[int, int] | None
) -> ir.Table:
    """The running partials of the accounts in ``aids`` at every ``k`` (grid + running)."""
    return running(grid(parts, n_checkpoints, aids), n_caps, windows=n_checkpoints > 0)
