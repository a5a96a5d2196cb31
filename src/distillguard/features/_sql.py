"""The relational feature queries (DuckDB SQL), all in one place.

Two stages, so that the ``flagged_at`` replay costs one pass instead of one pass per
checkpoint. Stage 1 aggregates events into *partials* per (account, replay interval ``cp``):
counts, sums, maxima, first occurrences. Stage 2 lays a grid of (account, checkpoint ``k``)
and takes running sums / maxima over ``cp <= k``: the features of every account as the scan
would have seen them at every checkpoint, the last one (``k = K``) being the whole input.
Every feature is therefore defined so that it composes over time (sums of counts, first
occurrences for distinct counts, sums of squares for concentration). Plain SQL over standard
window functions and group-bys, so it ports to another engine (Spark SQL); no per-row loops.
"""

from __future__ import annotations

#: Additive partials per (account, interval).
PARTIAL_BASE = """
CREATE OR REPLACE TEMP TABLE {src}_pb AS
SELECT aid, cp, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
  sum(input_tokens)::DOUBLE AS in_tok, sum(output_tokens)::DOUBLE AS out_tok,
  coalesce(sum(reasoning_tokens), 0)::DOUBLE AS reason_tok,
  count(*) FILTER (WHERE tool_count > 0) AS tool_n,
  count(*) FILTER (WHERE gap <= {session_gap_s}) AS gap_n,
  coalesce(sum(gap) FILTER (WHERE gap <= {session_gap_s}), 0) AS gap_sum,
  coalesce(sum(gap * gap) FILTER (WHERE gap <= {session_gap_s}), 0) AS gap_sq,
  count(*) FILTER (WHERE gap <= {session_gap_s} AND gap < {fast_gap_s}) AS fast_n,
  count(*) FILTER (WHERE gap <= {session_gap_s} AND gap_prev <= {session_gap_s}) AS pair_n,
  count(*) FILTER (WHERE gap <= {session_gap_s} AND gap_prev <= {session_gap_s}
                   AND gap_prev >= {fast_gap_s} AND abs(gap - gap_prev) <= {periodic_tol} * gap_prev)
    AS periodic_n,
  -- datacenter egress only: commercial VPN and Tor exits are consumer privacy tools shared
  -- by unrelated people (like a NAT or a relay), not evidence of a scripted client
  count(*) FILTER (WHERE ip_kind = 'hosting') AS hosting_n,
  count(*) FILTER (WHERE ip_kind = 'relay') AS relay_n,
  count(*) FILTER (WHERE ip_kind IN ('residential', 'mobile')) AS resid_n,
  count(*) FILTER (WHERE ip_kind = 'unknown' OR client_ip IS NULL) AS unknown_n,
  count(*) FILTER (WHERE account_country IS NOT NULL AND ip_country IS NOT NULL
                   AND ip_kind NOT IN ('relay', 'private', 'unknown')) AS mism_den,
  count(*) FILTER (WHERE account_country IS NOT NULL AND ip_country IS NOT NULL
                   AND ip_kind NOT IN ('relay', 'private', 'unknown')
                   AND upper(ip_country) <> upper(account_country)) AS mism_n,
  count(cot) AS tagged_n, count(*) FILTER (WHERE cot) AS cot_n,
  count(extraction_tag) AS ext_den, count(*) FILTER (WHERE extraction_tag) AS ext_n,
  count(template_family) AS tmpl_n,
  count(tz.off_min) AS tz_n,
  count(*) FILTER (WHERE ((t // 60000 + tz.off_min) % 1440 + 1440) % 1440 >= {night_start_h} * 60
                   OR ((t // 60000 + tz.off_min) % 1440 + 1440) % 1440 < {night_end_h} * 60) AS night_n,
  count(*) FILTER (WHERE model IN (SELECT model FROM {src}_minor)) AS minor_n
FROM {src} LEFT JOIN {src}_tz tz ON tz.country = upper({src}.account_country) GROUP BY aid, cp
"""

