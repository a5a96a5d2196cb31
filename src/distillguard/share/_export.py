"""``share export``: a scan's findings as a privacy-preserving STIX 2.1 bundle.

What leaves the building: our identity, one ``campaign`` per export group (each detected
campaign, plus one pooled group of weak ``suspicious`` evidence, see
``share._export_groups``, plus one group of harvest-frame ``family`` values concentrated
among those accounts, see ``share._export_family``) with first and last seen, account
and exchange counts, level and STIX ``confidence``, the MITRE ATLAS AML.T0024.002
technique, and ``indicator``s that ``indicates`` each group and carry only keyed hashes
(HMAC-SHA256 under the group key) of identifiers and prompt frames, and keyed MinHash
template sketches, with counts.
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
from distillguard.share._export_family import add_families
from distillguard.share._export_groups import export_groups
from distillguard.share._export_values import kind_values, stats_of, template_values
from distillguard.share._frames import HARVEST_TAGS
from distillguard.share._hashing import FRAME_KIND, HASH_KINDS, duck, hash_canonical
from distillguard.share._keys import load_keyring
from distillguard.share._sketch import SketchParams, band_keys, signature_to_hex
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
from distillguard.share._warn import warn

#: Kinds that carry client addresses: recoverable by any group member (see ``ExportParams.share_ips``).
IP_KINDS: tuple[str, ...] = ("ip", "ip24")
IP_WARNING = (
    "exporting client IPs and /24s (share_ips): every member of the sharing group can recover them "
    "by hashing all IPv4 addresses under the group key (docs/sharing.md, threat model)"
)


@dataclass(frozen=True)
class ExportParams:
    """Named thresholds of an export (reported in the result)."""

    validity_days: int = 90
    """Indicators expire (``valid_until``) this many days after export; partners skip expired ones."""
    min_campaign_score: float = 0.0
    """Campaigns scoring below this are not shared."""
    max_outside_accounts: int = 2
    """An identifier, frame or template also used by more than this many local accounts
    outside the group is withheld: it does not distinguish the group and would flag
    partners' benign customers (shared NAT egress, popular user agents, common prompts)."""
    max_values_per_indicator: int = 400
    """Hashes per indicator; bigger sets are split so patterns stay parseable."""
    max_templates_per_campaign: int = 50
    """Most frequent templates of a group that get a sketch."""
    min_template_events: int = 2
    """A template must occur at least this often in the group to be sketched."""
    share_ips: bool = False
    """Share client IPs and /24s (kinds ``ip``, ``ip24``). Off by default: every group member
    holds the key and can hash all 2^32 IPv4 addresses, so a keyed IP is readable by every
    partner (docs/sharing.md, threat model). Opt in here or with ``share_ips = true`` in the
    sharing config until a private matching mode exists."""
    share_suspicious: bool = True
    """Also share the pooled ``suspicious`` group (weak evidence, lower confidence)."""
    weak_signals: tuple[str, ...] = ("shared_template", "shared_harvest_template")
    """Cross-account template signals that put an account in the suspicious group even when
    its own score is low (a template family seen across unrelated local accounts)."""
    weak_kinds: tuple[str, ...] = ("payment", FRAME_KIND, "template")
    """Kinds the suspicious group shares. Left out, measured with bench/federation.py (10
    providers): user agents and TLS fingerprints name client software, and every partner's
    suspicious group holds some users of each popular SDK (benign developers reached intel
    0.54 on tiny); IPs and /24s of mobile, residential and proxy egress are shared with
    benign customers, each partner sees too few of them to withhold the address, and 7-8
    partners' weak groups converged on them (benign hobbyists reached 0.79 on small)."""
    weak_max_confidence: int = 50
    """Cap on the STIX confidence of suspicious-level objects (campaigns use their score)."""
    share_families: bool = True
    """Also share frame families: harvest wrappers concentrated among flagged accounts
    (``share._export_family``), even when the campaign's unflagged members use them too."""
    family_min_flagged: int = 5
    """Flagged local accounts (campaign or suspicious group) a frame needs to be a family."""
    family_min_share: float = 0.3
    """Share of a frame's local users that must be flagged: everyday wording is used by
    many clear accounts and fails it (measured on bench/federation.py, small: the thin
    campaign's wrappers had 55-65% flagged users, benign wordings a few percent)."""
    family_min_accounts: int = 8
    """Local users a frame needs before it may leave as a family (k-anonymity floor)."""
    family_confidence: int = 40
    """STIX confidence of the family group (below the suspicious level's cap): one
    provider's family is a hint; independent partners converging on it are evidence."""
    harvest_tags: tuple[str, ...] = HARVEST_TAGS
    """Prompt tags whose prompts give frames (and the suspicious group's templates)."""
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
    levels: dict[str, int] = field(default_factory=dict)


