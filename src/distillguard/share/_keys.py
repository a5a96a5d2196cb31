"""The sharing group's secret key: load, validate, generate, rotate.

Every indicator leaving the building is an HMAC-SHA256 under a key only the sharing
group holds, so outsiders (and anyone who intercepts a bundle) can neither confirm a
guessed IP nor probe a prompt. Each key has a ``key_id`` that travels with every
indicator, so a group can rotate keys: the new key signs exports, previous keys stay
in the file (until they expire) so partners' older indicators still match.

Key file (JSON, or TOML when the name ends in ``.toml``)::

    {"key_id": "dg-20260301-1a2b3c4d", "key": "<base64 or hex, >= 32 bytes>",
     "created": "2026-03-01T00:00:00Z", "expires": "2027-03-01T00:00:00Z",
     "previous": [{"key_id": "...", "key": "...", "expires": "..."}]}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from distillguard.errors import DistillguardError

#: HMAC-SHA256 keys shorter than the hash output weaken it; refuse them.
MIN_KEY_BYTES = 32
#: Size of keys made by :func:`generate_key` (the SHA-256 output size).
GENERATED_KEY_BYTES = 32
#: Default lifetime of a generated key; rotation is expected before it runs out.
DEFAULT_KEY_LIFETIME_DAYS = 365
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class GroupKey:
    """One key of the sharing group (secret bytes never appear in ``repr``)."""

    key_id: str
    secret: bytes = field(repr=False)
    expires: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """True once ``now`` is past the key's expiry (keys without expiry never expire)."""
        return self.expires is not None and now >= self.expires


@dataclass(frozen=True)
class KeyRing:
    """The current key (signs exports) plus previous keys (still accepted for matching)."""

    current: GroupKey
    previous: tuple[GroupKey, ...] = ()
    path: str | None = None

    def __iter__(self) -> Iterator[GroupKey]:
        yield self.current
        yield from self.previous

    def get(self, key_id: str) -> GroupKey | None:
        """The key with ``key_id``, or None when the ring does not hold it."""
        return next((k for k in self if k.key_id == key_id), None)

    def signing_key(self, now: datetime | None = None) -> GroupKey:
        """The key exports are made with; an expired current key is a user mistake."""
        now = now or datetime.now(UTC)
        if self.current.expired(now):
            raise DistillguardError(
                f"sharing key {self.current.key_id} expired on {self.current.expires:%Y-%m-%d}; "
                "rotate it with `distillguard share keygen --rotate`"
            )
        return self.current


def _parse_time(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DistillguardError(f"{where}: bad timestamp {value!r} (want ISO 8601)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decode_secret(text: str, where: str, encoding: str | None = None) -> bytes:
    """Decode a key given as hex or base64 (``hex:``/``base64:`` prefixes make it explicit)."""
    text = text.strip()
    if text.startswith(("hex:", "base64:")):
        encoding, text = text.split(":", 1)
    if encoding is None:
        encoding = "hex" if _HEX_RE.match(text) and len(text) % 2 == 0 else "base64"
    try:
        secret = bytes.fromhex(text) if encoding == "hex" else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise DistillguardError(f"{where}: key is not valid {encoding}") from None
    if len(secret) < MIN_KEY_BYTES:
        raise DistillguardError(f"{where}: key has {len(secret)} bytes, need at least {MIN_KEY_BYTES}")
    return secret


def _parse_key(entry: object, where: str) -> GroupKey:
    if not isinstance(entry, dict):
        raise DistillguardError(f"{where}: expected an object with key_id and key")
    key_id, secret = entry.get("key_id"), entry.get("key")
    if not isinstance(key_id, str) or not _KEY_ID_RE.match(key_id):
        raise DistillguardError(f"{where}: missing or invalid key_id {key_id!r}")
    if not isinstance(secret, str):
        raise DistillguardError(f"{where}: missing key for {key_id}")
    encoding = entry.get("key_encoding")
    return GroupKey(
        key_id=key_id,
        secret=decode_secret(secret, f"{where} ({key_id})", encoding),
        expires=_parse_time(entry.get("expires"), f"{where} ({key_id}) expires"),
    )


def load_keyring(path: str | os.PathLike[str]) -> KeyRing:
    """Read a key file; every defect is a one-line :class:`DistillguardError`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise DistillguardError(f"cannot read key file {p}: {err.strerror}") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DistillguardError(f"key file {p} is not valid {p.suffix or 'JSON'}: {err}") from None
    current = _parse_key(data, f"key file {p}")
    previous_raw = data.get("previous") or []
    if not isinstance(previous_raw, list):
        raise DistillguardError(f"key file {p}: 'previous' must be a list")
    previous = tuple(_parse_key(e, f"key file {p} previous[{i}]") for i, e in enumerate(previous_raw))
    ids = [k.key_id for k in (current, *previous)]
    if len(set(ids)) != len(ids):
        raise DistillguardError(f"key file {p}: duplicate key_id")
    return KeyRing(current=current, previous=previous, path=str(p))


def new_key_id(now: datetime | None = None) -> str:
    """A fresh, sortable key id: date plus 8 random hex digits."""
    now = now or datetime.now(UTC)
    return f"dg-{now:%Y%m%d}-{secrets.token_hex(4)}"


def _entry(key: GroupKey) -> dict[str, str]:
    out = {
        "key_id": key.key_id,
        "key": base64.b64encode(key.secret).decode("ascii"),
        "key_encoding": "base64",
    }
    if key.expires is not None:
        out["expires"] = key.expires.isoformat().replace("+00:00", "Z")
    return out


def generate_key(
    out: str | os.PathLike[str],
    *,
    rotate: str | os.PathLike[str] | None = None,
    lifetime_days: int = DEFAULT_KEY_LIFETIME_DAYS,
    keep_previous_days: int | None = None,
    overwrite: bool = False,
) -> KeyRing:
    """Write a new key file (mode 0600) and return it.

    With ``rotate``, the old file's current and previous keys become ``previous`` of the
    new file so partners' indicators made under them keep matching; ``keep_previous_days``
    caps how long the retired current key stays accepted.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    p = Path(out)
    if p.exists() and not overwrite and (rotate is None or Path(rotate).resolve() != p.resolve()):
        raise DistillguardError(f"{p} exists; refusing to overwrite a key (pass --force)")
    previous: list[GroupKey] = []
    if rotate is not None:
        old = load_keyring(rotate)
        retired = old.current
        if keep_previous_days is not None:
            cap = now + timedelta(days=keep_previous_days)
            retired = GroupKey(retired.key_id, retired.secret, min(retired.expires or cap, cap))
        previous = [k for k in (retired, *old.previous) if not k.expired(now)]
    current = GroupKey(
        key_id=new_key_id(now),
        secret=secrets.token_bytes(GENERATED_KEY_BYTES),
        expires=now + timedelta(days=lifetime_days),
    )
    doc: dict[str, object] = {**_entry(current), "created": now.isoformat().replace("+00:00", "Z")}
    doc["previous"] = [_entry(k) for k in previous]
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, p)
    return KeyRing(current=current, previous=tuple(previous), path=str(p))
