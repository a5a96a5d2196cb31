"""Analyst decisions in the state: confirm / dismiss / escalate, a negative bank, an audit log.

Why a negative bank keyed by evidence (as Meta's HMA keeps one): an analyst who dismisses
a flagged account has judged *the evidence shown to them*, not the account forever. The
next increment re-scores the whole store and would flag the account again on the same
signals and links; the bank turns that back to ``clear``. If the account later shows
evidence the analyst never saw (a new signal, a link of a new kind or to a new group),
the dismissal no longer covers it and the scored verdict stands: a fleet cannot buy
permanent immunity by getting one member dismissed early.

An account's *evidence items* are the names of its fired signals plus, for every link in
``edges.parquet`` touching it, the link kind and the group it names (``fleet template
family 123``, ``created in burst 456``, with the member counts stripped so that a group
growing is not new evidence but a new group is); for links whose text names no group (a
shared card, synchronized activity, a shared profile) the account at the other end. The
fingerprint is a SHA-256 of the sorted items; the items themselves are kept so that "what
is new" can be shown.

A confirmed account is an attack in the next increments whatever its score (confirmed
ones feed the next increment); an escalated one keeps its scored verdict and is marked
for a second reviewer. Every decision and every reveal of redacted evidence is one row
of ``audit`` (who, when, what, why), exported as CSV by the console.

Tables (created on first use, in ``state.duckdb``): ``decisions`` (one row per account
decided; a campaign decision writes one row per member with ``scope = 'campaign'``) and
``audit``. The latest decision of an account is the one in force.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

#: Decision actions an analyst can take.
ACTIONS: tuple[str, ...] = ("confirm", "dismiss", "escalate")
#: Reason put first on an account whose flag a dismissal turned back to clear.
DISMISSED_REASON = "dismissed_by_analyst"
#: Reason put first on an account an analyst confirmed as an attack.
CONFIRMED_REASON = "confirmed_by_analyst"
#: Score an account confirmed by an analyst is raised to at least, when the scan's own
#: ``scoring.attack_score`` is not known (same default as ScoringParams.attack_score), so
#: sorting by score never puts a confirmed attack below the attack line.
DEFAULT_ATTACK_SCORE = 0.65

_DDL = (
    """CREATE TABLE IF NOT EXISTS decisions (
        id BIGINT, decided_at TIMESTAMPTZ, analyst VARCHAR,
        scope VARCHAR,          -- 'account' or 'campaign'
        target VARCHAR,         -- the account id or the campaign id decided on
        account_id VARCHAR, action VARCHAR, note VARCHAR,
        verdict VARCHAR, score DOUBLE,        -- what the analyst saw
        evidence_fp VARCHAR, evidence VARCHAR[]  -- the evidence items the decision covers
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        id BIGINT, logged_at TIMESTAMPTZ, analyst VARCHAR, action VARCHAR, target VARCHAR,
        detail VARCHAR, note VARCHAR
    )""",
)

#: Link kinds whose evidence text names no group value (one card looks like another in
#: ``edges.parquet``): their items name the account at the other end instead, so a new
#: account on the card (a hydra's replacement) or a new lockstep partner is new evidence.
PARTNER_KINDS: tuple[str, ...] = ("payment", "sync", "profile")

_COUNTS = (
    re.compile(r"\s*\(\d+(?: accounts?)?\)"),
    re.compile(r"\s*shared by \d+ accounts?"),
)


def ensure_tables(con: Any) -> None:
    for ddl in _DDL:
        con.execute(ddl)


def normalize_evidence(kind: str, text: str | None) -> str:
    """``link:kind:group`` with member counts removed (a group growing is not new evidence)."""
    value = text or ""
    for pattern in _COUNTS:
        value = pattern.sub("", value)
    return f"link:{kind}:{' '.join(value.split())}"


def evidence_items(
    signals: pa.Table, edges: pa.Table | None, accounts: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Account -> sorted evidence items (fired signal names, normalized links).

    ``accounts`` limits the work to those ids (None: every account with a signal or link).
    """
    wanted = None if accounts is None else set(accounts)
    items: dict[str, set[str]] = {}
    for acc, name in zip(signals["account_id"].to_pylist(), signals["signal"].to_pylist(), strict=True):
        if wanted is None or acc in wanted:
            items.setdefault(acc, set()).add(f"signal:{name}")
    if edges is not None and edges.num_rows:
        cols = [edges[c].to_pylist() for c in ("src", "dst", "kind", "evidence")]
        for src, dst, kind, text in zip(*cols, strict=True):
            for acc, other in ((src, dst), (dst, src)):
                if wanted is None or acc in wanted:
                    item = normalize_evidence(kind, text)
                    if kind in PARTNER_KINDS:
                        item += f" with {other}"
                    items.setdefault(acc, set()).add(item)
    return {a: sorted(v) for a, v in items.items()}


def fingerprint(items: Iterable[str]) -> str:
    """SHA-256 (first 16 hex digits) of the sorted evidence items."""
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]


def _next_id(con: Any, table: str) -> int:
    return int(con.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])


