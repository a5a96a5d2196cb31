"""Cross-account partial tables, built once per input and re-aggregated per checkpoint.

Each table keeps the replay interval ``cp`` of what it counts, so "as seen before
checkpoint k" is ``cp <= k`` over a table far smaller than the events. Groups that cannot
qualify even on the whole input (a template family with fewer unrelated payers than the
fleet minimum, a datacenter IP shared by too few customers) are pruned here: the counts
only grow with time, so such a group cannot qualify at any earlier checkpoint either, and
pruning changes no result.

The partials are Ibis expressions over the timeline's backend, written once for every
engine (the portability rules of :mod:`distillguard.features._ibis_exprs` apply). Each is
kept as ``{src}_<name>``: a temp table on DuckDB, a cached view on PySpark (so the
per-checkpoint queries do not recompute it from the events), a lazy expression elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from distillguard import _engine
from distillguard.detectors.base import timed


def backend(ctx: Any) -> Any:
    """The Ibis backend of the context's timeline (an Ibis client over the DuckDB connection)."""
    tl = ctx.timeline
    if tl is not None and getattr(tl, "backend", None) is not None:
        return tl.backend
    from distillguard.features._timeline import ibis_backend

    key = "_ibis_backend"
    if key not in ctx.shared:
        ctx.shared[key] = ibis_backend(ctx.con)
    return ctx.shared[key]


def table(ctx: Any, name: str) -> ir.Table:
    """Partial ``name`` of this input: one built by :func:`ensure`, a feature-stage partial
    (``af``, ``attr``), or ``""`` for the event table itself."""
    if not name:
        return backend(ctx).table(ctx.src)
    built = ctx.shared.get("_partial_tables", {})
    if name in built:
        return built[name]
    parts = getattr(ctx.timeline, "parts", None) or {}
    if name in parts:
        return parts[name]
    return backend(ctx).table(f"{ctx.src}_{name}")


def _put(ctx: Any, name: str, expr: ir.Table) -> ir.Table:
    """Keep ``expr`` as partial ``name`` (``{src}_<name>``): computed once on DuckDB and
    PySpark, lazy elsewhere (:func:`distillguard._engine.keep`)."""
    return _register(ctx, name, _engine.keep(backend(ctx), f"{ctx.src}_{name}", expr))


def _register(ctx: Any, name: str, kept: ir.Table) -> ir.Table:
    """Make ``kept`` (already computed as ``{src}_<name>``) the partial ``name``."""
    ctx.shared.setdefault("_partial_tables", {})[name] = kept
    return kept


def _drop(ctx: Any, name: str) -> None:
    ctx.shared.get("_partial_tables", {}).pop(name, None)
    _engine.drop(backend(ctx), f"{ctx.src}_{name}")


def ensure(ctx: Any, name: str, build: Callable[..., None], **params: Any) -> None:
    """Build the partial tables of ``build`` once per timeline (and parameters)."""
    done = ctx.shared.setdefault("_partials", {})
    key = repr(sorted(params.items()))
    if done.get(name) == key:
        return
    build(ctx, **params)
    done[name] = key


#: Stand-in for the checkpoint in a per-checkpoint query compiled once (:func:`at_checkpoint`):
#: an integer no count, id or interval of an input comes near, replaced in the SQL text.
K_PLACEHOLDER: int = 8_765_432_109_876_543


def _compiled(ctx: Any, key: tuple, build: Callable[[Any], ir.Table]) -> tuple[str, Any]:
    """SQL of ``build`` at this context's checkpoint and its Arrow schema (compiled once)."""
    cache = ctx.shared.setdefault("_compiled", {})
    if key not in cache:
        kp = ibis.param("int64")
        expr = build(kp)
        cache[key] = (backend(ctx).compile(expr, params={kp: K_PLACEHOLDER}), expr.schema().to_pyarrow())
    sql, schema = cache[key]
    return sql.replace(str(K_PLACEHOLDER), str(int(ctx.k))), schema


