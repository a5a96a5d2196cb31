"""Shadow mode: a scoring-parameter change evaluated on the stored history before it is applied.

Why two scans: the shadow scan re-runs detection on the state's whole event store with the
changed :class:`~distillguard.scoring.ScoringParams`; comparing it with the live verdicts
would also show differences that come from elsewhere (the increments' ``--infra`` feeds,
partner intel, analysts' decisions). So a baseline scan with the scan's own parameters runs
on the same store with the same options, once per scan contract (cached), and the table
shows only the verdicts the parameter change moves. Both run in a background thread into
temporary directories; the state itself is only read.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Scalar ScoringParams an analyst may change in shadow mode (others are lists / dicts).
EDITABLE: tuple[str, ...] = (
    "attack_score",
    "suspicious_score",
    "family_fire",
    "family_cap",
    "member_min_own_score",
    "min_families",
    "min_local_families",
    "require_cross_account",
)
#: Rows of changed verdicts listed on the page (all are counted).
SHOWN_CHANGES = 500


@dataclass
class ShadowJob:
    id: int
    changes: dict[str, Any]
    analyst: str
    status: str = "running"  # running | done | failed
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    error: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # before/after verdict counts
    moved: list[dict[str, Any]] = field(default_factory=list)


def parse_changes(base: Any, form: dict[str, str]) -> dict[str, Any]:
    """Changed fields of ``base`` (ScoringParams) from a form; ValueError on a bad value."""
    out: dict[str, Any] = {}
    for name in EDITABLE:
        raw = form.get(name)
        if raw is None or raw.strip() == "":
            continue
        current = getattr(base, name)
        if isinstance(current, bool):
            value: Any = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(current, int):
            value = int(raw)
            if value < 0:
                raise ValueError(f"{name} must be >= 0")
        else:
            value = float(raw)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if value != current:
            out[name] = value
    return out


class Shadow:
    """Background shadow scans of one state (one at a time)."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.jobs: dict[int, ShadowJob] = {}
        self._lock = threading.Lock()
        self._baseline: tuple[float, dict[str, tuple[str, float]]] | None = None

    def running(self) -> ShadowJob | None:
        return next((j for j in self.jobs.values() if j.status == "running"), None)

    def start(self, changes: dict[str, Any], analyst: str, base: Any) -> ShadowJob:
        with self._lock:
            busy = self.running()
            if busy is not None:
                return busy
            job = ShadowJob(len(self.jobs) + 1, changes, analyst)
            self.jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job, base), daemon=True)
        thread.start()
        return job

    def _scan(self, scoring: Any) -> dict[str, tuple[str, float]]:
        from distillguard.scan import DetectionParams, scan

        store = self.data.state / "store"
        with tempfile.TemporaryDirectory(prefix="dg-shadow-") as tmp:
            res = scan(
                [store],
                Path(tmp) / "scan",
                replay=False,
                progress=False,
                report=False,
                infra=self.data.infra_paths or None,
                params=DetectionParams(scoring=scoring),
            )
            rows = res.accounts.select(["account_id", "verdict", "score"]).to_pylist()
        return {r["account_id"]: (r["verdict"], float(r["score"])) for r in rows}

    def _run(self, job: ShadowJob, base: Any) -> None:
        clock = time.perf_counter()
        try:
            mtime = self.data.snapshot().mtime
            if self._baseline is None or self._baseline[0] != mtime:
                self._baseline = (mtime, self._scan(base))
            before = self._baseline[1]
            after = self._scan(dataclasses.replace(base, **job.changes))
            for name, table in (("before", before), ("after", after)):
                counts: dict[str, int] = {}
                for verdict, _ in table.values():
                    counts[verdict] = counts.get(verdict, 0) + 1
                job.counts[name] = counts
            moved = [
                {
                    "account_id": a,
                    "before": before.get(a, ("absent", 0.0))[0],
                    "after": v,
                    "score_before": before.get(a, ("absent", 0.0))[1],
                    "score_after": s,
                }
                for a, (v, s) in after.items()
                if before.get(a, ("absent", 0.0))[0] != v
            ]
            rank = {"attack": 2, "suspicious": 1}
            moved.sort(key=lambda m: (-(rank.get(m["after"], 0) - rank.get(m["before"], 0)), m["account_id"]))
            job.moved = moved
            job.status = "done"
        except Exception as err:  # shown on the page: a shadow run must not kill the console
            job.status = "failed"
            job.error = f"{type(err).__name__}: {err}\n" + traceback.format_exc(limit=3)
        job.seconds = time.perf_counter() - clock
