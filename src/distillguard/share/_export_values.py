"""What each export group shares, per kind: keyed values, their counts, what is withheld.

All of it runs in DuckDB over the ``events`` view and the ``_members`` table
(``campaign_id, account_id, level``). Output rows carry keyed hashes or keyed sketches
only; canonical values and template texts stay in this process.

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

from distillguard.share._hashing import FRAME_KIND, SOURCE_COLUMNS, arrow, hash_canonical
from distillguard.share._local import canon_map, local_sketches

if TYPE_CHECKING:
    from distillguard.share._export import ExportParams

_OUTSIDE = """
usage AS (
    SELECT p.{value},
           count(DISTINCT p.account_id) FILTER (WHERE mb.level IS NULL) AS n_clear,
           count(DISTINCT p.account_id) FILTER (WHERE mb.level = 'suspicious') AS n_weak
    FROM per_event p LEFT JOIN _members mb USING (account_id)
    WHERE p.{value} IN (SELECT {value} FROM grp)
    GROUP BY 1
)"""


def _allowed_levels(kind: str, params: ExportParams) -> str:
    levels = ["'campaign'"] + (["'suspicious'"] if kind in params.weak_kinds else [])
    return ", ".join(levels)


def kind_values(con: Any, kind: str, secret: bytes, params: ExportParams) -> tuple[pa.Table, pa.Table, int]:
    """(values, chunk stats, withheld count) of one hash kind for every group.

    ``values``: campaign_id, chunk, hmac, events, first_seen, last_seen (ordered by
    events). ``stats``: campaign_id, chunk, accounts, events (distinct accounts and
    occurrences behind each chunk: the partner's typical member volume).
    """
    mapped = canon_map(con, kind, frame_words=params.sketch.frame_words)
    harvest = "m.harvest" if kind == FRAME_KIND else "TRUE"
    step = int(params.max_values_per_indicator)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _kept AS
        WITH per_event AS (
            SELECT e.account_id, e."timestamp" AS ts, m.canon, {harvest} AS harvest
            FROM events e JOIN {mapped} m ON e."{SOURCE_COLUMNS[kind]}" = m.raw
        ),
        grp AS (
            SELECT mb.campaign_id, any_value(mb.level) AS level, p.canon, count(*) AS events,
                   min(ts) AS first_seen, max(ts) AS last_seen
            FROM per_event p JOIN _members mb USING (account_id)
            WHERE p.harvest AND mb.level IN ({_allowed_levels(kind, params)})
            GROUP BY mb.campaign_id, p.canon
        ),
        {_OUTSIDE.format(value="canon")},
        scored AS (
            SELECT grp.*, n_clear + CASE WHEN level = 'campaign' THEN n_weak ELSE 0 END AS outside
            FROM grp JOIN usage USING (canon)
        )
        SELECT *, (row_number() OVER (PARTITION BY campaign_id ORDER BY events DESC, canon) - 1)
                  // {step} AS chunk
        FROM scored WHERE outside <= {int(params.max_outside_accounts)}
        """
    )
    withheld = con.execute(
        f"""
        WITH per_event AS (
            SELECT e.account_id, m.canon, {harvest} AS harvest
            FROM events e JOIN {mapped} m ON e."{SOURCE_COLUMNS[kind]}" = m.raw
        ),
        grp AS (
            SELECT DISTINCT mb.campaign_id, mb.level, p.canon
            FROM per_event p JOIN _members mb USING (account_id)
            WHERE p.harvest AND mb.level IN ({_allowed_levels(kind, params)})
        )
        SELECT count(*) FROM grp ANTI JOIN _kept USING (campaign_id, canon)
        """
    ).fetchall()[0][0]
    rows = arrow(con, "SELECT * FROM _kept ORDER BY campaign_id, chunk, events DESC, canon")
    # events count each event once per chunk (a prompt's head and tail frames are one event),
    # as share match counts them on the partner's side: the heavy-user rule compares the two
    stats = arrow(
        con,
        f"""
        WITH hits AS (
            SELECT DISTINCT m.raw, m.canon, k.campaign_id, k.chunk
            FROM {mapped} m JOIN _kept k ON k.canon = m.canon
            {"WHERE m.harvest" if kind == FRAME_KIND else ""}
        ),
        per_raw AS (SELECT raw, campaign_id, chunk, list(canon) AS canons FROM hits GROUP BY ALL),
        per_event AS (
            SELECT h.campaign_id, h.chunk, e.account_id, h.canons
            FROM events e JOIN per_raw h ON e."{SOURCE_COLUMNS[kind]}" = h.raw
            JOIN _members mb ON mb.account_id = e.account_id AND mb.campaign_id = h.campaign_id
        ),
        pairs AS (
            SELECT campaign_id, chunk, count(DISTINCT (account_id, canon)) AS pairs
            FROM (SELECT DISTINCT campaign_id, chunk, account_id, unnest(canons) AS canon FROM per_event)
            GROUP BY 1, 2
        )
        SELECT campaign_id, chunk, count(DISTINCT account_id) AS accounts, count(*) AS events,
               any_value(pairs.pairs) AS pairs
        FROM per_event JOIN pairs USING (campaign_id, chunk)
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
    )
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
    from distillguard.share._frames import frame_map

    frame_map(con, params.sketch.frame_words)  # registers _map_template and harvest flags
    weak_ok = "template" in params.weak_kinds
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _tmpl_all AS
        WITH harvest AS (SELECT raw, bool_or(harvest) AS harvest FROM _map_frame GROUP BY raw),
        per_event AS (
            SELECT e.account_id, t.template, h.harvest
            FROM events e JOIN _map_template t ON e.prompt = t.raw JOIN harvest h ON h.raw = t.raw
        ),
        grp AS (
            SELECT mb.campaign_id, any_value(mb.level) AS level, p.template, count(*) AS events
            FROM per_event p JOIN _members mb USING (account_id)
            WHERE mb.level = 'campaign' OR ({str(weak_ok).upper()} AND p.harvest)
            GROUP BY mb.campaign_id, p.template
            HAVING count(*) >= {int(params.min_template_events)}
        ),
        {_OUTSIDE.format(value="template")}
        SELECT grp.*, n_clear + CASE WHEN level = 'campaign' THEN n_weak ELSE 0 END AS outside
        FROM grp JOIN usage USING (template)
        """
    )
    cap = int(params.max_outside_accounts)
    withheld = con.execute(f"SELECT count(*) FROM _tmpl_all WHERE outside > {cap}").fetchall()[0][0]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _tmpl_kept AS
        SELECT * FROM (
            SELECT *, row_number() OVER (PARTITION BY campaign_id ORDER BY events DESC, template) AS rk
            FROM _tmpl_all WHERE outside <= {cap}
        ) WHERE rk <= {int(params.max_templates_per_campaign)}
        """
    )
    rows = arrow(con, "SELECT * FROM _tmpl_kept ORDER BY campaign_id, rk")
    stats = arrow(
        con,
        """
        SELECT k.campaign_id, count(DISTINCT e.account_id) AS accounts, count(*) AS events,
               count(DISTINCT (e.account_id, t.template)) AS pairs
        FROM events e JOIN _map_template t ON e.prompt = t.raw
        JOIN _members mb ON mb.account_id = e.account_id
        JOIN _tmpl_kept k ON k.campaign_id = mb.campaign_id AND k.template = t.template
        GROUP BY 1 ORDER BY 1
        """,
    )
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