def collect(ctx: Any, key: tuple, build: Callable[[Any], ir.Table]) -> pa.Table:
    """``build(k)`` for this context's checkpoint ``k`` (an Ibis integer), collected as Arrow.

    Compiling a large Ibis expression to SQL takes longer than DuckDB takes to run it (a few
    hundred ms for the template-family statistics), and the replay runs every query at every
    checkpoint. So on DuckDB each query is compiled once per timeline, with ``k`` as a
    placeholder put back into the SQL text per checkpoint; ``key`` names the query and every
    parameter that shapes it. ``build`` may read the partials and the named per-context tables
    (:func:`_queries.features`, :func:`_queries.site_table`, registered before the call), not
    memtables (they are renamed per call). Other backends build the expression per checkpoint.
    """
    con = backend(ctx)
    if con.name != "duckdb":
        return build(ibis.literal(int(ctx.k), "int64")).to_pyarrow()
    sql, schema = _compiled(ctx, key, build)
    return con.con.sql(sql).to_arrow_table().cast(schema)


def keep_at(ctx: Any, key: tuple, name: str, build: Callable[[Any], ir.Table]) -> ir.Table:
    """``build(k)`` for this context's checkpoint kept as ``name`` (:func:`_engine.keep`), compiled
    once per timeline on DuckDB as in :func:`collect`."""
    con = backend(ctx)
    if con.name != "duckdb":
        return _engine.keep(con, name, build(ibis.literal(int(ctx.k), "int64")))
    sql, schema = _compiled(ctx, key, build)
    # the expression's own column types (DuckDB would widen the sums to HUGEINT, and a median
    # of those is rounded to an integer), then the rows
    table = con.create_table(name, schema=ibis.Schema.from_pyarrow(schema), temp=True, overwrite=True)
    con.con.execute(f'INSERT INTO "{name}" {sql}')
    return table


def payer(t: ir.Table) -> ir.Column:
    """Who pays: the card, or the account itself when the card is unknown."""
    return t.payment.coalesce(t.account_id)


def harvest(ev: ir.Table) -> ir.BooleanValue:
    """A request carrying a harvest tag (chain-of-thought elicitation or extraction)."""
    return ev.cot | ev.extraction_tag


def _with_payers(t: ir.Table, attr: ir.Table, key: str, min_payments: int) -> ir.Table:
    """The values of ``key`` used by at least ``min_payments`` distinct payers."""
    j = t.join(attr, "aid")
    g = j.group_by(key).aggregate(payers=payer(j).nunique())
    return g.filter(g.payers >= min_payments).select(key)


def sites(ctx: Any) -> None:
    """``site_p``: requests per (account, non-datacenter-or-not /24, its kind, interval)."""
    ev = table(ctx, "")
    e = ev.filter(ev.ip_prefix.notnull())
    _put(ctx, "site_p", e.group_by(["aid", "ip_prefix", "ip_kind", "cp"]).aggregate(c=e.count()))


