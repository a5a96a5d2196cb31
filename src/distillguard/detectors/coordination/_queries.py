"""Per-checkpoint cross-account queries over the partial tables (``cp <= {k}``).

Each is an Ibis expression over the partial tables (:mod:`._partials`) and this checkpoint's
features (:func:`features`: accounts seen so far, with ``aid``, ``payment``, ``n``,
``tmpl_n``), collected as Arrow: one row per account, group or pair that passes the query's
own minimums, which is what the detectors then judge in numpy.
"Unrelated" always means a different payment instrument: accounts on one card are one
customer (a team), and what they share among themselves is no evidence of a fleet.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from distillguard import _engine
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


def families(ctx: Any, devoted_share: float) -> pa.Table:
    """Template families (instruction frames) with at least two devoted accounts, one row each.

    Who uses each, how much of their traffic it is, whether its prompts repeat across
    accounts, and whether its users sit behind one non-datacenter network (a campus NAT). A
    fleet family dominates the traffic of many unrelated accounts; a popular benign template
    is a small part of each user's traffic. An account is *devoted* to a family when it is at
    least ``devoted_share`` of its prompts. ``member_share`` is the median over its devoted
    members of their traffic share in shared (multi-payer) families at all: a fleet rotating
    several wrappers spends most of its traffic in them, a user of a popular phrasing only the
    part it wraps. ``signup_iqr_days`` is the spread of its devoted accounts' signup dates (a
    fleet is a cohort, a popular framework's users are not: :mod:`._cohort`).
    """
    # this context's tables first: a query compiled at an earlier checkpoint reads them by name
    feats, at_site = features(ctx), site_table(ctx)
    out = _partials.collect(
        ctx,
        ("families", devoted_share),
        lambda k: _families(ctx, k, _devoted(ctx, k, feats, at_site), devoted_share),
    )
    return out


def _devoted(ctx: Any, k: Any, feats: Any, at_site: Any) -> Any:
    """(account, family) rows so far with the account's share in it, its payer, site and signup."""
    afc = _partials.table(ctx, "afc")
    a = afc.filter(afc.cp <= k)
    af = a.group_by(["aid", "f"]).aggregate(c=a.c.sum())
    cov = af.group_by("aid").aggregate(cc=af.c.sum())
    attr = _partials.table(ctx, "attr")
    j = af.join(cov, "aid").join(feats, "aid").left_join(at_site, "aid")
    j = j.select(*af.columns, "cc", "payment", "account_id", "tmpl_n", "site")
    j = j.left_join(attr.select("aid", "created_at"), "aid")
    dev = j.select(
        "aid",
        "f",
        "c",
        "site",
        acc_share=j.c / j.tmpl_n,
        coverage=j.cc / j.tmpl_n,
        pay=_partials.payer(j),
        signup_day=_engine.epoch_days(_partials.backend(ctx), j.created_at),
    )
    return dev


