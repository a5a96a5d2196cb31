"""Webhooks against a local receiver on 127.0.0.1: HMAC signature, retries with backoff, log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from distillguard.serve._webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, Webhooks, events_for

SECRET = b"s3cret"


class Receiver:
    """Answers ``statuses`` in order (then 200), recording each request and its arrival time."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[float, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((time.monotonic(), dict(self.headers), body))
                code = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _wait_empty(hooks: Webhooks, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while any(hooks.outbox.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(hooks.outbox.glob("*.json"))


@pytest.mark.parametrize(
    ("statuses", "attempts", "outcome"), [([500, 503], 3, "delivered"), ([500] * 9, 3, "failed")]
)
def test_retries_with_backoff_signed_and_logged(tmp_path, statuses, attempts, outcome):
    rx = Receiver(statuses)
    hooks = Webhooks(tmp_path, (rx.url,), SECRET, max_attempts=3, backoff_s=0.1, timeout_s=2)
    try:
        hooks.enqueue(
            [{"type": "campaign_new", "campaign_id": "C1", "members": ["a", "b"]}], {"increment": 1}
        )
        hooks.start()
        _wait_empty(hooks)
    finally:
        hooks.stop()
        rx.close()
    assert len(rx.got) == attempts
    gaps = [b[0] - a[0] for a, b in zip(rx.got, rx.got[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # exponential backoff
    for _, headers, body in rx.got:
        want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], want)
        assert headers[EVENT_ID_HEADER] == json.loads(body)["id"]
    assert json.loads(rx.got[0][2])["campaign_id"] == "C1"
    log = [json.loads(line) for line in (tmp_path / "webhook_deliveries.jsonl").read_text().splitlines()]
    assert [r["attempt"] for r in log] == [1, 2, 3]
    assert [r["outcome"] for r in log][-1] == outcome
    assert hooks.cursor()["increment"] == 1


def test_outbox_survives_a_restart(tmp_path):
    """An event enqueued by a server that died before delivering it is sent by the next one."""
    rx = Receiver([])
    try:
        Webhooks(tmp_path, (rx.url,), SECRET, max_attempts=2, backoff_s=0.05, timeout_s=2).enqueue(
            [{"type": "verdict_changes", "changes": []}], {"increment": 4}
        )
        assert not rx.got
        hooks = Webhooks(tmp_path, (rx.url,), SECRET, max_attempts=2, backoff_s=0.05, timeout_s=2)
        hooks.start()
        _wait_empty(hooks)
        hooks.stop()
    finally:
        rx.close()
    assert len(rx.got) == 1


def test_events_for_new_campaigns_and_changes():
    changes = [{"account_id": "a", "old_verdict": None, "new_verdict": "attack"}]
    events, cursor = events_for(changes, {"C1": ["a", "b"]}, {"increment": 0}, 1)
    assert [e["type"] for e in events] == ["verdict_changes", "campaign_new"]
    # the same campaign renumbered, one member more: not new; a disjoint one is
    events, cursor = events_for([], {"C2": ["a", "b", "c"], "C3": ["x"]}, cursor, 2)
    assert [(e["type"], e["campaign_id"]) for e in events] == [("campaign_new", "C3")]
    assert cursor["increment"] == 2
