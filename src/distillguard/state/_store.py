"""The persistent detection state: an event store, a watermark and the verdict history.

Layout of a state directory (all embedded: one DuckDB file plus Parquet)::

    DIR/state.duckdb          increments, current verdicts, verdict changes, rejected rows
    DIR/store/events/day=*/   the committed events (an event directory: ``scan`` reads it)
    DIR/staging/inc-N/        one increment's events before its commit (removed after)
    DIR/scan/                 the scan contract of the last scored increment

Why a two-step commit: an increment's events are written under ``staging/`` first, then
one DuckDB transaction records the increment (its watermark and file list); only then are
the files moved into ``store/``. A process killed before the transaction leaves the state
at the previous watermark (the staging folder is removed on the next open); one killed
after it leaves a committed increment whose moves :meth:`StateStore.recover` finishes, so
no event is lost or counted twice. Scoring is recorded in a second transaction: an
increment committed but not scored is scored by the next run before it reads new input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillguard import _duck
from distillguard.errors import DistillguardError

#: Bumped when the layout or the tables change incompatibly; a state of another version is
#: refused with a one-line error instead of being misread.
STATE_VERSION = 1
STATE_DB = "state.duckdb"
STORE = "store"
STAGING = "staging"

_DDL = (
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS increments (
        id INTEGER PRIMARY KEY,
        committed_at TIMESTAMPTZ,
        watermark TIMESTAMPTZ,       -- newest event time in the store after this increment
        events_new BIGINT,           -- events added by this increment
        events_late BIGINT,          -- of which older than the previous watermark (merged)
        too_late BIGINT,             -- rejected: older than watermark - allowed lateness
        duplicates BIGINT,           -- rejected: event_id already in the store
        quarantined BIGINT,          -- rejected by ingest validation
        files VARCHAR[],             -- store-relative paths of the files it added
        scored_at TIMESTAMPTZ,       -- null until detection ran on it
        attack BIGINT, suspicious BIGINT, campaigns BIGINT, seconds DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS verdicts (
        account_id VARCHAR PRIMARY KEY, verdict VARCHAR, score DOUBLE, campaign_id VARCHAR,
        increment_id INTEGER,        -- increment of the last change
        flagged_at TIMESTAMPTZ,      -- watermark of the first increment that said attack
        flagged_increment INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS verdict_changes (
        increment_id INTEGER, account_id VARCHAR, old_verdict VARCHAR, new_verdict VARCHAR,
        score DOUBLE, campaign_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS rejected (
        increment_id INTEGER, reason VARCHAR, event_id VARCHAR, account_id VARCHAR,
        event_time TIMESTAMPTZ, source VARCHAR
    )""",
)


