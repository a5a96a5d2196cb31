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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.schema import SIGNALS_SCHEMA
from distillguard.share._events import EventSource, register_events, resolve_sources
from distillguard.share._hashing import duck
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


#: Names of the tables signals_from_matches puts on its backend (dropped after).
_TABLES = ("_intel_matches", "_intel_weights", "_intel_partners", "_intel_kind_min")


def _pooled(per: pa.Table) -> np.ndarray:
    """Per row of ``per`` (one per account, kind and partner): its (account, kind) group's
    ``1 - exp(sum(ln(1 - min(e, 0.999))))``, the terms added in ascending order of ``e``.

    The order of the additions is fixed by the values alone (ties are equal values), so the
    sum does not depend on the order of the rows nor on the engine that produced them."""
    if not len(per):
        return np.zeros(0, dtype=np.float64)

    def codes(name: str) -> np.ndarray:
        enc = pc.dictionary_encode(per[name].combine_chunks(), null_encoding="encode")
        return enc.indices.to_numpy(zero_copy_only=False)

    account, kind = codes("account_id"), codes("kind")
    e = per["e"].to_numpy(zero_copy_only=False).astype(np.float64)
    order = np.lexsort((e, kind, account))
    a, k = account[order], kind[order]
    starts = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (k[1:] != k[:-1])])
    terms = np.log(1.0 - np.minimum(e[order], 0.999))
    pooled = 1.0 - np.exp(np.add.reduceat(terms, starts))
    out = np.empty(len(e), dtype=np.float64)
    out[order] = np.repeat(pooled, np.diff(np.r_[starts, len(e)]))
    return out


def _per_partner(con: Any, matches: pa.Table, params: IntelParams) -> pa.Table:
    """One row per (account, kind, partner): the partner's best effective weight ``e`` and
    what its contributing (``e > 0``) indicators matched."""
    import ibis

    from distillguard import _engine

    m = _engine.arrow_table(con, "_intel_matches", matches)
    weights = pa.table(
        {
            "kind": pa.array(list(params.kind_weight), pa.string()),
            "w": pa.array([float(v) for v in params.kind_weight.values()], pa.float64()),
        }
    )
    w = _engine.arrow_table(con, "_intel_weights", weights)
    x = m.join(w, m.kind == w.kind).select(m, w=w.w)
    conf = ibis.coalesce(x.confidence, params.default_confidence)
    by_member = x.member_events.notnull() & (
        x.events > params.member_max_ratio * ibis.greatest(x.member_events, 1.0)
    )
    by_value = x.pair_events.notnull() & (
        x.events > params.value_max_ratio * x.matched_values * ibis.greatest(x.pair_events, 1.0)
    )
    x = x.mutate(conf=conf, heavy=(x.kind != "payment") & (by_member | by_value))
    x = x.mutate(e=ibis.ifelse(x.heavy, 0.0, x.w * ibis.least(1.0, x.conf / params.full_confidence)))
    pos = x.e > 0
    per = x.group_by(["account_id", "kind", "partner_id"]).aggregate(
        # max, not any value: a partner id's name is one name; if not, the same one wins always
        partner_name=x.partner_name.max(),
        e=x.e.max(),
        conf=x.conf.max(where=pos),
        heavy=x.heavy.all(),
        vals=ibis.ifelse(pos, x.matched_values, 0).sum(),
        ev=ibis.ifelse(pos, x.events, 0).max(),
        total=x.account_events.max(),
        fs=x.first_seen.min(where=pos),
        ls=x.last_seen.max(where=pos),
        jac=x.jaccard.max(where=pos),
    )
    return per.to_pyarrow()


def _confidence_text(low: Any, high: Any) -> Any:
    """``70`` or ``45-70``: confidences in percent, DuckDB's round (half away from zero)."""
    import ibis

    def pct(v: Any) -> Any:
        return (100 * v).round().cast("int32").cast("string")

    return ibis.ifelse(low == high, pct(high), pct(low) + "-" + pct(high))


