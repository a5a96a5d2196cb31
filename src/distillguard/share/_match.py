"""``share match``: partners' indicators against local events -> matches table + sightings.

The sightings bundle is ready to push back: it references the partner's indicator ids
and says where (our identity), how often and when we saw them, and nothing else: no
account ids, no raw values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.share._config import ShareConfig, load_config
from distillguard.share._events import EventSource, register_events, resolve_sources
from distillguard.share._hashing import duck
from distillguard.share._intel_io import IntelLimits, load_intel, report_skips
from distillguard.share._keys import load_keyring
from distillguard.share._match_core import find_matches
from distillguard.share._sketch import SketchParams
from distillguard.share._stix import EXTENSION_ID, derived_id, tlp_marking

#: STIX caps a sighting's count at this value.
MAX_SIGHTING_COUNT = 999_999_999


@dataclass
class MatchResult:
    """Where match wrote its outputs, and what it found / skipped."""

    out: Path
    matches: pa.Table
    accounts: int
    partners: int
    sightings: int
    skipped: dict[str, int]
    indicators: int


def _sightings(matches: pa.Table, identity_id: str, marking: Any, now: datetime) -> list[Any]:
    import stix2

    from distillguard import _duck, _engine

    con = _duck.backend()
    try:
        m = _engine.arrow_table(con, "_m", matches)
        per = (
            m.group_by("indicator_id")
            .aggregate(
                kind=m.kind.arbitrary(),
                events=m.events.sum().cast("int64"),
                accounts=m.account_id.nunique().cast("int64"),
                fs=m.first_seen.min(),
                ls=m.last_seen.max(),
            )
            .order_by("indicator_id")
            .to_pyarrow()
            .to_pylist()
        )
    finally:
        con.disconnect()
    out = []
    for row in per:
        out.append(
            stix2.Sighting(
                id=derived_id("sighting", identity_id, row["indicator_id"]),
                created_by_ref=identity_id,
                created=now,
                modified=now,
                sighting_of_ref=row["indicator_id"],
                where_sighted_refs=[identity_id],
                count=min(int(row["events"]), MAX_SIGHTING_COUNT),
                first_seen=row["fs"],
                last_seen=row["ls"],
                description=f"{row['kind']} indicator matched {row['accounts']} local account(s).",
                object_marking_refs=[marking.id],
                extensions={
                    EXTENSION_ID: {"extension_type": "property-extension", "accounts": int(row["accounts"])}
                },
            )
        )
    return out


def match(
    intel: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    inputs: Sequence[EventSource] | EventSource,
    *,
    key_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    identity: str | None = None,
    config: ShareConfig | str | os.PathLike[str] | None = None,
    trusted: Sequence[str] | None = None,
    tlp: str | None = None,
    as_of: datetime | None = None,
    sketch: SketchParams | None = None,
    limits: IntelLimits | None = None,
    strict: bool = False,
) -> MatchResult:
    """Match ``intel`` bundles against ``inputs``; write matches.parquet, sightings.json, summary.

    Skipped intel is named on stderr; ``strict`` makes any skip an error (nothing written).
    Without ``limits``, the sharing config's ``intel_limits`` (else the defaults) apply.
    """
    import stix2

    cfg = config if isinstance(config, ShareConfig) else load_config(config)
    name, identity_id = cfg.require_identity(identity)
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    sketch = sketch or SketchParams()
    keyring = load_keyring(key_file)
    trusted = trusted if trusted is not None else cfg.trusted_partners
    intel_set = load_intel(
        intel,
        keyring,
        trusted=trusted,
        own_identity=identity_id,
        as_of=now,
        sketch=sketch,
        limits=limits or cfg.intel_limits,
    )
    report_skips(intel_set, strict=strict)
    sources = resolve_sources(inputs)
    con = duck()
    register_events(con, sources)
    matches = find_matches(con, intel_set, keyring, sketch)
    con.close()

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(matches, out_dir / "matches.parquet")
    marking = tlp_marking(tlp or cfg.tlp or "amber")
    ident = stix2.Identity(
        id=identity_id, name=name, identity_class="organization", created=now, modified=now
    )
    sightings = _sightings(matches, identity_id, marking, now) if len(matches) else []
    bundle = stix2.Bundle(objects=[ident, marking, *sightings])
    (out_dir / "sightings.json").write_text(bundle.serialize(pretty=True), encoding="utf-8")
    accounts = len(set(matches["account_id"].to_pylist()))
    summary = {
        "intel_files": intel_set.files,
        "indicators_used": intel_set.indicators,
        "partners": intel_set.partners,
        "skipped": dict(intel_set.skipped),
        "skipped_detail": [
            {"source": n.source, "reason": n.reason, "detail": n.detail} for n in intel_set.notes
        ],
        "limits": intel_set.limits.documented(),
        "matched_accounts": accounts,
        "sightings": len(sightings),
        "min_jaccard": sketch.min_jaccard,
    }
    (out_dir / "match_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return MatchResult(
        out=out_dir,
        matches=matches,
        accounts=accounts,
        partners=len(set(matches["partner_id"].to_pylist())),
        sightings=len(sightings),
        skipped=dict(intel_set.skipped),
        indicators=intel_set.indicators,
    )
