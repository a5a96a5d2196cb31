"""Frame families: harvest wrappers concentrated among locally flagged accounts.

Why a third level: a campaign spread thinly over many providers leaves each of them a
few dozen members using the same handful of wrappers ("Could you walk me through ...",
"... Can you explain your thinking?"). Local scoring flags only some of those members;
the rest look clear. The suspicious group's withholding rule (a value used by more than
``max_outside_accounts`` unflagged accounts stays home) then withholds exactly the
campaign's own wrappers, because its unflagged members use them too.

A *family* is a harvest frame whose local users are concentrated among flagged accounts
(campaign or suspicious-group members): at least ``family_min_flagged`` flagged users,
and flagged users at least ``family_min_share`` of all its users. Everyday wrappers used
by many benign customers fail the share test (a popular wording is used by hundreds of
accounts, few of them flagged), and a wrapper used by fewer than
``family_min_accounts`` local accounts in all never leaves (k-anonymity floor). The
family group's confidence is ``family_confidence`` (below the suspicious level): one
provider's family is a hint, several independent partners reporting the same keyed
wrapper are evidence (``share.intel``'s weak-partner rule).

Counts shared with each family indicator: values, accounts using them (all local users,
flagged or not), occurrences, and the flagged share of those accounts (``concentration``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from distillguard.share._hashing import FRAME_KIND, hash_canonical
from distillguard.share._local import canon_map

if TYPE_CHECKING:
    from distillguard.share._export import ExportParams

#: Local id of the family group (never leaves: only a keyed reference does).
FAMILY_GROUP_ID = "dg:families"


def _frame_table(con: Any, params: ExportParams) -> str:
    """The connection's frame map, built (prompt tagging is the costly part) only if absent:
    the export's frame and template passes have registered it already."""
    from ibis.common.exceptions import TableNotFound

    from distillguard.features._timeline import ibis_backend
    from distillguard.share._frames import FRAME_MAP

    try:
        ibis_backend(con).table(FRAME_MAP)
        return FRAME_MAP
    except TableNotFound:
        return canon_map(con, FRAME_KIND, frame_words=params.sketch.frame_words)


def family_frames(con: Any, secret: bytes, params: ExportParams) -> tuple[pa.Table, dict[str, Any]]:
    """(values, stats) of the frame families of the registered ``events`` and ``_members``.

    ``values``: chunk, hmac, events, first_seen, last_seen (ordered by events).
    ``stats``: accounts (distinct local users of the kept frames), events, flagged
    (flagged users among them), concentration, first_seen, last_seen; empty when none.
    """
    import ibis

    from distillguard import _engine
    from distillguard.features._timeline import ibis_backend

    mapped = _frame_table(con, params)
    be = ibis_backend(con)
    e, fm, mb = be.table("events"), be.table(mapped), be.table("_members")
    on = e.join(fm, e.prompt == fm.raw)
    p = on.filter(on.harvest).select("account_id", "canon", ts=on.timestamp)
    flagged = mb.select("account_id").distinct().mutate(is_flagged=True)
    p = p.left_join(flagged, p.account_id == flagged.account_id)
    users = p.group_by("canon").aggregate(
        n_users=p.account_id.nunique(),
        n_flagged=p.account_id.nunique(where=p.is_flagged.notnull()),
        events=p.count(),
        first_seen=p.ts.min(),
        last_seen=p.ts.max(),
    )
    # a value's use anywhere (harvest prompt or not) counts against it
    a = on.filter(on.canon.isin(users.canon))
    anywhere = a.group_by("canon").aggregate(n_any=a.account_id.nunique())
    u = users.join(anywhere, "canon")
    u = u.filter(
        (u.n_flagged >= int(params.family_min_flagged))
        & (u.n_any >= int(params.family_min_accounts))
        & (u.n_flagged >= float(params.family_min_share) * u.n_any)
    )
    rank = ibis.row_number().over(order_by=[ibis.desc("events"), "canon"])
    family = _engine.keep(be, "_family", u.mutate(chunk=rank // int(params.max_values_per_indicator)))
    rows = family.order_by(["chunk", ibis.desc("events"), "canon"]).to_pyarrow()
    hit = on.filter(on.canon.isin(family.canon))
    used = hit.select("account_id").distinct()

    def count(table: Any) -> int:
        return int(table.count().to_pyarrow().as_py())

    stats = {
        "accounts": count(used),
        "flagged": count(used.filter(used.account_id.isin(mb.account_id))),
        # each event once, however many of its frames match
        "events": count(e.filter(e.prompt.isin(fm.filter(fm.canon.isin(family.canon)).raw))),
        "pairs": count(hit.select("account_id", "canon").distinct()),
    }
    hashes = hash_canonical(rows.column("canon"), secret, FRAME_KIND, con=con)
    values = rows.select(["chunk", "events", "first_seen", "last_seen"]).append_column("hmac", hashes)
    accounts = int(stats["accounts"] or 0)
    summary: dict[str, Any] = {
        "accounts": accounts,
        "events": int(stats["events"] or 0),
        "flagged": int(stats["flagged"] or 0),
        "pairs": int(stats["pairs"] or 0),
        "concentration": round(stats["flagged"] / accounts, 3) if accounts else 0.0,
    }
    if len(rows):
        import pyarrow.compute as pc

        summary["first_seen"] = pc.min(rows["first_seen"]).as_py()
        summary["last_seen"] = pc.max(rows["last_seen"]).as_py()
    return values, summary


def add_families(
    con: Any,
    secret: bytes,
    params: ExportParams,
    groups: list[dict[str, Any]],
    per_kind: dict[str, tuple[pa.Table, pa.Table]],
) -> None:
    """Append the frame-family group and its frame values (``share._export_family``)."""
    values, summary = family_frames(con, secret, params)
    if not len(values):
        return
    groups.append(
        {
            "campaign_id": FAMILY_GROUP_ID,
            "level": "family",
            "accounts": summary["accounts"],
            "score": summary["concentration"],
            "confidence": int(params.family_confidence),
            "exchanges": summary["events"],
            "first_seen": summary["first_seen"],
            "last_seen": summary["last_seen"],
            "capabilities": [],
            "flagged": summary["flagged"],
            "concentration": summary["concentration"],
        }
    )
    values = values.add_column(0, "campaign_id", pa.array([FAMILY_GROUP_ID] * len(values), pa.string()))
    chunks = sorted(set(values["chunk"].to_pylist()))
    stats = pa.table(
        {
            "campaign_id": [FAMILY_GROUP_ID] * len(chunks),
            "chunk": pa.array(chunks, pa.int64()),
            "accounts": pa.array([summary["accounts"]] * len(chunks), pa.int64()),
            "events": pa.array([summary["events"]] * len(chunks), pa.int64()),
            "pairs": pa.array([summary["pairs"]] * len(chunks), pa.int64()),
        }
    )
    old_values, old_stats = per_kind[FRAME_KIND]
    per_kind[FRAME_KIND] = (
        pa.concat_tables([old_values, values.select(old_values.column_names).cast(old_values.schema)]),
        pa.concat_tables([old_stats, stats.select(old_stats.column_names).cast(old_stats.schema)]),
    )
