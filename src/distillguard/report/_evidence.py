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
