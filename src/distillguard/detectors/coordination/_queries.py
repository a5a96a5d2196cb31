"""Per-checkpoint cross-account queries over the partial tables (``cp <= {k}``).

``{feats}`` is the feature table of the checkpoint (accounts seen so far, with ``aid``,
``payment``, ``n``, ``tmpl_n``); ``{sites}`` maps ``aid`` to its main non-datacenter /24.
"Unrelated" always means a different payment instrument: accounts on one card are one
customer (a team), and what they share among themselves is no evidence of a fleet.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from distillguard.detectors.coordination import _partials


def sites(ctx: Any) -> pa.Table:
    """Each account's main network (/24) so far and its kind (ties broken by prefix):
    ``aid``, ``site``, ``site_kind``."""
    sp = _partials.table(ctx, "site_p")
    sp = sp.filter(sp.cp <= ctx.k)
    s = sp.group_by(["aid", "ip_prefix", "ip_kind"]).aggregate(c=sp.c.sum())
    w = ibis.window(group_by=s.aid, order_by=[s.c.desc(), s.ip_prefix, s.ip_kind])
    r = s.mutate(r=ibis.row_number().over(w))
    r = r.filter(r.r == 0)
    return r.select("aid", site=r.ip_prefix, site_kind=r.ip_kind).order_by("aid").to_pyarrow()


def top_site_share(ctx: Any) -> pa.Table:
    """Share of each account's traffic on its busiest /24 so far: ``aid``, ``top``."""
    sp = _partials.table(ctx, "site_p")
    sp = sp.filter(sp.cp <= ctx.k)
    s = sp.group_by(["aid", "ip_prefix"]).aggregate(c=sp.c.sum())
    return s.group_by("aid").aggregate(top=s.c.max() / s.c.sum()).order_by("aid").to_pyarrow()


