"""The Ibis per-checkpoint queries give what the DuckDB SQL they replaced gave.

The synchronized-pairs query (its joins pinned in order) against the unpinned SQL the
optimizer ordered itself, and the template-family statistics against the DuckDB SQL they
were (``GROUP BY ALL``, ``quantile_cont``, ``median``), on ``tiny`` seed 1 at two checkpoints.
The SQL is kept here only as the oracle.
"""

from __future__ import annotations

import pyarrow as pa
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


#: The template-family statistics as DuckDB SQL before they were Ibis (the partials by table
#: name, this checkpoint's features and sites as the DuckDB tables ``dg_feats``/``dg_sites``).
_FAMILIES_SQL = """
WITH af AS (SELECT aid, f, sum(c) AS c FROM {src}_afc WHERE cp <= {k} GROUP BY ALL),
cov AS (SELECT aid, sum(c) AS cc FROM af GROUP BY aid),
dev AS (
  SELECT af.aid, af.f, af.c, af.c / fe.tmpl_n AS acc_share, cov.cc / fe.tmpl_n AS coverage,
         coalesce(fe.payment, fe.account_id) AS pay, s.site, epoch(sg.created_at) / 86400.0 AS signup_day
  FROM af JOIN cov USING (aid) JOIN dg_feats fe USING (aid) LEFT JOIN dg_sites s USING (aid)
  LEFT JOIN {src}_attr sg USING (aid)
), ph AS (
  SELECT f, count(DISTINCT aid) AS pa, sum(c) AS c FROM {src}_phm WHERE cp <= {k} GROUP BY f, h
  UNION ALL SELECT f, 1 AS pa, sum(c) AS c FROM {src}_phs WHERE cp <= {k} GROUP BY f
), dup AS (
  SELECT f, sum(CASE WHEN pa >= 2 THEN c ELSE 0 END) / sum(c) AS cross_dup_share,
         sum(pa * c) / sum(c) AS accounts_per_prompt
  FROM ph GROUP BY f
), tags AS (SELECT f, sum(hn) / sum(n) AS harvest_tag_share FROM {src}_ftag WHERE cp <= {k} GROUP BY f),
d AS (SELECT * FROM dev WHERE acc_share >= {devoted_share}),
slices AS (SELECT f, pay, sum(c) AS pc FROM d GROUP BY f, pay),
payers AS (
  SELECT f, median(pc) AS payer_median, quantile_cont(ln(pc), 0.75) AS payer_log_q3,
         quantile_cont(ln(pc), 0.75) - quantile_cont(ln(pc), 0.25) AS payer_log_iqr
  FROM slices GROUP BY f
), colo AS (
  SELECT f, max(m) AS top_site_accounts FROM (
    SELECT f, site, count(*) AS m FROM d WHERE site IS NOT NULL GROUP BY f, site
  ) GROUP BY f
), agg AS (
  SELECT dev.f, count(*) AS accounts, sum(dev.c) AS events, count(d.aid) AS devoted_accounts,
         count(DISTINCT d.pay) AS devoted_payments, coalesce(median(d.c), 1) AS member_median,
         coalesce(quantile_cont(ln(d.c), 0.75), 0.0) AS member_log_q3,
         coalesce(quantile_cont(ln(d.c), 0.75) - quantile_cont(ln(d.c), 0.25), 0.0) AS member_log_iqr,
         coalesce(median(d.coverage), 0) AS member_share,
         coalesce(sum(d.c), 0) / sum(dev.c) AS devoted_event_share,
         count(d.signup_day) AS known_signups,
         quantile_cont(d.signup_day, 0.75) - quantile_cont(d.signup_day, 0.25) AS signup_iqr_days
  FROM dev LEFT JOIN d USING (aid, f) GROUP BY dev.f
)
SELECT agg.f AS fam, accounts, events, devoted_accounts, devoted_payments, member_median, member_log_q3,
       member_log_iqr, member_share,
       coalesce(payers.payer_median, 1) AS payer_median, coalesce(payers.payer_log_q3, 0.0) AS payer_log_q3,
       coalesce(payers.payer_log_iqr, 0.0) AS payer_log_iqr, devoted_event_share, known_signups,
       signup_iqr_days,
       coalesce(dup.cross_dup_share, 0.0) AS cross_dup_share,
       coalesce(dup.accounts_per_prompt, 1.0) / greatest(devoted_accounts, 1) AS repeat_ratio,
       coalesce(colo.top_site_accounts, 0) / greatest(devoted_accounts, 1) AS colocated_share,
       coalesce(tags.harvest_tag_share, 0.0) AS harvest_tag_share
FROM agg LEFT JOIN tags USING (f) LEFT JOIN dup USING (f) LEFT JOIN colo USING (f) LEFT JOIN payers USING (f)
WHERE devoted_accounts >= 2
ORDER BY fam
"""


def _sql(ctx, sql: str, **fmt):
    return ctx.con.sql(sql.format(src=ctx.src, k=ctx.k, **fmt)).to_arrow_table()


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
        pinned = _queries.sync(ctx, **fmt)
        unpinned = _sql(ctx, _UNPINNED, **fmt)
        assert pinned.column_names == unpinned.column_names
        for col in ("src", "dst", "shared"):
            assert pinned[col].to_pylist() == unpinned[col].to_pylist(), col
        for col in ("lift", "overlap"):
            assert pinned[col].to_pylist() == pytest.approx(unpinned[col].to_pylist(), rel=1e-12)
        nonempty += pinned.num_rows > 0
    assert nonempty  # the world has synchronized pairs, so the comparison is not vacuous


def test_ibis_families_equal_the_former_sql(timeline) -> None:
    from distillguard.detectors.coordination._network import sites

    p = CoordinationDetector.Params()
    nonempty = 0
    for k in (timeline.final // 2, timeline.final):
        ctx = DetectionContext.at(timeline, k, has_prompts=True)
        _partials.ensure(ctx, "families", _partials.families, min_payments=p.fleet_min_payments)
        sites(ctx, p)  # decides the sites and hands them to DuckDB as dg_sites
        _queries.features(ctx)  # this checkpoint's features as dg_feats
        got = _queries.families(ctx, p.devoted_share)
        want = _sql(ctx, _FAMILIES_SQL, devoted_share=p.devoted_share)
        assert got.column_names == want.column_names
        assert got.num_rows == want.num_rows
        for col in want.column_names:
            g, w = got[col].to_pylist(), want[col].to_pylist()
            if col == "signup_iqr_days":
                # DuckDB's epoch() of a TIMESTAMPTZ rounds differently in the last bits from
                # microseconds / 1e6 (what the Ibis query computes on every engine)
                assert g == pytest.approx(w, abs=1e-9), col
            elif pa.types.is_floating(got[col].type):  # the SQL gave some as decimals
                w = [None if v is None else float(v) for v in w]
                assert g == pytest.approx(w, rel=1e-12, nan_ok=True), col
            else:
                assert [None if v is None else int(v) for v in g] == [
                    None if v is None else int(v) for v in w
                ], col
        nonempty += got.num_rows > 0
    assert nonempty
