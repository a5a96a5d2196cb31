"""The pipeline end to end: logs -> events -> enrich -> features -> signals -> campaigns -> scores.

``scan(inputs, out)`` writes the scan directory (spec "Scan output contract"):
accounts.parquet, campaigns.json, quarantine.parquet, signals.parquet, edges.parquet,
scan_meta.json, then report.html and enforcement.csv through the report stage. Every
detection step is a function of the event table on one Ibis backend (an embedded DuckDB by
default, PySpark with ``backend=``), which is what lets the replay re-run the same pipeline
on "the events seen by time t" for ``flagged_at``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillguard import _duck
from distillguard._scratch import scratch_dir
from distillguard.errors import DistillguardError
from distillguard.schema import QUARANTINE_SCHEMA, conform_quarantine

__all__ = ["ScanResult", "scan"]

#: What a scan without prompt text gives up, stated in scan_meta.json (``metadata_only_note``)
#: and the report. No recall figure: one measured on simulated traffic says nothing about these
#: logs (README "Benchmarks" has the simulator's full vs metadata-only recall).
METADATA_ONLY_LINKS_OFF: tuple[str, ...] = (
    "shared prompt-template families",
    "harvest system prompts",
    "a shared card's accounts running one job",
)


def _metadata_only_note(params: Any) -> dict[str, Any]:
    """Which families still run without prompt text and which evidence is off (no recall figure)."""
    dets = params.detectors or []
    return {
        "content_signals": "off",
        "families_off": sorted({d.family for d in dets if d.needs_prompts}),
        "families_running": sorted({d.family for d in dets if not d.needs_prompts}),
        "links_off": list(METADATA_ONLY_LINKS_OFF),
        "recall": "unknown for these logs: fleets linked only by what they send are missed",
    }


@dataclass(frozen=True)
class DetectionParams:
    """Every knob of one detection pass (features, detectors, scoring, campaigns)."""

    features: Any = None
    detectors: Any = None
    scoring: Any = None
    campaigns: Any = None
    replay: Any = None

    def resolved(self) -> DetectionParams:
        from distillguard.campaigns import CampaignParams
        from distillguard.detectors import default_detectors
        from distillguard.features import FeatureParams
        from distillguard.scoring import ReplaySchedule, ScoringParams

        return DetectionParams(
            features=self.features or FeatureParams(),
            detectors=self.detectors or default_detectors(),
            scoring=self.scoring or ScoringParams(),
            campaigns=self.campaigns or CampaignParams(),
            replay=self.replay or ReplaySchedule(),
        )

    def thresholds(self) -> dict[str, dict[str, Any]]:
        from distillguard.detectors import all_thresholds
        from distillguard.detectors.base import documented

        p = self.resolved()
        out = {f"features.{k}": v for k, v in p.features.documented().items()}
        out.update(all_thresholds(p.detectors))
        out.update(documented(p.scoring, "scoring."))
        out.update({f"campaigns.{k}": v for k, v in p.campaigns.documented().items()})
        out.update(documented(p.replay, "replay."))
        return out


@dataclass
class ScanResult:
    """What a scan produced (also on disk under ``out``)."""

    out: Path
    accounts: pa.Table
    campaigns: list[dict[str, Any]]
    signals: pa.Table
    edges: pa.Table
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict_counts(self) -> dict[str, int]:
        v = np.asarray(self.accounts["verdict"].to_pylist(), dtype=object)
        return {k: int((v == k).sum()) for k in ("attack", "suspicious", "clear")}


#: Prefix of a scan's scratch directory in the system temp directory.
SPILL_PREFIX = "dg-scan-spill-"

#: DuckDB's own memory budget (GiB) for a scan: the event table, the partial tables and the
#: feature timeline live in DuckDB, and past this budget they spill to a temporary directory
#: instead of growing. DuckDB's resident memory runs past its budget (on the 50M-event
#: ``seed`` scenario a 2.5 GiB budget peaked at 3.9 GiB for the whole process, in the
#: synchronized-pairs query), so the budget is set from what the process may hold: 2 GiB
#: gave that scan a 3.29 GiB peak (3.53 GB) in the same time as 3 GiB (8.4 against 8.5 min,
#: identical outputs; 3 GiB peaked at 4.38 GiB). ``None`` = DuckDB's default (80% of RAM).
DUCKDB_MEMORY_GB: float | None = 2.0
#: Most disk (GB) a scan's DuckDB may spill to: a 10M-event scan spills a few GB; a query
#: that needs far more is a plan gone wrong and should fail, not fill a shared disk.
DUCKDB_MAX_SPILL_GB: float = 40.0
#: Inputs with at least this many events keep the event table and the feature timeline in a
#: scratch database file, compressed (~5x smaller than DuckDB's in-memory tables: 0.8 GB
#: instead of 4.3 GB at 10M events) and read back through the buffer pool; smaller inputs
#: stay in memory, where a 1M-event scan fits easily and runs faster.
SCRATCH_DB_MIN_EVENTS: int = 3_000_000


def connect(
    memory_gb: float | None = None, temp_dir: str | Path | None = None, *, on_disk: bool = False
) -> Any:
    """A DuckDB connection for detection (UTC; order-free aggregation).

    ``memory_gb`` caps DuckDB's buffer memory and ``temp_dir`` holds what spills beyond that
    cap, at most :data:`DUCKDB_MAX_SPILL_GB`, and with ``on_disk`` the scratch database file
    (defaults: an in-memory database with DuckDB's own limit, 80% of RAM).
    """
    config: dict[str, Any] = {}
    if memory_gb is not None:
        config["memory_limit"] = f"{int(memory_gb * 1024)}MiB"
    database = ":memory:"
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
        config["max_temp_directory_size"] = f"{int(DUCKDB_MAX_SPILL_GB * 1024)}MiB"
        if on_disk:  # main-catalog tables (events, feature timeline) are stored compressed
            database = str(Path(temp_dir) / "scan.duckdb")
    con = _duck.connect(database, config=config)  # no DuckDB progress bar on stdout
    con.execute("SET TimeZone = 'UTC'")
    return con


def detect_at(
    tl: Any,
    k: int | None,
    *,
    has_prompts: bool,
    params: DetectionParams,
    intel: pa.Table | None = None,
    only: set[str] | None = None,
) -> tuple[Any, Any]:
    """One detection pass "as of" checkpoint ``k`` of the timeline -> (context, result).

    ``result`` is a ``CampaignResult``. With ``only`` (replay) the lift is judged just for
    the link groups of these accounts, no campaign list is built, and when none of them is
    a suspicious account the lift could raise the campaign step is skipped entirely and
    ``result`` is the first-pass scoring dict (the verdicts it would not have changed).
    """
    from distillguard.campaigns import find_campaigns
    from distillguard.detectors import DetectionContext, run_detectors
    from distillguard.detectors.base import concat_signals, timed
    from distillguard.scoring import score_accounts

    p = params.resolved()
    with timed(SimpleNamespace(shared=tl.cache), "checkpoint_features"):
        ctx = DetectionContext.at(tl, k, has_prompts=has_prompts)
    signals = run_detectors(ctx, p.detectors)
    if intel is not None and intel.num_rows:
        import pyarrow.compute as pc

        seen = pc.is_in(intel["account_id"], ctx.features["account_id"])
        signals = concat_signals([signals, intel.filter(seen)])
    with timed(ctx, "scoring"):
        first = score_accounts(ctx.features, signals, p.scoring)
    if only is not None:
        lift = set(first["account_id"][first["verdict"] == "suspicious"].tolist()) & only
        if not lift:
            return ctx, first
        only = lift
    with timed(ctx, "campaigns"):
        result = find_campaigns(ctx, signals, p.scoring, p.campaigns, first=first, only=only)
    return ctx, result


def detect(con: Any, src: str, *, has_prompts: bool, params: DetectionParams) -> Any:
    """One full detection pass over the registered event table ``src`` -> (features, result)."""
    from distillguard.features import build_timeline

    p = params.resolved()
    tl = build_timeline(con, src, [], p.features)
    ctx, result = detect_at(tl, None, has_prompts=has_prompts, params=p)
    return ctx.features, result


def replay_flagged_at(
    tl: Any,
    *,
    has_prompts: bool,
    params: DetectionParams,
    targets: set[str],
    intel: pa.Table | None = None,
    progress: Any = None,
) -> dict[str, dt.datetime]:
    """First replay checkpoint at which each target account already had an ``attack`` verdict.

    The whole pipeline runs "as of" every checkpoint of the timeline (features from the
    timeline's running partials, detectors and coordination on partials cut at the
    checkpoint, the campaign step on the components of still-unflagged suspicious targets).
    A checkpoint is skipped only when no unflagged target had been seen yet; the replay
    stops when every target is flagged. Targets first flagged by the final scan get the end
    of the input (the time that scan ran "as of"), never an earlier guess.
    """
    import pyarrow.compute as pc

    p = params.resolved()
    pending = set(targets)
    found: dict[str, dt.datetime] = {}
    task = progress.add_task("replay", total=tl.final) if progress else None
    target_arr = pa.array(sorted(pending), pa.string())
    for k in range(tl.final):
        if progress:
            progress.advance(task)
        seen = tl.at(k)["account_id"]
        if not pc.any(pc.is_in(seen, target_arr)).as_py():
            continue
        _, res = detect_at(tl, k, has_prompts=has_prompts, params=p, intel=intel, only=pending)
        scored = res.scored if hasattr(res, "scored") else res
        hit = set(scored["account_id"][scored["verdict"] == "attack"].tolist()) & pending
        for a in hit:
            found[a] = tl.checkpoints[k]
        pending -= hit
        if not pending:
            break
        target_arr = pa.array(sorted(pending), pa.string())
    return found


def scan(
    inputs: Sequence[str | Path] | str | Path,
    out: str | Path,
    *,
    infra: Sequence[str | Path] | None = None,
    intel: Sequence[str | Path] | str | Path | None = None,
    key_file: str | Path | None = None,
    share_config: str | Path | None = None,
    as_of: dt.datetime | str | None = None,
    metadata_only: bool = False,
    progress: bool = True,
    replay: bool = True,
    params: DetectionParams | None = None,
    report: bool = True,
    preloaded: Any = None,
    backend: Any = None,
    memory_gb: float | None = None,
) -> ScanResult:
    """Scan logs (anything ingest reads, or an event directory) and write the scan directory.

    ``as_of`` keeps only events at or before that time (the scan "as it would have run then");
    ``metadata_only`` ignores prompt text even when present; ``intel`` adds partner signals
    (family ``intel``) matched under the sharing group's ``key_file``, with our identity and
    trusted partners from ``share_config`` (share/_config.py format); ``replay`` re-runs
    detection at the replay checkpoints to measure ``flagged_at``. ``preloaded`` is the
    events already loaded and enriched (a ``LoadedEvents``: the continuous state's cache of
    ``inputs``); ``infra``, ``metadata_only`` and ``as_of`` must then be what made it.

    ``backend`` is the Ibis connection the features and the coordination queries run on
    (default: an embedded DuckDB the scan opens itself; see docs/engines.md). Loading streams
    on this machine either way: with another backend the normalized events are written to
    Parquet in the scratch directory and the backend reads them from there. On PySpark the
    per-text enrichment work (templates, MinHash band keys, tags of each distinct text) runs on
    the executors; clustering the distinct texts into families stays here.

    ``memory_gb`` is the embedded DuckDB's memory budget (default :data:`DUCKDB_MEMORY_GB`);
    past it the scan spills to disk, and a query that cannot spill stops the scan with a
    :class:`DistillguardError` naming the stage and the budget (not a DuckDB traceback).
    """
    import duckdb

    from distillguard import _engine
    from distillguard.features import build_timeline, register_events
    from distillguard.features._source import load_events
    from distillguard.scoring import accounts_table

    if isinstance(inputs, str | Path):
        inputs = [inputs]
    out = Path(out)
    params = (params or DetectionParams()).resolved()
    cutoff = _parse_as_of(as_of)
    timings: dict[str, float] = {}
    peak_rss: dict[str, float] = {}
    clock = time.perf_counter()
    bar = _progress(progress)
    # removed at the end; a killed scan's directory is removed by the next scan (_scratch)
    spill = scratch_dir(SPILL_PREFIX)
    stages = iter(("features", "detect", "the flagged_at replay", "write", "report"))
    running = ["load+enrich"]  # the stage an out-of-memory error is reported in
    try:
        with bar, spill:
            step = bar.add_task("scan", total=6) if bar else None

            def tick(name: str) -> None:
                nonlocal clock
                running[0] = next(stages, "the end of the scan")
                now = time.perf_counter()
                timings[name] = round(now - clock, 3)
                peak_rss[name] = _peak_rss_gb()
                clock = now
                if bar:
                    bar.update(step, advance=1, description=f"scan: {name} done")

            # the events stream to Parquet batches in the scratch directory, never whole in memory
            batches = Path(spill.name) / "events"
            loaded = preloaded or load_events(
                inputs,
                infra=infra,
                metadata_only=metadata_only,
                as_of=cutoff,
                spill_dir=batches,
                text_kernel=_engine.text_kernel(backend),
            )
            # share matches frames/templates on raw prompt text, which the loaded events no longer carry;
            # on raw logs it matches identifiers in the spilled batches, read lazily as a dataset
            events_for_intel = loaded.event_inputs or [loaded.source.dataset()]
            intel_signals = _intel(intel, events_for_intel, key_file, share_config)
            tick("load+enrich")
            big = loaded.rows >= SCRATCH_DB_MIN_EVENTS
            duck = backend is not None and backend.name == "duckdb"
            con = backend.con if duck else connect(memory_gb or DUCKDB_MEMORY_GB, spill.name, on_disk=big)
            checkpoints = _checkpoints(loaded, params.replay) if replay else []
            # DuckDB reads the batches and joins the per-text enrich columns itself; the event
            # table is built on the scan's backend (another engine reads those rows from Parquet)
            registered = time.perf_counter()
            n_events = register_events(
                con,
                loaded.source,
                "ev",
                checkpoints_ms=[int(c.timestamp() * 1000) for c in checkpoints],
                backend=backend,
                scratch=spill.name,
            )
            register_s = round(time.perf_counter() - registered, 3)
            loaded.source.remove()  # one copy of the events: the backend's event table
            pa.default_memory_pool().release_unused()
            engine = con if backend is None or duck else backend
            tl = build_timeline(engine, "ev", checkpoints, params.features)
            tick("features")
            ctx, result = detect_at(
                tl, None, has_prompts=loaded.has_prompts, params=params, intel=intel_signals
            )
            tick("detect")
            spent = tl.cache.setdefault("_timings", {})
            detect_timings = {k: round(v, 3) for k, v in spent.items()}
            targets = set(result.scored["account_id"][result.scored["verdict"] == "attack"].tolist())
            flagged: dict[str, dt.datetime] = {}
            if replay and targets:
                flagged = replay_flagged_at(
                    tl,
                    has_prompts=loaded.has_prompts,
                    params=params,
                    targets=targets,
                    intel=intel_signals,
                    progress=bar,
                )
            end = _last_event(tl)
            for a in targets:
                flagged.setdefault(a, end)
            tick("replay")
            accounts = accounts_table(ctx.features, result.scored, result.campaign_of, flagged)
            meta = _meta(inputs, loaded, n_events, metadata_only, cutoff, params, accounts, result, timings)
            meta["replay_checkpoints"] = len(checkpoints)
            meta["feature_timings_s"] = {"register_events": register_s, **tl.timings}
            meta["detect_timings_s"] = detect_timings  # the final pass only, not the replay's
            # the replay's checkpoints, summed: what the timings grew by since the final pass
            # (empty when no replay ran, rather than every step at 0)
            meta["replay_timings_s"] = (
                {k: round(v - detect_timings.get(k, 0.0), 3) for k, v in spent.items()}
                if replay and targets
                else {}
            )
            meta["intel"] = _intel_note(intel_signals)
            _write(out, accounts, result, loaded.quarantine, meta)
            tick("write")
            report_note = _write_report_files(out, loaded.event_inputs) if report else "skipped"
            meta["report"] = report_note
            tick("report")
            meta["timings_s"] = timings
            meta["peak_rss_gb"] = peak_rss
            (out / "scan_meta.json").write_text(json.dumps(meta, indent=2, default=str, sort_keys=True))
            if not duck:  # the scan's own connection (a caller's DuckDB backend stays open)
                con.close()
    except duckdb.OutOfMemoryException as err:
        budget = memory_gb or DUCKDB_MEMORY_GB
        what = f"its {budget:g} GB memory budget" if budget else "memory"
        raise DistillguardError(
            f"DuckDB ran out of {what} during {running[0]} "
            f"({_total_ram_gb():.0f} GB RAM here); rerun with a larger --memory-gb"
        ) from err
    return ScanResult(out, accounts, result.campaigns, result.signals, result.edges, meta)


def _last_event(tl: Any) -> dt.datetime | None:
    """Time of the input's last event (UTC), from the timeline's event table."""
    ev = tl.backend.table(tl.src)
    end = ev.ts.max().to_pyarrow().as_py()
    if end is not None and end.tzinfo is None:  # Spark hands back UTC instants without a zone
        end = end.replace(tzinfo=dt.UTC)
    return end


def _checkpoints(events: Any, schedule: Any) -> list[dt.datetime]:
    """Replay checkpoints on whole hours from the hour the input starts (see ``replay_schedule``).

    ``events``: an Arrow table, or loaded events (their ``time_range``: no table needed).
    """
    import pyarrow.compute as pc

    from distillguard.scoring import replay_schedule

    if isinstance(events, pa.Table):
        if events.num_rows == 0:
            return []
        mm = pc.min_max(events["timestamp"]).as_py()
        first, last = mm["min"], mm["max"]
    elif events.time_range is None:
        return []
    else:
        first, last = events.time_range
    start = first.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return replay_schedule(start, last.astimezone(dt.UTC), schedule)


def _total_ram_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB): recorded after each scan stage."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (2**30 if sys.platform == "darwin" else 2**20), 2)


def _intel_note(signals: pa.Table | None) -> dict[str, Any] | None:
    """Intel counts for scan_meta.json: signals, accounts, files, skips by reason and the limits."""
    if signals is None:
        return None

    def value(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode()

    meta = {k.decode(): value(v) for k, v in (signals.schema.metadata or {}).items()}
    return {"signals": signals.num_rows, "accounts": len(set(signals["account_id"].to_pylist())), **meta}


def _parse_as_of(as_of: dt.datetime | str | None) -> dt.datetime | None:
    if as_of is None or isinstance(as_of, dt.datetime):
        return as_of if as_of is None or as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
    try:
        t = dt.datetime.fromisoformat(str(as_of).replace("Z", "+00:00"))
    except ValueError:
        raise DistillguardError(f"--as-of {as_of!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _intel(intel: Any, events: Any, key_file: Any, share_config: Any = None) -> pa.Table | None:
    """Partner intel as family ``intel`` signals (None without ``intel``).

    ``events`` are the event directories when the input was one (so prompt frames and templates
    match on the raw text), else the loaded events (identifier matches only). ``share_config``
    is a config path or a ``ShareConfig``: its ``[intel]`` caps apply, and with ``strict_intel``
    a skipped intel file or indicator stops the scan (each is a warning line on stderr anyway).
    """
    if not intel:
        return None
    if key_file is None:
        raise DistillguardError("--intel needs --key-file (the sharing group's key)")
    from distillguard.share._config import ShareConfig, load_config
    from distillguard.share.intel import IntelParams, intel_signals

    cfg = share_config if isinstance(share_config, ShareConfig) else load_config(share_config)
    own = cfg.require_identity(None)[1] if cfg.identity else None
    paths = [intel] if isinstance(intel, str | Path) else list(intel)
    return intel_signals(
        paths,
        events,
        key_file=key_file,
        trusted=cfg.trusted_partners,
        own_identity=own,
        params=IntelParams(limits=cfg.intel_limits),
        strict=cfg.strict_intel,
    )


def _progress(enabled: bool) -> Any:
    """A live bar on a terminal, plain stage lines on stderr otherwise (see ``distillguard._progress``)."""
    from distillguard._progress import make_progress

    return make_progress(enabled)


def _meta(
    inputs, loaded, n_events, metadata_only, cutoff, params, accounts, result, timings
) -> dict[str, Any]:
    verdicts = accounts["verdict"].to_pylist()
    return {
        "inputs": loaded.event_inputs or [str(Path(i).resolve()) for i in inputs],
        "events": n_events,
        "accounts": accounts.num_rows,
        "quarantined": loaded.quarantine.num_rows,
        "prompt_text_present": loaded.has_prompts,
        "metadata_only": bool(metadata_only or not loaded.has_prompts),
        "metadata_only_note": None if loaded.has_prompts else _metadata_only_note(params),
        "as_of": cutoff.isoformat() if cutoff else None,
        "counts": {
            "attack": verdicts.count("attack"),
            "suspicious": verdicts.count("suspicious"),
            "clear": verdicts.count("clear"),
            "campaigns": len(result.campaigns),
            "signals": result.signals.num_rows,
            "edges": result.edges.num_rows,
        },
        "enrich": loaded.enrich_note,
        "thresholds": params.thresholds(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "timings_s": timings,
    }


def _write(out: Path, accounts: pa.Table, result: Any, quarantine: pa.Table, meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(accounts, out / "accounts.parquet")
    pq.write_table(result.signals, out / "signals.parquet")
    pq.write_table(result.edges, out / "edges.parquet")
    pq.write_table(
        conform_quarantine(quarantine) if quarantine.num_rows else QUARANTINE_SCHEMA.empty_table(),
        out / "quarantine.parquet",
    )
    (out / "campaigns.json").write_text(json.dumps(result.campaigns, indent=2, sort_keys=True))
    (out / "scan_meta.json").write_text(json.dumps(meta, indent=2, default=str, sort_keys=True))


def _write_report_files(out: Path, event_inputs: list[str]) -> str:
    """report.html and enforcement.csv through the report stage."""
    from distillguard.report import write_enforcement_csv, write_report

    events = event_inputs[0] if len(event_inputs) == 1 else (event_inputs or None)
    write_report(out, events=events)
    write_enforcement_csv(out)
    return "written"
