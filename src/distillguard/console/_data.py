"""What the console reads: the state's last scan contract, its event store and its decisions.

Why a snapshot reloaded on change: the increment (``scan --state``) swaps ``DIR/scan`` in by
rename, so the console keeps one parsed copy of the contract and reloads it when
``scan_meta.json`` changes, instead of reading Parquet on every page. Decisions are read
from ``state.duckdb`` on each request through a connection opened and closed at once:
DuckDB lets one process hold the file, and the next increment must be able to open it.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard import _duck
from distillguard.errors import DistillguardError
from distillguard.state import _decisions as decisions

VERDICT_RANK = {"attack": 2, "suspicious": 1, "clear": 0}


class StateBusy(DistillguardError):
    """``state.duckdb`` is held by another process (an increment is running)."""


@dataclass
class Snapshot:
    """One parsed scan contract plus the indexes the pages need."""

    mtime: float
    meta: dict[str, Any]
    accounts: dict[str, dict[str, Any]]
    signals: dict[str, list[dict[str, Any]]]
    edges: pa.Table
    campaigns: dict[str, dict[str, Any]]
    #: signal -> sorted values of the accounts it fired on (population percentiles)
    signal_values: dict[str, list[float]] = field(default_factory=dict)
    #: account -> words it can be found by (cards, IPs, template families, families)
    search_terms: dict[str, set[str]] = field(default_factory=dict)
    scores_sorted: list[float] = field(default_factory=list)
    signal_table: pa.Table | None = None
    #: account -> evidence items (state/_decisions.py), filled on first use
    evidence: dict[str, list[str]] | None = None

    @property
    def population(self) -> int:
        return len(self.accounts)

    def percentile(self, signal: str, value: float | None) -> float | None:
        """Population percentile (0-100) of ``value`` for ``signal``.

        Only accounts the signal fired on have a recorded value; every other account is
        counted below the threshold (which is what not firing means), so the percentile of
        a fired value is ``(accounts not fired + fired accounts at or below it) / all``.
        """
        values = self.signal_values.get(signal)
        if value is None or not values or not self.population:
            return None
        below = self.population - len(values) + bisect.bisect_right(values, value)
        return 100.0 * below / self.population

    def score_percentile(self, score: float) -> float:
        if not self.scores_sorted:
            return 0.0
        return 100.0 * bisect.bisect_right(self.scores_sorted, score) / len(self.scores_sorted)


class ConsoleData:
    """A state directory as the console sees it."""

    def __init__(self, state: Path, infra: list[Path] | None = None) -> None:
        self.state = Path(state)
        if not (self.state / "state.duckdb").is_file():
            raise DistillguardError(
                f"--state {self.state} holds no distillguard state; create one with "
                f"`distillguard scan EVENTS --state {self.state}`"
            )
        self.scan_dir = self.state / "scan"
        if not (self.scan_dir / "scan_meta.json").is_file():
            raise DistillguardError(f"state {self.state} has no scored increment yet (no scan/ inside)")
        self.infra_paths = infra or []
        self._infra: Any = None
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._decided: dict[str, dict[str, Any]] = {}
        #: True while the last attempt to read decisions found the state held by an increment
        self.busy = False

    # -- the contract -----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        meta_path = self.scan_dir / "scan_meta.json"
        with self._lock:
            try:
                mtime = meta_path.stat().st_mtime
            except FileNotFoundError:  # between the two renames of a swap: keep the old one
                if self._snap is not None:
                    return self._snap
                raise
            if self._snap is None or self._snap.mtime != mtime:
                self._snap = self._load(mtime)
            return self._snap

    def _load(self, mtime: float) -> Snapshot:
        d = self.scan_dir
        meta = json.loads((d / "scan_meta.json").read_text())
        acc = pq.read_table(d / "accounts.parquet")
        accounts = {r["account_id"]: r for r in acc.to_pylist()}
        sig = pq.read_table(d / "signals.parquet")
        signals: dict[str, list[dict[str, Any]]] = {}
        values: dict[str, list[float]] = {}
        for r in sig.to_pylist():
            signals.setdefault(r["account_id"], []).append(r)
            if r["value"] is not None:
                values.setdefault(r["signal"], []).append(float(r["value"]))
        for v in values.values():
            v.sort()
        edges = pq.read_table(d / "edges.parquet")
        camps = json.loads((d / "campaigns.json").read_text())
        campaigns = {c["campaign_id"]: c for c in camps}
        snap = Snapshot(
            mtime=mtime,
            meta=meta,
            accounts=accounts,
            signals=signals,
            signal_table=sig.select(["account_id", "signal"]),
            edges=edges,
            campaigns=campaigns,
            signal_values=values,
            scores_sorted=sorted(float(r["score"]) for r in accounts.values()),
        )
        snap.search_terms = self._search_terms(snap)
        return snap

    def _search_terms(self, snap: Snapshot) -> dict[str, set[str]]:
        """Per flagged account: its cards, IPs, API keys, template families, signal families."""
        flagged = [a for a, r in snap.accounts.items() if r["verdict"] != "clear"]
        terms: dict[str, set[str]] = {a: set() for a in flagged}
        for a in flagged:
            for s in snap.signals.get(a, []):
                terms[a].update((s["family"].lower(), s["signal"].lower()))
        wanted = set(flagged)
        if snap.edges.num_rows:
            cols = [snap.edges[c].to_pylist() for c in ("src", "dst", "kind", "evidence")]
            for src, dst, kind, text in zip(*cols, strict=True):
                words = {kind.lower(), *(w.lower() for w in (text or "").split() if len(w) >= 6)}
                for a in (src, dst):
                    if a in wanted:
                        terms[a].update(words)

        def values(ev: Any) -> Any:
            mine = ev.join(self.accounts_table(ev, flagged), "account_id")
            return mine.group_by("account_id").aggregate(
                cards=mine.payment_fingerprint.collect(distinct=True),
                ips=mine.client_ip.collect(distinct=True),
                keys=mine.api_key_id.collect(distinct=True),
            )

        for row in self.query(values):
            for found in row[1:]:
                terms[row[0]].update(str(v).lower() for v in found or [] if v is not None)
        return terms

    # -- the event store ----------------------------------------------------------------
    def event_files(self) -> list[str]:
        return sorted(str(p) for p in (self.state / "store" / "events").glob("day=*/*.parquet"))

    @staticmethod
    def accounts_table(ev: Any, accounts: list[str]) -> Any:
        """``accounts`` as a one-column (``account_id``) in-memory table to join ``ev`` with."""
        import ibis

        return ibis.memtable(pa.table({"account_id": pa.array(sorted(set(accounts)), pa.string())}))

    def query(self, build: Any) -> list[tuple[Any, ...]]:
        """Rows of ``build(events)``: an Ibis expression over the event store (``events``, an
        Ibis table of its Parquet files), run on a private in-memory DuckDB."""

        files = self.event_files()
        if not files:
            return []
        con = _duck.backend()
        try:
            return _rows(build(_engine_read(con, files)))
        finally:
            con.disconnect()

    @contextlib.contextmanager
    def events_of(self, accounts: list[str]) -> Iterator[Any]:
        """The events of ``accounts`` read once into a private DuckDB, for many small queries.

        Yields an object whose ``query(build)`` gives the rows of ``build(events)``, an Ibis
        expression over those events.
        """

        from distillguard import _engine

        con = _duck.backend()
        try:
            files = self.event_files()
            if files:
                ev = _engine_read(con, files)
                ev = ev.join(self.accounts_table(ev, accounts), "account_id")
                ev = ev.select(
                    "account_id",
                    "client_ip",
                    "payment_fingerprint",
                    "system_prompt",
                    "prompt",
                    "account_created_at",
                )
                ev = _engine.keep(con, "ev", ev)
            else:
                empty = pa.schema(
                    [
                        ("account_id", pa.string()),
                        ("client_ip", pa.string()),
                        ("payment_fingerprint", pa.string()),
                        ("system_prompt", pa.string()),
                        ("prompt", pa.string()),
                        ("account_created_at", pa.timestamp("us", "UTC")),
                    ]
                )
                ev = _engine.arrow_table(con, "ev", empty.empty_table())
            yield _Local(ev)
        finally:
            con.disconnect()

    def infra(self) -> Any:
        if self._infra is None:
            from distillguard.enrich.ip_infra import IpInfra

            self._infra = IpInfra.from_paths(self.infra_paths) if self.infra_paths else IpInfra.builtin()
        return self._infra

    def describe_ips(self, ips: list[str]) -> dict[str, dict[str, Any]]:
        """IP -> {asn, as_org, ip_kind, ip_country, ip_prefix24} from the IP feeds."""
        if not ips:
            return {}
        table = self.infra().annotate(pa.array(ips, pa.string()))
        return {ip: row for ip, row in zip(ips, table.to_pylist(), strict=True)}

    # -- decisions (state.duckdb) ---------------------------------------------------------
    @contextlib.contextmanager
    def state_db(self) -> Iterator[Any]:
        """A short-lived read-write connection to ``state.duckdb`` (StateBusy if locked)."""
        import duckdb

        try:
            con = _duck.connect(str(self.state / "state.duckdb"))
        except duckdb.Error as err:
            raise StateBusy(
                f"the state is busy (an increment is running?): {str(err).splitlines()[0]}"
            ) from None
        try:
            con.execute("SET TimeZone = 'UTC'")
            decisions.ensure_tables(con)
            yield con
        finally:
            con.close()

    def decided(self) -> dict[str, dict[str, Any]]:
        """Decisions in force; while an increment holds the state, the last ones read."""
        try:
            with self.state_db() as con:
                self._decided = decisions.latest(con)
            self.busy = False
        except StateBusy:
            self.busy = True
        return self._decided

    def evidence(self, snap: Snapshot, accounts: list[str]) -> dict[str, list[str]]:
        """Evidence items of ``accounts`` (computed once per snapshot for every account)."""
        with self._lock:
            if snap.evidence is None:
                snap.evidence = decisions.evidence_items(snap.signal_table, snap.edges)
        return {a: snap.evidence.get(a, []) for a in accounts}


def _engine_read(con: Any, files: list[str]) -> Any:
    from distillguard import _engine

    return _engine.read_parquet(con, files, "dg_events")


def _rows(expr: Any) -> list[tuple[Any, ...]]:
    table = expr.to_pyarrow()
    return list(zip(*(table[c].to_pylist() for c in table.column_names), strict=True))


class _Local:
    def __init__(self, events: Any) -> None:
        self.events = events

    def query(self, build: Any) -> list[tuple[Any, ...]]:
        return _rows(build(self.events))


def review_status(decision: dict[str, Any] | None, verdict: str, items: list[str]) -> tuple[str, list[str]]:
    """(status, evidence the decision did not cover) of one account.

    ``awaiting``: flagged and no decision covers its evidence; ``escalated``: waiting for a
    second reviewer; ``confirmed`` / ``dismissed``: decided on the evidence it has now.
    """
    if decision is None:
        return ("awaiting" if verdict != "clear" else "clear"), []
    new = decisions.new_evidence(decision, items)
    action = decision["action"]
    if action == "escalate":
        return "escalated", new
    if new and verdict != "clear":
        return "awaiting", new
    return {"confirm": "confirmed", "dismiss": "dismissed"}[action], new
