"""Partners' intel as scan signals (family ``intel``).

``intel_signals`` turns matches against partners' indicators into SIGNALS_SCHEMA rows:
``intel_payment_match``, ``intel_ip_match``, ``intel_ip24_match``, ``intel_tls_match``,
``intel_ua_match``, ``intel_frame_match``, ``intel_template_match``.

Pooled evidence is what the sharing group is for: each partner may hold only weak,
``suspicious``-level indicators (lower STIX ``confidence``), but when several INDEPENDENT
partners (distinct STIX identities) converge on the same keyed values, that agreement
is strong. Per account and kind:

* each partner contributes ``e_p = kind_weight * min(1, confidence / full_confidence)``
  (its best matching indicator); a match where the local account sends more than
  ``member_max_ratio`` times the partner's typical per-account volume of those values
  contributes nothing (a heavy independent user such as an eval harness is not one of a
  fleet's many small members; payment is exempt);
* the kind fires with ``min_partners`` partners when one of them is high-confidence, and
  otherwise (weak evidence only) with ``min_weak_partners`` independent partners;
* ``strength = min(max_strength, (1 - prod(1 - e_p)) * coverage)``, coverage being the
  share of the account's events that carried matched values (full at ``full_coverage``;
  payment is account-level and exempt).

A partner's word alone never makes ``attack``: these signals corroborate. Scoring requires
a local detector family to fire before an account can reach ``attack``
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
from distillguard.share._intel_io import IntelLimits, IntelSet, load_intel, report_skips
from distillguard.share._keys import KeyRing, load_keyring
from distillguard.share._match_core import find_matches
from distillguard.share._sketch import SketchParams

FAMILY = "intel"
#: Signal names, one per indicator kind (documented in docs/sharing.md).
SIGNALS: tuple[str, ...] = tuple(
    f"intel_{k}_match" for k in ("payment", "ip", "ip24", "tls", "ua", "frame", "template")
)


def _default_weights() -> dict[str, float]:
    return {
        "payment": 0.6,
        "template": 0.4,
        "frame": 0.4,
        "tls": 0.25,
        "ip": 0.25,
        "ip24": 0.1,
        "ua": 0.05,
    }


@dataclass(frozen=True)
class IntelParams:
    """Named weights and thresholds that turn partner matches into signal strength."""

    kind_weight: dict[str, float] = field(default_factory=_default_weights)
    """Strength one high-confidence partner's match of this kind is worth. Payment
    instruments are nearly unique to an actor; templates, harvest frames and TLS stacks are
    shared by tooling; IPs and /24s can be NAT, proxies or relays also used by real
    customers; user agents are weakest."""
    full_coverage: float = 0.5
    """Share of an account's events carrying matched values at which the coverage factor
    reaches 1 (an account with 1 matched request out of 1000 gets 1/500 of the strength).
    Payment is account-level and exempt."""
    max_strength: float = 0.9
    """Cap on any intel signal: partners corroborate, they do not decide."""
    min_partners: int = 1
    """Independent partners needed before a kind fires when one of them is high-confidence."""
    full_confidence: float = 0.7
    """STIX confidence (/100) at which an indicator counts fully; below it, its weight scales
    down in proportion. 70 is where "high" starts on the STIX 2.1 confidence scales; campaign
    exports carry their score, suspicious-level exports at most 0.5."""
    default_confidence: float = 0.7
    """Confidence assumed for an indicator that states none (distillguard v1 bundles only
    exported detected campaigns)."""
    min_weak_partners: int = 2
    """Independent partners whose weak (below ``full_confidence``) indicators must converge
    before a kind fires: one partner's weak suspicion is never evidence on its own."""
    kind_min_partners: dict[str, int] = field(default_factory=lambda: {"ip": 3, "ip24": 3})
    """Independent partners a kind needs whatever their confidence. Residential proxies and
    privacy relays lend one address to real people and to fleets alike, so a partner's
    campaign can carry the IP of someone's home; three providers seeing the same address
    in campaigns is about the address, one or two may be about a neighbour."""
    member_max_ratio: float = 20.0
    """A local account with more than this many times the partner's typical per-account
    occurrences of the matched values is a heavy independent user of them, not a member."""
    value_max_ratio: float = 10.0
    """Same, per matched value: a local account using each matched value more than this many
    times as often as the partner's accounts use each of theirs (indicator ``pairs``:
    distinct account-value pairs) is a heavy user. An eval harness replaying benchmark
    items sends each item's opening words dozens of times; a fleet member a few times.
    Per value because an indicator's per-account volume averages over many values."""
    sketch: SketchParams = field(default_factory=SketchParams)
    limits: IntelLimits = field(default_factory=IntelLimits)
    """Caps on each intel file's size, indicator count and nesting (over a cap: skipped)."""


_PER_PARTNER = """
WITH m AS (
    SELECT _m.*, coalesce(_m.confidence, $default_conf) AS conf,
           kind <> 'payment' AND (
             (member_events IS NOT NULL AND events > $ratio * greatest(member_events, 1.0))
             OR (pair_events IS NOT NULL
                 AND events > $value_ratio * matched_values * greatest(pair_events, 1.0))
           ) AS heavy
    FROM _m
), eff AS (
    SELECT m.*, CASE WHEN heavy THEN 0.0 ELSE _w.w * least(1.0, conf / $full_conf) END AS e
    FROM m JOIN _w USING (kind)
)
SELECT account_id, kind, partner_id, any_value(partner_name) AS partner_name,
       max(e) AS e, max(CASE WHEN e > 0 THEN conf END) AS conf, bool_and(heavy) AS heavy,
       sum(CASE WHEN e > 0 THEN matched_values ELSE 0 END) AS vals,
       max(CASE WHEN e > 0 THEN events ELSE 0 END) AS ev, max(account_events) AS total,
       min(first_seen) FILTER (WHERE e > 0) AS fs, max(last_seen) FILTER (WHERE e > 0) AS ls,
       max(jaccard) FILTER (WHERE e > 0) AS jac
FROM eff GROUP BY 1, 2, 3
"""

