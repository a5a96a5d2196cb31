"""The values behind each campaign's linking evidence, read from ``edges.parquet``.

``campaigns.json`` summarises a campaign's evidence per kind in one sentence ("206 links;
e.g. fleet template family ... (40 accounts)"). A reviewer deciding on a ban wants the
values themselves: which template families, which datacenter IPs, which creation
bursts hold the members together, and how many members each one links. Every edge
between two members of the same campaign carries such a value in ``evidence``; this
groups them per (campaign, kind, value) in one pass over the edge table.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from distillguard import _duck, _engine

#: Stand-in for an edge without an evidence text.
NO_VALUE = "(no detail recorded)"


def evidence_values(
    edges: pa.Table | None, membership: dict[str, list[str]], *, per_kind: int
) -> dict[tuple[str, str], dict[str, Any]]:
    """(campaign, kind) -> ``{top: [{value, links, accounts}], distinct, links, accounts}``.

    Only edges with both ends in the campaign count. ``values`` holds the ``per_kind``
    values linking the most members (then the most links), the rest is counted in
    ``distinct``.
    """
    import pyarrow.compute as pc

    if edges is None or edges.num_rows == 0 or not membership:
        return {}
    cids = [cid for cid, members in membership.items() for _ in members]
    accounts = [a for members in membership.values() for a in members]
    left = pa.table({"src": pa.array(accounts, pa.string()), "cid": pa.array(cids, pa.string())})
    right = left.rename_columns(["dst", "cid"])
    inside = edges.select(["src", "dst", "kind", "evidence"]).join(left, keys="src", join_type="inner")
    inside = inside.join(right, keys=["dst", "cid"], join_type="inner")
    if inside.num_rows == 0:
        return {}
    inside = inside.set_column(
        inside.schema.get_field_index("evidence"), "evidence", pc.fill_null(inside["evidence"], NO_VALUE)
    )
    keys = ["cid", "kind", "evidence"]
    links = inside.group_by(keys).aggregate([("src", "count")])
    ends = pa.concat_tables(
        [
            inside.select([*keys, "src"]).rename_columns([*keys, "account"]),
            inside.select([*keys, "dst"]).rename_columns([*keys, "account"]),
        ]
    )
    reach = ends.group_by(keys).aggregate([("account", "count_distinct")])
    per_value = links.join(reach, keys=keys).sort_by(
        [("account_count_distinct", "descending"), ("src_count", "descending"), ("evidence", "ascending")]
    )
    kind_reach = ends.group_by(["cid", "kind"]).aggregate([("account", "count_distinct")])
    out: dict[tuple[str, str], dict[str, Any]] = {}
    reach_columns = ("cid", "kind", "account_count_distinct")
    for cid, kind, n in zip(*(kind_reach[c].to_pylist() for c in reach_columns), strict=True):
        out[(cid, kind)] = {"top": [], "distinct": 0, "links": 0, "accounts": n}
    columns = ("cid", "kind", "evidence", "src_count", "account_count_distinct")
    rows = zip(*(per_value[c].to_pylist() for c in columns), strict=True)
    for cid, kind, value, n_links, n_accounts in rows:
        entry = out[(cid, kind)]
        entry["distinct"] += 1
        entry["links"] += n_links
        if len(entry["top"]) < per_kind:
            entry["top"].append({"value": value, "links": n_links, "accounts": n_accounts})
    return out


#: Words of a shared system prompt shown in the report (enough to recognise it; the rest of
#: the text stays out of a file that may be passed around).
SYSTEM_PROMPT_WORDS = 8


def event_values(
    files: list[str], membership: dict[str, list[str]], *, per_kind: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(campaign, kind) -> the values an analyst acts on, read from the events.

    ``edges.parquet`` says "payment instrument shared by 5 accounts" without naming it; the
    events do. Per campaign: the card fingerprints (``payment``) and the system prompts'
    first words (``system_prompt``) that two or more members share, most members first,
    ``per_kind`` of each. One pass over the events for all campaigns (Ibis, on DuckDB).
    """
    if not files or not membership:
        return {}
    import ibis

    members = pa.table(
        {
            "cid": pa.array([c for c, accs in membership.items() for _ in accs], pa.string()),
            "account_id": pa.array([a for accs in membership.values() for a in accs], pa.string()),
        }
    )
    con = _duck.backend()
    try:
        e = _engine.read_parquet(con, files, "dg_events")
        m = _engine.arrow_table(con, "dg_members", members)
        none = ibis.null("string")
        card = e.payment_fingerprint if "payment_fingerprint" in e.columns else none
        # spaces only are trimmed (not tabs or newlines), as the words are split on spaces
        system = e.system_prompt.re_replace(r"^ +| +$", "") if "system_prompt" in e.columns else none
        words = system.split(" ")
        sp = words[:SYSTEM_PROMPT_WORDS].join(" ") + ibis.ifelse(
            words.length() > SYSTEM_PROMPT_WORDS, " …", ""
        )
        ev = e.join(m, "account_id").select("cid", "account_id", card=card, sp=sp)
        cards = ev.filter(ev.card.notnull())
        prompts = ev.filter(ev.sp.notnull() & (ev.sp != ""))
        vals = ibis.union(
            cards.group_by("cid", kind=ibis.literal("payment"), value=cards.card).aggregate(
                n=cards.account_id.nunique()
            ),
            prompts.group_by("cid", kind=ibis.literal("system_prompt"), value=prompts.sp).aggregate(
                n=prompts.account_id.nunique()
            ),
        )
        vals = vals.filter(vals.n >= 2)
        rank = ibis.row_number().over(group_by=["cid", "kind"], order_by=[ibis.desc("n"), "value"])
        top = vals.mutate(rank=rank)
        top = top.filter(top.rank < per_kind).order_by(["cid", "kind", ibis.desc("n"), "value"])
        rows = top.select("cid", "kind", "value", "n").to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault((row["cid"], row["kind"]), []).append({"value": row["value"], "accounts": row["n"]})
    return out
