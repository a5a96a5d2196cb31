"""The console's pages and forms through FastAPI's test client (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

pytest.importorskip("fastapi")


def _client(state: Path):
    from fastapi.testclient import TestClient

    from distillguard.console import create_app

    return TestClient(create_app(state, analyst="tester"))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_pages_render_and_unknown_ids_are_404(console_state: Path) -> None:
    c = _client(console_state)
    acc = pq.read_table(console_state / "scan" / "accounts.parquet").to_pylist()
    attack = next(r for r in acc if r["verdict"] == "attack" and r["campaign_id"])
    for url in (
        "/",
        "/?view=campaigns",
        f"/account/{attack['account_id']}",
        f"/campaign/{attack['campaign_id']}",
    ):
        r = c.get(url)
        assert r.status_code == 200, url
    page = c.get(f"/account/{attack['account_id']}").text
    assert "population percentile" in page and "Why attack" in page
    assert c.get("/account/no-such-account").status_code == 404
    assert c.get("/campaign/C9999").status_code == 404


def test_posts_need_the_form_token(console_state: Path) -> None:
    c = _client(console_state)
    r = c.post(
        "/decide", data={"scope": "account", "target": "x", "action": "dismiss"}, follow_redirects=False
    )
    assert r.status_code == 403


def test_campaign_decision_and_reveal_are_audited(console_state: Path) -> None:
    c = _client(console_state)
    camps = pq.read_table(console_state / "scan" / "accounts.parquet").to_pylist()
    cid = next(r["campaign_id"] for r in camps if r["campaign_id"])
    page = c.get(f"/campaign/{cid}").text
    token = _csrf(page)
    assert "[redacted:" in page
    r = c.post(
        "/reveal",
        data={"csrf": token, "kind": "campaign", "target": cid, "note": "need the wording"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "reveal=" in r.headers["location"]
    revealed = c.get(r.headers["location"]).text
    assert "revealed for" in revealed
    r = c.post(
        "/decide",
        data={"csrf": token, "scope": "campaign", "target": cid, "action": "escalate", "note": "big one"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    csv_text = c.get("/audit.csv").text
    assert "reveal" in csv_text and "need the wording" in csv_text and "big one" in csv_text
    con = duckdb.connect(str(console_state / "state.duckdb"), read_only=True)
    n = con.execute(
        "SELECT count(*) FROM decisions WHERE scope = 'campaign' AND target = ?", [cid]
    ).fetchone()[0]
    con.close()
    members = sum(1 for r in camps if r["campaign_id"] == cid)
    assert n >= members  # one row per member (campaigns.json lists every member)
    queue = c.get("/?status=escalated").text
    assert "escalated" in queue


def test_while_an_increment_holds_the_state_pages_still_render(console_state: Path) -> None:
    import subprocess
    import sys

    c = _client(console_state)
    acc = pq.read_table(console_state / "scan" / "accounts.parquet").to_pylist()
    attack = next(r for r in acc if r["verdict"] == "attack" and r["campaign_id"])
    token = _csrf(c.get(f"/account/{attack['account_id']}").text)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
            " print('held', flush=True); time.sleep(60)",
            str(console_state / "state.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        page = c.get("/")
        assert page.status_code == 200 and "An increment is running" in page.text
        assert c.get(f"/account/{attack['account_id']}").status_code == 200
        assert c.get(f"/campaign/{attack['campaign_id']}").status_code == 200
        form = {"csrf": token, "scope": "account", "target": attack["account_id"], "action": "dismiss"}
        r = c.post("/decide", data=form, follow_redirects=False)
        assert r.status_code == 503 and "busy" in r.text
    finally:
        holder.kill()
        holder.wait()
    assert "An increment is running" not in c.get("/").text