_PER_KIND = """
WITH per AS (
    SELECT account_id, kind, count(*) FILTER (WHERE e > 0) AS partners,
           count(*) FILTER (WHERE heavy) AS heavy_partners,
           string_agg(DISTINCT partner_name, ', ' ORDER BY partner_name) FILTER (WHERE e > 0) AS names,
           1 - exp(sum(ln(1 - least(e, 0.999)))) AS pooled, max(conf) AS max_conf, min(conf) AS min_conf,
           sum(vals) AS vals, max(ev) AS ev, max(total) AS total, min(fs) AS fs, max(ls) AS ls,
           max(jac) AS jac
    FROM _p GROUP BY 1, 2
)
SELECT per.* FROM per LEFT JOIN _k USING (kind)
WHERE partners >= greatest($min_partners, coalesce(_k.min_partners, 0))
  AND (max_conf >= $full_conf OR partners >= $min_weak)
"""


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
    per_partner = arrow(
        con,
        _PER_PARTNER,
        {
            "default_conf": params.default_confidence,
            "ratio": params.member_max_ratio,
            "value_ratio": params.value_max_ratio,
            "full_conf": params.full_confidence,
        },
    )
    con.register("_p", per_partner)
    con.register(
        "_k",
        pa.table(
            {
                "kind": pa.array(list(params.kind_min_partners), pa.string()),
                "min_partners": pa.array([int(v) for v in params.kind_min_partners.values()], pa.int64()),
            }
        ),
    )
    rows = arrow(
        con,
        _PER_KIND,
        {
            "min_partners": params.min_partners,
            "full_conf": params.full_confidence,
            "min_weak": params.min_weak_partners,
        },
    )
    coverage = "CASE WHEN kind = 'payment' THEN 1.0 ELSE least(1.0, (ev / total) / $full) END"
    con.register("_r", rows)
    out = arrow(
        con,
        f"""
        SELECT account_id, '{FAMILY}' AS family, 'intel_' || kind || '_match' AS signal,
               least($cap, pooled * {coverage}) AS strength,
               CASE WHEN kind = 'template' THEN jac ELSE partners::DOUBLE END AS value,
               CASE WHEN kind = 'template' THEN $jmin
                    ELSE greatest(coalesce(_k.min_partners, 0),
                                  CASE WHEN max_conf >= $full_conf THEN $min_partners
                                       ELSE $min_weak END)::DOUBLE END AS threshold,
               partners || ' independent partner(s) (' || names || '), confidence '
                 || CASE WHEN min_conf = max_conf THEN round(100 * max_conf)::INT::VARCHAR
                         ELSE round(100 * min_conf)::INT || '-' || round(100 * max_conf)::INT END
                 || ': ' || vals || ' keyed ' || kind || ' value(s), '
                 || ev || '/' || total || ' events, ' || strftime(fs, '%Y-%m-%d') || '..'
                 || strftime(ls, '%Y-%m-%d')
                 || CASE WHEN kind = 'template' THEN ', Jaccard ' || round(jac, 2) ELSE '' END
                 || CASE WHEN heavy_partners > 0
                         THEN '; ' || heavy_partners || ' partner(s) ignored: heavy user' ELSE '' END
                 AS evidence
        FROM _r LEFT JOIN _k USING (kind) ORDER BY account_id, strength DESC, signal
        """,
        {
            "cap": params.max_strength,
            "full": params.full_coverage,
            "jmin": params.sketch.min_jaccard,
            "min_partners": params.min_partners,
            "min_weak": params.min_weak_partners,
            "full_conf": params.full_confidence,
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
        b"distillguard.intel_limits": json.dumps(intel.limits.documented(), sort_keys=True).encode(),
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
    strict: bool = False,
) -> pa.Table:
    """Signals (SIGNALS_SCHEMA, family ``intel``) for local accounts matching partners' intel.

    ``events`` are event dirs, Parquet paths, Arrow tables or a pyarrow Dataset. Bad
    intel is skipped and counted; the counts ride along in the schema metadata
    (``distillguard.intel_skipped``, ``..._partners``, ``..._files``, ``..._indicators``,
    ``..._limits``) and each skip is a warning line on stderr; ``strict`` makes a skip an error.
    """
    params = params or IntelParams()
    keyring = key_file if isinstance(key_file, KeyRing) else load_keyring(key_file)
    intel = load_intel(
        intel_paths,
        keyring,
        trusted=trusted,
        own_identity=own_identity,
        as_of=as_of,
        sketch=params.sketch,
        limits=params.limits,
    )
    report_skips(intel, strict=strict)
    if intel.empty:
        return SIGNALS_SCHEMA.empty_table().replace_schema_metadata(_meta(intel))
    con = duck()
    register_events(con, resolve_sources(events))
    matches = find_matches(con, intel, keyring, params.sketch)
    con.close()
    table = signals_from_matches(matches, params)
    return table.replace_schema_metadata(_meta(intel))