def _families(ctx: Any, k: Any, dev: Any, devoted_share: float) -> Any:
    devoted = dev.acc_share >= devoted_share
    d = dev.filter(devoted)
    # prompts repeated across accounts: several accounts per prompt (phm) or one (phs)
    phm, phs = _partials.table(ctx, "phm"), _partials.table(ctx, "phs")
    m = phm.filter(phm.cp <= k)
    s = phs.filter(phs.cp <= k)
    ph = m.group_by(["f", "h"]).aggregate(pa=m.aid.nunique(), c=m.c.sum()).drop("h")
    ph = ph.union(s.group_by("f").aggregate(pa=ibis.literal(1, "int64"), c=s.c.sum()))
    dup = ph.group_by("f").aggregate(
        cross_dup_share=ibis.ifelse(ph.pa >= 2, ph.c, 0).sum() / ph.c.sum(),
        accounts_per_prompt=(ph.pa * ph.c).sum() / ph.c.sum(),
    )
    ft = _partials.table(ctx, "ftag")
    ft = ft.filter(ft.cp <= k)
    tags = ft.group_by("f").aggregate(harvest_tag_share=ft.hn.sum() / ft.n.sum())
    sl = d.group_by(["f", "pay"]).aggregate(pc=d.c.sum())
    lpc = sl.pc.ln()
    payers = sl.group_by("f").aggregate(
        payer_median=sl.pc.quantile(0.5),
        payer_log_q3=lpc.quantile(0.75),
        payer_log_iqr=lpc.quantile(0.75) - lpc.quantile(0.25),
    )
    ds = d.filter(d.site.notnull())
    at_site = ds.group_by(["f", "site"]).aggregate(m=ds.count())
    colo = at_site.group_by("f").aggregate(top_site_accounts=at_site.m.max())
    lc = dev.c.ln()
    # medians as the 0.5 quantile: the same SQL on DuckDB, and Ibis 12 compiles a filtered
    # median on PySpark into a percentile whose fraction is not a constant (Spark refuses it)
    agg = dev.group_by("f").aggregate(
        accounts=dev.count(),
        events=dev.c.sum(),
        devoted_accounts=dev.count(where=devoted),
        devoted_payments=dev.pay.nunique(where=devoted),
        member_median=dev.c.quantile(0.5, where=devoted).coalesce(1),
        member_log_q3=lc.quantile(0.75, where=devoted).coalesce(0.0),
        member_log_iqr=(lc.quantile(0.75, where=devoted) - lc.quantile(0.25, where=devoted)).coalesce(0.0),
        member_share=dev.coverage.quantile(0.5, where=devoted).coalesce(0),
        devoted_event_share=dev.c.sum(where=devoted).coalesce(0) / dev.c.sum(),
        known_signups=dev.signup_day.count(where=devoted),
        signup_iqr_days=dev.signup_day.quantile(0.75, where=devoted)
        - dev.signup_day.quantile(0.25, where=devoted),
    )
    agg = agg.filter(agg.devoted_accounts >= 2)
    j = agg.left_join(tags, "f").select(*agg.columns, "harvest_tag_share")
    j = j.left_join(dup, "f").select(*j.columns, "cross_dup_share", "accounts_per_prompt")
    j = j.left_join(colo, "f").select(*j.columns, "top_site_accounts")
    j = j.left_join(payers, "f").select(*j.columns, "payer_median", "payer_log_q3", "payer_log_iqr")
    per = ibis.greatest(j.devoted_accounts, 1)
    out = j.select(
        fam=j.f,
        accounts=j.accounts,
        events=j.events,
        devoted_accounts=j.devoted_accounts,
        devoted_payments=j.devoted_payments,
        member_median=j.member_median,
        member_log_q3=j.member_log_q3,
        member_log_iqr=j.member_log_iqr,
        member_share=j.member_share,
        payer_median=j.payer_median.coalesce(1),
        payer_log_q3=j.payer_log_q3.coalesce(0.0),
        payer_log_iqr=j.payer_log_iqr.coalesce(0.0),
        devoted_event_share=j.devoted_event_share,
        known_signups=j.known_signups,
        signup_iqr_days=j.signup_iqr_days,
        cross_dup_share=j.cross_dup_share.coalesce(0.0),
        repeat_ratio=j.accounts_per_prompt.coalesce(1.0) / per,
        colocated_share=j.top_site_accounts.coalesce(0) / per,
        harvest_tag_share=j.harvest_tag_share.coalesce(0.0),
    )
    return out.order_by("fam")


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
    ai = aj.select("ip", "aid", "pay", signup_day=_engine.epoch_days(_partials.backend(ctx), aj.created_at))
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


