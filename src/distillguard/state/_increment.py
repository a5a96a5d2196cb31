"""One increment: stage new events, commit them, score the state, record verdicts.

``flagged_at`` of an account is the watermark of the first increment whose scoring called
it an attack (no replay: the history is the replay). Scoring reads the whole committed
store through the batch pipeline, so the verdicts after the last increment are by
construction those of a batch scan over the same events; what this module adds is the
watermark, deduplication, late-event handling, crash safety and the verdict history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.detectors.base import documented, param
from distillguard.errors import DistillguardError
from distillguard.schema import QUARANTINE_SCHEMA
from distillguard.state._decisions import apply_decisions
from distillguard.state._enriched import EnrichedCache
from distillguard.state._stage import REJECTED_SCHEMA, TOO_LATE, Staged, stage
from distillguard.state._store import StateStore, _crash_point

SCAN_DIR = "scan"
INGEST_QUARANTINE = "quarantine"


@dataclass(frozen=True)
class StateParams:
    """Knobs of the continuous mode (written to scan_meta.json with the rest)."""

    allowed_lateness_h: float = param(
        2.0,
        "events up to this many hours older than the state's watermark are merged into the next "
        "increment; older ones are rejected as too_late (counted, kept with their reason)",
    )
    confirm_increments: int = param(
        1,
        "consecutive scorings that must call an account an attack before it gets a flagged_at (the "
        "watermark of the last of them); verdicts are unchanged. 1 = the first attack verdict. In "
        "small seed 0's first 18 hourly increments 7 benign accounts were an attack in some "
        "increment, 5 of them for one hour only; 2 would have left 2, each campaign still flagged "
        "hours before 5% of its exchanges (README, 'Continuous mode'), at the price of one increment",
    )

    def documented(self) -> dict[str, dict[str, Any]]:
        return documented(self, "state.")


@dataclass
class IncrementResult:
    """What one ``scan --state`` run did."""

    state: Path
    increment: int | None  #: id of the increment this run committed (None: nothing new)
    watermark: dt.datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    scored: list[int] = field(default_factory=list)  #: increments scored by this run
    recovered: list[str] = field(default_factory=list)  #: what recovery finished or undid
    scan: Any = None  #: the ScanResult of the last scoring (None when nothing was scored)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        counts = dict(self.scan.verdict_counts) if self.scan is not None else {}
        return {
            "state": str(self.state),
            "increment": self.increment,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            **self.counts,
            "scored_increments": self.scored,
            "recovered": self.recovered,
            "verdicts": counts,
            "campaigns": len(self.scan.campaigns) if self.scan is not None else None,
            "seconds": round(self.seconds, 3),
        }


def _conform(table: pa.Table) -> pa.Table:
    """``table`` with exactly QUARANTINE_SCHEMA's columns (absent ones null, extra ones dropped)."""
    cols = [
        table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in QUARANTINE_SCHEMA
    ]
    return pa.Table.from_arrays(cols, schema=QUARANTINE_SCHEMA)


def _ingest_quarantine(quarantines: list[pa.Table]) -> pa.Table:
    parts = [_conform(q) for q in quarantines if q.num_rows]
    return pa.concat_tables(parts) if parts else QUARANTINE_SCHEMA.empty_table()


