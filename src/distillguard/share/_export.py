"""``share export``: a scan's campaigns as a privacy-preserving STIX 2.1 bundle.

What leaves the building: our identity, one ``campaign`` per detected campaign (first and
last seen, account and exchange counts, targeted capabilities), the MITRE ATLAS
AML.T0024.002 technique, and ``indicator``s that ``indicates`` each campaign and carry only
keyed hashes (HMAC-SHA256 under the group key) and keyed MinHash template sketches.
What never leaves: account ids, raw identifiers, prompts, unkeyed hashes of anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.share._config import ShareConfig, load_config
from distillguard.share._events import EventSource, events_from_scan_meta, register_events, resolve_sources
from distillguard.share._hashing import HASH_KINDS, KIND_COLUMNS, arrow, duck, hash_canonical
from distillguard.share._keys import load_keyring
from distillguard.share._local import canon_map, local_sketches, template_map
from distillguard.share._scan_dir import read_campaigns
from distillguard.share._sketch import SketchParams, signature_to_hex
from distillguard.share._stix import (
    ATTACK_PATTERN_ID,
    EXTENSION_ID,
    HASH_OBJECT,
    SKETCH_OBJECT,
    derived_id,
    project_objects,
    stix_string_list,
    tlp_marking,
)


@dataclass(frozen=True)
class ExportParams:
    """Named thresholds of an export (reported in the result)."""

    validity_days: int = 90
    """Indicators expire (``valid_until``) this many days after export; partners skip expired ones."""
    min_campaign_score: float = 0.0
    """Campaigns scoring below this are not shared."""
    max_outside_accounts: int = 2
    """An identifier or template also used by more than this many local accounts outside every
    shared campaign is withheld: it does not distinguish the campaign and would flag partners'
    benign customers (think shared NAT egress, popular user agents, common prompts)."""
    max_values_per_indicator: int = 400
    """Hashes per indicator; bigger sets are split so patterns stay parseable."""
    max_templates_per_campaign: int = 50
    """Most frequent templates of a campaign that get a sketch."""
    min_template_events: int = 2
    """A template must occur at least this often in the campaign to be sketched."""
    sketch: SketchParams = field(default_factory=SketchParams)


@dataclass
class ExportResult:
    """What an export wrote and how much it withheld."""

    path: Path
    campaigns: int
    indicators: int
    objects: int
    values_by_kind: dict[str, int]
    withheld_common: dict[str, int]
    params: ExportParams


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _kind_values(con: Any, kind: str, secret: bytes, params: ExportParams) -> tuple[pa.Table, int]:
    """Per campaign: keyed hashes of the kind's distinguishing values, with counts."""
    mapped = canon_map(con, kind)
    col = KIND_COLUMNS[kind]
    rows = arrow(
        con,
        f"""
        WITH per_event AS (
            SELECT e.account_id, e."timestamp" AS ts, m.canon
            FROM events e JOIN {mapped} m ON e."{col}" = m.raw
        ),
        camp AS (
            SELECT mb.campaign_id, p.canon, count(*) AS events,
                   count(DISTINCT p.account_id) AS accounts, min(ts) AS first_seen, max(ts) AS last_seen
            FROM per_event p JOIN _members mb USING (account_id)
            GROUP BY 1, 2
        ),
        outside AS (
            SELECT canon, count(DISTINCT account_id) AS n FROM per_event
            WHERE account_id NOT IN (SELECT account_id FROM _members)
              AND canon IN (SELECT canon FROM camp)
            GROUP BY 1
        )
        SELECT camp.*, coalesce(outside.n, 0) AS outside
        FROM camp LEFT JOIN outside USING (canon)
        ORDER BY campaign_id, events DESC, canon
        """,
    )
    keep = pc.less_equal(rows["outside"], params.max_outside_accounts)
    withheld = len(rows) - pc.sum(keep).as_py() if len(rows) else 0
    rows = rows.filter(keep)
    hashes = hash_canonical(rows.column("canon"), secret, kind, con=con)
    return rows.drop_columns(["canon"]).append_column("hmac", hashes), withheld