@dataclass(frozen=True)
class Increment:
    """One committed increment (a row of ``increments``)."""

    id: int
    watermark: dt.datetime | None
    events_new: int
    scored: bool
    files: list[str]


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateStore:
    """A state directory opened for one run (single writer: a lock file guards it)."""

    def __init__(self, root: str | Path) -> None:
        import duckdb

        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise DistillguardError(f"--state {self.root} is a file, not a directory")
        fresh = not (self.root / STATE_DB).exists()
        if fresh and self.root.is_dir() and any(self.root.iterdir()):
            raise DistillguardError(
                f"--state {self.root} is a non-empty directory that holds no distillguard state"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.con = _duck.connect(str(self.root / STATE_DB))
        except duckdb.Error as err:
            raise DistillguardError(f"cannot open state {self.root}: {str(err).splitlines()[0]}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        for ddl in _DDL:
            self.con.execute(ddl)
        version = self._meta("version")
        if version is None:
            self.con.execute("INSERT INTO meta VALUES ('version', ?)", [str(STATE_VERSION)])
        elif version != str(STATE_VERSION):
            raise DistillguardError(
                f"state {self.root} has layout version {version}; this distillguard reads {STATE_VERSION}"
            )
        self.recover()

    # -- paths --------------------------------------------------------------------------
    @property
    def store(self) -> Path:
        """The committed events: an event directory (``store/events/day=*/``)."""
        return self.root / STORE

    def staging(self, increment: int) -> Path:
        return self.root / STAGING / f"inc-{increment:06d}"

    def close(self) -> None:
        self.con.close()

    # -- reads --------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def increments(self) -> list[Increment]:
        rows = self.con.execute(
            "SELECT id, watermark, events_new, scored_at IS NOT NULL, files FROM increments ORDER BY id"
        ).fetchall()
        return [Increment(int(r[0]), r[1], int(r[2]), bool(r[3]), list(r[4] or [])) for r in rows]

    @property
    def watermark(self) -> dt.datetime | None:
        """Newest event time committed (None for an empty state)."""
        row = self.con.execute("SELECT max(watermark) FROM increments").fetchone()
        return row[0] if row else None

    def next_id(self) -> int:
        row = self.con.execute("SELECT coalesce(max(id), 0) + 1 FROM increments").fetchone()
        return int(row[0])

    def has_events(self) -> bool:
        return any((self.store / "events").glob("day=*/*.parquet"))

    # -- recovery -----------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Finish or undo what a killed run left: returns what was done, for the run's notes.

        Staging folders of committed increments are moved into the store (roll forward);
        staging folders of uncommitted ones are deleted (roll back).
        """
        done: list[str] = []
        staging_root = self.root / STAGING
        if not staging_root.is_dir():
            return done
        committed = {inc.id: inc for inc in self.increments()}
        for folder in sorted(staging_root.iterdir()):
            try:
                inc_id = int(folder.name.removeprefix("inc-"))
            except ValueError:
                inc_id = -1
            inc = committed.get(inc_id)
            if inc is None:
                shutil.rmtree(folder, ignore_errors=True)
                done.append(f"removed the uncommitted increment {folder.name}")
                continue
            self.publish(inc)
            done.append(f"finished moving the committed increment {inc_id} into the store")
        shutil.rmtree(staging_root, ignore_errors=True)
        return done

    # -- writes -------------------------------------------------------------------------
    def commit(
        self,
        increment: int,
        *,
        watermark: dt.datetime,
        counts: dict[str, int],
        files: list[str],
        rejected: Any,
    ) -> Increment:
        """Record an increment in one transaction: after this its events are in the state."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO increments (id, committed_at, watermark, events_new, events_late, too_late,"
                " duplicates, quarantined, files) VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
                [
                    increment,
                    watermark,
                    counts["events_new"],
                    counts["events_late"],
                    counts["too_late"],
                    counts["duplicates"],
                    counts["quarantined"],
                    files,
                ],
            )
            if rejected is not None and rejected.num_rows:
                con.register("_dg_rejected", rejected)
                con.execute(
                    "INSERT INTO rejected SELECT ?, reason, event_id, account_id, event_time, source"
                    " FROM _dg_rejected",
                    [increment],
                )
                con.unregister("_dg_rejected")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        _crash_point("after_commit")
        inc = Increment(increment, watermark, counts["events_new"], False, files)
        self.publish(inc)
        return inc

    def publish(self, inc: Increment) -> None:
        """Move a committed increment's staged files into the store (idempotent)."""
        staged = self.staging(inc.id)
        for rel in inc.files:
            src, dst = staged / rel, self.store / rel
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                _fsync_dir(dst.parent)
            elif not dst.exists():
                raise DistillguardError(
                    f"state {self.root}: increment {inc.id} lost its file {rel}; rebuild the state"
                )
        shutil.rmtree(staged, ignore_errors=True)
        with contextlib.suppress(OSError):  # only when empty: another increment may be staging
            staged.parent.rmdir()

    def record_verdicts(
        self, increment: int, accounts: Any, summary: dict[str, Any], *, confirm: int = 1
    ) -> dict[str, Any]:
        """Merge one scoring of the whole store into the verdict history (one transaction).

        Returns ``{account_id: flagged_at}`` for every account that is an attack now and has
        a ``flagged_at``: the watermark of the first increment at which it had been an attack
        in ``confirm`` consecutive scorings (1: the first that called it one), kept across
        later increments, also if it dropped out of ``attack`` in between. ``verdicts.increment_id``
        is the increment of the last change, so an attack's current run began there.
        """
        con = self.con
        con.register("_dg_now", accounts)
        con.execute("BEGIN TRANSACTION")
        try:
            wm = con.execute("SELECT watermark FROM increments WHERE id = ?", [increment]).fetchone()[0]
            con.execute(
                """INSERT INTO verdict_changes
                SELECT ?, n.account_id, v.verdict, n.verdict, n.score, n.campaign_id
                FROM _dg_now n LEFT JOIN verdicts v USING (account_id)
                WHERE v.verdict IS DISTINCT FROM n.verdict""",
                [increment],
            )
            con.execute(
                """INSERT OR REPLACE INTO verdicts
                SELECT n.account_id, n.verdict, n.score, n.campaign_id,
                  CASE WHEN v.verdict IS DISTINCT FROM n.verdict THEN ? ELSE v.increment_id END,
                  coalesce(v.flagged_at, CASE WHEN c.confirmed THEN ?::TIMESTAMPTZ END),
                  coalesce(v.flagged_increment, CASE WHEN c.confirmed THEN ? END)
                FROM _dg_now n LEFT JOIN verdicts v USING (account_id),
                LATERAL (SELECT n.verdict = 'attack' AND (
                    CASE WHEN v.verdict IS DISTINCT FROM n.verdict THEN ? ELSE v.increment_id END
                  ) <= ? AS confirmed) c""",
                [increment, wm, increment, increment, increment - (confirm - 1)],
            )
            con.execute(
                "UPDATE increments SET scored_at = now(), attack = ?, suspicious = ?, campaigns = ?,"
                " seconds = ? WHERE id = ?",
                [
                    summary.get("attack", 0),
                    summary.get("suspicious", 0),
                    summary.get("campaigns", 0),
                    summary.get("seconds", 0.0),
                    increment,
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_dg_now")
        rows = con.execute(
            "SELECT account_id, flagged_at FROM verdicts WHERE verdict = 'attack' AND flagged_at IS NOT NULL"
        ).fetchall()
        return {a: t for a, t in rows}

    def forget_after(self, t: dt.datetime, *, confirm: int = 1) -> list[int]:
        """Undo the verdict history of increments whose watermark is after ``t`` (replay).

        The events stay; the increments are marked unscored, so they are scored again in
        order, and ``flagged_at`` comes out of the replay instead of the old runs (the kept
        history's ``flagged_at`` is rebuilt with ``confirm``, as :meth:`record_verdicts`).
        """
        con = self.con
        ids = [
            int(r[0])
            for r in con.execute("SELECT id FROM increments WHERE watermark > ? ORDER BY id", [t]).fetchall()
        ]
        if not ids:
            return ids
        first = ids[0]
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM verdict_changes WHERE increment_id >= ?", [first])
            con.execute("DELETE FROM verdicts")
            con.execute(
                """INSERT INTO verdicts
                SELECT c.account_id, c.new_verdict, c.score, c.campaign_id, c.increment_id,
                  f.flagged_at, f.flagged_increment
                FROM (SELECT * FROM verdict_changes
                      QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY increment_id DESC) = 1) c
                LEFT JOIN (SELECT r.account_id, arg_min(i.watermark, r.at) AS flagged_at,
                                  min(r.at) AS flagged_increment
                           FROM (SELECT account_id, new_verdict, increment_id + ? AS at,
                                        lead(increment_id, 1, ?) OVER (
                                          PARTITION BY account_id ORDER BY increment_id) AS next_change
                                 FROM verdict_changes) r
                           JOIN increments i ON i.id = r.at
                           WHERE r.new_verdict = 'attack' AND r.at < r.next_change
                           GROUP BY r.account_id) f USING (account_id)""",
                [confirm - 1, first],
            )
            con.execute("UPDATE increments SET scored_at = NULL WHERE id >= ?", [first])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return ids


def _crash_point(name: str) -> None:
    """Test seam: ``DG_STATE_CRASH_AT=name`` kills this process with SIGKILL right here.

    The crash-safety tests use it to stop an increment at a chosen step for real (no
    exception handler, no ``finally`` runs), then check the next run's recovery.
    """
    if os.environ.get("DG_STATE_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