#: Main-population UTC offset (minutes, standard time) of billing countries, for the local
#: clock of a declared customer: people work by day where they say they live. Multi-zone
#: countries use their population centre (the US: Central), so the night window is judged
#: as a share, not hour by hour. Countries not listed have no local clock (NULL).
COUNTRY_UTC_OFFSET_MIN: dict[str, int] = {
    "US": -360,
    "CA": -300,
    "MX": -360,
    "BR": -180,
    "AR": -180,
    "CL": -240,
    "CO": -300,
    "PE": -300,
    "GB": 0,
    "IE": 0,
    "PT": 0,
    "IS": 0,
    "FR": 60,
    "DE": 60,
    "ES": 60,
    "IT": 60,
    "NL": 60,
    "BE": 60,
    "CH": 60,
    "AT": 60,
    "SE": 60,
    "NO": 60,
    "DK": 60,
    "PL": 60,
    "CZ": 60,
    "HU": 60,
    "NG": 60,
    "FI": 120,
    "GR": 120,
    "RO": 120,
    "UA": 120,
    "IL": 120,
    "EG": 120,
    "ZA": 120,
    "TR": 180,
    "RU": 180,
    "SA": 180,
    "KE": 180,
    "AE": 240,
    "PK": 300,
    "IN": 330,
    "BD": 360,
    "TH": 420,
    "VN": 420,
    "ID": 420,
    "MY": 480,
    "SG": 480,
    "PH": 480,
    "CN": 480,
    "HK": 480,
    "TW": 480,
    "KR": 540,
    "JP": 540,
    "AU": 600,
    "NZ": 720,
}


def timezone_sql(src: str) -> str:
    """The ``{src}_tz`` table (country, off_min) of :data:`COUNTRY_UTC_OFFSET_MIN`."""
    rows = ", ".join(f"('{c}', {m})" for c, m in sorted(COUNTRY_UTC_OFFSET_MIN.items()))
    return f"CREATE OR REPLACE TEMP TABLE {src}_tz AS SELECT * FROM (VALUES {rows}) t(country, off_min)"


#: Minority models: present from the start of the input (not a new release) yet carrying a
#: small share of all traffic -- the older generation the population has moved away from.
#: Steering a harvest to an older, less-protected model ("defense arbitrage") is on the
#: public record; a legacy integration does it too, so the per-account share is weak alone.
MINORITY_MODELS = """
CREATE OR REPLACE TEMP TABLE {src}_minor AS
WITH m AS (SELECT model, count(*) AS n, min(t) AS f FROM {src} WHERE model IS NOT NULL GROUP BY model),
tot AS (SELECT sum(n) AS n, min(f) AS t0, count(*) AS models FROM m)
SELECT model FROM m, tot
WHERE tot.models >= 2 AND m.n < {minority_model_share} * tot.n
  AND m.f - tot.t0 <= {new_model_margin_h} * 3.6e6
"""

#: Account attributes (signup path, billing country, card, creation time) as first seen.
ATTRIBUTES = """
CREATE OR REPLACE TEMP TABLE {src}_attr AS
SELECT aid, any_value(account_id) AS account_id,
  coalesce(arg_min(account_tier, t) FILTER (WHERE account_tier <> 'unknown'), 'unknown') AS tier,
  arg_min(account_country, t) FILTER (WHERE account_country IS NOT NULL) AS country,
  arg_min(payment_fingerprint, t) FILTER (WHERE payment_fingerprint IS NOT NULL) AS payment,
  arg_min(provider, t) AS provider, min(account_created_at) AS created_at
FROM {src} GROUP BY aid
"""

#: Rolling-window peaks: busiest second / minute / hour per interval (checkpoints fall on
#: whole hours, so no bucket straddles two intervals) and the running count of each UTC day.
PARTIAL_PEAKS = """
CREATE OR REPLACE TEMP TABLE {src}_pk AS
WITH s AS (SELECT aid, cp, t // 1000 AS b, count(*) AS c FROM {src} GROUP BY ALL),
m AS (SELECT aid, cp, b // 60 AS b, sum(c) AS c, max(c) AS ps FROM s GROUP BY ALL),
h AS (SELECT aid, cp, b // 60 AS b, sum(c) AS c, max(ps) AS ps, max(c) AS pm FROM m GROUP BY ALL),
d AS (SELECT aid, cp, b // 24 AS b, sum(c) AS c FROM h GROUP BY ALL),
dc AS (
  SELECT aid, cp, max(cum) AS peak_day FROM (
    SELECT aid, cp, sum(c) OVER (PARTITION BY aid, b ORDER BY cp) AS cum FROM d
  ) GROUP BY aid, cp
)
SELECT h.aid, h.cp, max(h.ps) AS peak_sec, max(h.pm) AS peak_min, max(h.c) AS peak_hour,
       count(*) AS hour_buckets, any_value(dc.peak_day) AS peak_day
FROM h JOIN dc USING (aid, cp) GROUP BY h.aid, h.cp
"""