def _template_values(con: Any, secret: bytes, params: ExportParams) -> tuple[pa.Table, Any, int]:
    """Per campaign: top template texts (local only) plus keyed signatures; never raw text out."""
    template_map(con)
    rows = arrow(
        con,
        f"""
        WITH per_event AS (
            SELECT e.account_id, t.template FROM events e JOIN _map_template t ON e.prompt = t.raw
        ),
        camp AS (
            SELECT mb.campaign_id, p.template, count(*) AS events, count(DISTINCT p.account_id) AS accounts
            FROM per_event p JOIN _members mb USING (account_id) GROUP BY 1, 2
            HAVING count(*) >= {int(params.min_template_events)}
        ),
        outside AS (
            SELECT template, count(DISTINCT account_id) AS n FROM per_event
            WHERE account_id NOT IN (SELECT account_id FROM _members)
              AND template IN (SELECT template FROM camp) GROUP BY 1
        ),
        ranked AS (
            SELECT camp.*, coalesce(outside.n, 0) AS outside,
                   row_number() OVER (PARTITION BY campaign_id ORDER BY events DESC, template) AS rk
            FROM camp LEFT JOIN outside USING (template)
        )
        SELECT * FROM ranked ORDER BY campaign_id, rk
        """,
    )
    common = pc.greater(rows["outside"], params.max_outside_accounts)
    withheld = pc.sum(common).as_py() or 0
    rows = rows.filter(
        pc.and_(pc.invert(common), pc.less_equal(rows["rk"], params.max_templates_per_campaign))
    )
    sigs, _ = local_sketches(rows.column("template").combine_chunks(), secret, params.sketch)
    return rows.drop_columns(["template"]), sigs, withheld