def run_increment(
    state_dir: str | Path,
    inputs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    params: StateParams | None = None,
    scan_options: dict[str, Any] | None = None,
    replay_from: dt.datetime | None = None,
    overwrite: bool = True,
) -> IncrementResult:
    """Add ``inputs`` (raw logs or event directories) to the state at ``state_dir`` and score.

    ``scan_options`` go to :func:`distillguard.scan.scan` for every scoring (``infra``,
    ``intel``, ``key_file``, ``metadata_only``, ``progress``, ``report``, ``params``).
    ``replay_from`` re-scores, in order, every increment whose watermark is after it (the
    verdict history after it is rebuilt from the stored events) before the new input.
    ``out`` may be new, empty or a scan directory; another state's scan only with ``overwrite``.
    """
    from distillguard.features._source import _open_inputs

    started = time.perf_counter()
    params = params or StateParams()
    if params.confirm_increments < 1:
        raise DistillguardError("confirm_increments must be >= 1 (1: the first attack verdict flags)")
    if out is not None:
        _check_out(Path(out), Path(state_dir), overwrite)
    options = dict(scan_options or {})
    store = StateStore(state_dir)
    result = IncrementResult(store.root, None, store.watermark)
    try:
        result.recovered = store.recover()
        if replay_from is not None:
            store.forget_after(replay_from, confirm=params.confirm_increments)
        for inc in store.increments():  # committed but never scored (a killed run, a replay)
            if not inc.scored:
                result.scan = _score(store, inc.id, params, options, last=False)
                result.scored.append(inc.id)
        if inputs:
            batches, quarantines, _ = _open_inputs(list(inputs))
            inc_id = store.next_id()
            staging = store.staging(inc_id)
            staged = stage(
                batches,
                staging,
                store.store / "events",
                watermark=store.watermark,
                allowed_lateness=dt.timedelta(hours=params.allowed_lateness_h),
            )
            ingest_q = _ingest_quarantine(quarantines)
            if ingest_q.num_rows:
                rel = f"{INGEST_QUARANTINE}/inc-{inc_id:06d}.parquet"
                (staging / INGEST_QUARANTINE).mkdir(parents=True, exist_ok=True)
                pq.write_table(ingest_q, staging / rel)
                staged.files.append(rel)
            result.counts = _counts(staged, ingest_q)
            _crash_point("before_commit")
            if staged.events_new == 0 and not store.has_events():
                shutil.rmtree(staging, ignore_errors=True)
                raise DistillguardError("no new valid events in the input and the state is empty")
            prev = store.watermark
            wm = max(t for t in (prev, staged.max_ts) if t is not None)
            store.commit(
                inc_id,
                watermark=wm,
                counts=result.counts,
                files=staged.files,
                rejected=staged.rejected_table(),
            )
            result.increment, result.watermark = inc_id, wm
            result.scan = _score(store, inc_id, params, options, last=True)
            result.scored.append(inc_id)
        elif result.scan is None:
            result.scan = _score_last(store, params, options)
        if out is not None and result.scan is not None:
            _copy_contract(store.root / SCAN_DIR, Path(out))
    finally:
        store.close()
    result.seconds = time.perf_counter() - started
    return result


def _counts(staged: Staged, ingest_q: pa.Table) -> dict[str, int]:
    return {
        "events_new": staged.events_new,
        "events_late": staged.events_late,
        "too_late": staged.count(TOO_LATE),
        "duplicates": staged.count("duplicate_event_id"),
        "quarantined": ingest_q.num_rows,
    }


def _score_last(store: StateStore, params: StateParams, options: dict[str, Any]) -> Any:
    incs = store.increments()
    if not incs:
        raise DistillguardError(f"state {store.root} holds no events yet: give it input to scan")
    return _score(store, incs[-1].id, params, options, last=True)


def _score(
    store: StateStore, inc_id: int, params: StateParams, options: dict[str, Any], *, last: bool
) -> Any:
    """Score the store as of increment ``inc_id``'s watermark; record verdicts; write the contract."""
    from distillguard.scan import scan

    wm = next(i.watermark for i in store.increments() if i.id == inc_id)
    work = store.root / f".scan-inc-{inc_id:06d}"
    shutil.rmtree(work, ignore_errors=True)
    clock = time.perf_counter()
    preloaded = None
    if last:  # the whole store: enriched increment by increment, kept (see _enriched)
        incs = [i for i in store.increments() if i.id <= inc_id]
        preloaded = EnrichedCache(store).load(
            incs, infra=options.get("infra"), metadata_only=bool(options.get("metadata_only"))
        )
    load_seconds = time.perf_counter() - clock
    # report.html and enforcement.csv are written below, once the analysts' decisions and
    # the state's flagged_at are in the accounts (the scan's own would show neither)
    report = options.get("report", True) is not False
    res = scan(
        [store.store],
        work,
        replay=False,
        as_of=None if last else wm,
        preloaded=preloaded,
        **{k: v for k, v in options.items() if v is not None and k != "report"},
        report=False,
    )
    _crash_point("before_scored")
    res.accounts = apply_decisions(store.con, res)  # analysts' confirm / dismiss (negative bank)
    counts = res.verdict_counts
    flagged = store.record_verdicts(
        inc_id,
        res.accounts.select(["account_id", "verdict", "score", "campaign_id"]),
        {**counts, "campaigns": len(res.campaigns), "seconds": time.perf_counter() - clock},
        confirm=params.confirm_increments,
    )
    res.accounts = _with_flagged_at(res.accounts, flagged)
    pq.write_table(res.accounts, work / "accounts.parquet")
    pq.write_table(_quarantine(store), work / "quarantine.parquet")
    meta = json.loads((work / "scan_meta.json").read_text())
    meta["state"] = _state_meta(store, inc_id, params)
    meta["thresholds"].update(params.documented())
    meta["flagged_at_source"] = (
        "state: watermark of the first increment that flagged the account"
        if params.confirm_increments <= 1
        else f"state: watermark of the first increment that made {params.confirm_increments} in a row "
        "flagging the account"
    )
    if preloaded is not None:  # the scan got its events from the state's enrichment cache
        meta["timings_s"]["load+enrich"] = round(load_seconds, 3)
    (work / "scan_meta.json").write_text(json.dumps(meta, indent=2, default=str, sort_keys=True))
    if report:
        from distillguard.scan import _write_report_files

        meta["report"] = _write_report_files(work, [str(store.store.resolve())])
        (work / "scan_meta.json").write_text(json.dumps(meta, indent=2, default=str, sort_keys=True))
    _swap(work, store.root / SCAN_DIR)
    res.out = store.root / SCAN_DIR
    res.meta = meta
    return res


