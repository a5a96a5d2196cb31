"""Webhooks: a new campaign, verdict changes; HMAC-signed, retried, logged.

Why an outbox on disk: an event is written to ``DIR/serve/outbox/`` (fsync) before the
server moves its cursor past the increment that caused it, and removed only once it was
delivered or gave up; a server killed between the two re-sends it on restart
(at-least-once: receivers de-duplicate on ``X-Distillguard-Event-Id``).

Every attempt is a line of ``DIR/serve/webhook_deliveries.jsonl`` (time, event id, url,
attempt, HTTP status or error, outcome). Bodies are signed with HMAC-SHA256 under a
shared secret: header ``X-Distillguard-Signature: sha256=<hex>`` over the exact body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIGNATURE_HEADER = "X-Distillguard-Signature"
EVENT_ID_HEADER = "X-Distillguard-Event-Id"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def load_or_create_secret(path: Path) -> bytes:
    """The webhook secret (created with 256 random bits, mode 0600, on first use)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode("utf-8")


def _write_durable(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Webhooks:
    """Outbox + one delivery thread (deliveries are sequential: order is kept per receiver)."""

    def __init__(
        self,
        root: Path,
        urls: tuple[str, ...],
        secret: bytes,
        *,
        max_attempts: int,
        backoff_s: float,
        timeout_s: float,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.outbox = root / "outbox"
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "webhook_deliveries.jsonl"
        self.cursor_path = root / "webhook_cursor.json"
        self.urls = urls
        self.secret = secret
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.on_result = on_result or (lambda _outcome: None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- cursor: which increment's changes were already turned into events ---------------
    def cursor(self) -> dict[str, Any]:
        if not self.cursor_path.exists():
            return {"increment": 0, "campaign_accounts": []}
        return json.loads(self.cursor_path.read_text())

    def enqueue(self, events: list[dict[str, Any]], cursor: dict[str, Any]) -> None:
        """Write ``events`` to the outbox, then advance the cursor (both durable)."""
        if self.urls:
            for ev in events:
                ev = {"id": f"evt_{uuid.uuid4().hex}", "created_at": time.time(), **ev}
                name = f"{time.time_ns():020d}-{ev['id']}.json"
                _write_durable(self.outbox / name, json.dumps(ev, separators=(",", ":")).encode())
        _write_durable(self.cursor_path, json.dumps(cursor).encode())
        self._wake.set()

    # -- delivery ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and self.urls:
            self._thread = threading.Thread(target=self._loop, name="dg-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            items = sorted(self.outbox.glob("*.json"))
            if not items:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            for item in items:
                if self._stop.is_set():
                    return
                self._deliver(item)

    def _deliver(self, item: Path) -> None:
        body = item.read_bytes()
        event_id = json.loads(body).get("id", item.stem)
        for url in self.urls:
            outcome = "failed"
            for attempt in range(1, self.max_attempts + 1):
                status, error = self._post(url, body, event_id)
                ok = status is not None and 200 <= status < 300
                last = attempt == self.max_attempts
                outcome = "delivered" if ok else ("failed" if last else "retry")
                self._log(event_id, url, attempt, status, error, outcome)
                if ok or last:
                    break
                if self._stop.wait(self.backoff_s * 2 ** (attempt - 1)):
                    return
            self.on_result(outcome)
        item.unlink(missing_ok=True)

    def _post(self, url: str, body: bytes, event_id: str) -> tuple[int | None, str | None]:
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, body),
                EVENT_ID_HEADER: event_id,
                "User-Agent": "distillguard-webhooks",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return int(resp.status), None
        except urllib.error.HTTPError as err:
            return int(err.code), f"HTTP {err.code}"
        except (urllib.error.URLError, OSError, ValueError) as err:
            return None, str(getattr(err, "reason", err))[:200]

    def _log(
        self, event_id: str, url: str, attempt: int, status: int | None, error: str | None, outcome: str
    ) -> None:
        line = {
            "time": time.time(),
            "event_id": event_id,
            "url": url,
            "attempt": attempt,
            "status": status,
            "error": error,
            "outcome": outcome,
        }
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


def events_for(
    changes: list[dict[str, Any]],
    campaigns: dict[str, list[str]],
    cursor: dict[str, Any],
    increment: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Webhook events of one increment and the next cursor.

    ``verdict_changes``: every change into or out of attack/suspicious (a new clear account
    is not news). ``campaign_new``: a campaign none of whose members was announced before.
    """
    events: list[dict[str, Any]] = []
    if changes:
        events.append({"type": "verdict_changes", "increment": increment, "changes": changes})
    seen = set(cursor.get("campaign_accounts", []))
    for cid, members in sorted(campaigns.items()):
        if not seen.intersection(members):
            events.append(
                {
                    "type": "campaign_new",
                    "increment": increment,
                    "campaign_id": cid,
                    "members": sorted(members),
                }
            )
    for members in campaigns.values():
        seen.update(members)
    last = max([increment or 0, int(cursor.get("increment", 0))])
    return events, {"increment": last, "campaign_accounts": sorted(seen)}