def _signals(con: Any, per: pa.Table, params: IntelParams) -> pa.Table:
    """The kinds that fire, per account, as SIGNALS_SCHEMA columns (``per`` has ``pooled``)."""
    import ibis

    from distillguard import _engine

    p = _engine.arrow_table(con, "_intel_partners", per)
    mins = pa.table(
        {
            "kind": pa.array(list(params.kind_min_partners), pa.string()),
            "min_partners": pa.array([int(v) for v in params.kind_min_partners.values()], pa.int64()),
        }
    )
    k = _engine.arrow_table(con, "_intel_kind_min", mins)
    pos = p.e > 0
    g = p.group_by(["account_id", "kind"]).aggregate(
        partners=p.count(where=pos),
        heavy_partners=p.count(where=p.heavy),
        names=p.partner_name.collect(distinct=True, order_by=p.partner_name, where=pos).join(", "),
        pooled=p.pooled.max(),  # one value per (account, kind): see _pooled
        max_conf=p.conf.max(),
        min_conf=p.conf.min(),
        vals=p.vals.sum(),
        ev=p.ev.max(),
        total=p.total.max(),
        fs=p.fs.min(),
        ls=p.ls.max(),
        jac=p.jac.max(),
    )
    r = g.left_join(k, g.kind == k.kind).select(
        *(g[c] for c in g.columns), kind_min=ibis.coalesce(k.min_partners, 0)
    )
    r = r.filter(
        r.partners >= ibis.greatest(params.min_partners, r.kind_min),
        (r.max_conf >= params.full_confidence) | (r.partners >= params.min_weak_partners),
    )
    template = r.kind == "template"
    coverage = ibis.ifelse(r.kind == "payment", 1.0, ibis.least(1.0, (r.ev / r.total) / params.full_coverage))
    needed = ibis.ifelse(r.max_conf >= params.full_confidence, params.min_partners, params.min_weak_partners)
    evidence = (
        r.partners.cast("string")
        + " independent partner(s) ("
        + r.names
        + "), confidence "
        + _confidence_text(r.min_conf, r.max_conf)
        + ": "
        + r.vals.cast("string")
        + " keyed "
        + r.kind
        + " value(s), "
        + r.ev.cast("string")
        + "/"
        + r.total.cast("string")
        + " events, "
        + r.fs.strftime("%Y-%m-%d")
        + ".."
        + r.ls.strftime("%Y-%m-%d")
        + ibis.ifelse(template, ", Jaccard " + r.jac.round(2).cast("string"), "")
        + ibis.ifelse(
            r.heavy_partners > 0,
            "; " + r.heavy_partners.cast("string") + " partner(s) ignored: heavy user",
            "",
        )
    )
    out = r.select(
        "account_id",
        family=ibis.literal(FAMILY),
        signal="intel_" + r.kind + "_match",
        strength=ibis.least(params.max_strength, r.pooled * coverage),
        value=ibis.ifelse(template, r.jac, r.partners.cast("float64")),
        threshold=ibis.ifelse(
            template, params.sketch.min_jaccard, ibis.greatest(r.kind_min, needed).cast("float64")
        ),
        evidence=evidence,
    )
    return out.order_by(["account_id", ibis.desc("strength"), "signal"]).to_pyarrow()


def signals_from_matches(matches: pa.Table, params: IntelParams, *, con: Any = None) -> pa.Table:
    """SIGNALS_SCHEMA rows from ``find_matches`` output, one per (account, kind that fires),
    ordered by account, strength (descending) and signal.

    Ibis expressions on ``con`` (default: a private in-memory DuckDB, closed after; a given
    backend keeps its tables but not the ones put on it here). The evidence text is DuckDB's
    formatting (confidences rounded half away from zero, integers without a decimal point,
    dates in UTC). Two steps: per (account, kind, partner) the partner's effective weight
    ``e_p`` and what it matched, then per (account, kind) the pooled strength and the rules of
    the module docstring.

    The pooled ``1 - prod(1 - e_p)`` (as ``1 - exp(sum(ln(1 - min(e_p, 0.999))))``) is not
    an engine's SUM: an aggregate adds the partners in whatever order it meets them, and
    floating-point addition is not associative, so the same matches could give strengths
    that differ in the last bits with the input's row order or the engine. The per-partner
    rows are collected instead (at most accounts x kinds x partners rows, small beside the
    events) and each (account, kind)'s terms are added in numpy in ascending order of
    ``e_p`` (:func:`_pooled`): the strength depends on the matches alone.
    """
    if not len(matches):
        return SIGNALS_SCHEMA.empty_table()
    from distillguard import _duck, _engine

    own = con is None
    be = _duck.backend() if own else con
    try:
        per = _per_partner(be, matches, params)
        per = per.append_column("pooled", pa.array(_pooled(per), pa.float64()))
        out = _signals(be, per, params)
    finally:
        if own:
            be.disconnect()
        else:
            for name in _TABLES:
                _engine.drop(be, name)
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