def _with_flagged_at(accounts: pa.Table, flagged: dict[str, dt.datetime]) -> pa.Table:
    col = accounts.schema.get_field_index("flagged_at")
    ids = accounts["account_id"].to_pylist()
    verdicts = accounts["verdict"].to_pylist()
    values = [flagged.get(a) if v == "attack" else None for a, v in zip(ids, verdicts, strict=True)]
    typ = accounts.schema.field("flagged_at").type
    return accounts.set_column(col, accounts.schema.field("flagged_at"), pa.array(values, typ))


def _quarantine(store: StateStore) -> pa.Table:
    """Ingest's quarantine of every increment plus the state's own rejections, one table."""
    parts: list[pa.Table] = []
    qdir = store.store / INGEST_QUARANTINE
    if qdir.is_dir():
        parts.extend(_conform(pq.read_table(p)) for p in sorted(qdir.glob("*.parquet")))
    rej = store.con.sql(
        "SELECT reason, source, NULL::BIGINT AS row_number, event_id, account_id,"
        " 'event_time=' || strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') || ' increment=' || increment_id"
        " AS raw FROM rejected ORDER BY increment_id, event_time"
    ).to_arrow_table()
    if rej.num_rows:
        parts.append(_conform(rej))
    return pa.concat_tables(parts) if parts else QUARANTINE_SCHEMA.empty_table()


def _state_meta(store: StateStore, inc_id: int, params: StateParams) -> dict[str, Any]:
    rows = store.con.execute(
        "SELECT id, watermark, events_new, events_late, too_late, duplicates, quarantined FROM increments"
        " ORDER BY id"
    ).fetchall()
    names = ("id", "watermark", "events_new", "events_late", "too_late", "duplicates", "quarantined")
    return {
        "dir": str(store.root.resolve()),
        "scored_increment": inc_id,
        "allowed_lateness_h": params.allowed_lateness_h,
        "increments": [dict(zip(names, r, strict=True)) for r in rows],
    }


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with renames only (a reader sees the old or the new one)."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _check_out(out: Path, state_dir: Path, overwrite: bool) -> None:
    """Refuse, before any work, an ``--out`` this run must not replace: a file, a folder inside
    the state, a non-empty folder that holds no scan, or another state's scan without
    ``overwrite`` (a previous copy of this state's scan is replaced each run)."""
    if out.exists() and not out.is_dir():
        raise DistillguardError(f"--out {out} is a file, not a directory")
    if out.resolve() == state_dir.resolve() or state_dir.resolve() in out.resolve().parents:
        raise DistillguardError(f"--out {out} is inside the state {state_dir}; its scan is {state_dir}/scan")
    if not out.is_dir() or not any(out.iterdir()):
        return
    meta = out / "scan_meta.json"
    if not meta.is_file():
        raise DistillguardError(f"--out {out} is a non-empty directory that holds no scan; choose another")
    try:
        same = json.loads(meta.read_text()).get("state", {}).get("dir") == str(state_dir.resolve())
    except (ValueError, AttributeError):
        same = False
    if not same and not overwrite:
        raise DistillguardError(f"--out {out} holds another scan; pass --overwrite to replace it")


def _copy_contract(src: Path, out: Path) -> None:
    if out.resolve() == src.resolve():
        return
    tmp = out.with_name(out.name + ".tmp-dg")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


__all__ = ["REJECTED_SCHEMA", "IncrementResult", "StateParams", "run_increment"]