def families(ctx: Any, min_payments: int) -> None:
    """Template families that unrelated payers use (fleet candidates, ``fc``), and their partials.

    Prompts used by a single account over the whole input are single at every checkpoint,
    so they are kept only as counts per (family, interval) (``phs``); prompts several
    accounts send keep their accounts (``phm``) for the per-checkpoint repeat statistics.
    """
    ev, af, attr = table(ctx, ""), table(ctx, "af"), table(ctx, "attr")
    j = af.join(attr, "aid")
    g = j.group_by("f").aggregate(payers=payer(j).nunique(), accounts=j.aid.nunique())
    fc = _put(ctx, "fc", g.filter((g.payers >= min_payments) & (g.accounts >= 2)).select("f"))
    _put(ctx, "afc", af.semi_join(fc, "f"))
    fe = ev.semi_join(fc, ev.template_family == fc.f)
    ph = fe.filter(fe.prompt_hash.notnull())
    phc = _put(
        ctx,
        "phc",
        ph.group_by([ph.template_family.name("f"), ph.prompt_hash.name("h"), "aid", "cp"]).aggregate(
            c=ph.count()
        ),
    )
    spread = phc.group_by(["f", "h"]).aggregate(accounts=phc.aid.nunique())
    multi = spread.filter(spread.accounts >= 2).select("f", "h")
    single = spread.filter(spread.accounts == 1).select("f", "h")
    _put(ctx, "phm", phc.semi_join(multi, ["f", "h"]))
    s = phc.semi_join(single, ["f", "h"])
    _put(ctx, "phs", s.group_by(["f", "cp"]).aggregate(c=s.c.sum()))
    _drop(ctx, "phc")
    _put(
        ctx,
        "ftag",
        fe.group_by([fe.template_family.name("f"), "cp"]).aggregate(
            n=fe.count(), hn=fe.count(where=harvest(fe))
        ),
    )


def cohesion(ctx: Any, min_accounts: int) -> None:
    """``coh_p``: template families per account on shared cards (payment cohesion)."""
    af, attr = table(ctx, "af"), table(ctx, "attr")
    a = attr.filter(attr.payment.notnull())
    g = a.group_by("payment").aggregate(accounts=a.count())
    big = g.filter(g.accounts >= min_accounts).select("payment")
    j = af.join(attr, "aid").semi_join(big, "payment")
    _put(ctx, "coh_p", j.select("aid", "payment", "f", "cp", "c"))


def system(ctx: Any, min_payments: int) -> None:
    """``sys``: exact system prompts used by several payers, with their harvest-tag counts and
    how many of the calls left a VPN or Tor exit (``an``)."""
    ev, attr = table(ctx, ""), table(ctx, "attr")
    e = ev.filter(ev.system_hash.notnull())
    s = e.group_by(["aid", e.system_hash.name("sh"), "cp"]).aggregate(
        c=e.count(), hn=e.count(where=harvest(e)), an=e.count(where=e.ip_kind.isin(["vpn", "tor"]))
    )
    _put(ctx, "sys", s.semi_join(_with_payers(s, attr, "sh", min_payments), "sh"))


def _system_events(ctx: Any) -> ir.Table:
    ev, sys = table(ctx, ""), table(ctx, "sys")
    k = sys.select("sh").distinct()
    return ev.semi_join(k, ev.system_hash == k.sh)


def system_prompts(ctx: Any, min_payments: int) -> None:
    """``sysph``: (system prompt, prompt, account, interval) counts of the candidate groups
    (system prompts several payers use, already pruned by :func:`system`, built first)."""
    e = _system_events(ctx)
    e = e.filter(e.prompt_hash.notnull())
    _put(
        ctx,
        "sysph",
        e.group_by([e.system_hash.name("sh"), e.prompt_hash.name("h"), "aid", "cp"]).aggregate(c=e.count()),
    )


def system_egress(ctx: Any, min_payments: int) -> None:
    """``sysip``: (system prompt, datacenter IP, account, interval) counts of the candidate
    groups (:func:`system` built first)."""
    e = _system_events(ctx)
    e = e.filter(e.client_ip.notnull() & (e.ip_kind == "hosting"))
    _put(
        ctx,
        "sysip",
        e.group_by([e.system_hash.name("sh"), e.client_ip.name("ip"), "aid", "cp"]).aggregate(c=e.count()),
    )


