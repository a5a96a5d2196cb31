"""The negative bank and the audit log (state/_decisions.py), on small hand-made tables."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from distillguard.schema import ACCOUNTS_SCHEMA
from distillguard.state import _decisions as d


@dataclass
class FakeScan:
    accounts: pa.Table
    signals: pa.Table
    edges: pa.Table
    out: Path


def _scan(tmp_path: Path, *, extra_signal: bool = False, bigger_family: bool = False) -> FakeScan:
    rows = [
        {
            "account_id": "a1",
            "score": 0.9,
            "verdict": "attack",
            "campaign_id": "C1",
            "reasons": ["ip_rotation"],
        },
        {"account_id": "a2", "score": 0.5, "verdict": "suspicious", "campaign_id": "C1", "reasons": ["x"]},
        {"account_id": "a3", "score": 0.1, "verdict": "clear", "campaign_id": None, "reasons": []},
    ]
    accounts = pa.Table.from_pylist(
        [{**r, "flagged_at": None, "exchanges": 1, "first_seen": None, "last_seen": None} for r in rows],
        schema=ACCOUNTS_SCHEMA,
    )
    sig = [("a1", "automation", "ip_rotation"), ("a2", "coordination", "shared_template")]
    if extra_signal:
        sig.append(("a1", "extraction", "cot_elicitation_share"))
    signals = pa.table(
        {
            "account_id": [s[0] for s in sig],
            "family": [s[1] for s in sig],
            "signal": [s[2] for s in sig],
            "strength": [0.9] * len(sig),
        }
    )
    n = 12 if bigger_family else 5
    edges = pa.table(
        {
            "src": ["a1"],
            "dst": ["a2"],
            "kind": ["template"],
            "weight": [1.0],
            "evidence": [f"fleet template family -42 ({n} accounts)"],
        }
    )
    return FakeScan(accounts, signals, edges, tmp_path)


def _decide(con, scan: FakeScan, account: str, action: str) -> None:
    items = d.evidence_items(scan.signals, scan.edges, [account])
    d.record(
        con,
        analyst="ana",
        action=action,
        scope="account",
        target=account,
        accounts={account: {"verdict": "attack", "score": 0.9, "evidence": items[account]}},
        note="why",
    )


def test_dismissal_holds_on_same_evidence_even_when_a_group_grows(tmp_path: Path) -> None:
    con = duckdb.connect()
    _decide(con, _scan(tmp_path), "a1", "dismiss")
    out = d.apply_decisions(con, _scan(tmp_path, bigger_family=True)).to_pylist()
    a1 = next(r for r in out if r["account_id"] == "a1")
    assert a1["verdict"] == "clear"
    assert a1["reasons"] == [d.DISMISSED_REASON, "ip_rotation"]
    assert next(r for r in out if r["account_id"] == "a2")["verdict"] == "suspicious"  # untouched


def test_new_evidence_reflags_a_dismissed_account(tmp_path: Path) -> None:
    con = duckdb.connect()
    _decide(con, _scan(tmp_path), "a1", "dismiss")
    out = d.apply_decisions(con, _scan(tmp_path, extra_signal=True)).to_pylist()
    assert next(r for r in out if r["account_id"] == "a1")["verdict"] == "attack"
    decision = d.latest(con)["a1"]
    assert d.new_evidence(decision, ["signal:cot_elicitation_share", "signal:ip_rotation"]) == [
        "signal:cot_elicitation_share"
    ]


def test_a_new_account_on_the_card_reflags_a_dismissed_account(tmp_path: Path) -> None:
    con = duckdb.connect()
    scan = _scan(tmp_path)
    scan.edges = pa.table(
        {
            "src": ["a1"],
            "dst": ["a2"],
            "kind": ["payment"],
            "weight": [1.0],
            "evidence": ["payment instrument shared by 2 accounts"],
        }
    )
    _decide(con, scan, "a1", "dismiss")
    assert d.apply_decisions(con, scan).to_pylist()[0]["verdict"] == "clear"
    grown = pa.concat_tables(
        [
            scan.edges,
            pa.table(
                {
                    "src": ["a1"],
                    "dst": ["a9"],
                    "kind": ["payment"],
                    "weight": [1.0],
                    "evidence": ["payment instrument shared by 3 accounts"],
                }
            ),
        ]
    )
    scan.edges = grown
    assert d.apply_decisions(con, scan).to_pylist()[0]["verdict"] == "attack"


def test_confirm_makes_an_attack_above_the_line_and_escalate_changes_nothing(tmp_path: Path) -> None:
    con = duckdb.connect()
    _decide(con, _scan(tmp_path), "a2", "confirm")
    _decide(con, _scan(tmp_path), "a1", "escalate")
    out = {r["account_id"]: r for r in d.apply_decisions(con, _scan(tmp_path)).to_pylist()}
    assert out["a2"]["verdict"] == "attack"
    assert out["a2"]["score"] >= d.DEFAULT_ATTACK_SCORE
    assert out["a2"]["reasons"][0] == d.CONFIRMED_REASON
    assert out["a1"]["verdict"] == "attack" and out["a1"]["reasons"] == ["ip_rotation"]


def test_latest_decision_is_in_force(tmp_path: Path) -> None:
    con = duckdb.connect()
    _decide(con, _scan(tmp_path), "a1", "dismiss")
    _decide(con, _scan(tmp_path), "a1", "confirm")
    out = {r["account_id"]: r for r in d.apply_decisions(con, _scan(tmp_path)).to_pylist()}
    assert out["a1"]["verdict"] == "attack"


def test_audit_csv_has_who_when_what_why_and_is_spreadsheet_safe() -> None:
    con = duckdb.connect()
    d.log(con, analyst="=cmd()", action="reveal", target="campaign C1", detail="shown", note="+1 check")
    rows = list(csv.DictReader(io.StringIO(d.audit_csv(con))))
    assert list(rows[0]) == list(d.AUDIT_COLUMNS)
    assert rows[0]["analyst"] == "'=cmd()" and rows[0]["note"] == "'+1 check"
    assert rows[0]["action"] == "reveal" and rows[0]["logged_at"]


def test_unknown_action_is_refused() -> None:
    con = duckdb.connect()
    try:
        d.record(con, analyst="a", action="ban", scope="account", target="x", accounts={})
    except ValueError as err:
        assert "unknown action" in str(err)
    else:
        raise AssertionError("accepted an unknown action")
