"""Read partners' bundles into match-ready tables, skipping bad intel with counted reasons.

Intel is untrusted input. A file that is not a STIX bundle, is too big, too deep or holds
too many indicators (:class:`IntelLimits`), an indicator under a key we do not hold, an
expired indicator, or a bundle from an identity outside the trusted list never stops a
scan: it is skipped, counted under a reason (:data:`SKIP_REASONS`) and named on stderr
(:func:`report_skips`); ``strict`` turns any skip into an error.
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
    "bundle_too_large",  # file bigger than IntelLimits.max_bundle_bytes
    "bundle_too_deep",  # JSON nested deeper than IntelLimits.max_depth
    "too_many_indicators",  # more indicators in one file than IntelLimits.max_indicators
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
#: Skips that are expected and harmless (our own indicators in a pulled collection): counted,
#: summed up in one line, never an error under ``strict``.
EXPECTED_SKIPS: frozenset[str] = frozenset({"own_identity"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class IntelLimits:
    """Caps on what one intel file may cost to read (hostile or broken bundles)."""

    max_bundle_bytes: int = 64 * 2**20
    """A bundle file larger than this is skipped unread. distillguard exports are a few MB
    (at most 400 keyed values per indicator); a 138 MB bundle of 100,000 indicators took 86 s
    to read and match before this cap."""
    max_indicators: int = 20_000
    """A bundle file with more indicator objects than this is skipped before STIX parsing,
    the slow step (checked after JSON decoding, which the size cap bounds)."""
    max_depth: int = 32
    """JSON nesting deeper than this skips the file; distillguard bundles nest 6 levels.
    Deep nesting is how a hostile file exhausts the recursion of JSON and STIX parsers."""
    max_warning_lines: int = 100
    """Skipped files and indicators named one per line on stderr up to this many; the rest
    are summed up by reason in one line (all are counted in ``intel_skipped``)."""

    def documented(self) -> dict[str, int]:
        """The limits as reported in scan_meta.json and match_summary.json."""
        return {
            "max_bundle_bytes": self.max_bundle_bytes,
            "max_indicators": self.max_indicators,
            "max_depth": self.max_depth,
        }


@dataclass(frozen=True)
class SkipNote:
    """One skipped file or indicator: where, why (a :data:`SKIP_REASONS` key) and details."""

    source: str
    reason: str
    detail: str = ""


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
    notes: list[SkipNote] = field(default_factory=list)
    limits: IntelLimits = field(default_factory=IntelLimits)

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


def _depth_over(data: Any, limit: int) -> bool:
    """True when containers nest deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _read_bundle(path: Path, limits: IntelLimits) -> tuple[list[dict[str, Any]] | None, SkipNote | None]:
    """The bundle's objects, or None and why it was skipped."""

    def skip(reason: str, detail: str) -> tuple[None, SkipNote]:
        return None, SkipNote(str(path), reason, detail)

    try:
        size = path.stat().st_size
    except OSError as err:
        return skip("malformed_bundle", f"unreadable: {err.strerror}")
    if size > limits.max_bundle_bytes:
        return skip("bundle_too_large", f"{size:,} bytes > max_bundle_bytes {limits.max_bundle_bytes:,}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        return skip("bundle_too_deep", f"JSON nested deeper than max_depth {limits.max_depth}")
    except (OSError, UnicodeDecodeError):
        return skip("malformed_bundle", "unreadable or not UTF-8")
    except ValueError as err:
        return skip("malformed_bundle", f"not JSON ({str(err).splitlines()[0][:80]})")
    if (
        not isinstance(data, dict)
        or data.get("type") != "bundle"
        or not isinstance(data.get("objects"), list)
    ):
        return skip("malformed_bundle", "not a STIX bundle (no type 'bundle' with a list of objects)")
    if _depth_over(data, limits.max_depth):
        return skip("bundle_too_deep", f"JSON nested deeper than max_depth {limits.max_depth}")
    objects = [o for o in data["objects"] if isinstance(o, dict)]
    n_ind = sum(1 for o in objects if o.get("type") == "indicator")
    if n_ind > limits.max_indicators:
        return skip("too_many_indicators", f"{n_ind:,} indicators > max_indicators {limits.max_indicators:,}")
    try:
        import stix2

        stix2.parse(data, allow_custom=True)
    except Exception as err:  # stix2 raises many exception types for invalid content
        return skip("malformed_bundle", f"stix2 rejects it ({type(err).__name__})")
    return objects, None


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
    limits: IntelLimits | None = None,
) -> IntelSet:
    """Every usable indicator in bundle files / directories of bundles under ``paths``."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    limits = limits or IntelLimits()
    notes: list[SkipNote] = []
    origin: dict[str, str] = {}
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    sketch = sketch or SketchParams()
    protocol = sketch.protocol()
    skipped: Counter[str] = Counter()
    names: dict[str, str] = {}
    latest: dict[str, dict[str, Any]] = {}
    indicates: dict[str, str] = {}
    files = _files(paths)
    for path in files:
        objects, note = _read_bundle(path, limits)
        if objects is None:
            assert note is not None
            skipped[note.reason] += 1
            notes.append(note)
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
                origin[oid] = str(path)

    hash_rows: dict[str, list[str]] = {f.name: [] for f in _HASH_SCHEMA}
    sketch_rows: dict[str, list[str]] = {f.name: [] for f in _SKETCH_SCHEMA}
    sig_texts: list[str] = []
    meta_rows: list[dict[str, Any]] = []
    partners: dict[str, str] = {}
    used = 0

    def drop(iid: str, reason: str) -> None:
        skipped[reason] += 1
        notes.append(SkipNote(f"{origin.get(iid, '?')}: {iid}", reason))

    for iid, obj in latest.items():
        ext = (obj.get("extensions") or {}).get(EXTENSION_ID)
        if not isinstance(ext, dict):
            drop(iid, "foreign_indicator")
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
            drop(iid, reason)
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
            drop(iid, "malformed_indicator")
            continue
        if ikind == FRAME_KIND and ext.get("frame") != sketch.frame_protocol():
            drop(iid, "incompatible_sketch")
            continue
        if ikind in HASH_KINDS:
            hashes = ext.get("hmac")
            if (
                not isinstance(hashes, list)
                or not hashes
                or not all(isinstance(h, str) and _HEX64.match(h) for h in hashes)
            ):
                drop(iid, "malformed_indicator")
                continue
            for h in hashes:
                for col, val in meta.items():
                    hash_rows[col].append(val)
                hash_rows["kind"].append(ikind)
                hash_rows["hmac"].append(h)
        elif ikind == "template":
            if ext.get("sketch") != protocol:
                drop(iid, "incompatible_sketch")
                continue
            sigs = ext.get("signatures")
            try:
                signatures_from_hex(sigs if isinstance(sigs, list) else [None], sketch.num_perm)
            except (ValueError, TypeError):
                drop(iid, "malformed_indicator")
                continue
            for s in sigs:
                for col, val in meta.items():
                    sketch_rows[col].append(val)
                sig_texts.append(s)
        else:
            drop(iid, "malformed_indicator")
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
        notes=notes,
        limits=limits,
    )


_WHY = {
    "malformed_bundle": "not a readable STIX bundle",
    "bundle_too_large": "file over the size cap",
    "bundle_too_deep": "nested too deeply",
    "too_many_indicators": "over the indicator cap",
    "foreign_indicator": "no distillguard extension",
    "malformed_indicator": "fields missing or not well-formed",
    "no_identity": "no created_by_ref",
    "own_identity": "our own indicator",
    "untrusted_identity": "creator not in trusted_partners",
    "revoked": "revoked by its creator",
    "expired_indicator": "valid_until is past",
    "unknown_key_id": "made under a key our key file does not hold",
    "expired_key": "made under a key that has expired",
    "incompatible_sketch": "sketch or frame parameters differ from ours",
}


def report_skips(intel: IntelSet, *, strict: bool = False) -> None:
    """One warning line on stderr per skipped file or indicator; with ``strict``, an error.

    Our own indicators coming back (:data:`EXPECTED_SKIPS`) get one summary line and are
    never an error. Beyond ``max_warning_lines`` the rest are summed up by reason.
    """
    from distillguard.share._warn import warn

    expected = [n for n in intel.notes if n.reason in EXPECTED_SKIPS]
    problems = [n for n in intel.notes if n.reason not in EXPECTED_SKIPS]
    cap = max(0, intel.limits.max_warning_lines)
    for note in problems[:cap]:
        why = note.detail or _WHY.get(note.reason, note.reason)
        warn(f"intel {note.source}: skipped ({note.reason}): {why}")
    rest = Counter(n.reason for n in problems[cap:])
    if rest:
        listed = ", ".join(f"{k}={v}" for k, v in sorted(rest.items()))
        warn(f"intel: {sum(rest.values())} more skipped, not listed ({listed})")
    if expected:
        warn(f"intel: {len(expected)} of our own indicator(s) ignored (own_identity)")
    if strict and problems:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(Counter(n.reason for n in problems).items()))
        first = problems[0]
        raise DistillguardError(
            f"--strict-intel: {len(problems)} intel file(s)/indicator(s) skipped ({counts}); "
            f"first: {first.source} ({first.reason})"
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
