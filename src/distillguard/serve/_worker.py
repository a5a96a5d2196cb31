"""The background worker: closed WAL segments -> one state increment -> a fresh risk index.

Starts an increment every ``increment_interval_s`` (measured start to start: one that
scores for longer than the interval is followed at once, so the cadence is the larger of
the two, not their sum) and on demand (``POST /v1/admin/increment``), one increment at a
time. Why start to start: time to detection is the cadence plus one scoring, and waiting
a whole interval after a long scoring added the scoring time twice. Steps, each safe to
interrupt with SIGKILL:

1. If ``pending.json`` names an increment the state already committed, its segments are
   in the state: delete them (a crash after the commit, before the deletion).
2. Close the open segment; read every closed segment (whole records only); keep the first
   copy of each ``event_id`` (a client's re-send before the increment), the others go to
   the increment's quarantine as ``duplicate_event_id``.
3. Write them as an event directory under ``DIR/serve/batch/``, write ``pending.json``,
   and run :func:`distillguard.state.run_increment` on it in a child process (the state's
   commit protocol does the rest: too-late and already-stored ids are rejected there).
4. On success delete the segments, reload the risk index from ``DIR/scan/``, turn the
   increment's verdict changes and new campaigns into webhook events.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard import _duck
from distillguard.schema import QUARANTINE_SCHEMA
from distillguard.serve._risk import RiskIndex
from distillguard.serve._wal import WriteAheadLog, read_segment
from distillguard.state._store import STATE_DB


def _state_query(state: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A read-only query on the state (only between increments: the child holds the lock)."""
    con = _duck.connect(str(state / STATE_DB), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def committed_ids(state: Path) -> set[int]:
    return {int(r[0]) for r in _state_query(state, "SELECT id FROM increments")}


def next_increment_id(state: Path) -> int:
    return int(_state_query(state, "SELECT coalesce(max(id), 0) + 1 FROM increments")[0][0])


def notable_changes(state: Path, after: int) -> list[dict[str, Any]]:
    """Verdict changes of increments after ``after`` into or out of attack/suspicious."""
    rows = _state_query(
        state,
        "SELECT increment_id, account_id, old_verdict, new_verdict, score, campaign_id FROM verdict_changes"
        " WHERE increment_id > ? AND (new_verdict <> 'clear' OR coalesce(old_verdict, 'clear') <> 'clear')"
        " ORDER BY increment_id, account_id",
        [after],
    )
    names = ("increment", "account_id", "old_verdict", "new_verdict", "score", "campaign_id")
    return [dict(zip(names, r, strict=True)) for r in rows]


def _dedup(events: list[pa.Table]) -> tuple[pa.Table | None, pa.Table]:
    """First copy of each event id wins; later copies become quarantine rows."""
    if not events:
        return None, QUARANTINE_SCHEMA.empty_table()
    table = pa.concat_tables(events, promote_options="permissive")
    ids = table["event_id"].combine_chunks()
    idx = pa.array(range(table.num_rows), pa.int64())
    first = pa.table({"id": ids, "i": idx}).group_by("id", use_threads=False).aggregate([("i", "min")])
    keep = pc.is_in(idx, first["i_min"])
    if pc.all(keep).as_py():
        return table, QUARANTINE_SCHEMA.empty_table()
    dup = table.filter(pc.invert(keep))
    n = dup.num_rows
    q = pa.table(
        {
            "reason": pa.array(["duplicate_event_id"] * n, pa.string()),
            "source": pa.array(["serve:wal"] * n, pa.string()),
            "row_number": pa.nulls(n, pa.int64()),
            "event_id": dup["event_id"].cast(pa.string()),
            "account_id": dup["account_id"].cast(pa.string()),
            "raw": pa.nulls(n, pa.string()),
            "detail": pa.array(["event_id sent again before its increment (the first copy is kept)"] * n),
        }
    ).cast(QUARANTINE_SCHEMA)
    return table.filter(keep), q


class IncrementWorker:
    """Owns the WAL's closed segments and the state's writer role for this server."""

    def __init__(
        self,
        state: Path,
        wal: WriteAheadLog,
        *,
        interval_s: float,
        timeout_s: float,
        scan_options: dict[str, Any],
        allowed_lateness_h: float | None,
        nice: int = 0,
        on_index: Callable[[RiskIndex, dict[str, Any]], None],
        on_result: Callable[[str, float], None],
    ) -> None:
        self.state = state
        self.wal = wal
        self.work = state / "serve" / "batch"
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.scan_options = scan_options
        self.allowed_lateness_h = allowed_lateness_h
        self.nice = nice
        self.on_index = on_index
        self.on_result = on_result
        self.lock = threading.Lock()
        self.last: dict[str, Any] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dg-increments", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()

    def _loop(self) -> None:
        began: float | None = None
        while not self._stop.is_set():
            if began is not None:
                # the rest of the interval since the last one began (none if it ran longer)
                self._wake.wait(max(0.0, self.interval_s - (time.monotonic() - began)))
                self._wake.clear()
            if self._stop.is_set():
                return
            began = time.monotonic()
            try:
                self.run_once()
            except Exception as err:  # keep serving; the error is in /v1/admin/status
                self.last = {"error": f"{type(err).__name__}: {err}", "at": time.time()}
                self.on_result("error", 0.0)

    def run_once(self) -> dict[str, Any]:
        """One increment now (blocks while another runs); returns its summary."""
        with self.lock:
            started = time.perf_counter()
            out = self._increment()
            out["seconds_total"] = round(time.perf_counter() - started, 3)
            self.last = {**out, "at": time.time()}
            if out.get("increment") is not None or out.get("error"):
                self.on_result("error" if out.get("error") else "ok", time.perf_counter() - started)
            return out

    def _increment(self) -> dict[str, Any]:
        pending = self.wal.read_pending()
        if pending is not None:
            inc, segs = pending
            if inc in committed_ids(self.state):
                self.wal.drop(segs)  # their events are in the state already
            else:
                self.wal.clear_pending()
        segments = self.wal.rotate()
        if not segments:
            return {"increment": None, "segments": 0}
        events, quarantine, torn = [], [], 0
        for seg in segments:
            r = read_segment(seg)
            events.extend(r.events)
            quarantine.extend(r.quarantine)
            torn += r.torn_bytes
        table, dups = _dedup(events)
        quarantine.append(dups)
        q = pa.concat_tables([t.cast(QUARANTINE_SCHEMA) for t in quarantine]) if quarantine else None
        if table is None or table.num_rows == 0:
            self._keep_quarantine(q, segments[0].stem)
            self.wal.drop(segments)
            return {"increment": None, "segments": len(segments), "quarantined": q.num_rows if q else 0}
        batch = self._write_batch(table, q, segments[0].stem)
        self.wal.write_pending(segments, next_increment_id(self.state))
        summary = self._run_child(batch)
        if "error" in summary:
            self.wal.clear_pending()
            shutil.rmtree(batch, ignore_errors=True)
            return summary
        self.wal.drop(segments)
        shutil.rmtree(batch, ignore_errors=True)
        summary["segments"] = len(segments)
        summary["wal_duplicates"] = dups.num_rows
        summary["torn_bytes"] = torn
        self.on_index(RiskIndex.load(self.state / "scan"), summary)
        return summary

    def _keep_quarantine(self, q: pa.Table | None, tag: str) -> None:
        """Quarantine of a batch without events: kept under ``DIR/serve/quarantine/``."""
        if q is None or q.num_rows == 0:
            return
        qdir = self.state / "serve" / "quarantine"
        qdir.mkdir(parents=True, exist_ok=True)
        pq.write_table(q, qdir / f"{tag}.parquet")

    def _write_batch(self, table: pa.Table, q: pa.Table | None, tag: str) -> Path:
        from distillguard.ingest._writer import DayPartitionWriter

        batch = self.work / tag
        shutil.rmtree(batch, ignore_errors=True)
        writer = DayPartitionWriter(batch / "events")
        try:
            writer.write(table)
        finally:
            writer.close()
        if q is not None and q.num_rows:
            pq.write_table(q, batch / "quarantine.parquet")
        (batch / "manifest.json").write_text(
            json.dumps({"source": "distillguard serve", "events": table.num_rows})
        )
        return batch

    def _run_child(self, batch: Path) -> dict[str, Any]:
        cmd = [
            sys.executable,
            "-m",
            "distillguard.serve._increment_main",
            "--state",
            str(self.state),
            "--input",
            str(batch),
            "--scan-options",
            json.dumps(self.scan_options),
        ]
        if self.allowed_lateness_h is not None:
            cmd += ["--allowed-lateness-h", str(self.allowed_lateness_h)]
        self._child = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=functools.partial(_child_setup, self.nice),
        )
        try:
            out, err = self._child.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.communicate()
            return {"error": f"increment took longer than {self.timeout_s} s and was stopped"}
        finally:
            code = self._child.returncode
            self._child = None
        lines = [ln for ln in (out or "").splitlines() if ln.startswith("{")]
        if not lines:
            tail = (err or "").strip().splitlines()[-1:] or [f"exit {code}"]
            return {"error": f"increment failed: {tail[0][:300]}"}
        return json.loads(lines[-1])


def _child_setup(nice: int) -> None:
    """In the increment child before exec: lower its priority, tie its life to the server's."""
    if nice:
        os.nice(nice)
    die_with_parent()


def die_with_parent(parent: int | None = None) -> None:
    """Linux: this child process gets SIGKILL when the server dies, however it died (no orphan
    keeps the state locked or a decode worker waiting on its queue). ``parent``, the server's
    pid when known, also catches a server gone before this ran under a subreaper (the parent
    is then not pid 1)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() == 1 or (parent is not None and os.getppid() != parent):  # already gone
        os._exit(1)