def hosting_ips(ctx: Any, min_payments: int) -> None:
    """Datacenter egress IPs used by several payers: (ip, account, first interval) (``hip``),
    and each account's traffic, harvest-tagged traffic and traffic with prompt text through
    them per interval (``hiptag``). Consumer VPN and Tor exits are shared by unrelated users
    by design (like a NAT or a relay) and are left out: sharing one says nothing about a
    common operator."""
    ev, attr = table(ctx, ""), table(ctx, "attr")
    e = ev.filter((ev.ip_kind == "hosting") & ev.client_ip.notnull())
    ai = e.group_by([e.client_ip.name("ip"), "aid"]).aggregate(cp0=e.cp.min())
    hip = _put(ctx, "hip", ai.semi_join(_with_payers(ai, attr, "ip", min_payments), "ip"))
    k = hip.select("ip").distinct()
    ev = table(ctx, "")
    t = ev.semi_join(k, ev.client_ip == k.ip)
    t = t.filter(t.ip_kind == "hosting")
    _put(
        ctx,
        "hiptag",
        t.group_by([t.client_ip.name("ip"), "aid", "cp"]).aggregate(
            n=t.count(), hn=t.count(where=harvest(t)), tn=t.template_family.count()
        ),
    )


def timeline_buckets(ctx: Any, bucket_s: int) -> None:
    """``tlb``: requests per (account, time bucket), with the bucket's interval: each account's
    request timeline for the lockstep test (:mod:`._lockstep`). Buckets divide the hour, so a
    bucket lies inside one interval."""
    ev = table(ctx, "")
    e = ev.mutate(b=ev.t // (bucket_s * 1000))
    _put(ctx, "tlb", e.group_by(["aid", "b"]).aggregate(cp=e.cp.min(), n=e.count()))


def sync_key(ev: ir.Table) -> ir.StringValue:
    """SynchroTrap action key: the template family when prompts exist (specific keys keep
    cells small), else the model. A tagged string, so a family id never meets a model name."""
    return ibis.ifelse(
        ev.template_family.isnull(), "m:" + ev.model.coalesce(""), "f:" + ev.template_family.cast("string")
    )


#: Most rows (pairs of accounts times the cells they share) one pass of the synchronized-pairs
#: self-join may produce on DuckDB. Beyond it the pairs that reach ``min_shared`` are found in
#: slices of their first account, each slice counting its pairs before the next one runs: on
#: the 50M-event ``seed`` scenario (192K accounts) the cells of 2 to 100 accounts hold ~416M
#: such rows, and counting them at once ran out of the scan's 3 GB budget. ``small`` (1M
#: events) has ~0.5M, one pass.
SYNC_PAIR_ROWS_PER_PASS: int = 25_000_000


def _sync_passes(ctx: Any, cell: ir.Table, max_cell: int) -> int:
    """How many slices the self-join runs in (1 on other backends: Spark spills a shuffle)."""
    if backend(ctx).name != "duckdb":
        return 1
    c = cell.filter(cell.cell.between(2, max_cell))
    rows = c.aggregate(r=(c.cell * (c.cell - 1) // 2).sum()).to_pyarrow()["r"][0].as_py() or 0
    return max(1, -(-int(rows) // SYNC_PAIR_ROWS_PER_PASS))


def _joined(left: ir.Table, a2: ir.Table) -> ir.Table:
    """(src, dst, key, cp): one row per cell two accounts share, for the pairs whose first
    account (``src``, the smaller id) has its actions in ``left``."""
    y = a2.view()
    xy = left.join(y, (left.key == y.key) & (left.b == y.b) & (left.aid < y.aid))
    return xy.select(src=left.aid, dst=y.aid, key=left.key, cp=left.cp)


def _pair_cells(left: ir.Table, a2: ir.Table, min_shared: int) -> ir.Table:
    """(src, dst, key, cp, shared) of the pairs whose first account has its actions in
    ``left`` and that share at least ``min_shared`` cells over the whole input (counts only
    grow with time: a pair below it now is below it at every checkpoint): the cells they
    share per key and interval. One self-join: the per-(pair, key, interval) counts are
    grouped once and the pairs' totals read from them (a first join counting pairs alone and
    a second one for the survivors' cells: 175 s against 120 s in an ad hoc plain-SQL replica
    on the seed scenario's actions, docs/continuous.md)."""
    xy = _joined(left, a2)
    g = xy.group_by(["src", "dst", "key", "cp"]).aggregate(shared=xy.count())
    tot = g.group_by(["src", "dst"]).aggregate(total=g.shared.sum())
    return g.semi_join(tot.filter(tot.total >= min_shared), ["src", "dst"])


def _in_slices(con: Any, name: str, passes: int, actions: ir.Table, build: Any) -> ir.Table:
    """``build(part)`` for each of ``passes`` slices of ``actions`` by account (one pass:
    ``build(actions)``), kept as one table ``name``: one slice's self-join at a time, exact
    as all rows of a pair lie in the slice of its first account."""
    if passes == 1:
        return _engine.keep(con, name, build(actions))
    slice_of = ((actions.aid.hash() % passes) + passes) % passes
    for i in range(passes):
        if i == 0:
            con.create_table(name, build(actions.filter(slice_of == i)), temp=True, overwrite=True)
        else:
            con.insert(name, build(actions.filter(slice_of == i)))
    return con.table(name)


def sync(ctx: Any, bucket_s: int, max_cell: int, min_actions: int, min_shared: int) -> None:
    """SynchroTrap actions (account, key, time bucket: ``act``) and the pair overlaps per
    interval (``pairs``), with the per-interval action counts the per-checkpoint query needs.

    Checkpoints fall on whole hours and buckets divide the hour, so a bucket (and its cell
    of accounts) lies inside one interval: cell sizes are final once the bucket is seen.
    """
    ev = table(ctx, "")
    con = backend(ctx)
    a = ev.mutate(key=sync_key(ev), b=ev.t // (bucket_s * 1000))
    tagged = a.group_by(["aid", "key", "b"]).aggregate(cp=a.cp.min())
    tagged = _engine.keep(con, f"{ctx.src}_act_tagged", tagged)
    # every later join and count is on the key: an integer id for each tagged string (ids in
    # string order) makes them about a third faster than the strings (seed scenario, by hand)
    ids = tagged.select("key").distinct()
    ids = ids.mutate(kid=ibis.row_number().over(order_by=ids.key))
    act = _put(ctx, "act", tagged.join(ids, "key").select(tagged.aid, key=ids.kid, b=tagged.b, cp=tagged.cp))
    _engine.drop(con, f"{ctx.src}_act_tagged")
    na = _put(ctx, "na", act.group_by(["aid", "cp"]).aggregate(n=act.count()))
    kb = act.group_by(["key", "b"]).aggregate(cp=act.cp.min())
    _put(ctx, "nb", kb.group_by(["key", "cp"]).aggregate(n=kb.count()))
    cell = act.group_by(["key", "b"]).aggregate(cell=act.count())
    tot = na.group_by("aid").aggregate(total=na.n.sum())
    elig = tot.filter(tot.total >= min_actions).select("aid")
    a2 = act.join(cell, ["key", "b"]).semi_join(elig, "aid")
    a2 = a2.filter(a2.cell.between(2, max_cell)).select("aid", "key", "b", "cp")
    passes = _sync_passes(ctx, cell, max_cell)
    a2_name = f"{ctx.src}_a2"
    a2 = _engine.keep(con, a2_name, a2)  # read by every slice
    # the slices are written as the partial itself (no copy of ~12M rows afterwards)
    with timed(ctx, "coordination.sync.partials.pair_cells"):
        pairs = _in_slices(con, f"{ctx.src}_pairs", passes, a2, lambda a: _pair_cells(a, a2, min_shared))
    _register(ctx, "pairs", pairs)
    _engine.drop(con, a2_name)
    used = pairs.select(aid=pairs.src, key=pairs.key).union(pairs.select(aid=pairs.dst, key=pairs.key))
    n = act.semi_join(used, ["aid", "key"])
    _put(ctx, "nk", n.group_by(["aid", "key", "cp"]).aggregate(n=n.count()))