def record(
    con: Any,
    *,
    analyst: str,
    action: str,
    scope: str,
    target: str,
    accounts: dict[str, dict[str, Any]],
    note: str = "",
) -> int:
    """Record one decision on ``accounts`` (id -> {verdict, score, evidence}); returns its id.

    One transaction writes a ``decisions`` row per account and one ``audit`` row.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if scope not in ("account", "campaign"):
        raise ValueError(f"unknown scope {scope!r}")
    ensure_tables(con)
    now = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        decision = _next_id(con, "decisions")
        rows = [
            (
                decision,
                now,
                analyst,
                scope,
                target,
                acc,
                action,
                note,
                info.get("verdict"),
                info.get("score"),
                fingerprint(info.get("evidence", [])),
                list(info.get("evidence", [])),
            )
            for acc, info in sorted(accounts.items())
        ]
        if rows:
            con.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        detail = f"{scope} {target}: {len(rows)} account(s)"
        con.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
            [_next_id(con, "audit"), now, analyst, action, target, detail, note],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return decision


def log(con: Any, *, analyst: str, action: str, target: str, detail: str, note: str = "") -> int:
    """One audit row (a reveal of redacted evidence, an export...); returns its id."""
    ensure_tables(con)
    audit_id = _next_id(con, "audit")
    con.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
        [audit_id, dt.datetime.now(dt.UTC), analyst, action, target, detail, note],
    )
    return audit_id


def latest(con: Any) -> dict[str, dict[str, Any]]:
    """Account -> its decision in force (the latest), as a dict of the ``decisions`` columns."""
    ensure_tables(con)
    cur = con.execute(
        "SELECT * FROM decisions QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY id DESC) = 1"
    )
    names = [d[0] for d in cur.description]
    return {r[names.index("account_id")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def new_evidence(decision: dict[str, Any], items: Iterable[str]) -> list[str]:
    """Evidence items the decision did not cover (empty: it still covers all of them)."""
    seen = set(decision.get("evidence") or [])
    return sorted(set(items) - seen)


def apply_decisions(con: Any, res: Any) -> pa.Table:
    """The scan's ``accounts`` with analysts' decisions applied (the increment hook).

    Dismissed accounts still flagged on evidence the dismissal covered become ``clear``
    (reason ``dismissed_by_analyst`` first); confirmed ones become ``attack`` (score at
    least the attack line). Other rows are returned unchanged.
    """
    accounts: pa.Table = res.accounts
    decided = latest(con)
    if not decided or accounts.num_rows == 0:
        return accounts
    ids = accounts["account_id"].to_pylist()
    touched = [a for a in ids if a in decided and decided[a]["action"] in ("dismiss", "confirm")]
    if not touched:
        return accounts
    items = evidence_items(res.signals, res.edges, touched)
    verdicts = accounts["verdict"].to_pylist()
    scores = accounts["score"].to_pylist()
    reasons = accounts["reasons"].to_pylist()
    line = _attack_score(res)
    for i, acc in enumerate(ids):
        d = decided.get(acc)
        if d is None:
            continue
        if d["action"] == "dismiss" and verdicts[i] != "clear" and not new_evidence(d, items.get(acc, [])):
            verdicts[i] = "clear"
            reasons[i] = [DISMISSED_REASON, *(reasons[i] or [])]
        elif d["action"] == "confirm":
            if verdicts[i] != "attack":
                scores[i] = max(scores[i], line)
            verdicts[i] = "attack"
            reasons[i] = [CONFIRMED_REASON, *[r for r in reasons[i] or [] if r != CONFIRMED_REASON]]
    out = accounts
    for name, values in (("verdict", verdicts), ("score", scores), ("reasons", reasons)):
        idx = out.schema.get_field_index(name)
        out = out.set_column(idx, out.schema.field(name), pa.array(values, out.schema.field(name).type))
    return out


def _attack_score(res: Any) -> float:
    import json

    try:
        meta = json.loads((res.out / "scan_meta.json").read_text())
        return float(meta["thresholds"]["scoring.attack_score"]["value"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return DEFAULT_ATTACK_SCORE


AUDIT_COLUMNS: tuple[str, ...] = ("id", "logged_at", "analyst", "action", "target", "detail", "note")


def audit_rows(con: Any) -> list[dict[str, Any]]:
    ensure_tables(con)
    rows = con.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit ORDER BY id").fetchall()
    return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in rows]


def audit_csv(con: Any) -> str:
    """The audit log as CSV; text cells are made safe to open in a spreadsheet."""
    from distillguard.report._enforcement import ESCAPE, FORMULA_TRIGGERS

    def cell(value: Any) -> str:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).isoformat()
        text = "" if value is None else str(value)
        return ESCAPE + text if text.startswith((*FORMULA_TRIGGERS, ESCAPE)) else text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in audit_rows(con):
        writer.writerow([cell(row[c]) for c in AUDIT_COLUMNS])
    return buf.getvalue()


__all__ = [
    "ACTIONS",
    "CONFIRMED_REASON",
    "DISMISSED_REASON",
    "apply_decisions",
    "audit_csv",
    "audit_rows",
    "ensure_tables",
    "evidence_items",
    "fingerprint",
    "latest",
    "log",
    "new_evidence",
    "normalize_evidence",
    "record",
]
