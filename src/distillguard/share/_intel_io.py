"""Read partners' bundles into match-ready tables, skipping bad intel with counted reasons.

Intel is untrusted input. A file that is not a STIX bundle, an indicator under a key we
do not hold, an expired indicator, or a bundle from an identity outside the trusted
list never stops a scan: it is skipped and counted under a reason, so the operator sees
what was dropped and why (:data:`SKIP_REASONS`).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.errors import DistillguardError
from distillguard.share._export_groups import LEVELS
from distillguard.share._hashing import FRAME_KIND, HASH_KINDS
from distillguard.share._keys import KeyRing
from distillguard.share._sketch import SketchParams, band_keys, signatures_from_hex
from distillguard.share._stix import EXTENSION_ID

#: Why a file or indicator was skipped (the keys of ``IntelSet.skipped``).
SKIP_REASONS: tuple[str, ...] = (
    "malformed_bundle",  # not JSON, not a STIX bundle, or stix2 rejects it
    "foreign_indicator",  # an indicator without the distillguard extension (not ours to match)
    "malformed_indicator",  # our extension, but fields missing or not well-formed
    "no_identity",  # indicator without created_by_ref: cannot count independent partners
    "own_identity",  # our own export coming back
    "untrusted_identity",  # creator not in the trusted-partners list
    "revoked",
    "expired_indicator",  # valid_until in the past
    "unknown_key_id",  # made under a key our key file does not hold
    "expired_key",  # made under a key our key file holds but which has expired
    "incompatible_sketch",  # template sketch or frame built with other parameters or normalizer
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_HASH_SCHEMA = pa.schema(
    [
        ("partner_id", pa.string()),
        ("partner_name", pa.string()),
        ("indicator_id", pa.string()),
        ("campaign_ref", pa.string()),
        ("kind", pa.string()),
        ("key_id", pa.string()),
        ("hmac", pa.string()),
    ]
)
_SKETCH_SCHEMA = pa.schema([f for f in _HASH_SCHEMA if f.name not in ("kind", "hmac")])
#: Per usable indicator: what partners said about it besides the values.
META_SCHEMA = pa.schema(
    [
        ("indicator_id", pa.string()),
        ("level", pa.string()),  # campaign | suspicious | family (absent: campaign, the only level of v1)
        ("confidence", pa.float64()),  # STIX confidence / 100; null when the indicator has none
        ("member_events", pa.float64()),  # events / accounts behind the indicator; null if not given
        ("pair_events", pa.float64()),  # events / (account, value) pairs behind it; null if not given
    ]
)


def _meta_row(iid: str, obj: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any] | None:
    """Level, confidence and typical member volume of an indicator; None when malformed."""
    level = ext.get("level", "campaign")
    conf = obj.get("confidence")
    events, accounts = ext.get("events"), ext.get("accounts")
    if level not in LEVELS:
        return None
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, int) or not 0 <= conf <= 100):
        return None
    member = None
    if isinstance(events, int) and isinstance(accounts, int) and accounts > 0 and events >= 0:
        member = events / accounts
    pairs = ext.get("pairs")
    pair = events / pairs if isinstance(events, int) and isinstance(pairs, int) and pairs > 0 else None
    return {
        "indicator_id": iid,
        "level": level,
        "confidence": None if conf is None else conf / 100.0,
        "member_events": member,
        "pair_events": pair,
    }


@dataclass
class IntelSet:
    """Usable partner indicators plus the count of everything skipped, by reason."""

    hashes: pa.Table
    sketch_meta: pa.Table
    signatures: np.ndarray
    meta: pa.Table = field(default_factory=lambda: META_SCHEMA.empty_table())
    partners: dict[str, str] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    indicators: int = 0

    @property
    def empty(self) -> bool:
        return len(self.hashes) == 0 and len(self.sketch_meta) == 0


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.json") if q.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise DistillguardError(f"intel path {p} does not exist")
    return out


def _read_bundle(path: Path) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("type") != "bundle"
        or not isinstance(data.get("objects"), list)
    ):
        return None
    try:
        import stix2

        stix2.parse(data, allow_custom=True)
    except Exception:  # stix2 raises many exception types for invalid content
        return None
    return [o for o in data["objects"] if isinstance(o, dict)]


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _trusted(creator: str, name: str | None, trusted: Sequence[str] | None) -> bool:
    if trusted is None:
        return True
    wanted = {t.strip().lower() for t in trusted}
    return creator.lower() in wanted or (name or "").strip().lower() in wanted


def load_intel(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    keyring: KeyRing,
    *,
    trusted: Sequence[str] | None = None,
    own_identity: str | None = None,
    as_of: datetime | None = None,
    sketch: SketchParams | None = None,
) -> IntelSet:
    """Every usable indicator in bundle files / directories of bundles under ``paths``."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    sketch = sketch or SketchParams()
    protocol = sketch.protocol()
    skipped: Counter[str] = Counter()
    names: dict[str, str] = {}
    latest: dict[str, dict[str, Any]] = {}
    indicates: dict[str, str] = {}
    files = _files(paths)
    for path in files:
        objects = _read_bundle(path)
        if objects is None:
            skipped["malformed_bundle"] += 1
            continue
        for obj in objects:
            kind, oid = obj.get("type"), obj.get("id", "")
            if kind == "identity":
                names[oid] = str(obj.get("name", ""))
            elif kind == "relationship" and obj.get("relationship_type") == "indicates":
                indicates[obj.get("source_ref", "")] = obj.get("target_ref", "")
            elif kind == "indicator" and (
                oid not in latest or str(obj.get("modified", "")) > str(latest[oid].get("modified", ""))
            ):
                latest[oid] = obj

    hash_rows: dict[str, list[str]] = {f.name: [] for f in _HASH_SCHEMA}
    sketch_rows: dict[str, list[str]] = {f.name: [] for f in _SKETCH_SCHEMA}
    sig_texts: list[str] = []
    meta_rows: list[dict[str, Any]] = []
    partners: dict[str, str] = {}
    used = 0
    for iid, obj in latest.items():
        ext = (obj.get("extensions") or {}).get(EXTENSION_ID)
        if not isinstance(ext, dict):
            skipped["foreign_indicator"] += 1
            continue
        creator = obj.get("created_by_ref")
        reason = None
        until = _ts(obj.get("valid_until"))
        key = keyring.get(str(ext.get("key_id", "")))
        if not isinstance(creator, str) or not creator.startswith("identity--"):
            reason = "no_identity"
        elif own_identity is not None and creator == own_identity:
            reason = "own_identity"
        elif not _trusted(creator, names.get(creator), trusted):
            reason = "untrusted_identity"
        elif obj.get("revoked"):
            reason = "revoked"
        elif until is not None and until <= now:
            reason = "expired_indicator"
        elif key is None:
            reason = "unknown_key_id"
        elif key.expired(now):
            reason = "expired_key"
        if reason:
            skipped[reason] += 1
            continue
        meta = {
            "partner_id": creator,
            "partner_name": names.get(creator, creator),
            "indicator_id": iid,
            "campaign_ref": indicates.get(iid),
            "key_id": key.key_id,
        }
        ikind = ext.get("kind")
        info = _meta_row(iid, obj, ext)
        if info is None:
            skipped["malformed_indicator"] += 1
            continue
        if ikind == FRAME_KIND and ext.get("frame") != sketch.frame_protocol():
            skipped["incompatible_sketch"] += 1
            continue
        if ikind in HASH_KINDS:
            hashes = ext.get("hmac")
            if (
                not isinstance(hashes, list)
                or not hashes
                or not all(isinstance(h, str) and _HEX64.match(h) for h in hashes)
            ):
                skipped["malformed_indicator"] += 1
                continue
            for h in hashes:
                for col, val in meta.items():
                    hash_rows[col].append(val)
                hash_rows["kind"].append(ikind)
                hash_rows["hmac"].append(h)
        elif ikind == "template":
            if ext.get("sketch") != protocol:
                skipped["incompatible_sketch"] += 1
                continue
            sigs = ext.get("signatures")
            try:
                signatures_from_hex(sigs if isinstance(sigs, list) else [None], sketch.num_perm)
            except (ValueError, TypeError):
                skipped["malformed_indicator"] += 1
                continue
            for s in sigs:
                for col, val in meta.items():
                    sketch_rows[col].append(val)
                sig_texts.append(s)
        else:
            skipped["malformed_indicator"] += 1
            continue
        partners[creator] = meta["partner_name"]
        meta_rows.append(info)
        used += 1
    return IntelSet(
        hashes=pa.Table.from_pydict(hash_rows, schema=_HASH_SCHEMA),
        sketch_meta=pa.Table.from_pydict(sketch_rows, schema=_SKETCH_SCHEMA),
        signatures=signatures_from_hex(sig_texts, sketch.num_perm),
        meta=pa.Table.from_pylist(meta_rows, schema=META_SCHEMA),
        partners=partners,
        skipped=skipped,
        files=len(files),
        indicators=used,
    )


def intel_bands(intel: IntelSet, sketch: SketchParams) -> pa.Table:
    """(sig_row, key_id, band, band_key) for every partner signature, for LSH joins."""
    n = len(intel.signatures)
    bands = band_keys(intel.signatures, sketch) if n else np.empty((0, sketch.bands), np.uint64)
    return pa.table(
        {
            "sig_row": np.repeat(np.arange(n, dtype=np.int64), sketch.bands),
            "key_id": pa.array(
                np.repeat(np.asarray(intel.sketch_meta["key_id"].to_pylist(), dtype=object), sketch.bands),
                pa.string(),
            ),
            "band": np.tile(np.arange(sketch.bands, dtype=np.int64), n),
            "band_key": bands.reshape(-1).astype(np.uint64),
        }
    )