def sync(ctx: Any, min_actions: int, min_shared: int) -> pa.Table:
    """Synchronized pairs so far (``src``, ``dst``, ``shared``, ``lift``, ``overlap``): shared
    actions against what independent accounts would share (|A_key| * |B_key| / active
    buckets of the key), and against the smaller account's actions. Pairs with fewer than
    ``min_shared`` shared actions, or an account with fewer than ``min_actions``, are left out.

    The joins are pinned (the per-key counts and the pairs with the first account's counts
    are kept, :func:`distillguard._engine.keep`): left to the optimizer, a misestimate may
    join the two accounts' per-key counts on ``key`` alone first -- every pair of users of a
    popular family, tens of GB at 10M events.
    """
    con = _partials.backend(ctx)
    nk_name, pa_name = f"{ctx.src}_sync_nk", f"{ctx.src}_sync_pa"

    def cut(name: str, k: Any) -> Any:
        t = _partials.table(ctx, name)
        return t.filter(t.cp <= k)

    def per_key(k: Any) -> Any:
        nk = cut("nk", k)
        return nk.group_by(["aid", "key"]).aggregate(nk=nk.n.sum())

    def first(k: Any) -> Any:
        p = cut("pairs", k)
        p = p.group_by(["src", "dst", "key"]).aggregate(sh=p.shared.sum())
        j = p.join(nk, [p.src == nk.aid, p.key == nk.key])
        return j.select(p.src, p.dst, p.key, p.sh, nka=nk.nk)

    def pairs(k: Any) -> Any:
        na = cut("na", k)
        na = na.group_by("aid").aggregate(na=na.n.sum())
        nb = cut("nb", k)
        nb = nb.group_by("key").aggregate(nb=nb.n.sum())
        pb = pa_.join(nk, [pa_.dst == nk.aid, pa_.key == nk.key])
        pb = pb.select(pa_.src, pa_.dst, pa_.key, pa_.sh, pa_.nka, nkb=nk.nk)
        jg = pb.join(nb, pb.key == nb.key)
        g = jg.group_by([jg.src, jg.dst]).aggregate(
            shared=jg.sh.sum(), expected=ibis.greatest(jg.nka * jg.nkb / jg.nb, 1e-9).sum()
        )
        g = g.filter(g.shared >= min_shared)
        ca, cb = na.view(), na.view()
        j = g.join(ca, g.src == ca.aid).join(cb, g.dst == cb.aid)
        j = j.select(g.src, g.dst, g.shared, g.expected, na_a=ca.na, na_b=cb.na)
        j = j.filter((j.na_a >= min_actions) & (j.na_b >= min_actions))
        return j.select(
            "src",
            "dst",
            "shared",
            lift=j.shared / j.expected,
            overlap=j.shared / ibis.least(j.na_a, j.na_b),
        ).order_by(["src", "dst"])

    # kept in this order: with the first account's per-key counts joined to the pairs, no
    # plan can join two accounts' per-key counts on the key alone (every later join is on
    # the pair's own keys, or per key against one row per key)
    nk = _partials.keep_at(ctx, ("sync_nk",), nk_name, per_key)
    pa_ = _partials.keep_at(ctx, ("sync_pa",), pa_name, first)
    out = _partials.collect(ctx, ("sync", min_actions, min_shared), pairs)
    for name in (pa_name, nk_name):
        _engine.drop(con, name)
    return out


def features(ctx: Any) -> Any:
    """This checkpoint's features (``aid``, ``account_id``, ``payment``, ``n``, ``tmpl_n``) as
    an Ibis table on the timeline's backend, handed over once per context (one row per
    account seen, as :attr:`DetectionContext.features` already holds in memory)."""
    if "feats_ibis" not in ctx.cache:
        cols = ctx.features.select(["aid", "account_id", "payment", "n", "tmpl_n"])
        ctx.cache["feats_ibis"] = _engine.arrow_table(_partials.backend(ctx), "dg_feats", cols)
    return ctx.cache["feats_ibis"]


def site_table(ctx: Any) -> Any:
    """Each account's main non-datacenter /24 (``aid``, ``site``; accounts behind none left
    out) as an Ibis table, as :func:`._network.sites` decided it for this context."""
    if "sites_ibis" not in ctx.cache:
        raise RuntimeError("site_table before _network.sites: the sites are decided there")
    return ctx.cache["sites_ibis"]