#: Template families (instruction frames): who uses each, how much of their traffic it is,
#: whether its prompts repeat across accounts, and whether its users sit behind one
#: non-datacenter network (a campus NAT). A fleet family dominates the traffic of many
#: unrelated accounts; a popular benign template is a small part of each user's traffic.
#: ``member_share`` is the median over its devoted members of their traffic share in shared
#: (multi-payer) families at all: a fleet rotating several wrappers spends most of its
#: traffic in them, a user of a popular phrasing only the part it wraps.
#: ``signup_iqr_days`` is the spread of its devoted accounts' signup dates (a fleet is a
#: cohort, a popular framework's users are not: :mod:`._cohort`).
FAMILIES = """
WITH af AS (SELECT aid, f, sum(c) AS c FROM {src}_afc WHERE cp <= {k} GROUP BY ALL),
cov AS (SELECT aid, sum(c) AS cc FROM af GROUP BY aid),
dev AS (
  SELECT af.aid, af.f, af.c, af.c / fe.tmpl_n AS acc_share, cov.cc / fe.tmpl_n AS coverage,
         coalesce(fe.payment, fe.account_id) AS pay, s.site, epoch(sg.created_at) / 86400.0 AS signup_day
  FROM af JOIN cov USING (aid) JOIN {feats} fe USING (aid) LEFT JOIN {sites} s USING (aid)
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


def members(
    ctx: Any,
    fleet: pa.Table,
    devoted_share: float,
    owner_max_share: float,
    member_max_ratio: float,
    member_fence_iqr: float,
    customer_fence_iqr: float,
) -> pa.Table:
    """(account, fleet family) memberships (``aid``, ``fam``, ``c``, ``share``,
    ``devoted_payments``, ``harvest_tag_share``) of the families in ``fleet``.

    The family is a real part of the account's own traffic, the account sends at most
    ``owner_max_share`` of it (else it owns it), and neither the account nor its customer (all
    its accounts on one payment instrument) is a heavy independent user: each slice is within
    ``member_max_ratio`` times the family's median, or within Tukey's fence (Q3 + k x IQR) of
    the family's log slices (``member_fence_iqr`` for accounts, the far-out
    ``customer_fence_iqr`` for customers). A fleet's operator hands its accounts uneven quotas,
    so its members spread widely; an eval harness, a reasoning app or an enterprise batch job
    spread over a hundred seats is far outside the fleet's spread.
    """
    fl = ibis.memtable(fleet)
    afc = _partials.table(ctx, "afc")
    a = afc.filter(afc.cp <= ctx.k)
    af = a.group_by(["aid", "f"]).aggregate(c=a.c.sum())
    mj = af.join(features(ctx), "aid").semi_join(fl, af.f == fl.fam)
    mj = mj.filter(mj.c / mj.tmpl_n >= devoted_share)
    m = mj.select("aid", "f", "c", share=mj.c / mj.tmpl_n, pay=_partials.payer(mj))
    slices = m.group_by(["f", "pay"]).aggregate(pc=m.c.sum())
    j = m.join(slices, ["f", "pay"]).join(fl, m.f == fl.fam)
    keep = (
        (j.c <= owner_max_share * j.events)
        & (
            (j.c <= member_max_ratio * j.member_median)
            | (j.c.ln() <= j.member_log_q3 + member_fence_iqr * j.member_log_iqr)
        )
        & (
            (j.pc <= member_max_ratio * j.payer_median)
            | (j.pc.ln() <= j.payer_log_q3 + customer_fence_iqr * j.payer_log_iqr)
        )
    )
    out = j.filter(keep).select("aid", "fam", "c", "share", "devoted_payments", "harvest_tag_share")
    return out.order_by(["fam", "aid"]).to_pyarrow()


def cohesion(ctx: Any, min_accounts: int, cohesion_frac: float) -> pa.Table:
    """How much of each card-sharing account's traffic goes to templates that at least
    ``cohesion_frac`` of the card's accounts use (``aid``, ``cohesion``): a team works on
    different things, a fleet on one card runs one job."""
    fe = features(ctx)
    fp = fe.filter(fe.payment.notnull())
    g = fp.group_by("payment").aggregate(m=fp.count())
    gs = g.filter(g.m >= min_accounts)
    coh = _partials.table(ctx, "coh_p")
    e = coh.semi_join(gs, "payment")
    e = e.filter(e.cp <= ctx.k)
    ef = e.group_by(["aid", "payment", "f"]).aggregate(c=e.c.sum())
    fu = ef.group_by(["payment", "f"]).aggregate(u=ef.count())
    j = ef.join(fu, ["payment", "f"]).join(gs, "payment")
    common = j.u >= ibis.greatest(2, cohesion_frac * j.m)
    out = j.group_by("aid").aggregate(cohesion=ibis.ifelse(common, j.c, 0).sum() / j.c.sum())
    return out.order_by("aid").to_pyarrow()


def system(ctx: Any, devoted_share: float, harvest_share: float, min_payments: int) -> pa.Table:
    """Exact system prompts carrying harvest instructions that unrelated accounts each use for
    a real part of their traffic (``aid``, ``sh``, ``payments``, ``anonymized``): a relay
    operator injects one such prompt into every call it forwards, whichever customer's key
    it uses."""
    sy = _partials.table(ctx, "sys")
    sy = sy.filter(sy.cp <= ctx.k)
    s = sy.group_by(["aid", "sh"]).aggregate(c=sy.c.sum(), hn=sy.hn.sum(), an=sy.an.sum())
    uj = s.join(features(ctx), "aid")
    uj = uj.filter(uj.c / uj.n >= devoted_share)
    u = uj.select("aid", "sh", "c", "hn", "an", pay=_partials.payer(uj))
    g = u.group_by("sh").aggregate(payments=u.pay.nunique(), harvest=u.hn.sum() / u.c.sum())
    j = u.join(g, "sh")
    j = j.filter((j.harvest >= harvest_share) & (j.payments >= min_payments))
    out = j.select("aid", "sh", "payments", anonymized=j.an / j.c)
    return out.order_by(["sh", "aid"]).to_pyarrow()


def hosting_ips(ctx: Any, min_payments: int, max_accounts: int) -> pa.Table:
    """Datacenter egress IPs shared by accounts on different payment instruments (residential,
    mobile, relay and campus addresses are left out on purpose: NAT makes sharing normal),
    with the signup spread of each IP's accounts, the harvest-tagged share of its traffic and
    how many prompts (requests with text) each account sent through it (a commercial VPN exit
    on a datacenter range is judged by them: :func:`._network.exits`)."""
    hip, attr = _partials.table(ctx, "hip"), _partials.table(ctx, "attr")
    h = hip.filter(hip.cp0 <= ctx.k)
    hj = h.join(features(ctx), "aid")
    hj = hj.select("ip", "aid", pay=_partials.payer(hj))
    sg = attr.select("aid", "created_at")
    aj = hj.left_join(sg, "aid")
    ai = aj.select("ip", "aid", "pay", signup_day=aj.created_at.epoch_seconds() / 86400.0)
    g = ai.group_by("ip").aggregate(
        accounts=ai.count(),
        payments=ai.pay.nunique(),
        known_signups=ai.signup_day.count(),
        signup_iqr_days=ai.signup_day.quantile(0.75) - ai.signup_day.quantile(0.25),
    )
    tag = _partials.table(ctx, "hiptag")
    tag = tag.filter(tag.cp <= ctx.k)
    ta = tag.group_by(["ip", "aid"]).aggregate(hn=tag.hn.sum(), n=tag.n.sum(), tn=tag.tn.sum())
    t = ta.group_by("ip").aggregate(harvest_share=ta.hn.sum() / ta.n.sum())
    j = ai.join(g, "ip")
    j = j.filter((j.payments >= min_payments) & (j.accounts <= max_accounts))
    j = j.left_join(t, "ip").select(*j.columns, "harvest_share")
    j = j.left_join(ta, [j.ip == ta.ip, j.aid == ta.aid]).select(*j.columns, "tn")
    out = j.select(
        "aid",
        "ip",
        "accounts",
        "payments",
        "known_signups",
        "signup_iqr_days",
        harvest_share=j.harvest_share.coalesce(0.0),
        own_prompts=j.tn.coalesce(0),
    )
    return out.order_by(["ip", "aid"]).to_pyarrow()


#: Synchronized pairs so far: shared actions against what independent accounts would share
#: (|A_key| * |B_key| / active buckets of the key), and against the smaller account's actions.
#: The joins are pinned in this order (MATERIALIZED steps, each a two-way join on the pair's
#: own keys): left to the optimizer, a misestimate may join the two accounts' per-key counts
#: on ``key`` alone first -- every pair of users of a popular family, tens of GB at 10M events.
SYNC = """
WITH p AS MATERIALIZED (
  SELECT src, dst, key, sum(shared) AS sh FROM {src}_pairs WHERE cp <= {k} GROUP BY ALL
),
na AS MATERIALIZED (SELECT aid, sum(n) AS na FROM {src}_na WHERE cp <= {k} GROUP BY aid),
nk AS MATERIALIZED (SELECT aid, key, sum(n) AS nk FROM {src}_nk WHERE cp <= {k} GROUP BY ALL),
nb AS MATERIALIZED (SELECT key, sum(n) AS nb FROM {src}_nb WHERE cp <= {k} GROUP BY key),
pa AS MATERIALIZED (SELECT p.*, a.nk AS nka FROM p JOIN nk a ON a.aid = p.src AND a.key = p.key),
pb AS MATERIALIZED (SELECT pa.*, b.nk AS nkb FROM pa JOIN nk b ON b.aid = pa.dst AND b.key = pa.key),
g AS MATERIALIZED (
  SELECT pb.src, pb.dst, sum(pb.sh) AS shared, sum(greatest(pb.nka * pb.nkb / nb.nb, 1e-9)) AS expected
  FROM pb JOIN nb ON nb.key = pb.key GROUP BY pb.src, pb.dst HAVING sum(pb.sh) >= {min_shared}
)
SELECT g.src, g.dst, g.shared, g.shared / g.expected AS lift, g.shared / least(ca.na, cb.na) AS overlap
FROM g JOIN na ca ON ca.aid = g.src JOIN na cb ON cb.aid = g.dst
WHERE ca.na >= {min_actions} AND cb.na >= {min_actions}
ORDER BY g.src, g.dst
"""


def run(ctx: Any, sql: str, **fmt: Any) -> pa.Table:
    """Run one per-checkpoint query (``{src}``, ``{k}``, ``{feats}`` filled in) as Arrow."""
    feats = register_features(ctx)
    return ctx.con.sql(sql.format(src=ctx.src, k=ctx.k, feats=feats, **fmt)).to_arrow_table()


def features(ctx: Any) -> Any:
    """This checkpoint's features (``aid``, ``account_id``, ``payment``, ``n``, ``tmpl_n``) as
    an Ibis table on the timeline's backend."""
    con = _partials.backend(ctx)
    if con.name == "duckdb":
        return con.table(register_features(ctx))
    if "feats_ibis" not in ctx.cache:
        cols = ctx.features.select(["aid", "account_id", "payment", "n", "tmpl_n"])
        ctx.cache["feats_ibis"] = ibis.memtable(cols)
    return ctx.cache["feats_ibis"]


def register_features(ctx: Any) -> str:
    """Expose this checkpoint's features to SQL (once per context; a native table joins
    several times faster than a registered Arrow scan)."""
    if "feats" not in ctx.cache:
        cols = ctx.features.select(["aid", "account_id", "payment", "n", "tmpl_n"])
        ctx.con.register("dg_feats_arrow", cols)
        ctx.con.execute("CREATE OR REPLACE TEMP TABLE dg_feats AS SELECT * FROM dg_feats_arrow")
        ctx.con.unregister("dg_feats_arrow")
        ctx.cache["feats"] = "dg_feats"
    return ctx.cache["feats"]