#: Distinct counts compose over time as counts of first occurrences: (key, first interval).
FIRST_KEYS: dict[str, str] = {
    "active_hours": "(t // 3600000) % 24",
    "active_days": "t // 86400000",
    "models": "model",
    "ips": "client_ip",
    "prefixes": "ip_prefix",
    "asns": "asn",
    "ip_countries": "ip_country",
    "user_agents": "user_agent",
    "tls_fps": "tls_fingerprint",
    "families": "template_family",
    "capabilities": "CASE WHEN capability <> 'chat' THEN capability END",
}


def partial_first(src: str) -> str:
    """First-occurrence partials: per (account, interval) how many new distinct values."""
    branches = " UNION ALL ".join(
        f"SELECT aid, {i} AS key, min(cp) AS cp FROM {src} WHERE ({expr}) IS NOT NULL GROUP BY aid, {expr}"
        for i, expr in enumerate(FIRST_KEYS.values())
    )
    cols = ", ".join(f"count(*) FILTER (WHERE key = {i}) AS {name}" for i, name in enumerate(FIRST_KEYS))
    return (
        f"CREATE OR REPLACE TEMP TABLE {src}_pf AS SELECT aid, cp, {cols} FROM ({branches}) GROUP BY aid, cp"
    )


#: Template-family counts per (account, family, interval); also read by coordination.
PARTIAL_FAMILIES = """
CREATE OR REPLACE TEMP TABLE {src}_af AS
SELECT aid, template_family AS f, cp, count(*) AS c FROM {src}
WHERE template_family IS NOT NULL GROUP BY ALL
"""

#: Concentration of an account's prompts on few families: the running sum of squared family
#: counts (Simpson's index = sq / n^2) grows by (cum^2 - (cum - c)^2) in each interval.
PARTIAL_SQUARES = """
CREATE OR REPLACE TEMP TABLE {src}_sq AS
SELECT aid, cp, sum(cum * cum - (cum - c) * (cum - c))::DOUBLE AS sq FROM (
  SELECT aid, cp, c, sum(c) OVER (PARTITION BY aid, f ORDER BY cp) AS cum FROM {src}_af
) GROUP BY aid, cp
"""


def partial_capabilities(src: str, capabilities: list[str]) -> str:
    """Per (account, interval) request counts of each specific capability (one column each)."""
    cols = ", ".join(
        f"count(*) FILTER (WHERE capability = '{c.replace(chr(39), chr(39) * 2)}') AS cap_{i}"
        for i, c in enumerate(capabilities)
    )
    return f"CREATE OR REPLACE TEMP TABLE {src}_pc AS SELECT aid, cp, {cols} FROM {src} GROUP BY aid, cp"


#: Share of an account's fingerprinted traffic on TLS fingerprints that few accounts had
#: used *by that checkpoint* (a fingerprint is rare while few accounts carry it).
RARE_TLS = """
CREATE OR REPLACE TEMP TABLE {src}_rt AS
WITH afp AS (
  SELECT aid, tls_fingerprint AS fp, cp, count(*) AS c FROM {src}
  WHERE tls_fingerprint IS NOT NULL GROUP BY ALL
), pf AS (SELECT aid, fp, min(cp) AS cp0 FROM afp GROUP BY ALL),
acc AS (SELECT aid, min(cp) AS cp0 FROM {src}_pb GROUP BY aid),
tot AS (
  SELECT k, sum(count(*)) OVER (ORDER BY k) AS accounts FROM (
    SELECT range AS k FROM range(0, {K1})) r LEFT JOIN acc ON acc.cp0 = r.k GROUP BY k
), fpk AS (
  SELECT fp, r.range AS k, count(*) AS fp_accounts FROM pf, range(0, {K1}) r
  WHERE r.range >= pf.cp0 GROUP BY fp, r.range
), grid AS (
  SELECT pf.aid, pf.fp, r.range AS k FROM pf, range(0, {K1}) r WHERE r.range >= pf.cp0
), cum AS (
  SELECT grid.aid, grid.fp, grid.k,
         sum(afp.c) OVER (PARTITION BY grid.aid, grid.fp ORDER BY grid.k
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c
  FROM grid LEFT JOIN afp ON afp.aid = grid.aid AND afp.fp = grid.fp AND afp.cp = grid.k
)
SELECT cum.aid, cum.k,
       sum(CASE WHEN fpk.fp_accounts <= greatest(2, {rare_fp_share} * tot.accounts) THEN cum.c ELSE 0 END)
         / sum(cum.c) AS rare_tls_share
FROM cum JOIN fpk USING (fp, k) JOIN tot USING (k) GROUP BY cum.aid, cum.k
"""

