"""The relational feature queries (DuckDB SQL), all in one place.

Each query reads the normalized view (``{src}``, see ``_prepare``) and returns one row per
account. They are plain SQL over standard window functions and group-bys so they port to
another engine (Spark SQL) without rewriting the logic; nothing here loops per row.
"""

from __future__ import annotations

#: Volume, tokens, signup path, account age, activity spread and rolling-window peaks.
BASE = """
SELECT account_id,
       count(*)                                   AS n,
       min(ts)                                    AS first_ts,
       max(ts)                                    AS last_ts,
       (epoch_ms(max(ts)) - epoch_ms(min(ts))) / 3.6e6 AS span_h,
       sum(input_tokens)::DOUBLE                  AS in_tok,
       sum(output_tokens)::DOUBLE                 AS out_tok,
       coalesce(sum(reasoning_tokens), 0)::DOUBLE             AS reason_tok,
       mode(account_tier)                         AS tier,
       mode(account_country)                      AS country,
       mode(payment_fingerprint)                  AS payment,
       mode(provider)                             AS provider,
       min(account_created_at)                    AS created_at,
       count(DISTINCT hour(ts))                   AS active_hours,
       count(DISTINCT CAST(ts AS DATE))           AS active_days,
       avg(CASE WHEN tool_count > 0 THEN 1.0 ELSE 0.0 END) AS tool_share,
       count(DISTINCT model)                      AS models
FROM {src} GROUP BY account_id
"""

#: Rolling windows: busiest second / minute / hour / day per account (concurrency, bursts).
PEAKS = """
WITH s AS (SELECT account_id, date_trunc('second', ts) AS b, count(*) AS c FROM {src} GROUP BY ALL),
     m AS (SELECT account_id, date_trunc('minute', b) AS b, sum(c) AS c FROM s GROUP BY ALL),
     h AS (SELECT account_id, date_trunc('hour', b) AS b, sum(c) AS c FROM m GROUP BY ALL),
     d AS (SELECT account_id, date_trunc('day', b) AS b, sum(c) AS c FROM h GROUP BY ALL)
SELECT s.account_id, s.peak_sec_n, m.peak_min_n, h.peak_hour_n, d.peak_day_n, h.active_hour_buckets
FROM (SELECT account_id, max(c) AS peak_sec_n FROM s GROUP BY ALL) s
JOIN (SELECT account_id, max(c) AS peak_min_n FROM m GROUP BY ALL) m USING (account_id)
JOIN (SELECT account_id, max(c) AS peak_hour_n, count(*) AS active_hour_buckets FROM h GROUP BY ALL) h
     USING (account_id)
JOIN (SELECT account_id, max(c) AS peak_day_n FROM d GROUP BY ALL) d USING (account_id)
"""

#: Inter-arrival timing: coefficient of variation, think time, periodicity.
#: Gaps longer than ``session_gap_s`` are session breaks (sleep, weekends), not think time,
#: so they are left out: otherwise every human looks bursty and every bot looks human.
TIMING = """
WITH g AS (
  SELECT account_id,
         (epoch_ms(ts) - epoch_ms(lag(ts) OVER (PARTITION BY account_id ORDER BY ts, event_id))) / 1000.0
           AS gap
  FROM {src}
), k AS (SELECT * FROM g WHERE gap IS NOT NULL AND gap <= {session_gap_s}),
med AS (SELECT account_id, median(gap) AS gap_median FROM k GROUP BY ALL)
SELECT k.account_id,
       count(*)                                                   AS gap_n,
       coalesce(stddev_pop(gap) / nullif(avg(gap), 0), 0)         AS gap_cv,
       any_value(med.gap_median)                                  AS gap_median,
       avg(CASE WHEN gap < {fast_gap_s} THEN 1.0 ELSE 0.0 END)    AS fast_gap_share,
       avg(CASE WHEN med.gap_median >= {fast_gap_s}
                 AND abs(gap - med.gap_median) <= {periodic_tol} * med.gap_median
                THEN 1.0 ELSE 0.0 END)                            AS periodic_share
FROM k JOIN med USING (account_id) GROUP BY k.account_id
"""

