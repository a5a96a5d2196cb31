"""Join partners' keyed indicators against local events, per account.

Exact kinds (payment, IP, /24, TLS, user agent, prompt frame): hash every DISTINCT local value under
the key id each indicator names (DuckDB HMAC), then a hash join. Templates: keyed
sketches of distinct local templates, LSH band join for candidates, then the Jaccard
estimate must reach ``SketchParams.min_jaccard``. Output: one row per (local account,
partner indicator) with counts; nothing here leaves the building.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from distillguard.share._hashing import SOURCE_COLUMNS, arrow
from distillguard.share._intel_io import IntelSet, intel_bands
from distillguard.share._keys import KeyRing
from distillguard.share._local import keyed_map, local_sketches, template_map
from distillguard.share._sketch import SketchParams, jaccard_estimate

if TYPE_CHECKING:
    import duckdb

MATCH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("partner_id", pa.string()),
        ("partner_name", pa.string()),
        ("kind", pa.string()),
        ("indicator_id", pa.string()),
        ("campaign_ref", pa.string()),
        ("matched_values", pa.int64()),
        ("events", pa.int64()),
        ("account_events", pa.int64()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
        ("jaccard", pa.float64()),
        ("level", pa.string()),  # partner's level: campaign | suspicious | family
        ("confidence", pa.float64()),  # partner's STIX confidence / 100 (null: not given)
        ("member_events", pa.float64()),  # partner's occurrences per account behind the indicator
        ("pair_events", pa.float64()),  # partner's occurrences per (account, value) pair
    ]
)
#: Columns find_matches adds after the per-kind joins.
_JOINED = ("account_events", "level", "confidence", "member_events", "pair_events")

_SELECT = """
    SELECT e.account_id, i.partner_id, i.partner_name, '{kind}' AS kind, i.indicator_id, i.campaign_ref,
           len(list_distinct(flatten(list(i.vals))))::BIGINT AS matched_values, count(*)::BIGINT AS events,
           min(e."timestamp") AS first_seen, max(e."timestamp") AS last_seen, {jaccard} AS jaccard
"""
_GROUP = """
    GROUP BY e.account_id, i.partner_id, i.partner_name, i.indicator_id, i.campaign_ref
"""


def _hash_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> list[pa.Table]:
    con.register("_intel_hashes", intel.hashes)
    pairs = arrow(con, "SELECT DISTINCT kind, key_id FROM _intel_hashes ORDER BY 1, 2").to_pylist()
    parts = []
    for pair in pairs:
        kind, key_id = pair["kind"], pair["key_id"]
        key = keyring.get(key_id)
        if key is None:  # load_intel already skipped these; defensive
            continue
        keyed = keyed_map(con, kind, key_id, key.secret, frame_words=sketch.frame_words)
        # one row per (raw value, indicator) BEFORE the events join: a prompt has two frames
        # (head, tail) and both may sit in one indicator; joining them per event counted it twice
        sql = (
            _SELECT.format(kind=kind, jaccard="NULL::DOUBLE")
            + f"""
            FROM events e
            JOIN (
                SELECT k.raw, i.partner_id, i.partner_name, i.indicator_id, i.campaign_ref,
                       list(DISTINCT k.hmac) AS vals
                FROM {keyed} k
                JOIN _intel_hashes i ON i.hmac = k.hmac AND i.kind = $kind AND i.key_id = $key_id
                GROUP BY ALL
            ) i ON e."{SOURCE_COLUMNS[kind]}" = i.raw
            """
            + _GROUP
        )
        parts.append(arrow(con, sql, {"kind": kind, "key_id": key_id}))
    return parts


def _template_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> list[pa.Table]:
    if not len(intel.sketch_meta):
        return []
    template_map(con)
    templates = arrow(con, "SELECT DISTINCT template FROM _map_template ORDER BY 1").column("template")
    if not len(templates):
        return []
    templates = templates.combine_chunks()
    bands_remote = intel_bands(intel, sketch)
    con.register("_remote_bands", bands_remote)
    parts = []
    for key_id in sorted(set(intel.sketch_meta["key_id"].to_pylist())):
        key = keyring.get(key_id)
        if key is None:
            continue
        sigs, bands = local_sketches(templates, key.secret, sketch)
        local = pa.table(
            {
                "local_row": np.repeat(np.arange(len(templates), dtype=np.int64), sketch.bands),
                "band": np.tile(np.arange(sketch.bands, dtype=np.int64), len(templates)),
                "band_key": bands.reshape(-1),
            }
        )
        con.register("_local_bands", local)
        cand = arrow(
            con,
            """SELECT DISTINCT l.local_row, r.sig_row FROM _local_bands l
               JOIN _remote_bands r ON l.band = r.band AND l.band_key = r.band_key AND r.key_id = $key_id""",
            {"key_id": key_id},
        )
        if not len(cand):
            continue
        lrow = cand["local_row"].to_numpy()
        rrow = cand["sig_row"].to_numpy()
        jac = jaccard_estimate(sigs[lrow], intel.signatures[rrow])
        keep = jac >= sketch.min_jaccard
        if not keep.any():
            continue
        meta = intel.sketch_meta.take(pa.array(rrow[keep]))
        hits = meta.append_column("template", templates.take(pa.array(lrow[keep]))).append_column(
            "jaccard", pa.array(jac[keep])
        )
        con.register("_tmpl_hits", hits)
        # one row per (raw prompt, indicator): a template close to several of one indicator's
        # signatures must not count each of its events once per signature
        sql = (
            _SELECT.format(kind="template", jaccard="max(i.jaccard)")
            + """
            FROM events e
            JOIN (
                SELECT t.raw, h.partner_id, h.partner_name, h.indicator_id, h.campaign_ref,
                       list(DISTINCT h.template) AS vals, max(h.jaccard) AS jaccard
                FROM _map_template t JOIN _tmpl_hits h ON h.template = t.template
                GROUP BY ALL
            ) i ON e.prompt = i.raw
            """
            + _GROUP
        )
        parts.append(arrow(con, sql))
    return parts


def find_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> pa.Table:
    """Per (account, partner indicator): matched values, events, time range, Jaccard (templates)."""
    parts = _hash_matches(con, intel, keyring, sketch) + _template_matches(con, intel, keyring, sketch)
    if not parts:
        return MATCH_SCHEMA.empty_table()
    core = pa.schema([f for f in MATCH_SCHEMA if f.name not in _JOINED])
    con.register("_matches", pa.concat_tables([p.cast(core) for p in parts]))
    con.register("_indicator_meta", intel.meta)
    out = arrow(
        con,
        """SELECT m.account_id, m.partner_id, m.partner_name, m.kind, m.indicator_id, m.campaign_ref,
                  m.matched_values, m.events, a.n::BIGINT AS account_events,
                  m.first_seen, m.last_seen, m.jaccard, im.level, im.confidence, im.member_events,
                  im.pair_events
           FROM _matches m JOIN (SELECT account_id, count(*) AS n FROM events GROUP BY 1) a USING (account_id)
           LEFT JOIN _indicator_meta im USING (indicator_id)
           ORDER BY m.account_id, m.kind, m.partner_id, m.indicator_id""",
    )
    return out.cast(MATCH_SCHEMA)
