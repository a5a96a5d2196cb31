"""Hostile ids stay exact in data and are shown escaped and cut in report.html and enforcement.csv.

Before: a newline inside an id showed as a different id in report.html (and as two ids in
the copyable member list), split an enforcement.csv record across lines, and a leading
line feed or a full-width ``＝ ＋ － ＠`` was left un-neutralized.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.report import write_enforcement_csv, write_report
from distillguard.schema import ACCOUNTS_SCHEMA

LONG = "L" * 10_000
HOSTILE = [
    "\n=cmd|' /C calc'!A0",
    "\uff1d1+1",
    "\uff0bcmd",
    "\uff0d2",
    "\uff20SUM(A1)",
    "victim\nacct-2",
    "admin\u202egnp.exe",
    "zero\u200bwidth",
    LONG,
]
DISPLAY_LIMIT = 100  # report._display.DISPLAY_ID_CHARS (kept literal: the old code has no such name)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _scan(tmp_path: Path) -> Path:
    n = len(HOSTILE)
    ts = ACCOUNTS_SCHEMA.field("flagged_at").type
    table = pa.table(
        {
            "account_id": HOSTILE,
            "score": [0.99 - i / 100 for i in range(n)],
            "verdict": ["attack"] * n,
            "campaign_id": ["C1"] * n,
            "reasons": [["shared_payment"]] * n,
            "flagged_at": pa.nulls(n, ts),
            "exchanges": list(range(1, n + 1)),
            "first_seen": pa.nulls(n, ts),
            "last_seen": pa.nulls(n, ts),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    out = tmp_path / "scan"
    out.mkdir()
    pq.write_table(table, out / "accounts.parquet")
    campaign = {"campaign_id": "C1", "accounts": HOSTILE, "score": 0.9, "exchanges": n, "evidence": []}
    (out / "campaigns.json").write_text(json.dumps([campaign]))
    return out


def test_enforcement_csv_is_safe_one_line_per_record_and_exact_in_hex(tmp_path):
    text = write_enforcement_csv(_scan(tmp_path)).read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(text.rstrip("\r\n").splitlines()) == len(records) + 1  # no record split by an id
    for row in records:
        for column in ("account_id", "campaign_id", "top_reasons"):
            assert not row[column].startswith(FORMULA_STARTS), (column, row[column])
        assert len(row["account_id"]) <= DISPLAY_LIMIT + 1
    assert sorted(bytes.fromhex(r["account_id_hex"]).decode() for r in records) == sorted(HOSTILE)
    shown = {r["account_id"] for r in records}
    assert "victim\\nacct-2" in shown and "admin\\u202egnp.exe" in shown
    assert ("L" * (DISPLAY_LIMIT - 1) + "…") in shown


def test_report_shows_ids_escaped_and_cut(tmp_path):
    html = write_report(_scan(tmp_path)).read_text(encoding="utf-8")
    assert "victim\\nacct-2" in html and "victim\nacct-2" not in html
    assert "\u202e" not in html and "admin\\u202egnp.exe" in html
    assert "\u200b" not in html and "zero\\u200bwidth" in html
    assert LONG not in html and "L" * (DISPLAY_LIMIT - 1) + "…" in html
    # the copyable member list holds one line per member
    listing = html.split('<pre class="idlist">', 1)[1].split("</pre>", 1)[0]
    assert len(listing.splitlines()) == len(HOSTILE)
