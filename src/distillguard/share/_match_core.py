"""Join partners' keyed indicators against local events, per account.

Exact kinds (payment, IP, /24, TLS, user agent, prompt frame): hash every DISTINCT local
value under the key id each indicator names (DuckDB HMAC), then a hash join. Templates:
keyed sketches of distinct local templates, LSH band join for candidates, then the Jaccard
estimate must reach ``SketchParams.min_jaccard``. The joins are Ibis expressions on the
match's DuckDB connection. Output: one row per (local account,
partner indicator) with counts; nothing here leaves the building.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from distillguard.share._hashing import SOURCE_COLUMNS
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

#: What identifies a partner indicator in a match row (``partner_name`` and ``campaign_ref``
#: may be null: the aggregates are joined on them null-safely).
_INDICATOR = ("partner_id", "partner_name", "indicator_id", "campaign_ref")
_OUT = ("account_id", "partner_id", "partner_name", "kind", "indicator_id", "campaign_ref")


def _per_account(e: Any, source: Any, hits: Any, kind: str, *, with_jaccard: bool) -> pa.Table:
    """Per (local account, indicator): matched values, events, time range (and Jaccard).

    ``hits`` has ``raw`` (a local value), the indicator columns and ``v`` (the matched keyed
    value or template). Events are joined to ONE row per (raw value, indicator): a prompt has
    two frames (head, tail) and both may sit in one indicator; joining them per event counted
    it twice. The distinct matched values come from a second join and are put beside.
    """
    import ibis

    per_raw = hits.group_by("raw", *_INDICATOR).aggregate(
        **({"jaccard": hits.jaccard.max()} if with_jaccard else {})
    )
    j = e.join(per_raw, source == per_raw.raw)
    counts = j.group_by("account_id", *_INDICATOR).aggregate(
        events=j.count(),
        first_seen=j.timestamp.min(),
        last_seen=j.timestamp.max(),
        jaccard=j.jaccard.max() if with_jaccard else ibis.null("float64"),
    )
    v = e.join(hits, source == hits.raw).select("account_id", *_INDICATOR, "v").distinct()
    values = v.group_by("account_id", *_INDICATOR).aggregate(matched_values=v.count())
    same = [counts.account_id == values.account_id] + [counts[c].identical_to(values[c]) for c in _INDICATOR]
    out = counts.join(values, same)
    return out.select(
        counts.account_id,
        counts.partner_id,
        counts.partner_name,
        kind=ibis.literal(kind),
        indicator_id=counts.indicator_id,
        campaign_ref=counts.campaign_ref,
        matched_values=values.matched_values,
        events=counts.events,
        first_seen=counts.first_seen,
        last_seen=counts.last_seen,
        jaccard=counts.jaccard,
    ).to_pyarrow()


def _hash_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> list[pa.Table]:
    from distillguard.features._timeline import ibis_backend

    con.register("_intel_hashes", intel.hashes)
    be = ibis_backend(con)
    e, ih = be.table("events"), be.table("_intel_hashes")
    pairs = ih.select("kind", "key_id").distinct().order_by(["kind", "key_id"]).to_pyarrow().to_pylist()
    parts = []
    for pair in pairs:
        kind, key_id = pair["kind"], pair["key_id"]
        key = keyring.get(key_id)
        if key is None:  # load_intel already skipped these; defensive
            continue
        k = be.table(keyed_map(con, kind, key_id, key.secret, frame_words=sketch.frame_words))
        i = ih.filter((ih.kind == kind) & (ih.key_id == key_id))
        hits = k.join(i, k.hmac == i.hmac).select(k.raw, *(i[c] for c in _INDICATOR), v=k.hmac)
        parts.append(_per_account(e, e[SOURCE_COLUMNS[kind]], hits, kind, with_jaccard=False))
    return parts


def _template_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> list[pa.Table]:
    from distillguard.features._timeline import ibis_backend

    if not len(intel.sketch_meta):
        return []
    be = ibis_backend(con)
    t = be.table(template_map(con))
    templates = t.select("template").distinct().order_by("template").to_pyarrow().column("template")
    if not len(templates):
        return []
    templates = templates.combine_chunks()
    bands_remote = intel_bands(intel, sketch)
    con.register("_remote_bands", bands_remote)
    remote = be.table("_remote_bands")
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
        lb = be.table("_local_bands")
        r = remote.filter(remote.key_id == key_id)
        cand = lb.join(r, [lb.band == r.band, lb.band_key == r.band_key])
        cand = cand.select(lb.local_row, r.sig_row).distinct().to_pyarrow()
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
        # a template close to several of one indicator's signatures must not count each of
        # its events once per signature (one row per raw prompt and indicator, as above)
        h = be.table("_tmpl_hits")
        th = t.join(h, h.template == t.template)
        th = th.select(t.raw, *(h[c] for c in _INDICATOR), v=h.template, jaccard=h.jaccard)
        parts.append(
            _per_account(be.table("events"), be.table("events").prompt, th, "template", with_jaccard=True)
        )
    return parts


def find_matches(
    con: duckdb.DuckDBPyConnection, intel: IntelSet, keyring: KeyRing, sketch: SketchParams
) -> pa.Table:
    """Per (account, partner indicator): matched values, events, time range, Jaccard (templates)."""
    from distillguard.features._timeline import ibis_backend

    parts = _hash_matches(con, intel, keyring, sketch) + _template_matches(con, intel, keyring, sketch)
    if not parts:
        return MATCH_SCHEMA.empty_table()
    core = pa.schema([f for f in MATCH_SCHEMA if f.name not in _JOINED])
    con.register("_matches", pa.concat_tables([p.cast(core) for p in parts]))
    con.register("_indicator_meta", intel.meta)
    be = ibis_backend(con)
    e, m, im = be.table("events"), be.table("_matches"), be.table("_indicator_meta")
    a = e.group_by("account_id").aggregate(n=e.count())
    out = m.join(a, m.account_id == a.account_id).left_join(im, m.indicator_id == im.indicator_id)
    out = out.select(
        *(m[c] for c in _OUT),
        m.matched_values,
        m.events,
        account_events=a.n,
        first_seen=m.first_seen,
        last_seen=m.last_seen,
        jaccard=m.jaccard,
        level=im.level,
        confidence=im.confidence,
        member_events=im.member_events,
        pair_events=im.pair_events,
    )
    out = out.order_by([m.account_id, m.kind, m.partner_id, m.indicator_id]).to_pyarrow()
    return out.cast(MATCH_SCHEMA)