#: Model-release pivot: the share of an account's traffic that went to a model in the first
#: ``pivot_window_h`` hours after that model first appeared in the logs. Models present from
#: the start of the input (within ``new_model_margin_h``) are not "new".
PIVOT = """
CREATE OR REPLACE TEMP TABLE {src}_pv AS
WITH mf AS (SELECT model, min(t) AS m_first FROM {src} GROUP BY model),
t0 AS (SELECT min(t) AS t0 FROM {src}),
newm AS (SELECT model, m_first FROM mf, t0 WHERE m_first - t0 > {new_model_margin_h} * 3.6e6),
w AS (
  SELECT e.aid, n.model AS nm, e.cp, count(*) AS inw, count(*) FILTER (WHERE e.model = n.model) AS onn
  FROM {src} e JOIN newm n ON e.t >= n.m_first AND e.t < n.m_first + {pivot_window_h} * 3.6e6
  GROUP BY ALL
), pg AS (
  SELECT p.aid, p.nm, r.range AS k FROM (SELECT aid, nm, min(cp) AS cp0 FROM w GROUP BY ALL) p,
         range(0, {K1}) r WHERE r.range >= p.cp0
), cum AS (
  SELECT pg.aid, pg.k,
         sum(w.inw) OVER ww AS inw, sum(w.onn) OVER ww AS onn
  FROM pg LEFT JOIN w ON w.aid = pg.aid AND w.nm = pg.nm AND w.cp = pg.k
  WINDOW ww AS (PARTITION BY pg.aid, pg.nm ORDER BY pg.k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT aid, k, max(onn::DOUBLE / inw) AS pivot_share, max(onn) AS pivot_n FROM cum GROUP BY aid, k
"""

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
MAX_COLUMNS: tuple[str, ...] = ("last_ts", "peak_sec", "peak_min", "peak_hour", "peak_day")


#: Partials that are real-valued sums (the rest are counts).
DOUBLE_COLUMNS: frozenset[str] = frozenset({"in_tok", "out_tok", "reason_tok", "gap_sum", "gap_sq", "sq"})


def _type(col: str) -> str:
    return "DOUBLE" if col in DOUBLE_COLUMNS else "BIGINT"


def grid_join_sql(src: str, n_checkpoints: int, capabilities: list[str], aids: tuple[int, int]) -> str:
    """Every (account, checkpoint ``k``) from the account's first interval on, with the
    partials of interval ``k`` (NULL where the account was quiet), sorted by (aid, k), for
    the accounts with ``aids[0] <= aid <= aids[1]`` (the grid is built in account chunks so
    that only one chunk is held outside DuckDB at a time).
    The running sums over ``k`` are taken in numpy (one cumulative sum per column), which is
    much cheaper than a few dozen SQL window aggregates."""
    lo, hi = aids

    def part(name: str) -> str:
        return f"(SELECT * FROM {src}_{name} WHERE aid BETWEEN {lo} AND {hi})"

    caps = [f"cap_{i}" for i in range(len(capabilities))]
    cap_join = f"LEFT JOIN {part('pc')} pc ON pc.aid = g.aid AND pc.cp = g.k" if caps else ""
    cap_cols = ", " + ", ".join(f"pc.{c}" for c in caps) if caps else ""
    return f"""
WITH acc AS (SELECT aid, min(cp) AS cp0 FROM {part("pb")} GROUP BY aid),
g AS (
  SELECT acc.aid, r.range::INTEGER AS k FROM acc, range(0, {n_checkpoints + 1}) r WHERE r.range >= acc.cp0
)
SELECT g.aid, g.k, pb.* EXCLUDE (aid, cp), pk.* EXCLUDE (aid, cp), pf.* EXCLUDE (aid, cp), sq.sq{cap_cols}
FROM g
LEFT JOIN {part("pb")} pb ON pb.aid = g.aid AND pb.cp = g.k
LEFT JOIN {part("pk")} pk ON pk.aid = g.aid AND pk.cp = g.k
LEFT JOIN {part("pf")} pf ON pf.aid = g.aid AND pf.cp = g.k
LEFT JOIN {part("sq")} sq ON sq.aid = g.aid AND sq.cp = g.k
{cap_join}
ORDER BY g.aid, g.k
"""