#: Prompt content: template-family concentration, CoT/extraction tags, capability focus.
CONTENT = """
WITH f AS (
  SELECT account_id, template_family, count(*) AS c,
         row_number() OVER (PARTITION BY account_id ORDER BY count(*) DESC, template_family) AS r
  FROM {src} WHERE template_family IS NOT NULL GROUP BY account_id, template_family
), fa AS (
  SELECT account_id, sum(c) AS tmpl_n, count(*) AS families,
         sum(CASE WHEN r = 1 THEN c ELSE 0 END) / sum(c) AS top1_share,
         sum(CASE WHEN r <= 3 THEN c ELSE 0 END) / sum(c) AS top3_share,
         max(CASE WHEN r = 1 THEN template_family END) AS top_family
  FROM f GROUP BY account_id
), cap AS (
  SELECT account_id, capability, count(*) AS c FROM {src} WHERE capability IS NOT NULL GROUP BY ALL
), ca AS (
  -- focus = the share of all traffic in the top *specific* capability ('chat' is the
  -- untagged default, so being "all chat" is no focus at all)
  SELECT account_id,
         coalesce(max(c) FILTER (WHERE capability <> 'chat'), 0) / sum(c) AS cap_top_share,
         count(*) FILTER (WHERE capability <> 'chat') AS capabilities,
         arg_max(capability, c) FILTER (WHERE capability <> 'chat') AS top_capability
  FROM cap GROUP BY account_id
), t AS (
  SELECT account_id,
         count(cot) AS tagged_n,
         avg(CASE WHEN cot THEN 1.0 ELSE 0.0 END) FILTER (WHERE cot IS NOT NULL) AS cot_share,
         avg(CASE WHEN extraction_tag THEN 1.0 ELSE 0.0 END) FILTER (WHERE extraction_tag IS NOT NULL)
           AS extraction_share
  FROM {src} GROUP BY account_id
)
SELECT t.account_id, fa.tmpl_n, fa.families, fa.top1_share, fa.top3_share, fa.top_family,
       t.tagged_n, t.cot_share, t.extraction_share, ca.cap_top_share, ca.capabilities, ca.top_capability
FROM t LEFT JOIN fa USING (account_id) LEFT JOIN ca USING (account_id)
"""

#: Network and client infrastructure: IP spread, hosting/proxy egress, country mismatch,
#: fingerprint rarity (share of traffic on a TLS/UA fingerprint few accounts use).
INFRA = """
WITH fp AS (
  SELECT tls_fingerprint, count(DISTINCT account_id) AS fp_accounts
  FROM {src} WHERE tls_fingerprint IS NOT NULL GROUP BY ALL
), tot AS (SELECT count(DISTINCT account_id) AS accounts FROM {src})
SELECT e.account_id,
       count(DISTINCT client_ip)   AS ips,
       count(DISTINCT ip_prefix)   AS prefixes,
       count(DISTINCT asn)         AS asns,
       count(DISTINCT ip_country)  AS ip_countries,
       count(DISTINCT user_agent)  AS user_agents,
       count(DISTINCT e.tls_fingerprint) AS tls_fps,
       avg(CASE WHEN ip_kind IN ('hosting', 'vpn', 'tor') THEN 1.0 ELSE 0.0 END) AS hosting_share,
       avg(CASE WHEN ip_kind = 'relay' THEN 1.0 ELSE 0.0 END)                     AS relay_share,
       avg(CASE WHEN ip_kind IN ('residential', 'mobile') THEN 1.0 ELSE 0.0 END)  AS residential_share,
       avg(CASE WHEN ip_kind = 'unknown' OR client_ip IS NULL THEN 1.0 ELSE 0.0 END) AS unknown_ip_share,
       avg(CASE WHEN account_country IS NOT NULL AND ip_country IS NOT NULL
                 AND ip_kind NOT IN ('relay', 'private', 'unknown')
                THEN CASE WHEN upper(ip_country) <> upper(account_country) THEN 1.0 ELSE 0.0 END END)
                                   AS country_mismatch_share,
       avg(CASE WHEN fp.fp_accounts IS NOT NULL
                THEN CASE WHEN fp.fp_accounts <= greatest(2, {rare_fp_share} * tot.accounts)
                          THEN 1.0 ELSE 0.0 END END) AS rare_tls_share
FROM {src} e LEFT JOIN fp USING (tls_fingerprint) CROSS JOIN tot
GROUP BY e.account_id
"""

#: Model-release pivot: the share of an account's traffic that went to a model in the
#: first ``pivot_window_h`` hours after that model first appeared in the logs. Models present
#: from the start of the input (within ``new_model_margin_h``) are not "new".
PIVOT = """
WITH mf AS (SELECT model, min(ts) AS m_first FROM {src} GROUP BY ALL),
     g AS (SELECT min(ts) AS t0 FROM {src}),
     newm AS (
       SELECT model, m_first FROM mf, g
       WHERE epoch_ms(m_first) - epoch_ms(t0) > {new_model_margin_h} * 3.6e6
     ),
     w AS (
       SELECT e.account_id, n.model AS new_model,
              count(*) AS in_window,
              sum(CASE WHEN e.model = n.model THEN 1 ELSE 0 END) AS on_new
       FROM {src} e JOIN newm n
         ON e.ts >= n.m_first AND epoch_ms(e.ts) < epoch_ms(n.m_first) + {pivot_window_h} * 3.6e6
       GROUP BY ALL
     )
SELECT account_id, max(on_new::DOUBLE / in_window) AS pivot_share, max(on_new) AS pivot_n
FROM w GROUP BY ALL
"""
