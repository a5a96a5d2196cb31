"""Bearer tokens with scopes, stored only as SHA-256 hashes.

Why hashes: the tokens file sits next to the state and is backed up with it; a copy of it
must not let anyone call the server. A token is shown once, when created. Why SHA-256 and
not a slow hash: tokens are 256 random bits, not passwords, so a fast hash is enough and
keeps every request's check at microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from distillguard.errors import DistillguardError

#: ingest: POST events/traces; read: risk lookups and /metrics; admin: increments, status.
SCOPES = ("ingest", "read", "admin")
TOKEN_PREFIX = "dgt_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    name: str
    sha256: str
    scopes: tuple[str, ...]
    created_at: str = ""


class TokenStore:
    """The tokens file (JSON list of ``{name, sha256, scopes, created_at}``), read at start."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, TokenEntry] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
            for row in rows:
                scopes = tuple(row["scopes"])
                entry = TokenEntry(
                    str(row["name"]), str(row["sha256"]), scopes, str(row.get("created_at", ""))
                )
                self.entries[entry.sha256] = entry
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DistillguardError(f"tokens file {self.path} is unreadable: {err}") from None

    def scopes_of(self, token: str) -> tuple[str, ...] | None:
        """Scopes of a presented token, or None when it is unknown (constant-time compare)."""
        digest = token_hash(token)
        entry = self.entries.get(digest)
        if entry is None or not hmac.compare_digest(entry.sha256, digest):
            return None
        return entry.scopes

    def create(self, scopes: list[str], name: str | None = None) -> str:
        """Add a token with ``scopes``; returns the token (the file keeps only its hash)."""
        bad = [s for s in scopes if s not in SCOPES]
        if not scopes or bad:
            raise DistillguardError(
                f"--scope must be one or more of {', '.join(SCOPES)} (got {bad or 'none'})"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC).isoformat()
        name = name or f"token-{len(self.entries) + 1}"
        entry = TokenEntry(name, token_hash(token), tuple(dict.fromkeys(scopes)), now)
        self.entries[entry.sha256] = entry
        self._save()
        return token

    def _save(self) -> None:
        rows = [
            {"name": e.name, "sha256": e.sha256, "scopes": list(e.scopes), "created_at": e.created_at}
            for e in self.entries.values()
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