_LABELS = {
    "campaign": "Distillation campaign",
    "suspicious": "Suspected distillation activity",
    "family": "Harvest wrapper family",
}


def _description(level: str, n_acc: int, n_ex: int, caps: list[str], grp: dict[str, Any]) -> str:
    if level == "campaign":
        return (
            f"{n_acc} accounts, {n_ex} exchanges harvesting model outputs; capabilities targeted: "
            f"{', '.join(caps) or 'unknown'}."
        )
    if level == "family":
        return (
            f"Harvest prompt wrappers used by {n_acc} accounts, {grp['flagged']} of them flagged "
            f"locally ({n_ex} uses); not actionable alone, meant to be pooled with partners' evidence."
        )
    return (
        f"{n_acc} accounts with weak, unconfirmed signs of distillation ({n_ex} exchanges); "
        "not actionable alone, meant to be pooled with partners' evidence."
    )


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
    """Write the STIX 2.1 bundle of ``scan_dir``'s findings to ``out`` and return a summary."""
    import stix2

    params = params or ExportParams()
    cfg = config if isinstance(config, ShareConfig) else load_config(config)
    name, identity_id = cfg.require_identity(identity)
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    key = load_keyring(key_file).signing_key(now)
    marking = tlp_marking(tlp or cfg.tlp or "amber")
    scan = Path(scan_dir)
    groups, members = export_groups(scan, params)
    sources = resolve_sources(events if events is not None else events_from_scan_meta(scan))

    con = duck()
    register_events(con, sources)
    con.register("_members", members)
    per_kind: dict[str, tuple[pa.Table, pa.Table]] = {}
    withheld: dict[str, int] = {}
    share_ips = params.share_ips or cfg.share_ips
    if share_ips:
        warn(IP_WARNING)
    for kind in HASH_KINDS:
        if kind in IP_KINDS and not share_ips:
            continue
        values, stats, withheld[kind] = kind_values(con, kind, key.secret, params)
        per_kind[kind] = (values, stats)
    tmpl_rows, tmpl_sigs, tmpl_stats, withheld["template"] = template_values(con, key.secret, params)
    if params.share_families:
        add_families(con, key.secret, params, groups, per_kind)
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
    values_by_kind = {k: 0 for k in (*per_kind, "template")}
    levels: dict[str, int] = {}

    def relate(src: str, rel: str, dst: str) -> None:
        rid = derived_id("relationship", src, rel, dst)
        objects.append(
            stix2.Relationship(id=rid, source_ref=src, relationship_type=rel, target_ref=dst, **common)
        )

    for grp in groups:
        level, conf = grp["level"], grp["confidence"]
        local_ref = hash_canonical(pa.array([grp["campaign_id"]]), key.secret, "campaign-ref").to_pylist()[0]
        cid = derived_id("campaign", identity_id, local_ref)
        caps = sorted({str(c) for c in grp.get("capabilities") or []})
        label = _LABELS[level]
        cname = f"{label} {local_ref[:10]}"
        accounts = grp["accounts"]  # member list, or a count (families: members never listed)
        n_acc = accounts if isinstance(accounts, int) else len(accounts)
        n_ex = int(grp.get("exchanges") or 0)
        ext = {
            "extension_type": "property-extension",
            "level": level,
            "accounts": n_acc,
            "exchanges": n_ex,
            "score": float(grp["score"]),
        }
        if caps:  # STIX forbids empty lists
            ext["capabilities"] = caps
        if level == "family":
            ext["flagged"] = int(grp["flagged"])
            ext["concentration"] = float(grp["concentration"])
        desc = _description(level, n_acc, n_ex, caps, grp)
        objects.append(
            stix2.Campaign(
                id=cid,
                name=cname,
                first_seen=grp["first_seen"],
                last_seen=grp["last_seen"],
                description=desc,
                objective=f"Extract model capabilities: {', '.join(caps) or 'general'}",
                confidence=conf,
                extensions={EXTENSION_ID: ext},
                **common,
            )
        )
        relate(cid, "uses", ATTACK_PATTERN_ID)
        made = 0

        def add_indicator(
            kind: str,
            chunk: int,
            pattern: str,
            payload: dict[str, Any],
            first: Any,
            last: Any,
            cid: str = cid,
            cname: str = cname,
            level: str = level,
            conf: int = conf,
        ) -> None:
            iid = derived_id("indicator", cid, kind, str(chunk))
            objects.append(
                stix2.Indicator(
                    id=iid,
                    name=f"{kind} keyed indicators of {cname}",
                    pattern=pattern,
                    pattern_type="stix",
                    description=f"Keyed {kind} indicators (key {key.key_id}, level {level}); "
                    "see distillguard share match.",
                    indicator_types=["malicious-activity" if level == "campaign" else "anomalous-activity"],
                    valid_from=min(first or now, now),
                    valid_until=valid_until,
                    confidence=conf,
                    extensions={
                        EXTENSION_ID: {
                            "extension_type": "property-extension",
                            "kind": kind,
                            "key_id": key.key_id,
                            "level": level,
                            "first_seen": _iso(first or now),
                            "last_seen": _iso(last or now),
                            **payload,
                        }
                    },
                    **common,
                )
            )
            relate(iid, "indicates", cid)

        for kind, (table, stats) in per_kind.items():
            rows = table.filter(pc.equal(table["campaign_id"], grp["campaign_id"]))
            for chunk in sorted(set(rows["chunk"].to_pylist())):
                part = rows.filter(pc.equal(rows["chunk"], chunk))
                hashes = part.column("hmac").to_pylist()
                accounts, occurrences, pairs = stats_of(stats, grp["campaign_id"], chunk)
                pattern = (
                    f"[{HASH_OBJECT}:kind = '{kind}' AND {HASH_OBJECT}:key_id = '{key.key_id}' "
                    f"AND {HASH_OBJECT}:hmac IN ({stix_string_list(hashes)})]"
                )
                payload: dict[str, Any] = {
                    "hmac": hashes,
                    "events": occurrences,
                    "accounts": accounts,
                    "pairs": pairs,
                    "values": len(hashes),
                }
                if kind == FRAME_KIND:
                    payload["frame"] = params.sketch.frame_protocol()
                add_indicator(
                    kind,
                    chunk,
                    pattern,
                    payload,
                    pc.min(part["first_seen"]).as_py(),
                    pc.max(part["last_seen"]).as_py(),
                )
                values_by_kind[kind] += len(hashes)
                made += 1
        idx = pc.equal(tmpl_rows["campaign_id"], grp["campaign_id"]).to_numpy(zero_copy_only=False)
        if idx.any():
            sigs = tmpl_sigs[idx]
            bands = band_keys(sigs, params.sketch)
            band_txt = sorted({f"{b:02d}:{int(v):016x}" for row in bands for b, v in enumerate(row)})
            pattern = (
                f"[{SKETCH_OBJECT}:key_id = '{key.key_id}' AND "
                f"{SKETCH_OBJECT}:lsh_band IN ({stix_string_list(band_txt)})]"
            )
            accounts, occurrences, pairs = stats_of(tmpl_stats, grp["campaign_id"])
            payload = {
                "sketch": params.sketch.protocol(),
                "signatures": [signature_to_hex(s) for s in sigs],
                "events": occurrences,
                "accounts": accounts,
                "pairs": pairs,
                "values": len(sigs),
            }
            add_indicator("template", 0, pattern, payload, grp["first_seen"], grp["last_seen"])
            values_by_kind["template"] += len(sigs)
            made += 1
        n_indicators += made
        levels[level] = levels.get(level, 0) + 1

    bundle = stix2.Bundle(objects=objects)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(bundle.serialize(pretty=True), encoding="utf-8")
    os.replace(tmp, out_path)
    n_campaigns = levels.get("campaign", 0)
    return ExportResult(
        out_path, n_campaigns, n_indicators, len(objects), values_by_kind, withheld, params, levels
    )


def bundle_summary(path: str | os.PathLike[str]) -> dict[str, int]:
    """Object counts by type in a bundle file (for CLI tables and tests)."""
    data = json.loads(Path(path).read_text())
    counts: dict[str, int] = {}
    for obj in data.get("objects", []):
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    return counts
