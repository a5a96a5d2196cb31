"""What each export group shares, per kind: keyed values, their counts, what is withheld.

All of it is Ibis expressions (run on the export's DuckDB connection) over the ``events``
view and the ``_members`` table (``campaign_id, account_id, level``). Output rows carry
keyed hashes or keyed sketches only; canonical values and template texts stay in this
process.

Withholding (why partners can trust even weak intel): a value used by more than
``max_outside_accounts`` local accounts outside the group is not exported. For a campaign,
"outside" is every account not in a campaign (suspicious ones included); for the
suspicious group it is every account in no group. Frames and, for the suspicious group,
templates come from harvest prompts only (``share._frames.HARVEST_TAGS``), but a value's
outside use counts whatever prompt it appeared in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.share._frames import FRAME_MAP
from distillguard.share._hashing import FRAME_KIND, SOURCE_COLUMNS, hash_canonical
from distillguard.share._local import canon_map, local_sketches

if TYPE_CHECKING:
    from distillguard.share._export import ExportParams


def _allowed_levels(kind: str, params: ExportParams) -> list[str]:
    return ["campaign"] + (["suspicious"] if kind in params.weak_kinds else [])


def _outside(per_event: Any, members: Any, grp: Any, value: str) -> Any:
    """``grp`` (campaign_id, level, ``value``, ...) with ``outside``: the local accounts
    outside the group using the value (whatever prompt it appeared in, see the module
    docstring), suspicious ones counted against campaigns only."""
    import ibis

    p = per_event.filter(per_event[value].isin(grp[value]))
    p = p.left_join(members, p.account_id == members.account_id)
    usage = p.group_by(value).aggregate(
        n_clear=p.account_id.nunique(where=p.level.isnull()),
        n_weak=p.account_id.nunique(where=p.level == "suspicious"),
    )
    scored = grp.join(usage, value)
    return scored.select(
        *grp.columns, outside=scored.n_clear + ibis.ifelse(scored.level == "campaign", scored.n_weak, 0)
    )


def kind_values(con: Any, kind: str, secret: bytes, params: ExportParams) -> tuple[pa.Table, pa.Table, int]:
    """(values, chunk stats, withheld count) of one hash kind for every group.

    ``values``: campaign_id, chunk, hmac, events, first_seen, last_seen (ordered by
    events). ``stats``: campaign_id, chunk, accounts, events (distinct accounts and
    occurrences behind each chunk: the partner's typical member volume).
    """
    import ibis

    from distillguard import _engine
    from distillguard.features._timeline import ibis_backend

    mapped = canon_map(con, kind, frame_words=params.sketch.frame_words)
    be = ibis_backend(con)
    e, m, mb = be.table("events"), be.table(mapped), be.table("_members")
    source = e[SOURCE_COLUMNS[kind]]
    frames = kind == FRAME_KIND
    per_event = e.join(m, source == m.raw).select(
        e.account_id, ts=e.timestamp, canon=m.canon, harvest=m.harvest if frames else ibis.literal(True)
    )
    p = per_event.join(mb, "account_id")
    p = p.filter(p.harvest & p.level.isin(_allowed_levels(kind, params)))
    grp = p.group_by("campaign_id", "canon").aggregate(
        level=p.level.arbitrary(), events=p.count(), first_seen=p.ts.min(), last_seen=p.ts.max()
    )
    grp = grp.select("campaign_id", "level", "canon", "events", "first_seen", "last_seen")
    scored = _outside(per_event, mb, grp, "canon")
    scored = scored.filter(scored.outside <= int(params.max_outside_accounts))
    rank = ibis.row_number().over(group_by="campaign_id", order_by=[ibis.desc("events"), "canon"])
    kept = _engine.keep(be, "_kept", scored.mutate(chunk=rank // int(params.max_values_per_indicator)))
    offered = p.select("campaign_id", "level", "canon").distinct()
    withheld = offered.anti_join(kept, ["campaign_id", "canon"]).count().to_pyarrow().as_py()
    rows = kept.order_by(["campaign_id", "chunk", ibis.desc("events"), "canon"]).to_pyarrow()
    # events count each event once per chunk (a prompt's head and tail frames are one event),
    # as share match counts them on the partner's side: the heavy-user rule compares the two
    hm = m.filter(m.harvest) if frames else m
    hits = hm.join(kept, hm.canon == kept.canon).select(hm.raw, hm.canon, kept.campaign_id, kept.chunk)
    hits = hits.distinct()
    per_raw = hits.select("raw", "campaign_id", "chunk").distinct()
    ev = e.join(per_raw, source == per_raw.raw)
    ev = ev.join(mb, [ev.account_id == mb.account_id, ev.campaign_id == mb.campaign_id])
    counts = ev.group_by("campaign_id", "chunk").aggregate(
        accounts=ev.account_id.nunique(), events=ev.count()
    )
    used = e.join(hits, source == hits.raw)
    used = used.join(mb, [used.account_id == mb.account_id, used.campaign_id == mb.campaign_id])
    used = used.select("campaign_id", "chunk", "account_id", "canon").distinct()
    pairs = used.group_by("campaign_id", "chunk").aggregate(pairs=used.count())
    stats = counts.join(pairs, ["campaign_id", "chunk"]).order_by(["campaign_id", "chunk"]).to_pyarrow()
    hashes = hash_canonical(rows.column("canon"), secret, kind, con=con)
    values = rows.select(["campaign_id", "chunk", "events", "first_seen", "last_seen"]).append_column(
        "hmac", hashes
    )
    return values, stats, int(withheld)


def template_values(
    con: Any, secret: bytes, params: ExportParams
) -> tuple[pa.Table, np.ndarray, pa.Table, int]:
    """Per group: top templates' counts and keyed signatures (template text never leaves).

    The suspicious group shares harvest templates only. Returns (rows, signatures,
    stats per group: accounts and events behind the kept templates, withheld count).
    """
    import ibis

    from distillguard import _engine
    from distillguard.features._timeline import ibis_backend
    from distillguard.share._frames import frame_map

    frame_map(con, params.sketch.frame_words)  # registers _map_template and harvest flags
    be = ibis_backend(con)
    e, t, mb = be.table("events"), be.table("_map_template"), be.table("_members")
    fm = be.table(FRAME_MAP)
    harvest = fm.group_by("raw").aggregate(harvest=fm.harvest.any())
    per_event = e.join(t, e.prompt == t.raw).join(harvest, t.raw == harvest.raw)
    per_event = per_event.select(e.account_id, t.template, harvest.harvest)
    p = per_event.join(mb, "account_id")
    wanted = p.level == "campaign"
    if "template" in params.weak_kinds:
        wanted |= p.harvest
    p = p.filter(wanted)
    grp = p.group_by("campaign_id", "template").aggregate(level=p.level.arbitrary(), events=p.count())
    grp = grp.filter(grp.events >= int(params.min_template_events))
    grp = grp.select("campaign_id", "level", "template", "events")
    every = _engine.keep(be, "_tmpl_all", _outside(per_event, mb, grp, "template"))
    cap = int(params.max_outside_accounts)
    withheld = every.filter(every.outside > cap).count().to_pyarrow().as_py()
    kept = every.filter(every.outside <= cap)
    kept = kept.mutate(
        rk=ibis.row_number().over(group_by="campaign_id", order_by=[ibis.desc("events"), "template"]) + 1
    )
    kept = _engine.keep(be, "_tmpl_kept", kept.filter(kept.rk <= int(params.max_templates_per_campaign)))
    rows = kept.order_by(["campaign_id", "rk"]).to_pyarrow()
    used = e.join(t, e.prompt == t.raw).join(mb, "account_id")
    used = used.join(kept, [used.campaign_id == kept.campaign_id, used.template == kept.template])
    used = used.select(used.campaign_id, used.account_id, used.template)
    counts = used.group_by("campaign_id").aggregate(accounts=used.account_id.nunique(), events=used.count())
    distinct = used.distinct()
    pairs = distinct.group_by("campaign_id").aggregate(pairs=distinct.count())
    stats = counts.join(pairs, "campaign_id").order_by("campaign_id").to_pyarrow()
    sigs, _ = local_sketches(rows.column("template").combine_chunks(), secret, params.sketch)
    return rows.drop_columns(["template"]), sigs, stats, int(withheld)


def stats_of(stats: pa.Table, campaign_id: str, chunk: int | None = None) -> tuple[int, int, int]:
    """(accounts, events, account-value pairs) of one group (and chunk) from a stats table;
    zeros if absent. ``events / pairs`` is how often a member uses each of the values."""
    mask = pc.equal(stats["campaign_id"], campaign_id)
    if chunk is not None:
        mask = pc.and_(mask, pc.equal(stats["chunk"], chunk))
    row = stats.filter(mask)
    if not len(row):
        return 0, 0, 0
    return int(row["accounts"][0].as_py()), int(row["events"][0].as_py()), int(row["pairs"][0].as_py())
