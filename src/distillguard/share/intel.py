"""Partners' intel as scan signals (family ``intel``).

``intel_signals`` turns matches against partners' indicators into SIGNALS_SCHEMA rows:
``intel_payment_match``, ``intel_ip_match``, ``intel_ip24_match``, ``intel_tls_match``,
``intel_ua_match``, ``intel_template_match``. Strength grows with the number of
INDEPENDENT partners (distinct STIX identities) reporting the same account's
identifiers: ``1 - (1 - kind_weight) ** partners``, scaled by how much of the account's
traffic carried the matched values, and capped at ``max_strength``.

A partner's word alone never makes ``attack``: these signals are corroboration. Scoring
must require a local detector family to fire before an account can reach ``attack``
(docs/sharing.md); the cap here keeps intel from saturating a score even before that.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from distillguard.schema import SIGNALS_SCHEMA
from distillguard.share._events import EventSource, register_events, resolve_sources
from distillguard.share._hashing import arrow, duck
from distillguard.share._intel_io import IntelSet, load_intel
from distillguard.share._keys import KeyRing, load_keyring
from distillguard.share._match_core import find_matches
from distillguard.share._sketch import SketchParams

FAMILY = "intel"


def _default_weights() -> dict[str, float]:
    return {"payment": 0.6, "template": 0.4, "tls": 0.25, "ip": 0.25, "ip24": 0.1, "ua": 0.05}


@dataclass(frozen=True)
class IntelParams:
    """Named weights and thresholds that turn partner matches into signal strength."""

    kind_weight: dict[str, float] = field(default_factory=_default_weights)
    """Strength one partner's match of this kind is worth. Payment instruments are nearly
    unique to an actor; templates and TLS stacks are shared by tooling; IPs and /24s can be
    NAT, proxies or relays also used by real customers; user agents are weakest."""
    full_coverage: float = 0.5
    """Share of an account's events carrying matched values at which the coverage factor
    reaches 1 (an account with 1 matched request out of 1000 gets 1/500 of the strength).
    Payment is account-level and exempt."""
    max_strength: float = 0.9
    """Cap on any intel signal: partners corroborate, they do not decide."""
    min_partners: int = 1
    """Independent partners needed before a kind fires at all."""
    sketch: SketchParams = field(default_factory=SketchParams)


def signals_from_matches(matches: pa.Table, params: IntelParams) -> pa.Table:
    """SIGNALS_SCHEMA rows from ``find_matches`` output (vectorized in DuckDB)."""
    if not len(matches):
        return SIGNALS_SCHEMA.empty_table()
    con = duck()
    con.register("_m", matches)
    con.register(
        "_w",
        pa.table({"kind": list(params.kind_weight), "w": [float(v) for v in params.kind_weight.values()]}),
    )
    rows = arrow(
        con,
        """
        WITH per AS (
            SELECT account_id, kind, count(DISTINCT partner_id) AS partners,
                   string_agg(DISTINCT partner_name, ', ' ORDER BY partner_name) AS names,
                   sum(matched_values) AS vals, max(events) AS ev, max(account_events) AS total,
                   min(first_seen) AS fs, max(last_seen) AS ls, max(jaccard) AS jac
            FROM _m GROUP BY 1, 2
        )
        SELECT per.*, _w.w FROM per JOIN _w USING (kind) WHERE partners >= $min_partners
        ORDER BY account_id, kind
        """,
        {"min_partners": params.min_partners},
    )
    coverage = "CASE WHEN kind = 'payment' THEN 1.0 ELSE least(1.0, (ev / total) / $full) END"
    con.register("_r", rows)
    out = arrow(
        con,
        f"""
        SELECT account_id, '{FAMILY}' AS family, 'intel_' || kind || '_match' AS signal,
               least($cap, (1 - pow(1 - w, partners)) * {coverage}) AS strength,
               CASE WHEN kind = 'template' THEN jac ELSE partners::DOUBLE END AS value,
               CASE WHEN kind = 'template' THEN $jmin ELSE $min_partners::DOUBLE END AS threshold,
               partners || ' partner(s) (' || names || '): ' || vals || ' keyed ' || kind || ' value(s), '
                 || ev || '/' || total || ' events, ' || strftime(fs, '%Y-%m-%d') || '..'
                 || strftime(ls, '%Y-%m-%d')
                 || CASE WHEN kind = 'template' THEN ', Jaccard ' || round(jac, 2) ELSE '' END AS evidence
        FROM _r ORDER BY account_id, strength DESC, signal
        """,
        {
            "cap": params.max_strength,
            "full": params.full_coverage,
            "jmin": params.sketch.min_jaccard,
            "min_partners": params.min_partners,
        },
    )
    con.close()
    return out.cast(SIGNALS_SCHEMA)


def _meta(intel: IntelSet) -> dict[bytes, bytes]:
    return {
        b"distillguard.intel_skipped": json.dumps(dict(intel.skipped), sort_keys=True).encode(),
        b"distillguard.intel_partners": json.dumps(intel.partners, sort_keys=True).encode(),
        b"distillguard.intel_files": str(intel.files).encode(),
        b"distillguard.intel_indicators": str(intel.indicators).encode(),
    }


def intel_signals(
    intel_paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    events: Sequence[EventSource] | EventSource | Any,
    *,
    key_file: str | os.PathLike[str] | KeyRing,
    trusted: Sequence[str] | None = None,
    own_identity: str | None = None,
    as_of: datetime | None = None,
    params: IntelParams | None = None,
) -> pa.Table:
    """Signals (SIGNALS_SCHEMA, family ``intel``) for local accounts matching partners' intel.

    ``events`` are event dirs, Parquet paths, Arrow tables or a pyarrow Dataset. Bad
    intel is skipped and counted; the counts ride along in the schema metadata
    (``distillguard.intel_skipped``, ``..._partners``, ``..._files``, ``..._indicators``).
    """
    params = params or IntelParams()
    keyring = key_file if isinstance(key_file, KeyRing) else load_keyring(key_file)
    intel = load_intel(
        intel_paths, keyring, trusted=trusted, own_identity=own_identity, as_of=as_of, sketch=params.sketch
    )
    if intel.empty:
        return SIGNALS_SCHEMA.empty_table().replace_schema_metadata(_meta(intel))
    con = duck()
    register_events(con, resolve_sources(events))
    matches = find_matches(con, intel, keyring, params.sketch)
    con.close()
    table = signals_from_matches(matches, params)
    return table.replace_schema_metadata(_meta(intel))