def export_bundle(
    scan_dir: str | os.PathLike[str],
    *,
    key_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    events: Sequence[EventSource] | EventSource | None = None,
    identity: str | None = None,
    config: ShareConfig | str | os.PathLike[str] | None = None,
    tlp: str | None = None,
    as_of: datetime | None = None,
    params: ExportParams | None = None,
) -> ExportResult:
    """Write the STIX 2.1 bundle of ``scan_dir``'s campaigns to ``out`` and return a summary."""
    import stix2

    params = params or ExportParams()
    cfg = config if isinstance(config, ShareConfig) else load_config(config)
    name, identity_id = cfg.require_identity(identity)
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    key = load_keyring(key_file).signing_key(now)
    marking = tlp_marking(tlp or cfg.tlp or "amber")
    scan = Path(scan_dir)
    campaigns = [c for c in read_campaigns(scan) if c["score"] >= params.min_campaign_score]
    sources = resolve_sources(events if events is not None else events_from_scan_meta(scan))

    con = duck()
    register_events(con, sources)
    members = pa.table(
        {
            "campaign_id": [c["campaign_id"] for c in campaigns for _ in c["accounts"]],
            "account_id": [a for c in campaigns for a in c["accounts"]],
        },
        schema=pa.schema([("campaign_id", pa.string()), ("account_id", pa.string())]),
    )
    con.register("_members", members)

    per_kind: dict[str, pa.Table] = {}
    withheld: dict[str, int] = {}
    for kind in HASH_KINDS:
        per_kind[kind], withheld[kind] = _kind_values(con, kind, key.secret, params)
    tmpl_rows, tmpl_sigs, withheld["template"] = _template_values(con, key.secret, params)
    con.close()

    common = {
        "created_by_ref": identity_id,
        "object_marking_refs": [marking.id],
        "created": now,
        "modified": now,
    }
    ident = stix2.Identity(
        id=identity_id, name=name, identity_class="organization", created=now, modified=now
    )
    objects: list[Any] = [ident, marking, *project_objects()]
    valid_until = now + timedelta(days=params.validity_days)
    n_indicators = 0
    values_by_kind = {k: 0 for k in (*HASH_KINDS, "template")}

    def relate(src: str, rel: str, dst: str) -> None:
        rid = derived_id("relationship", src, rel, dst)
        objects.append(
            stix2.Relationship(id=rid, source_ref=src, relationship_type=rel, target_ref=dst, **common)
        )

    for camp in campaigns:
        local_ref = hash_canonical(pa.array([camp["campaign_id"]]), key.secret, "campaign-ref").to_pylist()[0]
        cid = derived_id("campaign", identity_id, local_ref)
        caps = sorted({str(c) for c in camp.get("capabilities") or []})
        cname = f"Distillation campaign {local_ref[:10]}"
        ext = {
            "extension_type": "property-extension",
            "accounts": len(camp["accounts"]),
            "exchanges": int(camp.get("exchanges") or 0),
            "score": float(camp["score"]),
            "capabilities": caps,
        }
        objects.append(
            stix2.Campaign(
                id=cid,
                name=cname,
                first_seen=camp["first_seen"],
                last_seen=camp["last_seen"],
                description=f"{len(camp['accounts'])} accounts, {ext['exchanges']} exchanges harvesting "
                f"model outputs; capabilities targeted: {', '.join(caps) or 'unknown'}.",
                objective=f"Extract model capabilities: {', '.join(caps) or 'general'}",
                extensions={EXTENSION_ID: ext},
                **common,
            )
        )
        relate(cid, "uses", ATTACK_PATTERN_ID)

        def add_indicator(
            kind: str,
            chunk: int,
            pattern: str,
            payload: dict[str, Any],
            first: Any,
            last: Any,
            _cid: str = cid,
            _cname: str = cname,
        ) -> None:
            iid = derived_id("indicator", _cid, kind, str(chunk))
            valid_from = min(first or now, now)
            objects.append(
                stix2.Indicator(
                    id=iid,
                    name=f"{kind} keyed indicators of {_cname}",
                    pattern=pattern,
                    pattern_type="stix",
                    description=f"Keyed {kind} indicators (key {key.key_id}); see distillguard share match.",
                    indicator_types=["malicious-activity"],
                    valid_from=valid_from,
                    valid_until=valid_until,
                    extensions={
                        EXTENSION_ID: {
                            "extension_type": "property-extension",
                            "kind": kind,
                            "key_id": key.key_id,
                            "first_seen": _iso(first or now),
                            "last_seen": _iso(last or now),
                            **payload,
                        }
                    },
                    **common,
                )
            )
            relate(iid, "indicates", _cid)

        for kind, table in per_kind.items():
            rows = table.filter(pc.equal(table["campaign_id"], camp["campaign_id"]))
            if not len(rows):
                continue
            step = params.max_values_per_indicator
            for chunk, start in enumerate(range(0, len(rows), step)):
                part = rows.slice(start, step)
                hashes = part.column("hmac").to_pylist()
                pattern = (
                    f"[{HASH_OBJECT}:kind = '{kind}' AND {HASH_OBJECT}:key_id = '{key.key_id}' "
                    f"AND {HASH_OBJECT}:hmac IN ({stix_string_list(hashes)})]"
                )
                payload = {
                    "hmac": hashes,
                    "events": int(pc.sum(part["events"]).as_py()),
                    "values": len(hashes),
                }
                add_indicator(
                    kind,
                    chunk,
                    pattern,
                    payload,
                    pc.min(part["first_seen"]).as_py(),
                    pc.max(part["last_seen"]).as_py(),
                )
                values_by_kind[kind] += len(hashes)
                n_indicators += 1
        idx = pc.equal(tmpl_rows["campaign_id"], camp["campaign_id"]).to_numpy(zero_copy_only=False)
        if idx.any():
            from distillguard.share._sketch import band_keys

            sigs = tmpl_sigs[idx]
            bands = band_keys(sigs, params.sketch)
            band_txt = sorted({f"{b:02d}:{int(v):016x}" for row in bands for b, v in enumerate(row)})
            pattern = (
                f"[{SKETCH_OBJECT}:key_id = '{key.key_id}' AND "
                f"{SKETCH_OBJECT}:lsh_band IN ({stix_string_list(band_txt)})]"
            )
            events_n = pc.sum(tmpl_rows.filter(pa.array(idx))["events"]).as_py()
            payload = {
                "sketch": params.sketch.protocol(),
                "signatures": [signature_to_hex(s) for s in sigs],
                "events": int(events_n),
                "values": len(sigs),
            }
            add_indicator("template", 0, pattern, payload, camp["first_seen"], camp["last_seen"])
            values_by_kind["template"] += len(sigs)
            n_indicators += 1

    bundle = stix2.Bundle(objects=objects)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(bundle.serialize(pretty=True), encoding="utf-8")
    os.replace(tmp, out_path)
    return ExportResult(
        out_path, len(campaigns), n_indicators, len(objects), values_by_kind, withheld, params
    )


def bundle_summary(path: str | os.PathLike[str]) -> dict[str, int]:
    """Object counts by type in a bundle file (for CLI tables and tests)."""
    data = json.loads(Path(path).read_text())
    counts: dict[str, int] = {}
    for obj in data.get("objects", []):
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    return counts