def features_sql(src: str, capabilities: list[str], aids: tuple[int, int]) -> str:
    """Derived features from the running partials ``{src}_cum`` (one row per account and k)
    of the accounts ``aids[0] <= aid <= aids[1]``, sorted by (k, aid): a SELECT, so chunks of
    the grid can create or append to a table."""
    lo, hi = aids
    caps = [f"cap_{i}" for i in range(len(capabilities))]
    if caps:
        top = "greatest(" + ", ".join(caps) + ")" if len(caps) > 1 else caps[0]
        name = "CASE " + " ".join(
            f"WHEN {c} = {top} THEN '{cap.replace(chr(39), chr(39) * 2)}'"
            for c, cap in zip(caps, capabilities, strict=True)
        )
        cap_select = f"{top}::DOUBLE / c.n AS cap_top_share, CASE WHEN {top} > 0 THEN {name} END END"
    else:
        cap_select = "0.0::DOUBLE AS cap_top_share, NULL::VARCHAR"
    return f"""
SELECT a.account_id, c.aid, c.k, c.n, c.first_ts, c.last_ts,
  (epoch_ms(c.last_ts) - epoch_ms(c.first_ts)) / 3.6e6 AS span_h,
  c.in_tok, c.out_tok, c.reason_tok,
  (c.out_tok + 1) / (c.in_tok + 1) AS out_in_ratio,
  c.reason_tok / greatest(c.out_tok, c.reason_tok, 1) AS reasoning_share,
  c.out_tok / c.n AS out_per_req,
  a.tier, a.country, a.payment, a.provider, a.created_at,
  (epoch_ms(c.first_ts) - epoch_ms(a.created_at)) / 3.6e6 AS age_first_use_h,
  c.active_hours, c.active_days, c.tool_n::DOUBLE / c.n AS tool_share, c.models,
  c.peak_sec AS peak_sec_n, c.peak_min AS peak_min_n, c.peak_hour AS peak_hour_n, c.peak_day AS peak_day_n,
  c.hour_buckets AS active_hour_buckets,
  c.gap_n,
  CASE WHEN c.gap_n > 0 THEN coalesce(
    sqrt(greatest(c.gap_sq / c.gap_n - pow(c.gap_sum / c.gap_n, 2), 0)) / nullif(c.gap_sum / c.gap_n, 0), 0)
  END AS gap_cv,
  CASE WHEN c.gap_n > 0 THEN c.fast_n::DOUBLE / c.gap_n END AS fast_gap_share,
  CASE WHEN c.pair_n > 0 THEN c.periodic_n::DOUBLE / c.pair_n END AS periodic_share,
  c.tmpl_n, c.families,
  CASE WHEN c.tmpl_n > 0 THEN c.sq / (c.tmpl_n::DOUBLE * c.tmpl_n) END AS family_concentration,
  c.tagged_n,
  CASE WHEN c.tagged_n > 0 THEN c.cot_n::DOUBLE / c.tagged_n END AS cot_share,
  CASE WHEN c.ext_den > 0 THEN c.ext_n::DOUBLE / c.ext_den END AS extraction_share,
  {cap_select} AS top_capability, c.capabilities,
  c.ips, c.prefixes, c.asns, c.ip_countries, c.user_agents, c.tls_fps,
  c.hosting_n::DOUBLE / c.n AS hosting_share, c.relay_n::DOUBLE / c.n AS relay_share,
  c.resid_n::DOUBLE / c.n AS residential_share, c.unknown_n::DOUBLE / c.n AS unknown_ip_share,
  CASE WHEN c.mism_den > 0 THEN c.mism_n::DOUBLE / c.mism_den END AS country_mismatch_share,
  rt.rare_tls_share,
  c.tz_n, CASE WHEN c.tz_n > 0 THEN c.night_n::DOUBLE / c.tz_n END AS night_share,
  c.minor_n::DOUBLE / c.n AS minority_model_share,
  coalesce(pv.pivot_share, 0.0) AS pivot_share, coalesce(pv.pivot_n, 0)::BIGINT AS pivot_n
FROM {src}_cum c JOIN {src}_attr a USING (aid)
LEFT JOIN (SELECT * FROM {src}_rt WHERE aid BETWEEN {lo} AND {hi}) rt ON rt.aid = c.aid AND rt.k = c.k
LEFT JOIN (SELECT * FROM {src}_pv WHERE aid BETWEEN {lo} AND {hi}) pv ON pv.aid = c.aid AND pv.k = c.k
ORDER BY c.k, c.aid
"""
